"""Run by tests/test_multiprocessing.py: tensors through Queue, SimpleQueue, JoinableQueue, Pipe and Pool to
a child process and back, with their values and shared memory. Usage: queues.py START_METHOD STRATEGY."""
import os
import sys

import numpy as np

import dynagrad as torch
import dynagrad.multiprocessing as mp


def sample():
    base = torch.arange(12.0).reshape(3, 4)
    return {
        "f32": torch.arange(6.0),
        "i64": torch.arange(5),
        "bool": torch.tensor([True, False, True]),
        "bf16": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
        "c64": torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
        "transposed": base.t(),
        "row": base[1],
        "base": base,
        "param": torch.nn.Parameter(torch.ones(2)),
        "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False),
    }


def child(inq, outq, simple, joinable, conn):
    got = inq.get()
    report = {k: (type(v).__name__, str(v.dtype), list(v.shape), v.tolist(), v.requires_grad, v.is_shared(),
                  v.stride()) for k, v in got.items()}
    outq.put(report)
    # writes land in the parent's memory: the tensor itself and views of one storage
    got["f32"].add_(100)
    got["row"].fill_(-1)
    got["param"].data.mul_(7)
    outq.put(got["base"].data_ptr() == got["row"].data_ptr() - 4 * 4)  # row 1 of a float32 (3, 4) storage
    t = simple.get()
    t += 1
    simple.put("simple done")
    t = joinable.get()
    t.mul_(2)
    joinable.task_done()
    a = conn.recv()
    a[:] = 42
    conn.send(torch.full((2,), 5.0))  # a tensor made here, sent back to the parent
    conn.recv()  # as in PyTorch, a sender must outlive the receiver's fetching of what it sent


def square(t):
    return t * t, t.is_shared(), os.getpid()


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def main(method, strategy):
    mp.set_sharing_strategy(strategy)
    ctx = mp.get_context(method)
    data = sample()
    expected = {k: (type(v).__name__, str(v.dtype), list(v.shape), v.tolist(), v.requires_grad, True, v.stride())
                for k, v in data.items()}
    inq, outq, simple, joinable = ctx.Queue(), ctx.Queue(), ctx.SimpleQueue(), ctx.JoinableQueue()
    here, there = ctx.Pipe()
    p = ctx.Process(target=child, args=(inq, outq, simple, joinable, there))
    p.start()
    inq.put(data)
    report = outq.get(timeout=60)
    for k in expected:
        check(report[k] == expected[k], f"{k} arrives with its class, dtype, shape, values, requires_grad, strides, "
                                        f"in shared memory ({report[k]} vs {expected[k]})")
    check(outq.get(timeout=60), "views of one storage arrive as views of one segment")
    check(all(v.is_shared() for v in data.values()), "what was sent moved into shared memory in the sender")
    s = torch.zeros(3)
    simple.put(s)
    check(simple.get() == "simple done" and s.tolist() == [1.0, 1.0, 1.0], "SimpleQueue: the child's += is seen")
    j = torch.ones(2)
    joinable.put(j)
    joinable.join()
    check(j.tolist() == [2.0, 2.0], "JoinableQueue: the child's mul_ is seen after join()")
    a = torch.zeros(3, dtype=torch.int32)
    here.send(a)
    back = here.recv()
    here.send("bye")
    p.join(60)
    check(p.exitcode == 0, "the child exited cleanly")
    check(a.tolist() == [42, 42, 42], "Pipe: the child's write is seen")
    check(back.tolist() == [5.0, 5.0] and back.is_shared(), "a tensor made in the child arrives shared")
    check(data["f32"].tolist() == [100.0, 101.0, 102.0, 103.0, 104.0, 105.0], "the child's add_ is seen")
    check(data["base"][1].tolist() == [-1.0] * 4 and data["row"].tolist() == [-1.0] * 4,
          "the child's fill_ on a row is seen through the base and the row")
    check(data["param"].tolist() == [7.0, 7.0], "the child's write to a Parameter's .data is seen")
    pool = ctx.Pool(1)  # one worker: a spawned process costs a second of start-up
    out = pool.map(square, [torch.tensor([1.0, 2.0]), torch.tensor([3.0])])
    pool.close()  # not terminate() (what `with Pool()` does): a killed worker cannot let go of its memory
    pool.join()
    check([o[0].tolist() for o in out] == [[1.0, 4.0], [9.0]] and all(o[1] for o in out),
          "Pool.map: tensors in and out")
    print("pids:", os.getpid(), p.pid, *{o[2] for o in out})  # the test looks for their /dev/shm files
    from dynagrad.multiprocessing.reductions import reduce_tensor
    try:
        reduce_tensor(torch.ones(2, requires_grad=True) * 2)
        check(False, "a non-leaf that requires grad is refused")
    except RuntimeError as e:
        check("Cowardly refusing to serialize non-leaf tensor" in str(e), "a non-leaf that requires grad is refused")
    arr = np.zeros(2)
    check(not torch.from_numpy(arr).is_shared(), "a tensor on NumPy's memory is not shared")
    print("queues OK")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
