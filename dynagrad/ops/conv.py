"""Convolution (1-D, 2-D, 3-D and transposed) through im2col views and one BLAS matmul; unfold / fold.

The receptive fields of a padded input ``(N, C, *S)`` are a strided view ``(C, *K, N, *Out)`` (no copy);
reshaping it to ``(groups, C/groups*prod(K), N*prod(Out))`` makes the one copy of the patches, and the
convolution is one matmul of the weights ``(groups, O/groups, C/groups*prod(K))`` with it. Backward:
``grad_weight`` is one matmul of the output gradient with the saved patches, ``grad_input`` one matmul
with the weights followed by col2im, a scatter-add done with one strided add per kernel position.
A transposed convolution is the same two steps in the other order.

With ``create_graph=True`` the backward is written with differentiable ops (``unfold``/``fold``, which
are each other's adjoints, and matmul), so gradients of gradients work.
"""
from __future__ import annotations

import itertools
import math

from numpy.lib.stride_tricks import as_strided

from .. import _jit, _source
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor
from ._memory import tune_malloc
from .pad import _pad_constant_array

tune_malloc()  # large patches and gradients reuse heap pages (see ops/_memory.py)

_nd = xp.ndarray


# -- array helpers -------------------------------------------------------------------------------------------

def _windows(a, K, stride, dil, out):
    """The receptive fields of ``a`` (N, C, *S) as a read-only strided view (N, C, *K, *Out)."""
    st = a.strides
    nd = len(K)
    shape = a.shape[:2] + tuple(K) + tuple(out)
    strides = st[:2] + tuple(st[2 + i] * dil[i] for i in range(nd)) + \
        tuple(st[2 + i] * stride[i] for i in range(nd))
    return as_strided(a, shape, strides, writeable=False)


def _cn_order(nd):
    """Axes taking (N, C, *K, *Out) to (C, *K, N, *Out)."""
    return (1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, 2 + 2 * nd))


def _col2im(cols, size, stride, dil):
    """Adjoint of ``_windows`` (in (C, *K, N, *Out) order): sum the patches into an array (C, N, *size)."""
    nd = len(size)
    C, K, N, out = cols.shape[0], cols.shape[1:1 + nd], cols.shape[1 + nd], cols.shape[2 + nd:]
    acc = xp.zeros((C, N) + tuple(size), cols.dtype)
    for k in itertools.product(*map(range, K)):
        sl = tuple(slice(k[i] * dil[i], k[i] * dil[i] + stride[i] * (out[i] - 1) + 1, stride[i])
                   for i in range(nd))
        acc[(slice(None), slice(None)) + sl] += cols[(slice(None),) + k]
    return acc


def _out_sizes(size, K, stride, dil, pads):
    return tuple((size[i] + pads[i][0] + pads[i][1] - dil[i] * (K[i] - 1) - 1) // stride[i] + 1
                 for i in range(len(K)))


def _crop(a, pads, size):
    """``a[..., lo:lo+size]`` over the trailing dims."""
    lead = a.ndim - len(pads)
    return a[(slice(None),) * lead + tuple(slice(lo, lo + s) for (lo, _), s in zip(pads, size))]


def _prod(t):
    return math.prod(t)


def _bmm(a, b):
    """Batched matmul over groups; a single group goes to BLAS as one 2-D product (NumPy's stacked
    matmul falls back to a slow loop for transposed operands)."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    if a.shape[0] <= 16:
        return xp.stack([a[i] @ b[i] for i in range(a.shape[0])])
    return xp.matmul(xp.ascontiguousarray(a), xp.ascontiguousarray(b))


def _patches(x, K, stride, dil, pads, out, groups):
    """The im2col matrix of ``x``: (groups, C/groups*prod(K), N*prod(Out)), one copy."""
    xpad = _pad_constant_array(x, pads) if any(lo or hi for lo, hi in pads) else x
    v = _windows(xpad, K, stride, dil, out).transpose(_cn_order(len(K)))
    N, C = x.shape[:2]
    return v.reshape(groups, C // groups * _prod(K), N * _prod(out))


class _Flat:
    """The "flat" im2col layout, for convolutions whose strides are 1 except perhaps in the last dim.

    Each (sample, channel) plane of the padded input is flattened; output position q then reads element
    ``q*s + offset(k)`` for kernel position k, so every kernel position is one constant shift. The output
    is computed on an extended grid that runs over the full padded width (a few discarded columns), which
    makes im2col a copy of long contiguous runs and col2im one contiguous add per kernel position.
    """

    __slots__ = ("Sp", "plane", "tail", "E", "Lq", "sp", "s", "out")

    def __init__(self, S, K, stride, dil, pads, out):
        nd = len(K)
        s = stride[-1]
        Sp = [n + lo + hi for n, (lo, hi) in zip(S, pads)]
        Sp[-1] = -(-Sp[-1] // s) * s
        self.Sp, self.s, self.out = tuple(Sp), s, out
        self.sp = tuple(_prod(Sp[i + 1:]) for i in range(nd))
        self.plane = _prod(Sp)
        self.E = (out[0],) if nd == 1 else (out[0],) + tuple(Sp[1:-1]) + (Sp[-1] // s,)
        self.Lq = _prod(self.E)
        last = (self.Lq - 1) * s + sum((k - 1) * d * sp for k, d, sp in zip(K, dil, self.sp))
        self.tail = max(0, last + 1 - self.plane)

    @staticmethod
    def plan(x, K, stride, dil, pads, out):
        if any(s != 1 for s in stride[:-1]):
            return None
        f = _Flat(x.shape[2:], K, stride, dil, pads, out)
        # the extended grid costs its extra columns in all three products; the exact layout costs a strided
        # gather instead. Measured fwd+bwd, 3x3, padding 1 (OpenBLAS, one thread): at 4x4 (1.5x the columns)
        # and 8x8 (1.25x) the exact layout is 17-21% faster, at 14x14 (1.14x) even, at 16x16 (1.125x) and
        # larger the grid wins by 2-15%
        if len(K) > 1 and 5 * f.Lq > 6 * _prod(out):
            return None
        # discarded columns read input elements no real window reads only when the stride skips a tail;
        # a non-finite value there would turn a zero gradient into NaN, so keep to the exact layout then
        lo, hi = pads[-1]
        if (x.shape[-1] + lo + hi - dil[-1] * (K[-1] - 1) - 1) % stride[-1] and not xp.isfinite(x).all():
            return None
        return f

    def buffer(self, N, C, dtype, zero=True):
        if zero:
            return xp.zeros(N * C * self.plane + self.tail, dtype)
        buf = xp.empty(N * C * self.plane + self.tail, dtype)
        buf[N * C * self.plane:] = 0
        return buf

    def body(self, buf, N, C):
        return buf[:N * C * self.plane].reshape((N, C) + self.Sp)

    def crop(self, a):
        """Valid outputs of an array (..., *E)."""
        return a[(Ellipsis,) + tuple(slice(0, o) for o in self.out)]


def _place(out, x, pads):
    """Write ``x`` into ``out`` at offsets ``pads[i][0]`` of the trailing dims and zero the rest, touching
    each element of ``out`` once."""
    lead = (slice(None),) * (x.ndim - len(pads))
    out[lead + tuple(slice(lo, lo + n) for (lo, _), n in zip(pads, x.shape[len(lead):]))] = x
    for i, (lo, _) in enumerate(pads):
        n = x.shape[len(lead) + i]
        pre = lead + (slice(None),) * i
        if lo:
            out[pre + (slice(0, lo),)] = 0
        if out.shape[len(lead) + i] > lo + n:
            out[pre + (slice(lo + n, None),)] = 0


def _flat_patches(x, f, K, dil, pads, groups):
    N, C = x.shape[:2]
    buf = f.buffer(N, C, x.dtype, zero=False)
    _place(f.body(buf, N, C), x, pads)
    e = buf.itemsize
    v = as_strided(buf, (C,) + tuple(K) + (N, f.Lq),
                   (f.plane * e,) + tuple(d * sp * e for d, sp in zip(dil, f.sp)) +
                   (C * f.plane * e, f.s * e),
                   writeable=False)
    return v.reshape(groups, C // groups * _prod(K), N * f.Lq)


def _flat_col2im(gcols, f, N, C, K, dil):
    """Adjoint of :func:`_flat_patches` (before cropping): gcols (C, *K, N, Lq) -> buffer."""
    acc = f.buffer(N, C, gcols.dtype)
    e = acc.itemsize
    offs = [sum(ki * d * sp for ki, d, sp in zip(k, dil, f.sp)) for k in itertools.product(*map(range, K))]
    if _jit.enabled() and gcols.dtype.kind == "f" and gcols.dtype.itemsize >= 4 and gcols.flags.c_contiguous:
        # one loop for all kernel positions, adding in their order: NumPy's bits, without nine passes
        _k_col2im(gcols.reshape(C, len(offs), N, f.Lq), acc, xp.array(offs, xp.int64), f.plane, f.s)
        return acc
    for k, off in zip(itertools.product(*map(range, K)), offs):
        dst = as_strided(acc[off:], (C, N, f.Lq), (f.plane * e, C * f.plane * e, f.s * e))
        dst += gcols[(slice(None),) + k]
    return acc


@_jit.kernel
def _k_col2im(gcols, acc, offs, plane, s):
    """acc[n*C*plane + c*plane + offs[k] + q*s] += gcols[c, k, n, q], kernel position k outermost as in
    the NumPy loop (within one position no two elements meet, so each sum is formed in NumPy's order)."""
    C, P, N, L = gcols.shape
    for k in range(P):
        off = offs[k]
        for n in range(N):
            for c in range(C):
                base = (n * C + c) * plane + off
                src = gcols[c, k, n]
                if s == 1:  # contiguous: a loop LLVM vectorizes
                    dst = acc[base:base + L]
                    for q in range(L):
                        dst[q] += src[q]
                else:
                    for q in range(L):
                        acc[base + q * s] += src[q]


# -- convolution ---------------------------------------------------------------------------------------------

class ConvolutionBackward0(Op):
    save = (0, 1)

    def forward(ctx, x, w, b, stride, pads, dil, groups, keep_cols):
        N, C = x.shape[:2]
        O, K = w.shape[0], w.shape[2:]
        out = _out_sizes(x.shape[2:], K, stride, dil, pads)
        if any(o <= 0 for o in out):
            raise RuntimeError(f"Calculated output size: {list(out)}. Output size is too small (input "
                               f"{list(x.shape)}, kernel {list(K)}, at {_source.here()})")
        f = _Flat.plan(x, K, stride, dil, pads, out)
        nb = _chunk(f, N, C, K, x.itemsize) if groups == 1 else 0
        if ctx is not None:
            ctx.stride, ctx.pads, ctx.dil, ctx.groups, ctx.out = stride, pads, dil, groups, out
            ctx.flat, ctx.chunk, ctx.cols = f, nb, None
        if nb:
            kept = [] if ctx is not None and keep_cols else None
            res = _chunked_forward(x, w, b, f, K, dil, pads, nb, kept)
            if kept:
                ctx.cols = kept
            return res
        if f is not None:
            cols = _flat_patches(x, f, K, dil, pads, groups)
        else:
            cols = _patches(x, K, stride, dil, pads, out, groups)
        if groups == 1:
            y = w.reshape(O, -1) @ cols[0]
        else:
            y = _bmm(w.reshape(groups, O // groups, -1), cols).reshape(O, -1)
        res = xp.empty((N, O) + out, y.dtype)
        y = f.crop(y.reshape((O, N) + f.E)) if f is not None else y.reshape((O, N) + out)
        y = y.swapaxes(0, 1)
        if b is not None:
            xp.add(y, b.reshape((O,) + (1,) * len(K)), out=res)
        else:
            res[...] = y
        if ctx is not None and keep_cols:
            ctx.cols = cols
        return res

    def release(self, where) -> None:
        self.cols = None
        super().release(where)

    def backward(self, g, x, w):
        need_x, need_w = self.edges[0][0] is not None, self.edges[1][0] is not None
        need_b = self.edges[2][0] is not None
        if type(g) is not _nd:
            return _conv_backward_graph(self, g, x, w, need_x, need_w, need_b)
        if self.chunk:
            return _chunked_backward(self, g, x, w, need_x, need_w, need_b)
        G, out, f = self.groups, self.out, self.flat
        N, O = g.shape[:2]
        C, K = x.shape[1], w.shape[2:]
        gx = gw = gb = None
        # the output gradient as (groups, O/groups, N*positions), zero on the discarded columns
        if f is not None and f.E != out:
            gr = xp.empty((O, N) + f.E, g.dtype)
            _place(gr, g.swapaxes(0, 1), ((0, 0),) * len(out))
        else:
            gr = xp.ascontiguousarray(g.swapaxes(0, 1))
        gr = gr.reshape(G, O // G, -1)
        if need_b:  # rows of the transposed gradient are contiguous: a fast reduction
            gb = gr.reshape(O, -1).sum(1)
        if need_w:
            cols = self.cols
            if cols is None:
                cols = _flat_patches(x, f, K, self.dil, self.pads, G) if f is not None else \
                    _patches(x, K, self.stride, self.dil, self.pads, out, G)
            gw = _weight_grad(gr, cols).reshape(w.shape)
        if need_x:
            gcols = _bmm(w.reshape(G, O // G, -1).transpose(0, 2, 1), gr)
            if f is not None:
                acc = _flat_col2im(gcols.reshape((C,) + K + (N, f.Lq)), f, N, C, K, self.dil)
                acc = f.body(acc, N, C)
                gx = xp.ascontiguousarray(_crop(acc, self.pads, x.shape[2:]))
            else:
                size = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], self.pads))
                acc = _col2im(gcols.reshape((C,) + K + (N,) + out), size, self.stride, self.dil)
                acc = _crop(acc, self.pads, x.shape[2:])
                gx = xp.ascontiguousarray(acc.swapaxes(0, 1))
        return gx, gw, gb


def _weight_grad(gr, cols):
    """grad (G, O/G, L) times patches (G, CK, L) transposed: (G, O/G, CK), C-contiguous.

    Both forms below give the same bits (BLAS sums each element over L in one order either way) and read
    the long dim L inner on both operands. ``grad @ patches^T`` writes the result in place; ``(patches @
    grad^T)^T`` needs a transposed copy of it, which at deep layers costs more than the product (11 ms
    besides a 7.7 ms product for 512 channels at 4x4: strided writes over 9 MB), but is the faster product
    when L is long and the weights small (1.1 ms less at 64 channels on 8704 positions). Measured on
    OpenBLAS's SkylakeX kernel, one thread: the crossover is near O*CK = 128*L.
    """
    G, O, L = gr.shape
    if O * cols.shape[1] >= 128 * L:
        return _bmm(gr, cols.transpose(0, 2, 1))
    return xp.ascontiguousarray(_bmm(cols, gr.transpose(0, 2, 1)).transpose(0, 2, 1))


# Samples per block of the blocked (chunked) path: the im2col block of a few samples stays in cache while
# BLAS reads it, where the whole batch's (15 MB for the seed ConvNet's second layer) streams through memory
# twice. Measured on the seed ConvNet's conv2 forward (2 cores, OpenBLAS): whole batch 6.3 ms; blocks of
# 1, 2, 4, 8, 16 samples: 8.3, 3.3, 2.7, 2.5, 2.6 ms. Blocks of about 4 MB of patches.
_CHUNK_BYTES = 4 << 20
_CHUNK_MIN_BYTES = 256 << 10  # below this the whole batch is small enough already


def _chunk(f, N: int, C: int, K, itemsize: int) -> int:
    """Samples per block for the blocked path, or 0 to run the whole batch at once."""
    if f is None or N < 2:
        return 0
    per_sample = C * _prod(K) * f.Lq * itemsize
    nb = max(1, _CHUNK_BYTES // per_sample)
    return nb if nb < N and per_sample * nb >= _CHUNK_MIN_BYTES else 0


def _chunked_forward(x, w, b, f, K, dil, pads, nb, kept=None):
    """The blocked forward; with ``kept`` (a list), each block's patches are appended to it for the
    weight gradient (rebuilding them in backward would cost a third of the backward)."""
    N, O = x.shape[0], w.shape[0]
    w2 = w.reshape(O, -1)
    res = xp.empty((N, O) + f.out, xp.result_type(x, w))
    jit = _jit_2d(x, res)
    for n0 in range(0, N, nb):
        xc = x[n0:n0 + nb]
        m = xc.shape[0]
        cols = _flat_patches(xc, f, K, dil, pads, 1)[0]
        if kept is not None:
            kept.append(cols)
        y = w2 @ cols
        if jit and b is not None:  # crop, swap to (N, O, ...) and add the bias in one pass
            _k_crop_bias(y.reshape((O, m) + f.E), b, res[n0:n0 + m])
            continue
        y = f.crop(y.reshape((O, m) + f.E)).swapaxes(0, 1)
        if b is not None:
            xp.add(y, b.reshape((O,) + (1,) * len(K)), out=res[n0:n0 + m])
        else:
            res[n0:n0 + m] = y
    return res


def _jit_2d(*arrays) -> bool:
    """Whether the numba data-movement kernels below apply: 2-D convolution, float32/64, numba on."""
    return _jit.enabled() and all(a.ndim == 4 and a.dtype.kind == "f" and a.dtype.itemsize >= 4 for a in arrays)


@_jit.kernel
def _k_crop_bias(y, b, res):
    """res[n, o, i, j] = y[o, n, i, j] + b[o] over res's (valid) extent."""
    O, N, H, W = res.shape[1], res.shape[0], res.shape[2], res.shape[3]
    for n in range(N):
        for o in range(O):
            bo = b[o]
            for i in range(H):
                for j in range(W):
                    res[n, o, i, j] = y[o, n, i, j] + bo


@_jit.kernel
def _k_place_swapped(g, gr):
    """gr[o, n, i, j] = g[n, o, i, j], and 0 on gr's extra columns (the extended grid's discarded ones)."""
    N, O, H, W = g.shape
    We = gr.shape[3]
    for o in range(O):
        for n in range(N):
            for i in range(H):
                for j in range(W):
                    gr[o, n, i, j] = g[n, o, i, j]
                for j in range(W, We):
                    gr[o, n, i, j] = 0


def _chunked_backward(node, g, x, w, need_x, need_w, need_b):
    """The backward of the blocked path: per block of samples, the weight gradient accumulates and the
    input gradient is written."""
    f, out, pads, dil, nb = node.flat, node.out, node.pads, node.dil, node.chunk
    N, O = g.shape[:2]
    C, K = x.shape[1], w.shape[2:]
    w2 = w.reshape(O, -1)
    gx = xp.empty(x.shape, xp.result_type(g, w)) if need_x else None
    gwt = gb = None
    kept = node.cols
    jit = _jit_2d(g) and f.E[0] == out[0]
    for i, n0 in enumerate(range(0, N, nb)):
        gc = g[n0:n0 + nb]
        m = gc.shape[0]
        if jit:
            gr = xp.empty((O, m) + f.E, g.dtype)
            _k_place_swapped(gc, gr)
        elif f.E != out:  # zero on the discarded columns of the extended grid
            gr = xp.empty((O, m) + f.E, g.dtype)
            _place(gr, gc.swapaxes(0, 1), ((0, 0),) * len(out))
        else:
            gr = xp.ascontiguousarray(gc.swapaxes(0, 1))
        gr = gr.reshape(O, -1)
        if need_b:
            s = gr.sum(1)
            gb = s if gb is None else gb + s
        if need_w:
            cols = kept[i] if kept is not None else _flat_patches(x[n0:n0 + m], f, K, dil, pads, 1)[0]
            part = cols @ gr.T  # (C*prod(K), O)
            if gwt is None:  # half precision sums the blocks in float32, rounding once at the end
                gwt = part if part.dtype.itemsize >= 4 else part.astype(xp.float32)
            else:
                gwt += part
        if need_x:
            gcols = w2.T @ gr
            acc = _flat_col2im(gcols.reshape((C,) + K + (m, f.Lq)), f, m, C, K, dil)
            gx[n0:n0 + m] = _crop(f.body(acc, m, C), pads, x.shape[2:])
    gw = xp.ascontiguousarray(gwt.T).reshape(w.shape).astype(w.dtype, copy=False) if need_w else None
    return gx, gw, gb


def _conv_backward_graph(node, g, x, w, need_x, need_w, need_b):
    """The convolution's backward with differentiable ops (for ``create_graph=True``)."""
    G, out, K = node.groups, node.out, tuple(w.shape[2:])
    N, C = x.shape[:2]
    O = w.shape[0]
    P = _prod(out)
    gr = g.reshape(N, G, O // G, P)
    gx = gw = gb = None
    if need_w:
        cols = unfold_nd(x, K, node.dil, node.pads, node.stride).reshape(N, G, -1, P)
        gw = (gr @ cols.transpose(-1, -2)).sum(0).reshape(tuple(w.shape))
    if need_b:
        gb = g.sum(dim=(0,) + tuple(range(2, g.ndim)))
    if need_x:
        gcols = (w.reshape(G, O // G, -1).transpose(-1, -2) @ gr).reshape(N, -1, P)
        gx = fold_nd(gcols, tuple(x.shape[2:]), K, node.dil, node.pads, node.stride)
    return gx, gw, gb


class _ConvTransposeBackward(Op):
    save = (0, 1)

    def name(self) -> str:
        return "ConvolutionBackward0"

    def forward(ctx, x, w, b, stride, pads, dil, groups, out):
        N, Cin = x.shape[:2]
        S, K = x.shape[2:], w.shape[2:]
        G = groups
        Cout = w.shape[1] * G
        Ps = _prod(S)
        xr = x.reshape(N, G, Cin // G, Ps).transpose(1, 2, 0, 3).reshape(G, Cin // G, N * Ps)
        cols = _bmm(w.reshape(G, Cin // G, -1).transpose(0, 2, 1), xr)
        full = tuple((S[i] - 1) * stride[i] + dil[i] * (K[i] - 1) + 1 for i in range(len(K)))
        size = tuple(max(f, lo + o) for f, (lo, _), o in zip(full, pads, out))
        acc = _col2im(cols.reshape((Cout,) + K + (N,) + S), size, stride, dil)
        acc = _crop(acc, pads, out).swapaxes(0, 1)
        res = xp.empty((N, Cout) + tuple(out), acc.dtype)
        if b is not None:
            xp.add(acc, b.reshape((Cout,) + (1,) * len(K)), out=res)
        else:
            res[...] = acc
        if ctx is not None:
            ctx.stride, ctx.pads, ctx.dil, ctx.groups, ctx.full, ctx.out = stride, pads, dil, G, full, out
        return res

    def _gfull_pads(self):
        """Pads taking the output gradient back to the uncropped (full) output."""
        return tuple((lo, f - lo - o) for (lo, _), f, o in zip(self.pads, self.full, self.out))

    def backward(self, g, x, w):
        need_x, need_w = self.edges[0][0] is not None, self.edges[1][0] is not None
        need_b = self.edges[2][0] is not None
        G, K, S = self.groups, tuple(w.shape[2:]), tuple(x.shape[2:])
        N, Cin = x.shape[:2]
        Cout = g.shape[1]
        Ps = _prod(S)
        gx = gw = gb = None
        if need_b:
            gb = g.sum(axis=(0,) + tuple(range(2, g.ndim))) if type(g) is _nd else \
                g.sum(dim=(0,) + tuple(range(2, g.ndim)))
        if type(g) is not _nd:  # differentiable formulation
            gcols = unfold_nd(g, K, self.dil, self._gfull_pads(), self.stride).reshape(N, G, -1, Ps)
            if need_x:
                gx = (w.reshape(G, Cin // G, -1) @ gcols).reshape(tuple(x.shape))
            if need_w:
                gw = (x.reshape(N, G, Cin // G, Ps) @ gcols.transpose(-1, -2)).sum(0).reshape(tuple(w.shape))
            return gx, gw, gb
        gcols = _patches(g, K, self.stride, self.dil, self._gfull_pads(), S, G)
        if need_x:
            r = _bmm(w.reshape(G, Cin // G, -1), gcols).reshape((Cin, N) + S)
            gx = xp.ascontiguousarray(r.swapaxes(0, 1))
        if need_w:
            xr = x.reshape(N, G, Cin // G, Ps).transpose(1, 2, 0, 3).reshape(G, Cin // G, N * Ps)
            gw = _bmm(xr, gcols.transpose(0, 2, 1)).reshape(w.shape)
        _ = Cout
        return gx, gw, gb


# -- unfold / fold (im2col / col2im) -------------------------------------------------------------------------

class Im2ColBackward0(Op):
    def forward(ctx, a, K, dil, pads, stride):
        out = _out_sizes(a.shape[2:], K, stride, dil, pads)
        if any(o <= 0 for o in out):
            raise RuntimeError(f"Given input with spatial size {list(a.shape[2:])}, kernel_size={list(K)}, "
                               f"dilation={list(dil)}, padding={[p[0] for p in pads]}, calculated shape of "
                               f"the array of sliding blocks as {list(out)}, but its components must be at "
                               f"least one.")
        apad = _pad_constant_array(a, pads) if any(lo or hi for lo, hi in pads) else a
        if ctx is not None:
            ctx.size, ctx.K, ctx.dil, ctx.pads, ctx.stride = a.shape[2:], K, dil, pads, stride
        N, C = a.shape[:2]
        return _windows(apad, K, stride, dil, out).reshape(N, C * _prod(K), _prod(out))

    def backward(self, g):
        if type(g) is _nd:
            return (Col2ImBackward0.forward(None, g, self.size, self.K, self.dil, self.pads, self.stride),)
        return (Col2ImBackward0.apply(g, size=self.size, K=self.K, dil=self.dil, pads=self.pads,
                                      stride=self.stride),)


class Col2ImBackward0(Op):
    def forward(ctx, a, size, K, dil, pads, stride):
        nd = len(K)
        padded = tuple(s + lo + hi for s, (lo, hi) in zip(size, pads))
        out = _out_sizes(size, K, stride, dil, pads)
        N = a.shape[0]
        C = a.shape[1] // _prod(K)
        if a.shape[1] != C * _prod(K) or a.shape[2] != _prod(out):
            raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of "
                               f"kernel_size ({_prod(K)}) and dimension 2 to match the calculated number of "
                               f"sliding blocks {_prod(out)}, but got input of size {list(a.shape)}")
        cols = a.reshape((N, C) + tuple(K) + out).transpose(_cn_order(nd))
        acc = _crop(_col2im(cols, padded, stride, dil), pads, size)
        if ctx is not None:
            ctx.K, ctx.dil, ctx.pads, ctx.stride = K, dil, pads, stride
        return xp.ascontiguousarray(acc.swapaxes(0, 1))

    def backward(self, g):
        if type(g) is _nd:
            return (Im2ColBackward0.forward(None, g, self.K, self.dil, self.pads, self.stride),)
        return (Im2ColBackward0.apply(g, K=self.K, dil=self.dil, pads=self.pads, stride=self.stride),)


def unfold_nd(x, K, dil, pads, stride):
    """Patches of ``x`` (N, C, *S) as (N, C*prod(K), L); ``pads`` is ((before, after), ...) per dim."""
    return Im2ColBackward0.apply(x, K=tuple(K), dil=tuple(dil), pads=tuple(pads), stride=tuple(stride))


def fold_nd(cols, size, K, dil, pads, stride):
    """Adjoint of :func:`unfold_nd`: sum patches (N, C*prod(K), L) into (N, C, *size)."""
    return Col2ImBackward0.apply(cols, size=tuple(size), K=tuple(K), dil=tuple(dil), pads=tuple(pads),
                                 stride=tuple(stride))


# -- argument handling and the functional API ----------------------------------------------------------------

def _ntuple(v, n: int, name: str) -> tuple:
    if isinstance(v, (list, tuple)):
        if len(v) == 1 and n > 1:
            return tuple(int(v[0]) for _ in range(n))
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to "
                               f"match the convolution dimensions, but got {name}={list(v)}")
        return tuple(int(i) for i in v)
    return (int(v),) * n


def _same_pads(K, dil):
    return tuple(((d * (k - 1)) // 2, d * (k - 1) - (d * (k - 1)) // 2) for k, d in zip(K, dil))


def _batchify(x, nd: int, name: str):
    if x.ndim == nd + 2:
        return x, False
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
                       f"input of size: {list(x.shape)}")


def _check(x, w, b, name):
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(f"{name}(): argument 'input' and 'weight' must be Tensors")
    if x._data.dtype != w._data.dtype or (b is not None and b._data.dtype != x._data.dtype):
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({w.dtype}) should be the same"
                           if x._data.dtype != w._data.dtype else
                           f"Input type ({x.dtype}) and bias type ({b.dtype}) should be the same")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"\"{name}\" not implemented for '{x.dtype.name.capitalize()}'")


def _convnd(nd, name, input, weight, bias, stride, padding, dilation, groups):  # noqa: A002
    _check(input, weight, bias, name)
    x, unbatched = _batchify(input, nd, name)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional input "
                           f"{list(x.shape)}, but got {weight.ndim}-dimensional weight of size "
                           f"{list(weight.shape)}")
    stride = _ntuple(stride, nd, "stride")
    dil = _ntuple(dilation, nd, "dilation")
    K = tuple(weight.shape[2:])
    groups = int(groups)
    C, O = x.shape[1], weight.shape[0]
    if groups <= 0 or C % groups or O % groups or weight.shape[1] * groups != C:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {weight.shape[1] * groups} channels, but got {C} "
                           f"channels instead (at {_source.here()})")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_pads(K, dil)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = tuple((p, p) for p in _ntuple(padding, nd, "padding"))
    if bias is not None and tuple(bias.shape) != (O,):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
                           f"with {O} elements, but got bias of size {list(bias.shape)} instead")
    y = ConvolutionBackward0.apply(x, weight, bias, stride=stride, pads=pads, dil=dil, groups=groups,
                                   keep_cols=weight._requires_grad)
    return y.squeeze(0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution over (N, C, L) or (C, L); ``padding`` may be an int, a tuple, 'same' or 'valid'."""
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution (cross-correlation, as in PyTorch) over (N, C, H, W) or (C, H, W).

    >>> import dynagrad
    >>> from dynagrad.nn import functional as F
    >>> F.conv2d(dynagrad.ones(1, 1, 3, 3), dynagrad.ones(1, 1, 2, 2)).shape
    torch.Size([1, 1, 2, 2])
    """
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W)."""
    return _convnd(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(nd, name, input, weight, bias, stride, padding, output_padding, groups,  # noqa: A002
                      dilation, output_size=None):
    _check(input, weight, bias, name)
    x, unbatched = _batchify(input, nd, name)
    stride = _ntuple(stride, nd, "stride")
    dil = _ntuple(dilation, nd, "dilation")
    pad = _ntuple(padding, nd, "padding")
    opad = _ntuple(output_padding, nd, "output_padding")
    K = tuple(weight.shape[2:])
    groups = int(groups)
    Cin = x.shape[1]
    if weight.shape[0] != Cin or Cin % groups:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input "
                           f"{list(x.shape)} to have {weight.shape[0]} channels, but got {Cin} channels "
                           f"instead")
    if any(o >= max(s, d) for o, s, d in zip(opad, stride, dil)):
        raise RuntimeError("output padding must be smaller than either stride or dilation")
    S = x.shape[2:]
    out = tuple((S[i] - 1) * stride[i] - 2 * pad[i] + dil[i] * (K[i] - 1) + opad[i] + 1 for i in range(nd))
    if output_size is not None:
        out = tuple(int(s) for s in tuple(output_size)[-nd:])
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Output size is too small: {list(out)}")
    pads = tuple((p, p) for p in pad)
    y = _ConvTransposeBackward.apply(x, weight, bias, stride=stride, pads=pads, dil=dil, groups=groups,
                                     out=out)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """Transposed 1-D convolution; ``weight`` is (C_in, C_out/groups, K)."""
    return _conv_transposend(1, "conv_transpose1d", input, weight, bias, stride, padding, output_padding,
                             groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """Transposed 2-D convolution (the gradient of conv2d with respect to its input)."""
    return _conv_transposend(2, "conv_transpose2d", input, weight, bias, stride, padding, output_padding,
                             groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    return _conv_transposend(3, "conv_transpose3d", input, weight, bias, stride, padding, output_padding,
                             groups, dilation)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Sliding local blocks of (N, C, H, W) as (N, C*kh*kw, L) (``torch.nn.functional.unfold``)."""
    x, unbatched = (input, False) if input.ndim == 4 else (input.unsqueeze(0), True)
    if x.ndim != 4:
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported "
                                  f"(got {input.ndim}D)")
    K = _ntuple(kernel_size, 2, "kernel_size")
    p = _ntuple(padding, 2, "padding")
    y = unfold_nd(x, K, _ntuple(dilation, 2, "dilation"), tuple((q, q) for q in p),
                  _ntuple(stride, 2, "stride"))
    return y.squeeze(0) if unbatched else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Sum sliding blocks (N, C*kh*kw, L) into (N, C, *output_size) (``torch.nn.functional.fold``)."""
    x, unbatched = (input, False) if input.ndim == 3 else (input.unsqueeze(0), True)
    if x.ndim != 3:
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                                  f"supported (got {input.ndim}D)")
    K = _ntuple(kernel_size, 2, "kernel_size")
    p = _ntuple(padding, 2, "padding")
    y = fold_nd(x, _ntuple(output_size, 2, "output_size"), K, _ntuple(dilation, 2, "dilation"),
                tuple((q, q) for q in p), _ntuple(stride, 2, "stride"))
    return y.squeeze(0) if unbatched else y


