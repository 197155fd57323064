"""Run by tests/test_distributed.py on 2 ranks: rank 1 fails in the way argv[1] names while rank 0 waits in
a collective; the job must end (non-zero, the failure named) instead of hanging."""
import datetime
import os
import sys
import time

import dynagrad as torch
import dynagrad.distributed as dist

mode = sys.argv[1]
timeout = datetime.timedelta(seconds=float(sys.argv[2])) if len(sys.argv) > 2 else None
if mode == "late" and os.environ["RANK"] == "1":
    time.sleep(120)  # never reaches init_process_group in time
dist.init_process_group("mpi", timeout=timeout)
t = torch.ones(4)
dist.all_reduce(t)  # everyone is up
if dist.get_rank() == 1:
    if mode == "raise":
        raise ValueError("rank 1 broke on purpose")
    if mode == "exit":
        sys.exit(0)  # leaves quietly: only the timeout can tell rank 0
dist.all_reduce(t)
print("unreachable: the collective should not have completed", flush=True)
