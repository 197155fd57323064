"""Connectionist temporal classification: ``ctc_loss`` as PyTorch's CPU kernel computes it (ATen's
LossCTC.cpp): the forward (alpha) recursion in log space over the blank-extended targets, and the gradient
from the backward (beta) recursion, ``exp(log_probs) - exp(log(sum alpha*beta) + nll - log_probs)``, which is
PyTorch's formula (its extra ``exp(log_probs)`` term vanishes through a log_softmax, so the gradient of the
logits is the textbook one). The recursions run over time with the batch and the target positions
vectorised. As in PyTorch, the gradient has no derivative of its own (no double backward).

>>> import dynagrad as torch
>>> import dynagrad.nn.functional as F
>>> lp = torch.tensor([[[0.5, 0.5]], [[0.5, 0.5]]]).log()     # T=2, N=1, C=2 (blank 0)
>>> F.ctc_loss(lp, torch.tensor([[1]]), [2], [1], reduction="sum")   # paths "1_", "_1", "11": 3/4
tensor(0.2877)
"""
from __future__ import annotations

from .. import dtypes
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor

__all__ = ["ctc_loss"]

_NEG = -xp.inf


def _lse3(a, b, c):
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(m == _NEG, 0.0, m)
    return xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m)) + m


def _extended(targets, offsets, tl, blank, Lp):
    """l' (N, Lp): blank, t1, blank, t2, ..., blank; positions past 2 * tl + 1 hold the blank."""
    N = tl.shape[0]
    ext = xp.full((N, Lp), blank, xp.int64)
    for n in range(N):
        k = int(tl[n])
        if k:
            ext[n, 1:2 * k:2] = targets[offsets[n]:offsets[n] + k]
    return ext


class CtcLossBackward0(Op):
    """Per-sample negative log likelihoods (N,) of the targets under log_probs (T, N, C)."""

    def forward(ctx, lp, targets, offsets, il, tl, blank, zero_infinity):
        T, N, C = lp.shape
        S = int(tl.max()) if N else 0
        Lp = 2 * S + 1
        ext = _extended(targets, offsets, tl, blank, Lp)
        pos = xp.arange(Lp)
        valid = pos[None, :] <= 2 * tl[:, None]  # (N, Lp)
        skip = xp.zeros((N, Lp), bool)
        skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
        work = lp.astype(xp.float64)
        lpp = xp.take_along_axis(work, xp.broadcast_to(ext[None], (T, N, Lp)), 2) if T else xp.zeros((0, N, Lp))
        alpha = xp.full((T, N, Lp), _NEG)
        with xp.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if T:
                alpha[0, :, 0] = lpp[0, :, 0]
                if Lp > 1:
                    alpha[0, :, 1] = xp.where(tl > 0, lpp[0, :, 1], _NEG)
            for t in range(1, T):
                prev = alpha[t - 1]
                a2 = xp.full_like(prev, _NEG)
                a2[:, 1:] = prev[:, :-1]
                a3 = xp.full_like(prev, _NEG)
                a3[:, 2:] = xp.where(skip[:, 2:], prev[:, :-2], _NEG)
                alpha[t] = xp.where(valid, _lse3(prev, a2, a3) + lpp[t], _NEG)
            nll = xp.empty(N)
            for n in range(N):
                i, k = int(il[n]), int(tl[n])
                if i == 0:
                    nll[n] = -0.0 if k == 0 else xp.inf
                    continue
                l1 = alpha[i - 1, n, 2 * k]
                l2 = alpha[i - 1, n, 2 * k - 1] if k > 0 else _NEG
                m = max(l1, l2)
                m = 0.0 if m == _NEG else m
                nll[n] = -(xp.log(xp.exp(l1 - m) + xp.exp(l2 - m)) + m)
        if ctx is not None:
            ctx.work, ctx.alpha, ctx.nll, ctx.lpp = work, alpha, nll, lpp
            ctx.ext, ctx.valid, ctx.skip, ctx.il, ctx.tl = ext, valid, skip, il, tl
            ctx.zero_infinity, ctx.dt = zero_infinity, lp.dtype
        return nll.astype(lp.dtype)

    def backward(self, g):
        gr = (g if isinstance(g, xp.ndarray) else g._data).astype(xp.float64)
        work, alpha, lpp, ext, valid, skip = self.work, self.alpha, self.lpp, self.ext, self.valid, self.skip
        il, tl, nll = self.il, self.tl, self.nll
        T, N, C = work.shape
        Lp = ext.shape[1]
        beta = xp.full((T, N, Lp), _NEG)
        pos = xp.arange(Lp)
        last = (pos[None, :] == 2 * tl[:, None]) | ((pos[None, :] == 2 * tl[:, None] - 1) & (tl[:, None] > 0))
        skip_b = xp.zeros((N, Lp), bool)
        skip_b[:, :-2] = skip[:, 2:]
        with xp.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for t in range(T - 1, -1, -1):
                start = t == il - 1  # (N,)
                init = xp.where(last, lpp[t], _NEG)
                if t + 1 < T:
                    nxt = beta[t + 1]
                    b2 = xp.full_like(nxt, _NEG)
                    b2[:, :-1] = nxt[:, 1:]
                    b3 = xp.full_like(nxt, _NEG)
                    b3[:, :-2] = xp.where(skip_b[:, :-2], nxt[:, 2:], _NEG)
                    rec = xp.where(valid, _lse3(nxt, b2, b3) + lpp[t], _NEG)
                else:
                    rec = init
                beta[t] = xp.where(start[:, None], init, xp.where((t < il - 1)[:, None], rec, _NEG))
            ab = xp.where(valid[None], alpha + beta, _NEG)  # (T, N, Lp)
            for n in range(N):  # ATen assigns (not log-adds) the last label's term: a blank there replaces the blank's
                i, k = int(il[n]), int(tl[n])
                if i > 0 and k > 0 and ext[n, 2 * k - 1] == ext[n, 2 * k]:
                    ab[i - 1, n, 2 * k] = _NEG
            m = ab.max(axis=2, keepdims=True) if Lp else xp.zeros((T, N, 1))
            m = xp.where(m == _NEG, 0.0, m)
            onehot = (ext[:, :, None] == xp.arange(C)[None, None, :]) & valid[:, :, None]  # (N, Lp, C)
            summed = xp.matmul(xp.exp(ab - m).transpose(1, 0, 2), onehot.astype(xp.float64)).transpose(1, 0, 2)
            lcab = xp.log(summed) + m
            grad = (xp.exp(work) - xp.exp(lcab + nll[None, :, None] - work)) * gr[None, :, None]
        grad = xp.where((xp.arange(T)[:, None] < il[None, :])[:, :, None], grad, 0.0)
        if self.zero_infinity:
            grad = xp.where((nll == xp.inf)[None, :, None], 0.0, grad)
        out = grad.astype(self.dt)
        return (out if isinstance(g, xp.ndarray) else Tensor._wrap(out),)


def _lengths(v, name):
    if isinstance(v, Tensor):
        if not v.dtype.is_floating_point and not v.dtype.is_complex:
            return xp.asarray(v._data, xp.int64).reshape(-1)
        raise RuntimeError(f"{name} must be integral")
    if isinstance(v, (int, xp.integer)):
        return xp.asarray([int(v)], xp.int64)
    if isinstance(v, (list, tuple)) and all(isinstance(x, (int, xp.integer)) or (isinstance(x, Tensor) and x.ndim == 0)
                                            for x in v):
        return xp.asarray([int(x) for x in v], xp.int64)
    raise TypeError(f"ctc_loss(): {name} must be a tuple of ints or a Tensor, got {type(v).__name__}")


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The CTC loss of ``log_probs`` (T, N, C) or (T, C) (log-softmax outputs) for ``targets`` padded (N, S)
    or concatenated (sum(target_lengths),); ``reduction='mean'`` divides each loss by its target length
    before averaging over the batch."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_probs.dtype not in (dtypes.float32, dtypes.float64):
        raise dtypes.not_implemented("ctc_loss_cpu", log_probs.dtype)
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor):
        raise TypeError("ctc_loss(): input_lengths and target_lengths must be both Tensors or both tuples of ints, "
                        f"got {type(input_lengths).__name__} and {type(target_lengths).__name__}")
    il = _lengths(input_lengths, "input_lengths")
    tl = _lengths(target_lengths, "target_lengths")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {log_probs.ndim}-dimensional tensor for "
                           f"argument #1 'log_probs' (while checking arguments for ctc_loss_allocate_outputs)")
    T, N, C = lp.shape
    tg = targets._data if isinstance(targets, Tensor) else xp.asarray(targets)
    if unbatched and tg.ndim == 1:
        tg = tg[None]
    if il.size != N:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.size != N:
        raise RuntimeError("target_lengths must be of size batch_size")
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    if tg.ndim not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {tg.ndim}-dimensional tensor for argument #2 "
                           f"'targets' (while checking arguments for ctc_loss_allocate_outputs)")
    for name, v in (("input_lengths", il), ("target_lengths", tl)):
        if v.size and v.min() < 0:
            raise RuntimeError(f"Expected {name} to have value at least 0, but got value {int(v.min())} (while "
                               f"checking arguments for ctc_loss_allocate_outputs)")
    tg = tg.astype(xp.int64)
    if tg.ndim == 1:  # concatenated
        offsets = xp.concatenate([[0], xp.cumsum(tl)[:-1]]).astype(xp.int64) if N else xp.zeros(0, xp.int64)
        if tg.shape[0] != int(tl.sum()):
            raise RuntimeError(f"Expected tensor to have size {int(tl.sum())} at dimension 0, but got size "
                               f"{tg.shape[0]} for argument #2 'targets' (while checking arguments for "
                               f"ctc_loss_allocate_outputs)")
        flat = tg
    else:
        if tg.shape[0] != N:
            raise RuntimeError(f"Expected tensor to have size {N} at dimension 0, but got size {tg.shape[0]} for "
                               f"argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)")
        S = tg.shape[1]
        if N and int(tl.max()) > S:
            raise RuntimeError(f"Expected tensor to have size at least {int(tl.max())} at dimension 1, but got size "
                               f"{S} for argument #2 'targets' (while checking arguments for "
                               f"ctc_loss_allocate_outputs)")
        flat = tg.reshape(-1)
        offsets = xp.arange(N, dtype=xp.int64) * S
    if N and int(il.max()) > T:
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value {int(il.max())} (while "
                           f"checking arguments for ctc_loss_allocate_outputs)")
    used = xp.concatenate([flat[offsets[n]:offsets[n] + tl[n]] for n in range(N)]) if N else flat[:0]
    if used.size and (used.min() < 0 or used.max() >= C):
        bad = int(used.min()) if used.min() < 0 else int(used.max())
        raise RuntimeError(f"ctc_loss(): target label {bad} is out of range for {C} classes (PyTorch reads past "
                           f"its buffer here)")
    nll = CtcLossBackward0.apply(lp, targets=flat, offsets=offsets, il=il, tl=tl, blank=int(blank),
                                 zero_infinity=bool(zero_infinity))
    if zero_infinity:
        from .index import where
        nll = where(nll == float("inf"), Tensor._wrap(xp.zeros((), nll._data.dtype)), nll)
    if reduction == "mean":
        return (nll / Tensor._wrap(xp.maximum(tl, 1).astype(nll._data.dtype))).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.squeeze(0) if unbatched else nll
