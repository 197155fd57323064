"""Run by tests/test_distributed.py on 2+ ranks: every collective, blocking and async, against the values
computed locally; mismatched calls give a clear error on every rank."""
import numpy as np

import dynagrad as torch
import dynagrad.distributed as dist

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.is_available() and n >= 2
ranks = np.arange(n)


def close(t, expected):
    np.testing.assert_allclose(t.numpy(), np.asarray(expected, dtype=t.numpy().dtype), rtol=1e-6)


def val(k, shape=(3,), dtype=torch.float32):
    """Rank k's input: distinct per rank and element."""
    return (torch.arange(int(np.prod(shape))).reshape(shape) + 10 * (k + 1)).to(dtype)


def finish(work, async_op):
    if async_op:
        assert work is not None
        work.wait()
        assert work.is_completed()
    else:
        assert work is None


for async_op in (False, True):
    # all_reduce with every op and several dtypes
    for op, fn in ((dist.ReduceOp.SUM, np.sum), (dist.ReduceOp.AVG, np.mean), (dist.ReduceOp.MAX, np.max),
                   (dist.ReduceOp.MIN, np.min), (dist.ReduceOp.PRODUCT, np.prod)):
        for dtype in (torch.float32, torch.float64, torch.int64, torch.float16):
            if op == dist.ReduceOp.AVG and dtype == torch.int64:
                continue
            t = val(r, (2, 3), dtype)
            v0 = t._version
            w = dist.all_reduce(t, op=op, async_op=async_op)
            finish(w, async_op)
            expected = fn(np.stack([val(k, (2, 3), torch.float64).numpy() for k in ranks]), axis=0)
            close(t, expected)
            assert t._version > v0, "all_reduce must bump the version counter"
    # a non-contiguous tensor is reduced through a temporary and written back
    base = torch.zeros(3, 4) + r + 1
    view = base[:, 1]
    finish(dist.all_reduce(view, async_op=async_op), async_op)
    close(base[:, 1], [n * (n + 1) / 2] * 3)
    close(base[:, 0], [r + 1] * 3)
    # bool
    b = torch.tensor([r == 0, False, True])
    finish(dist.all_reduce(b, op=dist.ReduceOp.MAX, async_op=async_op), async_op)
    assert b.tolist() == [True, False, True]
    # broadcast from every source
    for src in ranks:
        t = val(r, (4,))
        finish(dist.broadcast(t, src=int(src), async_op=async_op), async_op)
        close(t, val(src, (4,)).numpy())
    # reduce to rank n-1
    t = val(r)
    finish(dist.reduce(t, dst=n - 1, op=dist.ReduceOp.SUM, async_op=async_op), async_op)
    close(t, sum(val(k).numpy() for k in ranks) if r == n - 1 else val(r).numpy())
    # all_gather, all_gather_into_tensor (flat and stacked)
    out = [torch.zeros(2, 3) for _ in ranks]
    finish(dist.all_gather(out, val(r, (2, 3)), async_op=async_op), async_op)
    for k in ranks:
        close(out[k], val(k, (2, 3)).numpy())
    flat = torch.zeros(2 * n, 3)
    finish(dist.all_gather_into_tensor(flat, val(r, (2, 3)), async_op=async_op), async_op)
    close(flat, np.concatenate([val(k, (2, 3)).numpy() for k in ranks]))
    stacked = torch.zeros(n, 2, 3, dtype=torch.int64)
    finish(dist.all_gather_into_tensor(stacked, val(r, (2, 3), torch.int64), async_op=async_op), async_op)
    close(stacked, np.stack([val(k, (2, 3)).numpy() for k in ranks]))
    # reduce_scatter_tensor and reduce_scatter
    out = torch.zeros(2)
    finish(dist.reduce_scatter_tensor(out, val(r, (2 * n,)), async_op=async_op), async_op)
    close(out, sum(val(k, (2 * n,)).numpy() for k in ranks)[2 * r:2 * r + 2])
    out = torch.zeros(2)
    chunks = [val(r, (2,)) * (j + 1) for j in ranks]
    finish(dist.reduce_scatter(out, chunks, op=dist.ReduceOp.MAX, async_op=async_op), async_op)
    close(out, val(n - 1, (2,)).numpy() * (r + 1))
    # gather and scatter with root 1
    glist = [torch.zeros(3) for _ in ranks] if r == 1 else None
    finish(dist.gather(val(r), glist, dst=1, async_op=async_op), async_op)
    if r == 1:
        for k in ranks:
            close(glist[k], val(k).numpy())
    got = torch.zeros(3)
    slist = [val(k) * 2 for k in ranks] if r == 1 else None
    finish(dist.scatter(got, slist, src=1, async_op=async_op), async_op)
    close(got, val(r).numpy() * 2)
    # all_to_all_single (even and uneven splits) and all_to_all
    inp = torch.arange(n * 2).float() + 100 * r
    out = torch.zeros(n * 2)
    finish(dist.all_to_all_single(out, inp, async_op=async_op), async_op)
    close(out, np.concatenate([np.arange(2 * r, 2 * r + 2) + 100 * k for k in ranks]))
    ins = [torch.full((j + 1,), float(10 * r + j)) for j in ranks]
    outs = [torch.zeros(r + 1) for _ in ranks]
    finish(dist.all_to_all(outs, ins, async_op=async_op), async_op)
    for k in ranks:
        close(outs[k], [10 * k + r] * (r + 1))
    # barrier
    finish(dist.barrier(async_op=async_op), async_op)

# point to point: a ring, blocking and nonblocking
right, left = (r + 1) % n, (r - 1) % n
got = torch.zeros(3)
if r % 2 == 0:
    dist.send(val(r), dst=right)
    assert dist.recv(got, src=left) == left
else:
    assert dist.recv(got, src=left) == left
    dist.send(val(r), dst=right)
close(got, val(left).numpy())
got = torch.zeros(3)
reqs = [dist.isend(val(r) * 3, dst=right, tag=7), dist.irecv(got, src=left, tag=7)]
for w in reqs:
    w.wait()
close(got, val(left).numpy() * 3)

# objects
objs = [None] * n
dist.all_gather_object(objs, {"rank": r, "name": f"r{r}"})
assert objs == [{"rank": k, "name": f"r{k}"} for k in ranks]
lst = [r, "x"] if r == 0 else [None, None]
dist.broadcast_object_list(lst, src=0)
assert lst == [0, "x"]
gathered = [None] * n if r == n - 1 else None
dist.gather_object(("from", r), gathered, dst=n - 1)
assert gathered == ([("from", k) for k in ranks] if r == n - 1 else None)
out = [None]
dist.scatter_object_list(out, [{"to": k, "pad": "x" * k * 100} for k in ranks] if r == 0 else None, src=0)
assert out == [{"to": r, "pad": "x" * r * 100}]
try:
    dist.gather_object(1, None, dst=0)  # the destination gave no list: it says so (the others wait, then go)
except ValueError as e:
    assert r == 0 and "object_gather_list must be a list of" in str(e)
else:
    assert r != 0
try:
    dist.scatter_object_list([None], [1] if r == 0 else None, src=0)
except ValueError as e:
    assert "scatter_object_input_list must hold" in str(e)
else:
    raise AssertionError("a wrong scatter_object_input_list was accepted")

# a subgroup of ranks {0, 1}
sub = dist.new_group([0, 1])
t = torch.ones(2) * (r + 1)
dist.all_reduce(t, group=sub)
if r < 2:
    close(t, [3, 3])
    assert dist.get_world_size(sub) == 2 and dist.get_rank(sub) == r
else:
    close(t, [r + 1] * 2)

# mismatches raise the same clear error on every rank instead of hanging or giving garbage
try:
    dist.all_reduce(torch.zeros(2, 3 + r))
    raise AssertionError("mismatched shapes were not detected")
except dist.DistError as e:
    msg = str(e)
    assert "rank 0: all_reduce(float32 [2, 3])" in msg and "rank 1: all_reduce(float32 [2, 4])" in msg, msg
try:
    dist.broadcast(torch.zeros(2, dtype=torch.float64 if r else torch.float32), src=0)
    raise AssertionError("mismatched dtypes were not detected")
except dist.DistError as e:
    assert "float64" in str(e) and "float32" in str(e), str(e)
try:
    if r == 0:
        dist.all_reduce(torch.zeros(2))
    else:
        dist.broadcast(torch.zeros(2), src=0)
    raise AssertionError("mismatched collectives were not detected")
except dist.DistError as e:
    assert "called different collectives" in str(e), str(e)
if r == 1:
    try:
        dist.recv(torch.zeros(5), src=0)
        raise AssertionError("a message of the wrong size was not detected")
    except dist.DistError as e:
        assert "sent 12 bytes" in str(e) and "holds 20" in str(e), str(e)
    dist.recv(torch.zeros(3), src=0)
elif r == 0:
    dist.send(torch.zeros(3), dst=1)

# still usable after the errors
t = torch.ones(1)
dist.all_reduce(t)
close(t, [n])
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"rank {r}: collectives OK", flush=True)
