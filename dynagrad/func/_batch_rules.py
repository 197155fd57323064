"""Batching rules: how each primitive runs on physical tensors (the batch dimension first).

A rule is ``rule(cls, args, bat, kw, level) -> physical output(s)``: ``args`` are the op's inputs with every
batched tensor physical (shape ``(B, *example_shape)``), ``bat[i]`` says which are, and ``kw`` are the op's
static arguments as the user's code passed them (an index or mask array among them may itself be batched:
``static(v, level)`` gives its examples). Every output must have the batch dimension first.

Most rules call the same op with shifted dims (reductions, views, softmax), on inputs aligned so that
NumPy broadcasting lines the examples up (elementwise ops, matmul); ops without a rule fall back to a loop
over the examples (``loop``), correct but slow.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ._batched import batched_of

RULES: dict = {}
_nd = np.ndarray


# -- helpers -----------------------------------------------------------------------------------------------

def _ops():
    from ..ops import shape as S
    return S


def view(P, shape):
    return _ops().ViewBackward0.apply(P, shape=tuple(shape), copy_ok=True)


def permute(P, axes):
    axes = tuple(axes)
    if axes == tuple(range(len(axes))):
        return P
    return _ops().PermuteBackward0.apply(P, axes=axes)


def expand(P, shape):
    return _ops().ExpandBackward0.apply(P, shape=tuple(shape))


def with_batch(P, b, B):
    """``P`` batched (physical) whether or not it was: an unbatched tensor is broadcast over the batch."""
    if b:
        return P
    shape = tuple(P.shape)
    return expand(view(P, (1,) + shape), (B,) + shape)


def align(P, b, R):
    """A batched ``P`` with fewer than ``R`` example dims gets size-1 dims after the batch dim, so it
    broadcasts like the example would; unbatched tensors broadcast as they are."""
    if not b:
        return P
    r = P.ndim - 1
    if r >= R:
        return P
    return view(P, (P.shape[0],) + (1,) * (R - r) + tuple(P.shape[1:]))


def static(v, lvl):
    """The examples (batch first) of a static array argument batched at ``lvl``, or None."""
    if isinstance(v, _nd):
        ba = batched_of(v)
        if ba is not None and ba._level is lvl:
            return ba._phys
    return None


def static_aligned(v, lvl, R):
    p = static(v, lvl)
    if p is None:
        return v
    r = np.ndim(v)
    return p.reshape((lvl.B,) + (1,) * (R - r) + tuple(np.shape(v))) if r < R else p


def static_batched(v, lvl):
    """A static array's examples, broadcast over the batch when it is not batched."""
    p = static(v, lvl)
    if p is not None:
        return p
    return np.broadcast_to(v, (lvl.B,) + np.shape(v))


def _rank(P, b):
    return P.ndim - 1 if b else P.ndim


def _any_static_batched(kw, lvl):
    for v in kw.values():
        if isinstance(v, _nd) and static(v, lvl) is not None:
            return True
        if type(v) in (tuple, list) and any(isinstance(e, _nd) and static(e, lvl) is not None for e in v):
            return True
    return False


# -- generic rules -----------------------------------------------------------------------------------------

def loop(cls, args, bat, kw, lvl):
    """Run the op once per example and stack (for ops without a rule)."""
    from ..ops.index import SliceBackward0
    from ..ops.shape import CatBackward0
    from ._batched import example
    res = []
    for i in range(lvl.B):
        ai = [SliceBackward0.apply(P, idx=(i, Ellipsis)) if b else P for P, b in zip(args, bat)]
        res.append(cls.apply(*ai, **example(dict(kw), lvl, i)))

    def stack(ts):
        return CatBackward0.apply(*[view(t, (1,) + tuple(t.shape)) for t in ts], axis=0)
    if type(res[0]) is tuple:
        return tuple(stack([r[k] for r in res]) for k in range(len(res[0])))
    return stack(res)


def unary(cls, args, bat, kw, lvl):
    """Elementwise or batch-agnostic ops of one tensor (static arguments unchanged)."""
    if _any_static_batched(kw, lvl):
        return loop(cls, args, bat, kw, lvl)
    return cls.apply(*args, **kw)


def elementwise(*array_kw):
    """Ops that broadcast their tensor inputs (and the static arrays named in ``array_kw``) elementwise."""
    def rule(cls, args, bat, kw, lvl):
        T = _tensor()
        R = max([_rank(P, b) for P, b in zip(args, bat) if isinstance(P, T)] +
                [np.ndim(kw[k]) for k in array_kw if isinstance(kw.get(k), _nd)] + [0])
        new = [align(P, b, R) if isinstance(P, T) else P for P, b in zip(args, bat)]
        kw2 = dict(kw)
        for k in array_kw:
            if isinstance(kw.get(k), _nd):
                kw2[k] = static_aligned(kw[k], lvl, R)
        if any(k not in array_kw for k in kw if isinstance(kw[k], _nd) and static(kw[k], lvl) is not None):
            return loop(cls, args, bat, kw, lvl)
        out = cls.apply(*new, **kw2)
        if not any(bat) and out.ndim == R:  # only a static array was batched, and it did not broadcast in
            out = with_batch(out, False, lvl.B)
        return out
    return rule


def _tensor():
    from ..tensor import Tensor
    return Tensor


def reduction(key, none_is_all=True):
    """Ops reducing ``kw[key]`` axes (an int, a tuple, or None for all) of their one input."""
    def rule(cls, args, bat, kw, lvl):
        P = args[0]
        r = P.ndim - 1
        ax = kw[key]
        kw2 = dict(kw)
        if ax is None:
            if key == "axes":
                kw2[key] = tuple(range(1, r + 1))
            else:  # one axis or all (prod): flatten the example
                B = P.shape[0]
                out = cls.apply(view(P, (B, -1)), **{**kw, key: 1, "keepdims": False})
                if kw.get("keepdims"):
                    out = view(out, (B,) + (1,) * r)
                return out
        elif isinstance(ax, tuple):
            kw2[key] = tuple(a % max(r, 1) + 1 for a in ax)
        else:
            kw2[key] = ax % max(r, 1) + 1
        return cls.apply(P, **kw2)
    return rule


def shifted(*keys):
    """Ops with axis arguments (``keys``) and one input: shift them past the batch dim."""
    def rule(cls, args, bat, kw, lvl):
        P = args[0]
        r = P.ndim - 1
        kw2 = dict(kw)
        for k in keys:
            v = kw[k]
            if isinstance(v, (tuple, list)):
                kw2[k] = tuple(a % max(r, 1) + 1 for a in v)
            elif v is not None:
                kw2[k] = v % max(r, 1) + 1
        return cls.apply(P, **kw2)
    return rule


# -- shape ops ---------------------------------------------------------------------------------------------

def _view(cls, args, bat, kw, lvl):
    P = args[0]
    return cls.apply(P, shape=(P.shape[0],) + tuple(kw["shape"]), copy_ok=True)


def _permute(cls, args, bat, kw, lvl):
    return cls.apply(args[0], axes=(0,) + tuple(a + 1 for a in kw["axes"]))


def _expand(cls, args, bat, kw, lvl):
    shape = tuple(kw["shape"])
    P = align(args[0], True, len(shape))
    return cls.apply(P, shape=(P.shape[0],) + shape)


def _repeat(cls, args, bat, kw, lvl):
    reps = tuple(kw["reps"])
    P = align(args[0], True, len(reps))
    return cls.apply(P, reps=(1,) + reps)


def _roll(cls, args, bat, kw, lvl):
    P = args[0]
    if kw["axes"] is None:
        B = P.shape[0]
        shifts = kw["shifts"]
        out = cls.apply(view(P, (B, -1)), shifts=shifts if isinstance(shifts, tuple) else (shifts,), axes=(1,))
        return view(out, tuple(P.shape))
    return shifted("axes")(cls, args, bat, kw, lvl)


def _cat(cls, args, bat, kw, lvl):
    B = lvl.B
    r = max(_rank(P, b) for P, b in zip(args, bat))
    return cls.apply(*[with_batch(P, b, B) for P, b in zip(args, bat)], axis=kw["axis"] % max(r, 1) + 1)


def _diagonal_scatter(cls, args, bat, kw, lvl):
    offset, a1, a2 = kw["args"]
    P = args[0]
    return cls.apply(P, in_shape=(P.shape[0],) + tuple(kw["in_shape"]), args=(offset, a1 + 1, a2 + 1))


def _slice(cls, args, bat, kw, lvl):
    idx = kw["idx"]
    if not any(isinstance(i, _nd) for i in idx):
        return cls.apply(args[0], idx=(slice(None),) + tuple(idx))
    return loop(cls, args, bat, kw, lvl)


# -- advanced indexing -------------------------------------------------------------------------------------

def _adv_layout(idx, r):
    """For a per-example index tuple: (advanced entries adjacent?, result dims before them, dims they make)."""
    has_arr = any(isinstance(e, _nd) for e in idx)
    adv = [isinstance(e, _nd) or (has_arr and isinstance(e, (int, np.integer)) and not isinstance(e, bool))
           for e in idx]
    pos = [i for i, a in enumerate(adv) if a]
    if not pos:
        return True, 0, 0
    adjacent = pos == list(range(pos[0], pos[-1] + 1))
    consumed = sum(e.ndim if isinstance(e, _nd) and e.dtype == bool else (0 if e is None or e is Ellipsis else 1)
                   for e in idx)
    before = 0
    for e in idx[:pos[0]]:
        if e is Ellipsis:
            before += r - consumed
        elif e is None or isinstance(e, slice):
            before += 1
    shapes = []
    for e, a in zip(idx, adv):
        if a:
            if isinstance(e, _nd) and e.dtype == bool:
                shapes.append((int(np.count_nonzero(e)),))
            else:
                shapes.append(np.shape(e))
    bc = len(np.broadcast_shapes(*shapes)) if shapes else 0
    return adjacent, before, bc


def _move_block(out, start, n, to):
    """Move dims [start, start + n) of ``out`` to position ``to`` (in the remaining order)."""
    nd = out.ndim
    rest = [d for d in range(nd) if not start <= d < start + n]
    order = rest[:to] + list(range(start, start + n)) + rest[to:]
    return permute(out, order)


def _index(cls, args, bat, kw, lvl):
    P, pb = args[0], bat[0]
    idx = tuple(kw["idx"])
    B = lvl.B
    r = _rank(P, pb)
    phys = [static(e, lvl) for e in idx]
    if any(p is not None and e.dtype == bool for p, e in zip(phys, idx)):
        return loop(cls, args, bat, kw, lvl)  # a batched mask selects a different number per example
    adjacent, before, bc = _adv_layout(idx, r)
    if all(p is None for p in phys):
        out = cls.apply(P, idx=(slice(None),) + idx)
        if not adjacent:  # the advanced dims went first, ahead of the batch dim
            out = _move_block(out, bc, 1, 0)
        return out
    R = max(np.ndim(e) for e, p in zip(idx, phys) if p is not None)
    R = max([R] + [np.ndim(e) for e in idx if isinstance(e, _nd)])
    new = tuple(static_aligned(e, lvl, R) if p is not None else e for e, p in zip(idx, phys))
    if pb:
        bi = np.arange(B).reshape((B,) + (1,) * R)
        out = cls.apply(P, idx=(bi,) + new)
        if adjacent and before:  # per example the advanced dims sit after `before` dims; here they came first
            out = _move_block(out, 1, bc, 1 + before)
        return out
    out = cls.apply(P, idx=new)
    if adjacent and before:
        out = _move_block(out, before, 1, 0)
    return out


def _index_put(cls, args, bat, kw, lvl):
    (base, values), (bb, vb) = args, bat
    idx = tuple(kw["idx"])
    r = _rank(base, bb)
    if any(static(e, lvl) is not None for e in idx):
        return loop(cls, args, bat, kw, lvl)
    adjacent, before, bc = _adv_layout(idx, r)
    if not adjacent:
        return loop(cls, args, bat, kw, lvl)
    base = with_batch(base, bb, lvl.B)
    if vb:
        example_shape = tuple(np.empty(tuple(base.shape[1:]), dtype=bool)[idx].shape)
        values = align(values, True, len(example_shape))
    return cls.apply(base, values, idx=(slice(None),) + idx, accumulate=kw["accumulate"])


def _gather(cls, args, bat, kw, lvl):
    P = with_batch(args[0], bat[0], lvl.B)
    r = P.ndim - 1
    return cls.apply(P, axis=kw["axis"] % max(r, 1) + 1, index=static_batched(kw["index"], lvl))


def _scatter(cls, args, bat, kw, lvl):
    B = lvl.B
    a = with_batch(args[0], bat[0], B)
    src = with_batch(args[1], bat[1], B)
    r = a.ndim - 1
    kw2 = dict(kw, axis=kw["axis"] % max(r, 1) + 1, index=static_batched(kw["index"], lvl))
    return cls.apply(a, src, **kw2)


def _masked_fill(cls, args, bat, kw, lvl):
    P = with_batch(args[0], bat[0], lvl.B)
    return cls.apply(P, mask=static_aligned(kw["mask"], lvl, P.ndim - 1), value=kw["value"])


def _zero_grad(cls, args, bat, kw, lvl):
    B = lvl.B
    return cls.apply(*[with_batch(P, b, B) if isinstance(P, _tensor()) else P for P, b in zip(args, bat)], **kw)


# -- linear algebra ------------------------------------------------------------------------------------------

def _mm(cls, args, bat, kw, lvl):
    (a, b), (ab, bb) = args, bat
    if ab and not bb and b.ndim == 2:  # fold the batch into the rows: one GEMM
        lead = tuple(a.shape[:-1])
        out = cls.apply(view(a, (-1, a.shape[-1])), b)
        return view(out, lead + (b.shape[-1],))
    if ab and bb and b.ndim == 3 and _is_broadcast(b):  # a weight differentiated per example
        B, k = a.shape[0], a.shape[-1]
        lead = tuple(a.shape[1:-1])
        out = PerExampleMmBackward.apply(view(a, (B, -1, k)), b)
        return view(out, (B,) + lead + (b.shape[-1],))
    R = max(_rank(a, ab), _rank(b, bb))
    return cls.apply(align(a, ab, R), align(b, bb, R))


class PerExampleMmBackward(Op):
    """``a @ b`` for stacks of matrices where ``b`` may be one matrix broadcast over the batch (a weight that
    is differentiated per example): the forward is then one GEMM on the flattened rows, and the backward
    gives ``b`` its per-example gradient (a batched product), never the sum over the batch."""

    save = (0, 1)

    def name(self):
        return "MmBackward0"

    def forward(ctx, a, b):
        if a.ndim == 3 and b.ndim == 3 and b.strides[0] == 0 and a.shape[0] == b.shape[0]:
            B, M, K = a.shape
            return (a.reshape(B * M, K) @ b[0]).reshape(B, M, b.shape[2])
        return a @ b

    def backward(self, g, a, b):
        ga = gb = None
        if self.edges[0][0] is not None:
            ga = PerExampleMmBackward.apply(g, b.mT) if not isinstance(g, _nd) else \
                PerExampleMmBackward.forward(None, g, np.swapaxes(b, -1, -2))
        if self.edges[1][0] is not None:
            at = a.mT if not isinstance(g, _nd) else np.swapaxes(a, -1, -2)
            # one row per example (a linear layer on one sample): per-example outer products, which an
            # elementwise product computes faster than a matmul with an inner dimension of 1
            gb = at * g if a.shape[-2] == 1 else at @ g
        return ga, gb


def _is_broadcast(P) -> bool:
    d = P._data
    return isinstance(d, _nd) and type(d) is _nd and d.ndim and d.strides[0] == 0


def _dot(cls, args, bat, kw, lvl):
    from ..ops.linalg import MvBackward0
    from ..ops.reduce import SumBackward0
    (a, b), (ab, bb) = args, bat
    if ab and bb:
        return SumBackward0.apply(a * b, axes=(1,), keepdims=False, dtype=None)
    return MvBackward0.apply(a, b) if ab else MvBackward0.apply(b, a)


def _mv(cls, args, bat, kw, lvl):
    from ..ops.linalg import MmBackward0
    (a, v), (ab, vb) = args, bat
    if not vb:
        return cls.apply(a, v)
    ra = _rank(a, ab)
    B = lvl.B
    col = view(v, (B,) + (1,) * (ra - 2) + (v.shape[-1], 1))
    out = MmBackward0.apply(align(a, ab, ra), col)
    return view(out, tuple(out.shape[:-1]))


def _einsum(cls, args, bat, kw, lvl):
    import string
    used = set("".join(kw["ins"]) + kw["out"])
    z = next(c for c in string.ascii_letters if c not in used)
    ins = [z + s if b else s for s, b in zip(kw["ins"], bat)]
    return cls.apply(*args, ins=ins, out=z + kw["out"])


# -- torch.linalg: matrices in the last two dims, batch dims in front broadcast -------------------------------

def _matrices(offsets):
    """Ops on (..., m, n) operands whose batch dims broadcast; ``offsets[i]`` is how many fewer dims than a
    matrix input ``i`` has (1 for pivots and tau vectors). Batched operands get size-1 dims after the batch
    dim so that their example batch dims line up with the others'."""
    def rule(cls, args, bat, kw, lvl):
        if _any_static_batched(kw, lvl):
            return loop(cls, args, bat, kw, lvl)
        T = _tensor()
        R = max(_rank(P, b) + o for P, b, o in zip(args, bat, offsets) if isinstance(P, T))
        new = [align(P, b, R - o) if isinstance(P, T) else P for P, b, o in zip(args, bat, offsets)]
        return cls.apply(*new, **kw)
    return rule


def _solve_ex(cls, args, bat, kw, lvl):
    (a, b), (ab, bb) = args, bat
    vector = kw["vector"]
    if vector:
        b = view(b, tuple(b.shape) + (1,))
    R = max(_rank(a, ab), _rank(b, bb))
    x, info = cls.apply(align(a, ab, R), align(b, bb, R), left=kw["left"], vector=False)
    if vector:
        x = view(x, tuple(x.shape[:-1]))
    return x, info


def _all_batched(cls, args, bat, kw, lvl):
    """Ops whose operands must share their batch dims: every operand gets the vmap batch dim."""
    if _any_static_batched(kw, lvl):
        return loop(cls, args, bat, kw, lvl)
    T = _tensor()
    return cls.apply(*[with_batch(P, b, lvl.B) if isinstance(P, T) else P for P, b in zip(args, bat)], **kw)


def _build_linalg(r) -> None:
    from ..linalg import decompositions as Dc
    from ..linalg import eigen as Eg
    from ..linalg import misc as Mi
    from ..linalg import norms as Nm
    from ..linalg import solvers as Sv
    from ..ops import math as M
    for cls in (M.ConjBackward0, M.RealBackward0, M.ImagBackward0):  # used by the complex gradients below
        r.setdefault(cls, unary)
    for cls in (Sv.LinalgInvExBackward0, Mi.LinalgDetBackward0,
                Mi.LinalgSlogdetBackward0, Dc.LinalgCholeskyExBackward0, Dc.LinalgQrBackward0,
                Dc.LinalgLuFactorExBackward0, Dc.LinalgLuBackward0, Dc.LinalgLdlFactorExBackward0,
                Dc.LinalgSvdBackward0, Dc.SvdvalsBackward, Eg.LinalgEigBackward0, Eg.EigvalsBackward,
                Eg.LinalgEighBackward0, Eg.EigvalshBackward, Mi.LinalgMatrixExpBackward0, Dc.GeqrfBackward0,
                Sv.LinalgPinvBackward0, Mi._MatrixRank, Sv.CholeskyInverseBackward0):
        r[cls] = unary
    r[Sv.LinalgSolveExBackward0] = _solve_ex
    r[Sv.LinalgSolveTriangularBackward0] = _matrices((0, 0))
    r[Sv.CholeskySolveBackward0] = _matrices((0, 0))
    r[Sv.LinalgLuSolveBackward0] = _matrices((0, 1, 0))
    r[Sv.LinalgLdlSolveBackward0] = _matrices((0, 1, 0))
    r[Dc.LuUnpackBackward0] = _all_batched
    r[Dc.LinalgHouseholderProductBackward0] = _all_batched
    r[Dc.OrmqrBackward0] = _all_batched
    r[Mi.LinalgCrossBackward0] = elementwise()  # dim is negative: aligning the operands keeps it
    r[Nm.LinalgVectorNormBackward0] = reduction("axes")
    r[Sv.LinalgLstsqBackward0] = loop  # residuals are empty unless computed: no batch dim to give them


# -- convolution, pooling and nn primitives --------------------------------------------------------------------

def fold_n(shape_kw=None):
    """Ops on (N, ...) inputs whose other tensor inputs are unbatched: fold the batch into N."""
    def rule(cls, args, bat, kw, lvl):
        if any(bat[1:]) or _any_static_batched(kw, lvl):
            return loop(cls, args, bat, kw, lvl)
        P = args[0]
        B, N = P.shape[0], P.shape[1]
        kw2 = dict(kw)
        if shape_kw is not None:
            kw2[shape_kw] = (B * N,) + tuple(kw[shape_kw][1:])
        out = cls.apply(view(P, (B * N,) + tuple(P.shape[2:])), *args[1:], **kw2)
        if type(out) is tuple:
            return tuple(view(o, (B, N) + tuple(o.shape[1:])) for o in out)
        return view(out, (B, N) + tuple(out.shape[1:]))
    return rule


def _conv(cls, args, bat, kw, lvl):
    """Convolution; per-example weights (``vmap(grad(...))`` of a CNN, ensembles) become one grouped
    convolution with the batch folded into the channels."""
    (x, w, b), (xb, wb, bb) = args, bat
    if not wb and not bb and not _any_static_batched(kw, lvl):
        return fold_n()(cls, args, bat, kw, lvl)
    B = lvl.B
    x = with_batch(x, xb, B)  # (B, N, C, *S)
    nd = x.ndim - 3
    N, C = x.shape[1], x.shape[2]
    rest = tuple(range(3, x.ndim))
    xs = view(permute(x, (1, 0, 2) + rest), (N, B * C) + tuple(x.shape[3:]))
    w = with_batch(w, wb, B)  # (B, O, C/groups, *K)
    O = w.shape[1]
    ws = view(w, (B * O,) + tuple(w.shape[2:]))
    out = cls.apply(xs, ws, None, **dict(kw, groups=kw["groups"] * B))  # (N, B*O, *S')
    out = view(out, (N, B, O) + tuple(out.shape[2:]))
    out = permute(out, (1, 0, 2) + tuple(range(3, out.ndim)))
    if b is not None:
        out = out + (view(b, (B, 1, O) + (1,) * nd) if bb else view(b, (O,) + (1,) * nd))
    return out


def _lead_shape_kw(key):
    def rule(cls, args, bat, kw, lvl):
        return cls.apply(args[0], **dict(kw, **{key: (args[0].shape[0],) + tuple(kw[key])}))
    return rule


def _first_only(cls, args, bat, kw, lvl):
    """Ops fine with extra leading dims in their first input when the others are unbatched."""
    if any(bat[1:]) or _any_static_batched(kw, lvl):
        return loop(cls, args, bat, kw, lvl)
    return cls.apply(*args, **kw)


def _addmm(cls, args, bat, kw, lvl):
    """``x @ w.T + b`` (nn.Linear): one GEMM when only x is batched; with per-example weights (e.g. inside
    ``vmap(grad(...))``, where the weights are broadcast over the batch) a batched matmul."""
    from ..ops.linalg import MmBackward0
    (x, w, b), (xb, wb, bb) = args, bat
    if not wb and not bb:
        return cls.apply(x, w, b)
    B = lvl.B
    lead = tuple(x.shape[1:-1]) if xb else tuple(x.shape[:-1])
    n = x.shape[-1]
    L = 1
    for s in lead:
        L *= s
    x3 = view(x, (B, L, n)) if xb else view(x, (L, n))
    wt = permute(w, (0, 2, 1)) if wb else permute(w, (1, 0))
    if xb and wb:
        out = PerExampleMmBackward.apply(x3, wt)  # (B, L, out)
    else:
        out = MmBackward0.apply(x3, wt)
    if b is not None:
        out = out + (view(b, (B, 1, b.shape[-1])) if bb else b)
    return view(out, (B,) + lead + (out.shape[-1],))


def _embedding(cls, args, bat, kw, lvl):
    if not bat[0]:
        return cls.apply(args[0], **dict(kw, idx=static_batched(kw["idx"], lvl)))
    if kw.get("padding_idx") is not None or kw.get("scale_grad_by_freq"):
        return loop(cls, args, bat, kw, lvl)
    from ..ops.index import IndexBackward0
    idx = static_batched(kw["idx"], lvl)  # per-example tables: rows of each example's own table
    bi = np.arange(lvl.B).reshape((lvl.B,) + (1,) * (idx.ndim - 1))
    return IndexBackward0.apply(args[0], idx=(bi, idx))


def _layer_norm(cls, args, bat, kw, lvl):
    if kw.get("stats") is not None or kw.get("inner_shape") is not None or kw.get("stats_out") is not None or \
            not bat[0]:
        return loop(cls, args, bat, kw, lvl)
    (x, w, b), (_, wb, bb) = args, bat
    kw2 = dict(kw, axes=tuple(a + 1 for a in kw["axes"]), wshape=(1,) + tuple(kw["wshape"]))
    if not wb and not bb:
        return cls.apply(x, w, b, **kw2)
    out = cls.apply(x, None if wb else w, None if bb else b, **kw2)  # per-example affine parameters: after
    r = x.ndim - 1
    if wb:
        out = out * align(w, True, r)
    if bb:
        out = out + align(b, True, r)
    return out


def _nll(cls, args, bat, kw, lvl):
    """nll_loss / cross_entropy: per-example losses with reduction 'none', then each example's reduction."""
    from ..tensor import Tensor
    weight = kw.get("weight")
    target = static_batched(kw["target"], lvl)
    if (weight is not None and static(weight, lvl) is not None) or type(target) is not _nd or \
            kw.get("smoothing", 0.0) and weight is not None:
        return loop(cls, args, bat, kw, lvl)
    x = with_batch(args[0], bat[0], lvl.B)
    kw2 = dict(kw, target=target, reduction="none", class_axis=kw["class_axis"] + 1)
    out = cls.apply(x, **kw2)  # (B, *target example shape)
    red = kw["reduction"]
    if red == "none":
        return out
    B = lvl.B
    flat = view(out, (B, -1))
    from ..ops.reduce import SumBackward0
    total = SumBackward0.apply(flat, axes=(1,), keepdims=False, dtype=None)
    if red == "sum":
        return total
    t = target.reshape(B, -1)
    valid = t != kw["ignore_index"]
    w = np.take(weight, np.where(valid, t, 0)) * valid if weight is not None else valid
    denom = w.sum(1).astype(out._data.dtype)
    return total / Tensor._wrap(denom)


def _recurrent(cls, args, bat, kw, lvl):
    return loop(cls, args, bat, kw, lvl)


# -- registry -------------------------------------------------------------------------------------------

def rule_for(cls):
    rule = RULES.get(cls)
    if rule is None:
        for k in cls.__mro__[1:]:
            rule = RULES.get(k)
            if rule is not None:
                break
        RULES[cls] = rule = rule or loop
    return rule


def _build() -> None:
    import importlib

    from ..ops import elementwise as E
    from ..ops import index as I
    from ..ops import linalg as L
    from ..ops import reduce as R
    from ..ops import shape as S
    r = RULES
    ew = elementwise()
    for cls in (E.AddBackward0, E.SubBackward0, E.MulBackward0, E.DivBackward0, E.PowBackward0, E.MaximumBackward0,
                E.MinimumBackward0, E.Atan2Backward0, E.RemainderBackward0, E.FmodBackward0, E.ClampTensorBackward):
        r[cls] = ew
    r[I.WhereBackward0] = elementwise("cond")
    r[E.ZeroGradBackward] = _zero_grad
    for cls in (E.NegBackward0, E.ToCopyBackward0, E.RoundBackward0, E.ClampBackward1, E.NanToNumBackward0,
                E.SquareBackward, S.ContiguousBackward, S.TrilBackward0):
        r[cls] = unary
    for fn in vars(E).values():
        op = getattr(fn, "op", None)
        if isinstance(op, type) and issubclass(op, E.Op):
            r[op] = unary
    for cls in (R.SumBackward0, R.MeanBackward0, R.AmaxBackward0, R.VarBackward0, R.NormBackward1,
                R.LogsumexpBackward0):
        r[cls] = reduction("axes")
    for cls in (R.ProdBackward0, R.CumsumBackward0, R.CumprodBackward0, R.SoftmaxBackward0, R.LogSoftmaxBackward0,
                R.MaxBackward0):
        r[cls] = reduction("axis")
    r.update({S.ViewBackward0: _view, S.PermuteBackward0: _permute, S.ExpandBackward0: _expand,
              S.RepeatBackward0: _repeat, S.FlipBackward0: shifted("axes"), S.RollBackward0: _roll,
              S.CatBackward0: _cat, S.SplitOp: shifted("axis"), S.UnbindOp: shifted("axis"),
              S.DiagonalBackward0: shifted("axis1", "axis2"), I.SliceBackward0: _slice, I.IndexBackward0: _index,
              I.IndexPutBackward0: _index_put, I.GatherBackward0: _gather, I.ScatterBackward0: _scatter,
              I.MaskedFillBackward0: _masked_fill, L.MmBackward0: _mm, L.DotBackward0: _dot, L.MvBackward0: _mv,
              L.EinsumBackward: _einsum, PerExampleMmBackward: _mm})
    _build_linalg(r)

    def mod(name):
        try:
            return importlib.import_module(name)
        except ImportError:
            return None

    if hasattr(S, "DiagonalScatterBackward0"):
        r[S.DiagonalScatterBackward0] = _diagonal_scatter

    def put(m, name, rule):
        if m is not None and hasattr(m, name):
            r[getattr(m, name)] = rule

    conv, pool, pad, nn = (mod("dynagrad.ops.conv"), mod("dynagrad.ops.pool"), mod("dynagrad.ops.pad"),
                           mod("dynagrad.nn._ops"))
    for name in ("_ConvTransposeBackward", "Im2ColBackward0", "Col2ImBackward0"):
        put(conv, name, fold_n())
    put(conv, "ConvolutionBackward0", _conv)
    for name in ("MaxPoolWithIndicesBackward", "AvgPoolBackward", "AdaptiveMaxPoolBackward"):
        put(pool, name, _first_only)
    put(pool, "_AvgPoolAdjoint", _lead_shape_kw("in_shape"))
    put(pad, "_IndexPadBackward", _first_only)
    put(nn, "ConstantPadNdBackward0", _first_only)
    put(nn, "AddmmBackward0", _addmm)
    put(nn, "EmbeddingBackward0", _embedding)
    put(nn, "NativeDropoutBackward0", elementwise("mask"))
    put(nn, "NativeLayerNormBackward0", _layer_norm)
    for name in ("NativeBatchNormBackward0", "NativeGroupNormBackward0", "PreluKernelBackward0"):
        put(nn, name, loop)
    for name in ("NllLossBackward0", "LogSoftmaxNllBackward"):
        put(nn, name, _nll)
    for name in ("BinaryCrossEntropyBackward0", "BinaryCrossEntropyWithLogitsBackward0"):
        put(nn, name, elementwise())
    for name in ("GeluBackward0", "SiluBackward0", "MishBackward0", "LeakyReluBackward0", "EluBackward0",
                 "HardtanhBackward0", "HardsigmoidBackward0", "HardswishBackward0", "SoftplusBackward0",
                 "ThresholdBackward0", "LogSigmoidBackward0", "BackwardHookFunctionBackward"):
        put(nn, name, unary)


_build()
