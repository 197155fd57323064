"""Run by tests/test_distributed.py as ``dynagrad run -m torch.distributed.run --nproc_per_node=2 THIS``: an
unmodified torchrun-style script (``import torch``, ``@record``, the environment torchrun sets)."""
import os

import torch
import torch.distributed as dist
from torch.distributed.elastic.multiprocessing.errors import record


@record
def main():
    dist.init_process_group("gloo")
    t = torch.ones(1) * dist.get_rank()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    fields = ("torchrun rank", os.environ["RANK"], os.environ["LOCAL_RANK"], os.environ["WORLD_SIZE"],
              dist.get_world_size(), dist.is_torchelastic_launched(), t.item(), os.environ["MASTER_PORT"])
    print(" ".join(map(str, fields)), flush=True)  # one write: the ranks share stdout
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
