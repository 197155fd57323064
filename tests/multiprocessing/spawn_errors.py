"""Run by tests/test_multiprocessing.py: mp.spawn's arguments, results through shared memory, and its errors
(a child that raises, exits, or is killed), as torch.multiprocessing.spawn reports them."""
import os
import signal
import sys
import time

import dynagrad as torch
import dynagrad.multiprocessing as mp


def work(i, out, scale):
    out[i] = (i + 1) * scale  # the parent's tensor: sent to the children in shared memory


def fail(i, how):
    if i == 1:
        if how == "raise":
            raise ValueError(f"process {i} broke on purpose")
        if how == "exit":
            sys.exit(3)
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # the others are stopped by the parent, not left running


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


if __name__ == "__main__":
    out = torch.zeros(3)
    mp.spawn(work, args=(out, 10.0), nprocs=2)
    check(out.tolist() == [10.0, 20.0, 0.0], "spawn runs fn(i, *args) in each process; writes are shared")
    # the rest with fork, which starts in milliseconds: the same ProcessContext and error files
    ctx = mp.start_processes(work, args=(out, 1.0), nprocs=3, join=False, start_method="fork")
    check(isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 3, "join=False gives the ProcessContext")
    while not ctx.join():
        pass
    check(out.tolist() == [1.0, 2.0, 3.0], "ProcessContext.join() waits for them all")
    for how in ("raise", "exit", "kill"):
        start = time.monotonic()
        try:
            if how == "raise":  # a spawned child's traceback travels back
                mp.spawn(fail, args=(how,), nprocs=2)
            else:
                mp.start_processes(fail, args=(how,), nprocs=2, start_method="fork")
            check(False, f"{how}: an exception reaches the parent")
        except mp.ProcessRaisedException as e:
            check(how == "raise" and e.error_index == 1 and "-- Process 1 terminated with the following error:"
                  in str(e) and "ValueError: process 1 broke on purpose" in str(e)
                  and "in fail" in str(e), f"raise: ProcessRaisedException with the child's traceback: {e}")
        except mp.ProcessExitedException as e:
            if how == "exit":
                check(e.exit_code == 3 and str(e) == "process 1 terminated with exit code 3", f"exit: {e}")
            else:
                check(e.signal_name == "SIGKILL" and e.exit_code == -9
                      and str(e) == "process 1 terminated with signal SIGKILL", f"kill: {e}")
        check(time.monotonic() - start < 30, f"{how}: the other process was stopped, not waited for")
    out.zero_()
    mp.start_processes(work, args=(out, 2.0), nprocs=2, start_method="fork")
    check(out.tolist() == [2.0, 4.0, 0.0], "start_processes with fork")
    print("spawn OK")
