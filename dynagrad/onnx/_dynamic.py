"""Dynamic axes: which input dimensions are symbols, and a traced graph whose sizes follow them.

The model is traced at the example sizes and twice more with the dynamic dimensions changed (chosen so
that no two symbols move in proportion across the three traces, and smaller than the example's where they
can be, for models with a size limit). ``compile.symbolic``'s signatures of the traces are compared node by
node; every integer that differs is solved as the simplest of ``k*S``, ``k*S*T``, ``S + c``, ``k*S + c``
that fits all three (a reshape to ``(T * B, 8)``, a slice ``[:T]``) and becomes a shape computation in the
ONNX graph. Constants the program made while tracing (``torch.zeros(1, B, H)``, ``torch.arange(T)``, causal
masks such as ``torch.triu(torch.full((T, T), -inf), 1)``, nearest upsampling's ``i // q`` rows) are first
rewritten as ``full``/``range``/``tri``/``rdiv`` nodes whose sizes are arguments, so they generalise too.
Anything else that differs between the traces (a Python loop over a length, a branch on a size, a floor of
a size, a constant whose values depend on it) cannot follow the axis: the export raises, naming the op and
the user's line, rather than writing a model that fails, or is wrong, at other sizes.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..compile import symbolic, tracer
from ..compile.ir import Graph
from ..tensor import Tensor
from .errors import OnnxExporterError

# -- which dimensions -------------------------------------------------------------------------------------------

def _dim_name(spec, fallback: str) -> str | None:
    """The symbol a ``dynamic_shapes`` entry names: a string, a ``torch.export.Dim``-like object, or None
    (static)."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return spec
    name = getattr(spec, "__name__", None)
    if isinstance(name, str) and not name.startswith("_"):
        return name
    return fallback  # Dim.AUTO, Dim.DYNAMIC and other hints: a fresh symbol


def _tensor_dims(spec, x: Tensor, label: str) -> dict:
    if spec is None:
        return {}
    if isinstance(spec, dict):
        items = spec.items()
    elif isinstance(spec, (list, tuple)):
        if len(spec) != x.dim():
            raise OnnxExporterError(f"dynamic_shapes for {label}: {len(spec)} entries for a tensor of "
                                    f"{x.dim()} dimensions")
        items = enumerate(spec)
    else:
        raise OnnxExporterError(f"dynamic_shapes for {label}: expected a dict or a list of dimensions, got "
                                f"{type(spec).__name__}")
    out = {}
    for d, s in items:
        d = int(d)
        if not -x.dim() <= d < x.dim():
            raise OnnxExporterError(f"dynamic_shapes for {label}: dimension {d} is out of range for a tensor of "
                                    f"{x.dim()} dimensions")
        name = _dim_name(s, f"{label}_dim_{d % x.dim()}")
        if name is not None:
            out[d % x.dim()] = name
    return out


def from_dynamic_shapes(model, args, kwargs, dynamic_shapes, flat) -> dict:
    """{flat index: {dim: symbol}} from a ``dynamic_shapes`` dict (keyed by forward's parameter names) or
    sequence (one entry per positional argument), entries nested like the arguments."""
    out: dict = {}
    pos = iter(range(len(flat)))

    def walk(x, spec, label):
        if isinstance(x, Tensor):
            i = next(pos)
            dims = _tensor_dims(spec, x, label)
            if dims:
                out[i] = dims
            return
        if type(x) in (tuple, list):
            subs = spec if isinstance(spec, (tuple, list)) and len(spec) == len(x) else [None] * len(x)
            if spec is not None and subs is not spec:
                raise OnnxExporterError(f"dynamic_shapes for {label}: expected {len(x)} entries like the argument")
            for k, (y, s) in enumerate(zip(x, subs)):
                walk(y, s, f"{label}_{k}")
            return
        if type(x) is dict:
            spec = spec if isinstance(spec, dict) else {}
            for k, y in x.items():
                walk(y, spec.get(k), f"{label}_{k}")
            return
        next(pos)

    names = _param_names(model, len(args))
    if isinstance(dynamic_shapes, dict):
        unknown = set(dynamic_shapes) - set(names) - set(kwargs)
        if unknown:
            raise OnnxExporterError(f"dynamic_shapes names {sorted(unknown)}, which are not arguments of the "
                                    f"model's forward ({', '.join(names)})")
        for a, name in zip(args, names):
            walk(a, dynamic_shapes.get(name), name)
        for k, v in kwargs.items():
            walk(v, dynamic_shapes.get(k), k)
    else:
        specs = list(dynamic_shapes)
        if len(specs) != len(args) + len(kwargs):
            raise OnnxExporterError(f"dynamic_shapes has {len(specs)} entries for {len(args) + len(kwargs)} "
                                    f"arguments")
        for a, s, name in zip(list(args) + list(kwargs.values()), specs, names + list(kwargs)):
            walk(a, s, name)
    return out


def leaf_names(model, args, kwargs) -> list:
    """Default ONNX input names, one per tensor argument: forward's parameter names (``hx_0``, ``hx_1`` for
    the tensors of a tuple argument), as PyTorch's dynamo exporter names them."""
    out: list = []

    def walk(x, label):
        if isinstance(x, Tensor):
            out.append(label)
        elif type(x) in (tuple, list):
            for k, y in enumerate(x):
                walk(y, f"{label}_{k}")
        elif type(x) is dict:
            for k, y in x.items():
                walk(y, f"{label}_{k}")

    for a, name in zip(args, _param_names(model, len(args))):
        walk(a, name)
    for k, v in kwargs.items():
        walk(v, k)
    return out


def _param_names(model, n: int) -> list:
    fn = getattr(model, "forward", model)
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return (params + [f"args_{k}" for k in range(len(params), n)])[:n]


def from_dynamic_axes(dynamic_axes, input_names, flat) -> dict:
    """{flat index: {dim: symbol}} for the inputs named in ``dynamic_axes`` (torch.onnx.export's form: a
    dict of dims to names, or a list of dims, whose symbols are then named after the input)."""
    out: dict = {}
    tens = [i for i, x in enumerate(flat) if isinstance(x, Tensor)]
    for k, axes in (dynamic_axes or {}).items():
        if k not in input_names:
            continue
        i = tens[input_names.index(k)]
        nd = flat[i].dim()
        pairs = axes.items() if isinstance(axes, dict) else ((a, None) for a in axes)
        for a, name in pairs:
            a = int(a)
            if not -nd <= a < nd:
                raise OnnxExporterError(f"dynamic_axes for {k!r}: dimension {a} is out of range for an input of "
                                        f"{nd} dimensions")
            out.setdefault(i, {})[a % nd] = str(name) if name is not None else f"{k}_dynamic_axes_{a % nd + 1}"
    return out


# -- constants whose sizes follow the axes ----------------------------------------------------------------------

def _tri_form(a: np.ndarray):
    """(k, lower, upper) when ``a`` (2-D, two values) is ``where(j - i <= k, lower, upper)``, the form of a
    causal mask, else None."""
    n, m = a.shape
    v0 = a[0, 0]
    other = a[a != v0]
    if other.size == 0 or not (other == other[0]).all():
        return None
    for mask, lower, upper in ((a == v0, v0, other[0]), (a != v0, other[0], v0)):
        rows = mask.sum(1)
        inner = np.nonzero((rows > 0) & (rows < m))[0]
        if inner.size == 0:
            continue
        k = int(rows[inner[0]]) - int(inner[0]) - 1
        if np.array_equal(mask, np.tri(n, m, k, bool)):
            return k, lower.item(), upper.item()
    return None


def lift_constants(g: Graph) -> None:
    """Constants of a regular form become ``full`` / ``range`` / ``tri`` nodes with their sizes as arguments
    (``_ops`` emits ConstantOfShape, Range, Trilu; fixed ones stay initializers)."""
    for n in g.nodes:
        if n.op != "const" or not isinstance(n.target, np.ndarray) or n.target.size == 0:
            continue
        a = n.target
        if a.dtype.kind not in "biuf" or a.ndim == 0:
            continue
        flat = a.reshape(-1)
        if (flat == flat[0]).all():
            n.op, n.args, n.kwargs = "full", (tuple(int(s) for s in a.shape), flat[0].item(), a.dtype.str), {}
        elif a.ndim == 1 and a.size >= 2 and a.dtype.kind in "iu":
            step = int(a[1]) - int(a[0])
            if np.array_equal(a, int(a[0]) + step * np.arange(a.size, dtype=np.int64)):
                n.op, n.args, n.kwargs = "range", (int(a[0]), int(a.size), step, a.dtype.str), {}
            else:  # nearest-neighbour upsampling's source rows at an integer scale: i // q
                for q in range(2, 9):
                    if np.array_equal(a, np.arange(a.size) // q):
                        n.op, n.args, n.kwargs = "rdiv", (int(a.size), q, a.dtype.str), {}
                        break
        elif a.ndim == 2 and a.dtype.kind in "bf":
            form = _tri_form(a)
            if form is not None:
                k, lo, hi = form
                n.op, n.args, n.kwargs = "tri", (tuple(int(s) for s in a.shape), k, lo, hi, a.dtype.str), {}


def lifted_value(n) -> np.ndarray:
    """The array a lifted constant holds at its traced sizes."""
    if n.op == "full":
        shape, v, dt = n.args
        return np.full(shape, v, np.dtype(dt))
    if n.op == "range":
        start, count, step, dt = n.args
        return (start + step * np.arange(count)).astype(np.dtype(dt))
    if n.op == "rdiv":
        count, q, dt = n.args
        return (np.arange(count) // q).astype(np.dtype(dt))
    shape, k, lo, hi, dt = n.args
    return np.where(np.tri(shape[0], shape[1], k, bool), lo, hi).astype(np.dtype(dt))


# -- generalising the trace ---------------------------------------------------------------------------------------

def _variant(x: Tensor, sizes: dict) -> Tensor:
    """An input like ``x`` with dimensions resized (``sizes``: {dim: size}); values repeat the example's, so
    indices stay in range."""
    shape = tuple(sizes.get(j, n) for j, n in enumerate(x.shape))
    src = x._data
    idx = tuple(np.arange(n) % max(src.shape[j], 1) for j, n in enumerate(shape))
    arr = src[np.ix_(*idx)] if src.ndim else src.copy()
    return Tensor._wrap(np.ascontiguousarray(arr))


def _where(g: Graph, i: int) -> str:
    """The user's line for node ``i`` (a constant has none: its first reader's)."""
    n = g.nodes[i]
    site = n.meta.get("where")
    if site is None:
        ids = {v.id for v in n.outputs}
        for m in g.nodes[i + 1:]:
            if any(v.id in ids for v in m.inputs()) and m.meta.get("where") is not None:
                site = m.meta["where"]
                break
    return tracer.format_site(site) if site is not None else "<unknown location>"


def _describe(g: Graph, i: int) -> str:
    n = g.nodes[i]
    if n.op in ("const", "full", "range", "rdiv", "tri"):
        return f"a constant {n.out.describe()} made while tracing"
    if n.op == "guard":
        return f"a Python value read from a tensor ({n.meta.get('kind')})"
    return n.name()


def _refuse(g: Graph, i: int | None, names, why: str) -> None:
    axes = ", ".join(repr(s) for s in names)
    if i is None or i >= len(g.nodes):
        raise OnnxExporterError(f"dynagrad.onnx.export: the dynamic axes {axes} cannot be honoured: {why}")
    raise OnnxExporterError(
        f"dynagrad.onnx.export: the dynamic axes {axes} cannot be honoured: {_describe(g, i)} at {_where(g, i)} "
        f"{why}. Export with these axes static, or write the size-dependent part with tensor ops "
        f"(x.shape-driven reshapes, slices, torch.arange/zeros of a size) instead of Python loops over sizes")


def _variant_sizes(order: list, size: dict, first: dict | None = None) -> dict:
    """Other sizes for the symbols: at least 2 and preferably smaller than the example's (models with a size
    limit still run). The first variant changes each symbol by a different amount; the second changes each
    by a different multiple of its first change, so no two symbols ever move in proportion across the three
    traces and every traced integer has a single reading as ``k*S + c``."""
    new: dict = {}
    used_d: set = set()
    used_v = {size[s] for s in order}
    for name in order:
        n = size[name]
        for d in sorted((d for d in range(-n + 2, 6 * len(order) + 12) if d), key=lambda d: (d > 0, abs(d))):
            v = n + d
            if first is None:
                key = d
                if d in used_d or v in used_v:
                    continue
            else:
                d1 = first[name] - n
                key = d / d1
                if key in used_d or key == 1 or v in used_v:
                    continue
            new[name] = v
            used_d.add(key)
            used_v.add(v)
            break
        else:  # pragma: no cover - the range above always has a candidate
            raise OnnxExporterError(f"dynagrad.onnx.export: no other size to trace the dynamic axis {name!r} at")
    return new


def generalise(model, args, kwargs, flat, g: Graph, dyn: dict, trace, unflatten) -> list:
    """Make ``g`` (traced at the example sizes, constants lifted) follow the dynamic dimensions ``dyn``, or
    raise OnnxExporterError naming what cannot. Returns the outputs' dimensions (``_output_dims``)."""
    order: list = []
    size: dict = {}
    for i, dims in dyn.items():
        for j, name in dims.items():
            n = flat[i].shape[j]
            if name in size and size[name] != n:
                raise OnnxExporterError(f"dynagrad.onnx.export: the dynamic axis {name!r} has size {size[name]} "
                                        f"in one input and {n} in another")
            if name not in size:
                order.append(name)
                size[name] = n
    sig0 = symbolic.signature(g)
    keys = [(i, j) for i, dims in dyn.items() for j in dims]
    sigs, points, out_shapes = [], [], []
    first = None
    for _ in range(2):
        new = _variant_sizes(order, size, first)
        first = first or new
        vargs = list(flat)
        for i, dims in dyn.items():
            vargs[i] = _variant(flat[i], {j: new[name] for j, name in dims.items()})
        a2, k2 = unflatten(args, kwargs, vargs)
        try:
            g2 = trace(model, a2, k2)
        except OnnxExporterError:
            raise
        except Exception as e:  # noqa: BLE001 - the model itself refused the other size
            sizes = ", ".join(f"{s}={new[s]}" for s in order)
            raise OnnxExporterError(f"dynagrad.onnx.export: the dynamic axes cannot be honoured: the model fails "
                                    f"at other sizes ({sizes}): {type(e).__name__}: {e}") from e
        lift_constants(g2)
        sig = symbolic.signature(g2)
        if len(sig) != len(sig0):
            i = _first_mismatch(sig0, sig)
            _refuse(g, i, order, "runs a different number of ops at other sizes (a Python loop or branch on a "
                                 "size)")
        sigs.append(sig)
        points.append({(i, j): new[dyn[i][j]] for i, j in keys})
        out = g2.output_node()
        out_shapes.append([v.shape for v in out.args] if out is not None else [])
    example = {(i, j): size[dyn[i][j]] for i, j in keys}
    subs: dict = {}
    for k, entries in enumerate(zip(sig0, *sigs)):
        a0 = entries[0]
        if all(e[0] == "guard" for e in entries):
            continue  # a value read (a bounds check): data, not sizes; the export drops it (ops show a path change)
        for b in entries[1:]:
            if a0[0] != b[0] or a0[1] != b[1] or a0[4] != b[4] or a0[5] != b[5]:
                _refuse(g, k, order, "depends on their sizes in a way the graph cannot compute")
        derived = _DERIVED.get(getattr(g.nodes[k].target, "__name__", None), ()) if a0[0] == "op" else ()
        for part in (2, 3):
            here = [e[part] for e in entries]
            if part == 3 and derived:
                here = [_blank(t, derived) for t in here]
            ok = _match3(here[0], here[1:], (k, "args" if part == 2 else "kwargs"), subs, example, points)
            if not ok:
                _refuse(g, k, order, "depends on their sizes in a way the graph cannot compute")
    symbolic.apply(g, subs)
    return _output_dims(g, out_shapes, example, points, {(i, j): dyn[i][j] for i, j in keys})


def _output_dims(g: Graph, variants: list, example: dict, points: list, names: dict) -> list:
    """Per output, its dimensions as ONNX shapes them: the size where all traces agree, the axis's name where
    it is one (``seq``), else None (a size computed from the axes)."""
    out = g.output_node()
    dims = []
    for k, v in enumerate(out.args if out is not None else []):
        shape = []
        for j, n in enumerate(v.shape or ()):
            ys = [sh[k][j] if k < len(sh) and sh[k] is not None and j < len(sh[k]) else None for sh in variants]
            if all(y == n for y in ys):
                shape.append(n)
                continue
            e = _solve3(n, ys, example, points) if None not in ys else None
            shape.append(names[e.syms[0]] if e is not None and len(e.syms) == 1 and e.k == 1 and e.c == 0 else None)
        dims.append(shape)
    return dims


# keyword arguments that record a size the ONNX operator computes itself (a pooling's output size): left out
# of the comparison, and not read by the converters
_DERIVED = {"AvgPoolBackward": ("out",), "_ConvTransposeBackward": ("out",)}


def _blank(template, keys):
    """A kwargs template (``("dict", (key, value), ...)``) with the entries named in ``keys`` blanked."""
    return tuple((e[0], None) if isinstance(e, tuple) and e and e[0] in keys else e for e in template)


def _first_mismatch(sig0, sig1) -> int:
    for i, (a, b) in enumerate(zip(sig0, sig1)):
        if a[:2] != b[:2]:
            return i
    return min(len(sig0), len(sig1))


def _match3(x, ys: list, path, subs: dict, example: dict, points: list) -> bool:
    """Like ``compile.symbolic``'s matching, with every integer checked against all the variants."""
    if any(type(y) is not type(x) for y in ys):
        return False
    if isinstance(x, tuple):
        if any(len(y) != len(x) for y in ys):
            return False
        if x and x[0] == "%":
            return all(y == x for y in ys)
        return all(_match3(p, [y[k] for y in ys], path + (k,), subs, example, points) for k, p in enumerate(x))
    if isinstance(x, bool) or not isinstance(x, int):
        return all(y == x for y in ys)
    if all(y == x for y in ys):
        return True
    e = _solve3(x, ys, example, points)
    if e is None:
        return False
    subs[path] = e
    return True


def _solve3(x: int, ys: list, example: dict, points: list):
    """A ``Sym`` giving ``x`` at the example sizes and ``ys`` at the variants': the simplest form that fits
    all three, tried in order ``k*S``, ``k*S*T``, ``S + c``, ``k*S + c``."""
    from ..compile.symbolic import Sym
    keys = list(example)
    fits = lambda f: all(f(p) == y for p, y in zip(points, ys))  # noqa: E731
    linear = []
    for s in keys:
        a, a1 = example[s], points[0][s]
        if a1 == a or (ys[0] - x) % (a1 - a):
            continue
        k = (ys[0] - x) // (a1 - a)
        c = x - k * a
        if k and fits(lambda p, k=k, s=s, c=c: k * p[s] + c):
            linear.append(Sym((s,), k, c))
    for e in linear:
        if e.c == 0:
            return e
    for u, s in enumerate(keys):
        for t in keys[u:]:
            ab = example[s] * example[t]
            if ab and x % ab == 0:
                k = x // ab
                if fits(lambda p, k=k, s=s, t=t: k * p[s] * p[t]):
                    return Sym((s, t), k)
    linear.sort(key=lambda e: e.k != 1)
    return linear[0] if linear else None
