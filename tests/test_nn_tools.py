"""Helpers shared by the tests/test_nn_*.py files (this file holds no tests).

``compare(fn, *inputs)`` runs ``fn(m, F, *tensors)`` with ``m, F`` = dynagrad and dynagrad.nn.functional, then
torch and torch.nn.functional, on the same NumPy inputs, and compares the outputs and the gradients of
``sum(out * cotangent)`` w.r.t. every float input. ``check_module(make)`` builds a layer in both
(``make(m)``), copies torch's parameters and buffers into dynagrad through NumPy, and compares outputs,
input gradients, parameter gradients and buffers.
"""

from __future__ import annotations

import numpy as np

import dynagrad

RTOL, ATOL = 1e-4, 1e-5
GRAD_RTOL, GRAD_ATOL = 1e-3, 1e-4


class NoGrad:
    """An input that must not require grad (torch refuses gradients for some arguments, e.g. class
    weights)."""

    def __init__(self, arr):
        self.arr = np.asarray(arr)


def _functional(m):
    return m.nn.functional


def _tensors(m, inputs):
    out = []
    for a in inputs:
        if isinstance(a, NoGrad):
            out.append(m.from_numpy(a.arr.copy()))
        elif isinstance(a, np.ndarray):
            t = m.from_numpy(a.copy())
            if a.dtype.kind == "f":
                t.requires_grad_(True)
            out.append(t)
        else:
            out.append(a)
    return out


def _cotangent(shape, dtype, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _run(m, fn, inputs, backward):
    ts = _tensors(m, inputs)
    out = fn(m, _functional(m), *ts)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    vals = [o.detach().numpy().copy() for o in outs]
    grads = None
    if backward and any(o.requires_grad for o in outs):
        loss = None
        for i, o in enumerate(outs):
            if not o.requires_grad:
                continue
            cot = m.from_numpy(_cotangent(tuple(o.shape), vals[i].dtype, seed=1 + i))
            term = (o * cot).sum()
            loss = term if loss is None else loss + term
        loss.backward()
        grads = [
            t.grad.numpy().copy() if isinstance(t, m.Tensor) and t.grad is not None else None for t in ts
        ]
    return vals, grads


def compare(fn, *inputs, backward=True, rtol=RTOL, atol=ATOL, grad_rtol=GRAD_RTOL, grad_atol=GRAD_ATOL):
    import torch

    mine, mgrads = _run(dynagrad, fn, inputs, backward)
    ref, rgrads = _run(torch, fn, inputs, backward)
    assert len(mine) == len(ref)
    for a, b in zip(mine, ref):
        assert a.shape == b.shape, f"shape {a.shape} != torch's {b.shape}"
        assert a.dtype == b.dtype, f"dtype {a.dtype} != torch's {b.dtype}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if rgrads is None:
        return
    assert mgrads is not None, "dynagrad computed no gradients"
    for i, (a, b) in enumerate(zip(mgrads, rgrads)):
        if b is None:
            assert a is None or not np.any(a), f"input {i}: torch has no gradient"
            continue
        assert a is not None, f"input {i}: dynagrad has no gradient"
        np.testing.assert_allclose(
            a, b, rtol=grad_rtol, atol=grad_atol, equal_nan=True, err_msg=f"gradient of input {i}"
        )


def copy_state(dst, src) -> None:
    """Load ``src``'s (a torch module's) state_dict into ``dst`` (a dynagrad module) through NumPy."""
    dst.load_state_dict(
        {k: dynagrad.from_numpy(v.detach().numpy().copy()) for k, v in src.state_dict().items()}
    )


def check_module(
    make,
    *inputs,
    train=True,
    steps=1,
    rtol=RTOL,
    atol=ATOL,
    grad_rtol=GRAD_RTOL,
    grad_atol=GRAD_ATOL,
    call=None,
):
    """``make(m)`` builds the layer in dynagrad and in torch; compare forward, backward and state after
    ``steps`` calls."""
    import torch

    tm = make(torch)
    dm = make(dynagrad)
    copy_state(dm, tm)
    tm.train(train)
    dm.train(train)
    call = call or (lambda mod, *xs: mod(*xs))
    for step in range(steps):
        outs = []
        for m, mod in ((dynagrad, dm), (torch, tm)):
            mod.zero_grad()
            ts = _tensors(m, inputs)
            out = call(mod, *ts)
            val = out.detach().numpy().copy()
            if out.requires_grad:
                (out * m.from_numpy(_cotangent(tuple(out.shape), val.dtype, seed=step))).sum().backward()
            ig = [
                t.grad.numpy().copy() if isinstance(t, m.Tensor) and t.grad is not None else None for t in ts
            ]
            pg = {
                n: (p.grad.numpy().copy() if p.grad is not None else None) for n, p in mod.named_parameters()
            }
            outs.append((val, ig, pg))
        (a, ia, pa), (b, ib, pb) = outs
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg="output")
        for i, (x, y) in enumerate(zip(ia, ib)):
            if y is None:
                assert x is None or not np.any(x)
            else:
                np.testing.assert_allclose(x, y, rtol=grad_rtol, atol=grad_atol, err_msg=f"input {i} grad")
        assert pa.keys() == pb.keys()
        for n in pb:
            if pb[n] is None:
                assert pa[n] is None, n
            else:
                np.testing.assert_allclose(pa[n], pb[n], rtol=grad_rtol, atol=grad_atol, err_msg=f"{n}.grad")
    dsd, tsd = dm.state_dict(), tm.state_dict()
    assert list(dsd) == list(tsd)
    for k in tsd:
        np.testing.assert_allclose(dsd[k].numpy(), tsd[k].numpy(), rtol=rtol, atol=atol, err_msg=k)
    return dm, tm
