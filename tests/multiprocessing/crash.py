"""Run by tests/test_multiprocessing.py: with the file_system strategy, children that are killed (SIGKILL, no
clean-up of their own) must not leave their shared memory in /dev/shm once the program has ended."""
import os
import signal

import dynagrad as torch
import dynagrad.multiprocessing as mp


def sender(q):
    t = torch.arange(4.0)
    q.put(t)  # moved into a segment this child made; the parent maps it, then the child dies
    q.put(os.getpid())
    signal.pause()


def hoarder(q):
    torch.ones(8).share_memory_()  # a segment nobody else knows about
    q.put(os.getpid())
    signal.pause()


if __name__ == "__main__":
    mp.set_sharing_strategy("file_system")
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    a, b = ctx.Process(target=sender, args=(q,)), ctx.Process(target=hoarder, args=(q,))
    a.start()
    t = q.get(timeout=60)
    pids = [q.get(timeout=60)]
    b.start()
    pids.append(q.get(timeout=60))
    for p in (a, b):
        p.kill()
        p.join()
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0] and t.is_shared()
    print("pids:", os.getpid(), *pids)
    print("crash OK")
