"""``torch.distributed.elastic``: the parts that training scripts import (``multiprocessing.errors.record``).
dynagrad has no elastic agent: ranks are started by ``dynagrad launch`` or ``python -m
dynagrad.distributed.run`` (torchrun's command line) and a failed rank ends the job."""
