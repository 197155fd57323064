"""Recurrent layers as single primitives: one graph node per layer and direction.

``forward`` runs the whole time loop in NumPy: the input projections of every timestep in one matmul, then
per step one ``h @ W_hh^T`` and a handful of in-place ufuncs, keeping the gate activations for backward.
``backward`` runs backpropagation through time in NumPy the same way (one ``dgates @ W_hh`` per step) and
ends with one matmul per weight. There are no per-step graph nodes, so any sequence length backpropagates
without recursion, and the engine sees a single node.

Inputs are always in the packed layout: ``x`` is (N, I) with the rows of each timestep contiguous, and the
static ``batch_sizes`` (None: every step has the full batch) gives the rows per step, non-increasing as in
``PackedSequence``. A padded (T, B, I) input is simply ``x.reshape(T * B, I)``. Outputs: ``(y, h_n)`` or
``(y, h_n, c_n)`` for a layer; ``h`` or ``(h, c)`` for a cell (``cell=True``: one step, no ``y``).

Gate layouts are PyTorch's: LSTM rows (i, f, g, o); GRU rows (r, z, n) with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``. Gradients of gradients (``create_graph=True``) recompute
the layer from primitives (``reference_layer``, also the tests' oracle) and differentiate that.
"""
from __future__ import annotations

from functools import lru_cache

from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D

_nd = xp.ndarray


# -- the time plan -------------------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _plan(n: int, b: int, batch_sizes: tuple | None, reverse: bool):
    """Steps in processing order as ``(start, size, prev_start, prev_size)`` (``prev_*`` of the step processed
    just before; None for the first), ``prev_idx`` (for each packed row, the row of ``concat(h0, y)`` holding
    its previous state) and ``last_idx`` (for each batch row, the row of ``y`` holding its final state)."""
    sizes = [b] * (n // b) if batch_sizes is None else list(batch_sizes)
    starts = [0] * len(sizes)
    for t in range(1, len(sizes)):
        starts[t] = starts[t - 1] + sizes[t - 1]
    order = range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))
    steps = []
    prev_idx = xp.empty(n, xp.intp)
    last_idx = xp.empty(b, xp.intp)
    ps = pbs = None
    for t in order:
        s, bs = starts[t], sizes[t]
        rows = xp.arange(bs)
        if ps is None:
            prev_idx[s:s + bs] = rows
        else:
            k = min(pbs, bs)
            prev_idx[s:s + k] = b + ps + rows[:k]
            prev_idx[s + k:s + bs] = rows[k:]
        last_idx[:bs] = s + rows
        steps.append((s, bs, ps, pbs))
        ps, pbs = s, bs
    return tuple(steps), prev_idx, last_idx


def _prev(state, init, s_prev, bs_prev, bs):
    """The state rows entering a step: the previous step's rows, topped up from ``init`` where it grows."""
    if s_prev is None:
        return init[:bs]
    if bs_prev >= bs:
        return state[s_prev:s_prev + bs]
    return xp.concatenate((state[s_prev:s_prev + bs_prev], init[bs_prev:bs]))


def _gather_prev(init, y, prev_idx):
    """Every step's incoming state as one (N, H) array (for the weight gradient's single matmul)."""
    return xp.concatenate((init, y))[prev_idx]


def _hidden_weights(w_hh):
    """``w_hh.T`` as a C-ordered array for the per-step ``h @ W_hh^T``.

    With few rows per step OpenBLAS is much slower on a transposed (Fortran-ordered) right operand: (20, 200)
    @ (200, 800), the word-language model's LSTM step, takes 75 us C-ordered and 130 us as ``w_hh.T``
    (SkylakeX kernel, one thread), while the copy costs 0.1 ms once per layer call. The LSTM's scaled
    weights are a new array anyway: ``multiply(..., order="C")`` lays them out so at no cost.
    """
    return xp.ascontiguousarray(w_hh.T)


@lru_cache(maxsize=64)
def _lstm_affine(h: int, dt):
    """Gate activations as ``tanh(pre * sc) * sc + off``: sigmoid for i, f, o (sc = off = 1/2), tanh for g.
    The derivative is then ``sc**2 - (act - off)**2`` for every gate alike."""
    sc = xp.full(4 * h, 0.5, dt)
    sc[2 * h:3 * h] = 1
    off = sc.copy()
    off[2 * h:3 * h] = 0
    return sc, off, sc * sc


# -- the ops -------------------------------------------------------------------------------------------------

class _RecurrentOp(Op):
    """Inputs ``(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)``; c0, the biases and w_hr may be None."""

    save = (0, 1, 2, 3, 4, 5, 6, 7)
    materialize_grads = False  # outputs nobody used get no zero-filled gradient
    mode = ""

    def name(self) -> str:
        n = type(self).__name__
        return n.replace("Layer", "Cell") if self.__dict__.get("cell") else n

    def release(self, where) -> None:
        super().release(where)
        self.__dict__.pop("cache", None)

    def backward(self, grads, *saved):
        if type(grads) is not list:
            grads = [grads]
        if any(g is not None and not D.is_array(g) for g in grads):
            return recompute_backward(self, grads, saved, self._reference)
        if self.cell:
            gy, gh, gc = None, grads[0], (grads[1] if len(grads) > 1 else None)
        else:
            gy, gh, gc = grads[0], grads[1], (grads[2] if len(grads) > 2 else None)
        return self._bptt(gy, gh, gc, *saved)

    def _reference(self, *inputs):
        return reference_layer(self.mode, *inputs, batch_sizes=self.batch_sizes, reverse=self.reverse,
                               cell=self.cell)

    def _setup(ctx, x, h0, batch_sizes, reverse, cell):  # noqa: N805 - ctx may be None
        if ctx is not None:
            ctx.batch_sizes, ctx.reverse, ctx.cell = batch_sizes, reverse, cell
        return _plan(x.shape[0], h0.shape[0], batch_sizes, reverse)

    def _carry(self, g, shape, dt):
        return g.copy() if g is not None else xp.zeros(shape, dt)

    def _finish(self, dpre, dpre_h, x, h0, y, prev_idx, w_ih, w_hh, b_ih, dh0, dc0=None, gw_hr=None):
        """Gradients of the inputs and weights from the per-row pre-activation gradients: one matmul each.
        ``dpre`` is the gradient of ``x W_ih^T + b_ih``, ``dpre_h`` of ``h W_hh^T + b_hh``."""
        need = [e[0] is not None for e in self.edges]
        gx = dpre @ w_ih if need[0] else None
        gw_ih = dpre.T @ x if need[3] else None
        gw_hh = dpre_h.T @ _gather_prev(h0, y, prev_idx) if need[4] else None
        gb_ih = dpre.sum(0) if b_ih is not None and need[5] else None
        gb_hh = None
        if b_ih is not None and need[6]:
            gb_hh = dpre_h.sum(0) if dpre_h is not dpre or gb_ih is None else gb_ih.copy()
        return gx, dh0, dc0, gw_ih, gw_hh, gb_ih, gb_hh, gw_hr


class RNNTanhLayerBackward0(_RecurrentOp):
    """Elman RNN layer: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (``relu`` in the relu variant)."""

    mode = "RNN_TANH"

    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes=None, reverse=False, cell=False):
        steps, _, last_idx = _RecurrentOp._setup(ctx, x, h0, batch_sizes, reverse, cell)
        y = x @ w_ih.T
        if b_ih is not None:
            y += b_ih + b_hh
        whh = _hidden_weights(w_hh) if len(steps) > 1 else w_hh.T  # a cell's one product does not repay a copy
        relu = ctx.mode == "RNN_RELU" if ctx is not None else w_hr == "relu"
        for s, bs, ps, pbs in steps:
            ys = y[s:s + bs]
            ys += _prev(y, h0, ps, pbs, bs) @ whh
            if relu:
                xp.maximum(ys, 0, out=ys)
            else:
                xp.tanh(ys, out=ys)
        if ctx is not None:
            ctx.cache = y
        out = y if ctx is None else y.copy()  # backward reads y: an in-place edit of the output must not reach it
        return out if cell else (out, y[last_idx])

    def _bptt(self, gy, gh, gc, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        y = self.cache
        steps, prev_idx, _ = _plan(x.shape[0], h0.shape[0], self.batch_sizes, self.reverse)
        deriv = (y > 0).astype(y.dtype) if self.mode == "RNN_RELU" else 1 - y * y
        dhc = self._carry(gh, h0.shape, y.dtype)
        dpre = xp.empty_like(y)
        for s, bs, _, _ in reversed(steps):
            dh = dhc[:bs]
            if gy is not None:
                dh += gy[s:s + bs]
            ds = dpre[s:s + bs]
            xp.multiply(dh, deriv[s:s + bs], out=ds)
            xp.matmul(ds, w_hh, out=dh)
        return self._finish(dpre, dpre, x, h0, y, prev_idx, w_ih, w_hh, b_ih, dhc)


class RNNReluLayerBackward0(RNNTanhLayerBackward0):
    mode = "RNN_RELU"

    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes=None, reverse=False, cell=False):
        # w_hr is unused by RNNs: the relu flag rides on it when no graph node (ctx) exists
        return RNNTanhLayerBackward0.forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, "relu", batch_sizes,
                                             reverse, cell)


class LSTMLayerBackward0(_RecurrentOp):
    """LSTM layer with optional projection (``h = (o * tanh(c)) W_hr^T``)."""

    mode = "LSTM"

    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes=None, reverse=False, cell=False):
        steps, _, last_idx = _RecurrentOp._setup(ctx, x, h0, batch_sizes, reverse, cell)
        n, dt = x.shape[0], x.dtype
        hid = w_hh.shape[0] // 4
        sc, off, _ = _lstm_affine(hid, dt)
        a = x @ w_ih.T
        if b_ih is not None:
            a += b_ih + b_hh
        a *= sc
        whh = xp.multiply(w_hh.T, sc, order="C")  # a C-ordered operand: 75 us per step, not 130 (see _hidden_weights)
        y = xp.empty((n, w_hh.shape[1]), dt)
        c = xp.empty((n, hid), dt)
        tc = xp.empty((n, hid), dt)
        ht = y if w_hr is None else xp.empty((n, hid), dt)
        whr = None if w_hr is None else w_hr.T
        h2, h3 = 2 * hid, 3 * hid
        for s, bs, ps, pbs in steps:
            e = s + bs
            g = a[s:e]
            g += _prev(y, h0, ps, pbs, bs) @ whh
            xp.tanh(g, out=g)
            g *= sc
            g += off
            cs = c[s:e]
            xp.multiply(g[:, hid:h2], _prev(c, c0, ps, pbs, bs), out=cs)
            cs += g[:, :hid] * g[:, h2:h3]
            ts = tc[s:e]
            xp.tanh(cs, out=ts)
            xp.multiply(g[:, h3:], ts, out=ht[s:e])
            if whr is not None:
                xp.matmul(ht[s:e], whr, out=y[s:e])
        if ctx is not None:
            ctx.cache = (a, c, tc, ht, y)
        if cell:
            return (y, c) if ctx is None else (y.copy(), c.copy())
        return y if ctx is None else y.copy(), y[last_idx], c[last_idx]

    def _bptt(self, gy, gh, gc, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        a, c, tc, ht, y = self.cache
        n, dt = x.shape[0], x.dtype
        steps, prev_idx, _ = _plan(n, h0.shape[0], self.batch_sizes, self.reverse)
        hid = w_hh.shape[0] // 4
        h2, h3 = 2 * hid, 3 * hid
        sc, off, sc2 = _lstm_affine(hid, dt)
        deriv = a - off
        deriv *= deriv
        xp.subtract(sc2, deriv, out=deriv)
        od = tc * tc
        xp.subtract(1, od, out=od)
        od *= a[:, h3:]
        cprev = _gather_prev(c0, c, prev_idx)
        dhc = self._carry(gh, h0.shape, dt)
        dcc = self._carry(gc, c0.shape, dt)
        da = xp.empty_like(a)
        dyp = None if w_hr is None else xp.empty_like(y)
        for s, bs, _, _ in reversed(steps):
            e = s + bs
            dh = dhc[:bs]
            if gy is not None:
                dh += gy[s:e]
            if w_hr is not None:
                dyp[s:e] = dh
                dh = dh @ w_hr
            dc = dcc[:bs]
            dc += dh * od[s:e]
            g, ga = a[s:e], da[s:e]
            xp.multiply(dc, g[:, h2:h3], out=ga[:, :hid])
            xp.multiply(dc, cprev[s:e], out=ga[:, hid:h2])
            xp.multiply(dc, g[:, :hid], out=ga[:, h2:h3])
            xp.multiply(dh, tc[s:e], out=ga[:, h3:])
            ga *= deriv[s:e]
            dc *= g[:, hid:h2]
            xp.matmul(ga, w_hh, out=dhc[:bs])
        gw_hr = dyp.T @ ht if w_hr is not None and self.edges[7][0] is not None else None
        return self._finish(da, da, x, h0, y, prev_idx, w_ih, w_hh, b_ih, dhc, dcc, gw_hr)


class GRULayerBackward0(_RecurrentOp):
    """GRU layer, PyTorch's formulation (the reset gate multiplies ``W_hn h + b_hn``)."""

    mode = "GRU"

    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes=None, reverse=False, cell=False):
        steps, _, last_idx = _RecurrentOp._setup(ctx, x, h0, batch_sizes, reverse, cell)
        n, dt = x.shape[0], x.dtype
        hid = w_hh.shape[1]
        h2 = 2 * hid
        gx = x @ w_ih.T  # becomes (r, z, n) in place
        if b_ih is not None:
            gx += b_ih
        gx[:, :h2] *= 0.5  # sigmoid(v) = tanh(v / 2) / 2 + 1/2
        whh = w_hh.T.copy()
        whh[:, :h2] *= 0.5
        bhh = None
        if b_hh is not None:
            bhh = b_hh.copy()
            bhh[:h2] *= 0.5
        gh = xp.empty((n, 3 * hid), dt)
        y = xp.empty((n, hid), dt)
        for s, bs, ps, pbs in steps:
            e = s + bs
            hp = _prev(y, h0, ps, pbs, bs)
            ghs = gh[s:e]
            xp.matmul(hp, whh, out=ghs)
            if bhh is not None:
                ghs += bhh
            rz = gx[s:e, :h2]
            rz += ghs[:, :h2]
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            nn = gx[s:e, h2:]
            nn += rz[:, :hid] * ghs[:, h2:]
            xp.tanh(nn, out=nn)
            ys = y[s:e]
            xp.subtract(hp, nn, out=ys)
            ys *= rz[:, hid:]
            ys += nn
        if ctx is not None:
            ctx.cache = (gx, gh, y)
        out = y if ctx is None else y.copy()  # backward reads y: an in-place edit of the output must not reach it
        return out if cell else (out, y[last_idx])

    def _bptt(self, gy, gh_n, gc, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        gx, gh, y = self.cache
        n, dt = x.shape[0], x.dtype
        steps, prev_idx, _ = _plan(n, h0.shape[0], self.batch_sizes, self.reverse)
        hid = w_hh.shape[1]
        h2 = 2 * hid
        rz, nn, ghn = gx[:, :h2], gx[:, h2:], gh[:, h2:]
        r, z = gx[:, :hid], gx[:, hid:h2]
        drz = 1 - rz
        drz *= rz
        dn_fac = nn * nn
        xp.subtract(1, dn_fac, out=dn_fac)
        dn_fac *= 1 - z
        hprev = _gather_prev(h0, y, prev_idx)
        dhc = self._carry(gh_n, h0.shape, dt)
        dgx = xp.empty_like(gx)
        dgh = xp.empty_like(gx)
        for s, bs, _, _ in reversed(steps):
            e = s + bs
            dh = dhc[:bs]
            if gy is not None:
                dh += gy[s:e]
            gxs, ghs = dgx[s:e], dgh[s:e]
            dnp = gxs[:, h2:]
            xp.multiply(dh, dn_fac[s:e], out=dnp)  # through n's tanh
            xp.multiply(dnp, ghn[s:e], out=gxs[:, :hid])  # dr
            dz = gxs[:, hid:h2]
            xp.subtract(hprev[s:e], nn[s:e], out=dz)
            dz *= dh
            gxs[:, :h2] *= drz[s:e]
            ghs[:, :h2] = gxs[:, :h2]
            xp.multiply(dnp, r[s:e], out=ghs[:, h2:])
            direct = dh * z[s:e]
            xp.matmul(ghs, w_hh, out=dh)
            dh += direct
        return self._finish(dgx, dgh, x, h0, y, prev_idx, w_ih, w_hh, b_ih, dhc)


LAYER_OPS = {"RNN_TANH": RNNTanhLayerBackward0, "RNN_RELU": RNNReluLayerBackward0, "LSTM": LSTMLayerBackward0,
             "GRU": GRULayerBackward0}


# -- the same layer from primitives --------------------------------------------------------------------------

def reference_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes=None, reverse=False,
                    cell=False):
    """One layer and direction written with Tensor primitives, step by step: what the fused ops compute.

    Used to differentiate a layer twice and as the tests' oracle for the fused forward and backward.
    """
    from ..ops import elementwise as E
    from ..ops import shape as S
    from ..tensor import Tensor

    n, b = x.shape[0], h0.shape[0]
    steps, _, last_idx = _plan(n, b, batch_sizes, reverse)
    gx = x @ w_ih.t()
    if b_ih is not None:
        gx = gx + b_ih
    ys, cs = {}, {}

    def prev(store, init, ps, pbs, bs):
        if ps is None:
            return init[:bs]
        if pbs >= bs:
            return store[ps][:bs]
        return S.cat([store[ps], init[pbs:bs]])

    for s, bs, ps, pbs in steps:
        hp = prev(ys, h0, ps, pbs, bs)
        gh = hp @ w_hh.t()
        if b_hh is not None:
            gh = gh + b_hh
        g = gx[s:s + bs]
        if mode == "LSTM":
            i, f, gg, o = (g + gh).chunk(4, 1)
            c = E.sigmoid(f) * prev(cs, c0, ps, pbs, bs) + E.sigmoid(i) * E.tanh(gg)
            h = E.sigmoid(o) * E.tanh(c)
            if w_hr is not None:
                h = h @ w_hr.t()
            cs[s] = c
        elif mode == "GRU":
            xr, xz, xn = g.chunk(3, 1)
            hr, hz, hn = gh.chunk(3, 1)
            r, z = E.sigmoid(xr + hr), E.sigmoid(xz + hz)
            nn = E.tanh(xn + r * hn)
            h = (1 - z) * nn + z * hp
        else:
            h = E.tanh(g + gh) if mode == "RNN_TANH" else E.relu(g + gh)
        ys[s] = h
    y = S.cat([ys[s] for s in sorted(ys)])
    if cell:
        return (y, cs[0]) if mode == "LSTM" else y
    idx = Tensor._wrap(last_idx.astype(xp.int64))
    h_n = y.index_select(0, idx)
    if mode == "LSTM":
        return y, h_n, S.cat([cs[s] for s in sorted(cs)]).index_select(0, idx)
    return y, h_n


def recompute_backward(node, grads, saved, reference):
    """Backward under ``create_graph=True`` for a fused op: rebuild its forward from primitives (``reference``
    called on the saved inputs) and differentiate that, so the gradients are differentiable again."""
    from ..autograd import grad as autograd_grad
    from ..tensor import Tensor

    args = list(saved)
    wanted = []
    for i, t in enumerate(saved):
        if isinstance(t, Tensor) and node.edges[i][0] is not None:
            args[i] = t.view_as(t)  # a fresh node: differentiation stops here, the result still reaches t
            wanted.append(i)
    outs = reference(*args)
    outs = outs if isinstance(outs, tuple) else (outs,)
    pairs = [(o, g if isinstance(g, Tensor) else Tensor._wrap(g))
             for o, g in zip(outs, grads) if g is not None]
    res = autograd_grad([o for o, _ in pairs], [args[i] for i in wanted], grad_outputs=[g for _, g in pairs],
                        create_graph=True, allow_unused=True)
    out = [None] * len(saved)
    for i, r in zip(wanted, res):
        out[i] = r
    return tuple(out)
