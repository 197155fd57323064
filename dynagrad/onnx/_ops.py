"""ONNX nodes for dynagrad's primitives (one converter per op, found by class name along the MRO)."""
from __future__ import annotations

import math

import numpy as np
from onnx import helper, numpy_helper

from ..compile.ir import Node, Value
from ..compile.symbolic import Sym
from ..compile.tracer import TensorArg
from ._export import _onnx_type
from .errors import OnnxExporterError, UnsupportedOperatorError

_INT_MAX = np.iinfo(np.int64).max


class Ctx:
    def __init__(self, opset: int, known: dict, flat) -> None:
        self.opset = opset
        self.known = known
        self.flat = flat
        self.nodes: list = []
        self.inits: list = []
        self.names: dict = {}  # value id -> ONNX name
        self.sym_sources: dict = {}  # flat index -> input name (for symbolic sizes)
        self.count = 0
        self._shape_cache: dict = {}
        self.labels: dict = {}  # value id -> parameter name

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def add(self, op: str, inputs: list, n_out: int = 1, **attrs):
        outs = [self.fresh(op) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, [i if i is not None else "" for i in inputs], outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def initializer(self, arr, hint: str = "const") -> str:
        name = self.fresh(hint.replace(".", "_")) if hint == "const" else hint
        if any(t.name == name for t in self.inits):
            name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.array(arr, order="C", copy=True), name))
        return name

    def array(self, x):
        """The constant value of an operand (a Value known at export time, or a literal), else None."""
        if isinstance(x, Value):
            return self.known.get(x.id)
        if isinstance(x, TensorArg):
            return self.known.get(x.value.id)
        return x

    def operand(self, x, dtype=None) -> str:
        """The ONNX name of an operand; Python numbers become constants of ``dtype``."""
        if isinstance(x, TensorArg):
            x = x.value
        if isinstance(x, Value):
            name = self.names.get(x.id)
            if name is None:
                if x.id in self.known:
                    name = self.names[x.id] = self.initializer(self.known[x.id], self.labels.get(x.id, "const"))
                else:
                    raise OnnxExporterError(f"no ONNX value for {x} (made by {x.node.name()})")
            return name
        if isinstance(x, np.ndarray):
            return self.initializer(x)
        if isinstance(x, Sym):  # a size used as a number (``x / x.size(1)``): read from the input's shape
            scalar = self.add("Squeeze", [self.sym(x), self.initializer(np.asarray([0], np.int64))])
            return scalar if dtype is None or np.dtype(dtype) == np.int64 else \
                self.add("Cast", [scalar], to=_onnx_type(np.dtype(dtype)))
        return self.initializer(np.asarray(x, dtype=dtype))

    def bind(self, n: Node, *names) -> None:
        for v, name in zip(n.outputs, names):
            self.names[v.id] = name

    def ints(self, values) -> str:
        """A 1-D int64 input (shapes, slice bounds) whose entries may be symbolic sizes."""
        values = list(values)
        if not any(isinstance(v, Sym) for v in values):
            return self.initializer(np.asarray(values, dtype=np.int64))
        parts = []
        for v in values:
            if isinstance(v, Sym):
                parts.append(self.sym(v))
            else:
                parts.append(self.initializer(np.asarray([v], dtype=np.int64)))
        return self.add("Concat", parts, axis=0)

    def sym(self, s: Sym) -> str:
        key = (s.syms, s.k, s.c)
        if key in self._shape_cache:
            return self._shape_cache[key]
        terms = []
        for i, j in s.syms:
            src = self.sym_sources[i]
            shape = self.add("Shape", [src])
            terms.append(self.add("Gather", [shape, self.initializer(np.asarray([j], np.int64))], axis=0))
        out = terms[0]
        for t in terms[1:]:
            out = self.add("Mul", [out, t])
        if s.k != 1:
            out = self.add("Mul", [out, self.initializer(np.asarray([s.k], np.int64))])
        if s.c:
            out = self.add("Add", [out, self.initializer(np.asarray([s.c], np.int64))])
        self._shape_cache[key] = out
        return out

    def axes(self, n_inputs: list, axes, op: str, since: int, **attrs):
        """A reduction whose ``axes`` became an input at opset ``since``."""
        if axes is None:
            return self.add(op, n_inputs, **attrs)
        axes = [int(a) for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]
        if self.opset >= since:
            return self.add(op, n_inputs + [self.initializer(np.asarray(axes, np.int64))], **attrs)
        return self.add(op, n_inputs, axes=axes, **attrs)

    def transposed(self, w) -> str:
        arr = self.array(w)
        if arr is not None:
            return self.initializer(np.array(arr.T, order="C"))
        return self.add("Transpose", [self.operand(w)], perm=[1, 0])


def _dtype(n: Node):
    return np.dtype(n.out.dtype)


CONVERTERS: dict = {}


def conv(*names):
    def deco(fn):
        for name in names:
            CONVERTERS[name] = fn
        return fn
    return deco


def convert(ctx: Ctx, n: Node) -> None:
    if n.op == "op":
        for c in n.target.__mro__:
            fn = CONVERTERS.get(c.__name__)
            if fn is not None:
                fn(ctx, n)
                return
        raise UnsupportedOperatorError(f"dynagrad.onnx.export: no ONNX conversion for {n.target.__name__} "
                                       f"(at {_site(n)})")
    if n.op == "np":
        fn = NP_CONVERTERS.get(n.target[2])
        if fn is None:
            raise UnsupportedOperatorError(f"dynagrad.onnx.export: no ONNX conversion for NumPy's {n.target[2]} "
                                           f"(at {_site(n)})")
        fn(ctx, n)
        return
    fn = LIFTED.get(n.op)
    if fn is not None:
        fn(ctx, n)
        return
    raise OnnxExporterError(f"dynagrad.onnx.export: cannot export a {n.op} node")


def _site(n: Node) -> str:
    from ..compile.tracer import format_site
    site = n.meta.get("where")
    return format_site(site) if site is not None else "<unknown location>"


# -- constants whose sizes follow dynamic axes (``_dynamic.lift_constants``) ----------------------------------

def _full(ctx, n):
    shape, value, dt = n.args
    fill = numpy_helper.from_array(np.asarray([value], np.dtype(dt)), "value")
    ctx.bind(n, ctx.add("ConstantOfShape", [ctx.ints(shape)], value=fill))


def _range(ctx, n):
    start, count, step, dt = n.args
    dt = np.dtype(dt)
    c = lambda v: ctx.initializer(np.asarray(v, dt))  # noqa: E731
    cnt = ctx.add("Cast", [ctx.add("Squeeze", [ctx.ints([count]), ctx.initializer(np.asarray([0], np.int64))])],
                  to=_onnx_type(dt))
    limit = ctx.add("Add", [c(start), ctx.add("Mul", [cnt, c(step)])])
    ctx.bind(n, ctx.add("Range", [c(start), limit, c(step)]))


def _tri_mask(ctx, rows: str, cols: str, k: int, upper: bool) -> str:
    """The bool mask ``j - i <= k`` (``>= k`` when ``upper``) for an (rows, cols) matrix, from two Ranges:
    Trilu needs opset 14 and no integer or bool inputs in onnxruntime."""
    zero, one = ctx.initializer(np.asarray(0, np.int64)), ctx.initializer(np.asarray(1, np.int64))
    i = ctx.add("Unsqueeze", [ctx.add("Range", [zero, rows, one]), ctx.initializer(np.asarray([1], np.int64))])
    j = ctx.add("Unsqueeze", [ctx.add("Range", [zero, cols, one]), ctx.initializer(np.asarray([0], np.int64))])
    d = ctx.add("Sub", [j, i])
    kk = ctx.initializer(np.asarray(k, np.int64))
    return ctx.add("GreaterOrEqual" if upper else "LessOrEqual", [d, kk])


def _scalar(ctx, size) -> str:
    return ctx.add("Squeeze", [ctx.ints([size]), ctx.initializer(np.asarray([0], np.int64))])


def _tri(ctx, n):
    shape, k, lower, upper, dt = n.args
    dt = np.dtype(dt)
    mask = _tri_mask(ctx, _scalar(ctx, shape[0]), _scalar(ctx, shape[1]), k, False)
    lo, hi = ctx.initializer(np.asarray(lower, dt)), ctx.initializer(np.asarray(upper, dt))
    ctx.bind(n, ctx.add("Where", [mask, lo, hi]))


def _rdiv(ctx, n):
    count, q, dt = n.args
    zero, one = ctx.initializer(np.asarray(0, np.int64)), ctx.initializer(np.asarray(1, np.int64))
    rows = ctx.add("Range", [zero, _scalar(ctx, count), one])
    rows = ctx.add("Div", [rows, ctx.initializer(np.asarray(q, np.int64))])
    dt = np.dtype(dt)
    ctx.bind(n, rows if dt == np.int64 else ctx.add("Cast", [rows], to=_onnx_type(dt)))


LIFTED = {"full": _full, "range": _range, "rdiv": _rdiv, "tri": _tri}


# -- elementwise ----------------------------------------------------------------------------------------------

def _value_dtype(x):
    v = x.value if isinstance(x, TensorArg) else x
    return np.dtype(v.dtype) if isinstance(v, Value) else None


def _binary(op):
    def fn(ctx, n):
        dt = _dtype(n)
        a, b = n.args[:2]
        if dt == np.bool_ and op not in ("And", "Or", "Xor"):  # a comparison: numbers take the tensor's dtype
            dt = _value_dtype(a) or _value_dtype(b) or dt
        ctx.bind(n, ctx.add(op, [ctx.operand(a, dt), ctx.operand(b, dt)]))
    return fn


for _name, _op in (("AddBackward0", "Add"), ("SubBackward0", "Sub"), ("MulBackward0", "Mul"),
                   ("DivBackward0", "Div"), ("PowBackward0", "Pow"), ("MaximumBackward0", "Max"),
                   ("MinimumBackward0", "Min")):
    CONVERTERS[_name] = _binary(_op)


def _unary(op):
    def fn(ctx, n):
        ctx.bind(n, ctx.add(op, [ctx.operand(n.args[0])]))
    return fn


for _name, _op in (("ReluBackward0", "Relu"), ("ExpBackward0", "Exp"), ("LogBackward0", "Log"),
                   ("TanhBackward0", "Tanh"), ("SigmoidBackward0", "Sigmoid"), ("SqrtBackward0", "Sqrt"),
                   ("AbsBackward0", "Abs"), ("NegBackward0", "Neg"), ("SinBackward0", "Sin"),
                   ("CosBackward0", "Cos"), ("ErfBackward0", "Erf"), ("ReciprocalBackward0", "Reciprocal"),
                   ("ContiguousBackward", "Identity"), ("CloneBackward0", "Identity"),
                   ("FloorBackward0", "Floor"), ("CeilBackward0", "Ceil"), ("SignBackward0", "Sign")):
    CONVERTERS[_name] = _unary(_op)


@conv("SquareBackward")
def _square(ctx, n):
    a = ctx.operand(n.args[0])
    ctx.bind(n, ctx.add("Mul", [a, a]))


@conv("ClampBackward1")
def _clamp(ctx, n):
    x, lo, hi = n.args[:3]
    dt = _dtype(n)
    ctx.bind(n, ctx.add("Clip", [ctx.operand(x), None if lo is None else ctx.operand(lo, dt),
                                 None if hi is None else ctx.operand(hi, dt)]))


@conv("ToCopyBackward0")
def _cast(ctx, n):
    ctx.bind(n, ctx.add("Cast", [ctx.operand(n.args[0])], to=_onnx_type(_dtype(n))))


@conv("GeluBackward0")
def _gelu(ctx, n):
    x = ctx.operand(n.args[0])
    dt = _dtype(n)
    approximate = n.kwargs.get("approximate", "none")
    if ctx.opset >= 20:
        ctx.bind(n, ctx.add("Gelu", [x], approximate=approximate))
        return
    c = lambda v: ctx.initializer(np.asarray(v, dt))  # noqa: E731
    if approximate == "tanh":
        x3 = ctx.add("Mul", [ctx.add("Mul", [x, x]), x])
        inner = ctx.add("Mul", [ctx.add("Add", [x, ctx.add("Mul", [x3, c(0.044715)])]), c(math.sqrt(2 / math.pi))])
        t = ctx.add("Add", [ctx.add("Tanh", [inner]), c(1.0)])
    else:
        t = ctx.add("Add", [ctx.add("Erf", [ctx.add("Mul", [x, c(1 / math.sqrt(2))])]), c(1.0)])
    ctx.bind(n, ctx.add("Mul", [ctx.add("Mul", [x, t]), c(0.5)]))


def _c(ctx, n, v):
    return ctx.initializer(np.asarray(v, _dtype(n)))


@conv("SiluBackward0")
def _silu(ctx, n):
    x = ctx.operand(n.args[0])
    ctx.bind(n, ctx.add("Mul", [x, ctx.add("Sigmoid", [x])]))


@conv("MishBackward0")
def _mish(ctx, n):
    x = ctx.operand(n.args[0])
    ctx.bind(n, ctx.add("Mul", [x, ctx.add("Tanh", [ctx.add("Softplus", [x])])]))


@conv("LeakyReluBackward0")
def _leaky_relu(ctx, n):
    ctx.bind(n, ctx.add("LeakyRelu", [ctx.operand(n.args[0])], alpha=float(n.kwargs["slope"])))


@conv("EluBackward0")
def _elu(ctx, n):
    """ELU, SELU and CELU: ``scale * x`` above 0, ``scale * alpha * (exp(x * input_scale) - 1)`` below."""
    kw = n.kwargs
    x = ctx.operand(n.args[0])
    alpha, scale, iscale = float(kw["alpha"]), float(kw["scale"]), float(kw["input_scale"])
    neg = ctx.add("Mul", [ctx.add("Sub", [ctx.add("Exp", [ctx.add("Mul", [x, _c(ctx, n, iscale)])]), _c(ctx, n, 1)]),
                          _c(ctx, n, scale * alpha)])
    pos = ctx.add("Mul", [x, _c(ctx, n, scale)])
    ctx.bind(n, ctx.add("Where", [ctx.add("Greater", [x, _c(ctx, n, 0)]), pos, neg]))


@conv("HardtanhBackward0")
def _hardtanh(ctx, n):
    kw = n.kwargs
    ctx.bind(n, ctx.add("Clip", [ctx.operand(n.args[0]), _c(ctx, n, kw["lo"]), _c(ctx, n, kw["hi"])]))


@conv("HardsigmoidBackward0")
def _hardsigmoid(ctx, n):
    ctx.bind(n, ctx.add("HardSigmoid", [ctx.operand(n.args[0])], alpha=1 / 6, beta=0.5))


@conv("HardswishBackward0")
def _hardswish(ctx, n):
    x = ctx.operand(n.args[0])
    ctx.bind(n, ctx.add("Mul", [x, ctx.add("HardSigmoid", [x], alpha=1 / 6, beta=0.5)]))


@conv("SoftplusBackward0")
def _softplus(ctx, n):
    kw = n.kwargs
    x = ctx.operand(n.args[0])
    beta, thr = float(kw["beta"]), float(kw["threshold"])
    bx = ctx.add("Mul", [x, _c(ctx, n, beta)])
    soft = ctx.add("Div", [ctx.add("Softplus", [bx]), _c(ctx, n, beta)])
    ctx.bind(n, ctx.add("Where", [ctx.add("Greater", [bx, _c(ctx, n, thr)]), x, soft]))


@conv("LogSigmoidBackward0")
def _logsigmoid(ctx, n):
    x = ctx.operand(n.args[0])
    ctx.bind(n, ctx.add("Neg", [ctx.add("Softplus", [ctx.add("Neg", [x])])]))


@conv("ThresholdBackward0")
def _threshold(ctx, n):
    kw = n.kwargs
    x = ctx.operand(n.args[0])
    ctx.bind(n, ctx.add("Where", [ctx.add("Greater", [x, _c(ctx, n, kw["threshold"])]), x, _c(ctx, n, kw["value"])]))


@conv("PreluKernelBackward0")
def _prelu(ctx, n):
    x, w = n.args[:2]
    slope = ctx.add("Reshape", [ctx.operand(w), ctx.ints(n.kwargs["wshape"])])
    ctx.bind(n, ctx.add("PRelu", [ctx.operand(x), slope]))


@conv("ConstantPadNdBackward0")
def _pad(ctx, n):
    """F.pad's (last dim first, before/after pairs; negative crops) as ONNX Pad's (all begins, all ends)."""
    x = n.args[0]
    nd = len(x.shape)
    pads = list(n.kwargs["pads"])
    begin, end = [0] * nd, [0] * nd
    for i in range(len(pads) // 2):
        begin[nd - 1 - i], end[nd - 1 - i] = pads[2 * i], pads[2 * i + 1]
    value = n.kwargs.get("value") or 0
    ctx.bind(n, ctx.add("Pad", [ctx.operand(x), ctx.ints(begin + end), _c(ctx, n, value)], mode="constant"))


@conv("RepeatBackward0")
def _repeat(ctx, n):
    x = n.args[0]
    reps = list(n.kwargs["reps"])
    name = ctx.operand(x)
    extra = len(reps) - len(x.shape)
    if extra > 0:
        name = ctx.add("Unsqueeze", [name, ctx.initializer(np.arange(extra, dtype=np.int64))])
    ctx.bind(n, ctx.add("Tile", [name, ctx.ints(reps)]))


@conv("FlipBackward0")
def _flip(ctx, n):
    x = n.args[0]
    axes = n.kwargs["axes"]
    axes = [int(a) % len(x.shape) for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]
    k = len(axes)
    ctx.bind(n, ctx.add("Slice", [ctx.operand(x), ctx.ints([-1] * k), ctx.ints([-_INT_MAX] * k), ctx.ints(axes),
                                  ctx.ints([-1] * k)]))


@conv("GatherBackward0")
def _gather(ctx, n):
    x = n.args[0]
    idx = n.kwargs.get("index", n.args[1] if len(n.args) > 1 else None)
    ind = ctx.operand(idx)
    if _value_dtype(idx) not in (None, np.dtype(np.int64)):
        ind = ctx.add("Cast", [ind], to=7)
    ctx.bind(n, ctx.add("GatherElements", [ctx.operand(x), ind], axis=int(n.kwargs["axis"])))


@conv("NativeDropoutBackward0")
def _dropout(ctx, n):
    raise OnnxExporterError(f"dynagrad.onnx.export: dropout in training mode is not exported: call model.eval() "
                            f"first, or export with dynamo=False (which exports in eval mode) (at {_site(n)})")


def check_inference(g) -> None:
    """Refuse training-mode layers before anything else looks at the graph (their batch statistics and random
    masks are what would otherwise differ between traces)."""
    for n in g.nodes:
        if n.op != "op":
            continue
        names = {c.__name__ for c in n.target.__mro__}
        if "NativeDropoutBackward0" in names:
            _dropout(None, n)
        if "NativeLayerNormBackward0" in names and n.kwargs.get("stats_out") is not None:
            raise OnnxExporterError(f"dynagrad.onnx.export: batch norm in training mode is not exported: call "
                                    f"model.eval() first, or export with dynamo=False (which exports in eval "
                                    f"mode) (at {_site(n)})")


@conv("WhereBackward0")
def _where(ctx, n):
    cond, a, b = n.args[:3]
    dt = _dtype(n)
    ctx.bind(n, ctx.add("Where", [ctx.operand(cond), ctx.operand(a, dt), ctx.operand(b, dt)]))


@conv("MaskedFillBackward0")
def _masked_fill(ctx, n):
    a = n.args[0]
    mask, value = n.kwargs.get("mask", n.args[1] if len(n.args) > 1 else None), \
        n.kwargs.get("value", n.args[2] if len(n.args) > 2 else None)
    dt = _dtype(n)
    m = ctx.operand(mask)
    if isinstance(mask, (Value, TensorArg)) and np.dtype((mask.value if isinstance(mask, TensorArg) else mask).dtype) \
            != np.bool_:
        m = ctx.add("Cast", [m], to=_onnx_type(np.bool_))
    v = ctx.add("Cast", [ctx.operand(value)], to=_onnx_type(dt)) if isinstance(value, (Value, TensorArg)) \
        else ctx.initializer(np.asarray(value, dt))
    ctx.bind(n, ctx.add("Where", [m, v, ctx.operand(a)]))


@conv("TrilBackward0")
def _trilu(ctx, n):
    """tril/triu as a mask of the input's own last two sizes (any opset, any dtype)."""
    kw = n.kwargs
    x = ctx.operand(n.args[0])
    nd = len(n.args[0].shape)
    shape = ctx.add("Shape", [x])
    size = lambda j: ctx.add("Gather", [shape, ctx.initializer(np.asarray(j, np.int64))], axis=0)  # noqa: E731
    mask = _tri_mask(ctx, size(nd - 2), size(nd - 1), int(kw.get("k", 0)), bool(kw.get("upper")))
    zero = ctx.initializer(np.zeros((), _dtype(n)))
    ctx.bind(n, ctx.add("Where", [mask, x, zero]))


# -- linear algebra ---------------------------------------------------------------------------------------------

@conv("AddmmBackward0")
def _addmm(ctx, n):
    x, w, b = n.args[:3]
    if len(x.shape) == 2:
        ins = [ctx.operand(x), ctx.operand(w)] + ([ctx.operand(b)] if b is not None else [])
        ctx.bind(n, ctx.add("Gemm", ins, transB=1))
        return
    y = ctx.add("MatMul", [ctx.operand(x), ctx.transposed(w)])
    if b is not None:
        y = ctx.add("Add", [y, ctx.operand(b)])
    ctx.bind(n, y)


@conv("MmBackward0", "BmmBackward0", "MatmulBackward0", "DotBackward0", "MvBackward0")
def _matmul(ctx, n):
    ctx.bind(n, ctx.add("MatMul", [ctx.operand(n.args[0]), ctx.operand(n.args[1])]))


@conv("ConvolutionBackward0")
def _conv(ctx, n):
    x, w, b = n.args[:3]
    kw = n.kwargs
    pads = list(kw["pads"])
    ins = [ctx.operand(x), ctx.operand(w)] + ([ctx.operand(b)] if b is not None else [])
    ctx.bind(n, ctx.add("Conv", ins, strides=list(kw["stride"]), dilations=list(kw["dil"]), group=int(kw["groups"]),
                        pads=[p[0] for p in pads] + [p[1] for p in pads]))


@conv("_ConvTransposeBackward")
def _conv_transpose(ctx, n):
    x, w, b = n.args[:3]
    kw = n.kwargs
    pads = [tuple(p) for p in kw["pads"]]
    K = w.shape[2:]
    # the traced output size gives output_padding (a module constant, so it holds at every input size)
    extra = []
    for i, k in enumerate(K):
        full = (x.shape[2 + i] - 1) * kw["stride"][i] + kw["dil"][i] * (k - 1) + 1
        extra.append(int(n.out.shape[2 + i]) - (full - pads[i][0] - pads[i][1]))
    ins = [ctx.operand(x), ctx.operand(w)] + ([ctx.operand(b)] if b is not None else [])
    ctx.bind(n, ctx.add("ConvTranspose", ins, strides=list(kw["stride"]), dilations=list(kw["dil"]),
                        group=int(kw["groups"]), pads=[p[0] for p in pads] + [p[1] for p in pads],
                        output_padding=extra))


@conv("MaxPoolWithIndicesBackward")
def _maxpool(ctx, n):
    kw = n.kwargs
    nd = len(kw["K"])
    pad = list(kw["pad"]) if isinstance(kw["pad"], (tuple, list)) else [kw["pad"]] * nd
    out = ctx.add("MaxPool", [ctx.operand(n.args[0])], kernel_shape=list(kw["K"]), strides=list(kw["stride"]),
                  pads=pad + pad, dilations=list(kw["dil"]), ceil_mode=int(bool(kw["ceil_mode"])))
    ctx.bind(n, out)


@conv("AvgPoolBackward")
def _avgpool(ctx, n):
    kw = n.kwargs
    scale = kw["scale"]
    K = list(kw["K"])
    if np.ndim(scale) != 0 or not np.isclose(float(scale), 1.0 / math.prod(K)):
        raise OnnxExporterError("avg_pool with per-window divisors (ceil_mode, count_include_pad=False) is not "
                                "exported")
    pads = list(kw["pads"])
    ctx.bind(n, ctx.add("AveragePool", [ctx.operand(n.args[0])], kernel_shape=K, strides=list(kw["stride"]),
                        pads=[p[0] for p in pads] + [p[1] for p in pads], count_include_pad=1))


# -- shapes ------------------------------------------------------------------------------------------------------

@conv("ViewBackward0")
def _reshape(ctx, n):
    ctx.bind(n, ctx.add("Reshape", [ctx.operand(n.args[0]), ctx.ints(n.kwargs["shape"])]))


@conv("PermuteBackward0")
def _permute(ctx, n):
    ctx.bind(n, ctx.add("Transpose", [ctx.operand(n.args[0])], perm=[int(a) for a in n.kwargs["axes"]]))


@conv("ExpandBackward0")
def _expand(ctx, n):
    ctx.bind(n, ctx.add("Expand", [ctx.operand(n.args[0]), ctx.ints(n.kwargs["shape"])]))


@conv("CatBackward0")
def _cat(ctx, n):
    ctx.bind(n, ctx.add("Concat", [ctx.operand(a) for a in n.args], axis=int(n.kwargs["axis"])))


@conv("SplitOp")
def _split(ctx, n):
    a = n.args[0]
    axis = int(n.kwargs["axis"])
    x = ctx.operand(a)
    bounds = list(n.kwargs["bounds"])
    if not any(isinstance(b, Sym) for b in bounds):
        # Split needs every size; the last one is what is left (it may follow a dynamic axis): slices instead
        bounds = [int(b) for b in bounds]
    los = [0] + bounds
    his = bounds + [_INT_MAX]
    outs = [ctx.add("Slice", [x, ctx.ints([lo]), ctx.ints([hi]), ctx.ints([axis])]) for lo, hi in zip(los, his)]
    ctx.bind(n, *outs)


@conv("UnbindOp")
def _unbind(ctx, n):
    a = n.args[0]
    axis = int(n.kwargs["axis"])
    x = ctx.operand(a)
    ctx.bind(n, *[ctx.add("Gather", [x, ctx.initializer(np.asarray(k, np.int64))], axis=axis)
                  for k in range(len(n.outputs))])


@conv("SliceBackward0")
def _slice(ctx, n):
    a = n.args[0]
    idx = n.kwargs["idx"]
    idx = idx if isinstance(idx, tuple) else (idx,)
    nd = len(a.shape)
    if any(i is Ellipsis for i in idx):
        k = idx.index(Ellipsis)
        idx = idx[:k] + (slice(None),) * (nd - len(idx) + 1) + idx[k + 1:]
    starts, ends, axes, steps, takes, news = [], [], [], [], [], []
    d = 0
    for pos, i in enumerate(idx):
        if i is None:
            news.append(pos)
            continue
        if isinstance(i, slice):
            if i != slice(None):
                step = 1 if i.step is None else i.step
                starts.append(i.start if i.start is not None else (0 if step > 0 else -1))
                ends.append(i.stop if i.stop is not None else (_INT_MAX if step > 0 else -_INT_MAX))
                axes.append(d)
                steps.append(step)
        elif isinstance(i, (int, np.integer)):
            takes.append((d, int(i)))
        else:
            raise OnnxExporterError(f"cannot export the index {i!r}")
        d += 1
    x = ctx.operand(a)
    if axes:
        x = ctx.add("Slice", [x, ctx.ints(starts), ctx.ints(ends), ctx.ints(axes), ctx.ints(steps)])
    for axis, i in reversed(takes):
        x = ctx.add("Gather", [x, ctx.initializer(np.asarray(i, np.int64))], axis=axis)
    if news:
        x = ctx.add("Unsqueeze", [x, ctx.initializer(np.asarray(news, np.int64))])
    ctx.bind(n, x)


@conv("IndexBackward0")
def _index(ctx, n):
    """``x[..., idx, ...]`` with one integer index tensor among full slices: a Gather."""
    a = n.args[0]
    idx = n.kwargs["idx"]
    idx = idx if isinstance(idx, tuple) else (idx,)
    if any(i is Ellipsis for i in idx):
        k = idx.index(Ellipsis)
        idx = idx[:k] + (slice(None),) * (len(a.shape) - len(idx) + 1) + idx[k + 1:]
    arrays = [(d, i) for d, i in enumerate(idx) if not (isinstance(i, slice) and i == slice(None))]
    if len(arrays) == 1:
        d, i = arrays[0]
        arr = ctx.array(i)
        if isinstance(i, (Value, TensorArg, np.ndarray, list)) and (arr is None or np.asarray(arr).dtype.kind in "iu"):
            ind = ctx.operand(np.asarray(arr, np.int64) if arr is not None else i)
            if arr is None and np.dtype((i.value if isinstance(i, TensorArg) else i).dtype) != np.int64:
                ind = ctx.add("Cast", [ind], to=7)
            ctx.bind(n, ctx.add("Gather", [ctx.operand(a), ind], axis=d))
            return
    raise UnsupportedOperatorError(f"dynagrad.onnx.export: this advanced index is not exported (one integer index "
                                   f"tensor among full slices is) (at {_site(n)})")


# -- reductions and normalisation -------------------------------------------------------------------------------

@conv("SumBackward0")
def _sum(ctx, n):
    kw = n.kwargs
    axes = kw.get("axes")
    ctx.bind(n, ctx.axes([ctx.operand(n.args[0])], axes, "ReduceSum", 13, keepdims=int(bool(kw.get("keepdims")))))


@conv("MeanBackward0")
def _mean(ctx, n):
    kw = n.kwargs
    ctx.bind(n, ctx.axes([ctx.operand(n.args[0])], kw.get("axes"), "ReduceMean", 18,
                         keepdims=int(bool(kw.get("keepdims")))))


@conv("AmaxBackward0")
def _amax(ctx, n):
    kw = n.kwargs
    op = "ReduceMax" if kw.get("is_max", True) else "ReduceMin"
    ctx.bind(n, ctx.axes([ctx.operand(n.args[0])], kw.get("axes"), op, 18, keepdims=int(bool(kw.get("keepdims")))))


@conv("MaxBackward0")
def _max_dim(ctx, n):
    """max/min along one dim: (values, indices)."""
    kw = n.kwargs
    axis, keep, is_max = int(kw["axis"]), int(bool(kw.get("keepdims"))), kw.get("is_max", True)
    x = ctx.operand(n.args[0])
    vals = ctx.axes([x], [axis], "ReduceMax" if is_max else "ReduceMin", 18, keepdims=keep)
    idx = ctx.add("ArgMax" if is_max else "ArgMin", [x], axis=axis, keepdims=keep)
    ctx.bind(n, vals, idx)


@conv("VarBackward0")
def _var(ctx, n):
    kw = n.kwargs
    dt = _dtype(n)
    x = ctx.operand(n.args[0])
    axes = kw.get("axes")
    axes = list(range(len(n.args[0].shape))) if axes is None else \
        [int(a) for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]
    xc = ctx.add("Sub", [x, ctx.axes([x], axes, "ReduceMean", 18, keepdims=1)])
    ss = ctx.axes([ctx.add("Mul", [xc, xc])], axes, "ReduceSum", 13, keepdims=int(bool(kw.get("keepdims"))))
    denom = ctx.add("Cast", [ctx.add("Sub", [ctx.ints([kw["n"]]), ctx.initializer(np.asarray([kw["correction"]],
                                                                                           np.int64))])],
                    to=_onnx_type(dt))
    denom = ctx.add("Max", [denom, ctx.initializer(np.zeros(1, dt))])
    v = ctx.add("Div", [ss, ctx.add("Reshape", [denom, ctx.initializer(np.asarray([], np.int64))])])
    ctx.bind(n, ctx.add("Sqrt", [v]) if n.target.__name__ == "StdBackward0" else v)


@conv("NormBackward1")
def _norm2(ctx, n):
    kw = n.kwargs
    ctx.bind(n, ctx.axes([ctx.operand(n.args[0])], kw.get("axes"), "ReduceL2", 18,
                         keepdims=int(bool(kw.get("keepdims")))))


@conv("LogsumexpBackward0")
def _logsumexp(ctx, n):
    kw = n.kwargs
    ctx.bind(n, ctx.axes([ctx.operand(n.args[0])], kw.get("axes"), "ReduceLogSumExp", 18,
                         keepdims=int(bool(kw.get("keepdims")))))


@conv("CumsumBackward0")
def _cumsum(ctx, n):
    x = ctx.operand(n.args[0])
    if np.dtype(n.args[0].dtype) != _dtype(n):
        x = ctx.add("Cast", [x], to=_onnx_type(_dtype(n)))
    ctx.bind(n, ctx.add("CumSum", [x, ctx.initializer(np.asarray(int(n.kwargs["axis"]), np.int64))]))


@conv("SoftmaxBackward0")
def _softmax(ctx, n):
    ctx.bind(n, ctx.add("Softmax", [ctx.operand(n.args[0])], axis=int(n.kwargs["axis"])))


@conv("LogSoftmaxBackward0")
def _log_softmax(ctx, n):
    ctx.bind(n, ctx.add("LogSoftmax", [ctx.operand(n.args[0])], axis=int(n.kwargs["axis"])))


@conv("NativeLayerNormBackward0")
def _norm(ctx, n):
    x, w, b = n.args[:3]
    kw = n.kwargs
    dt = _dtype(n)
    axes, eps = tuple(kw["axes"]), float(kw["eps"])
    stats = kw.get("stats")
    nd = len(x.shape)
    if stats is not None:  # batch norm in eval mode: the running statistics
        c = x.shape[1]
        mean, var = (np.asarray(ctx.array(s), dt).reshape(-1) for s in stats)
        if mean is None or var is None:
            raise OnnxExporterError("batch norm statistics must be constants")
        scale = ctx.operand(w) if w is not None else ctx.initializer(np.ones(c, dt))
        bias = ctx.operand(b) if b is not None else ctx.initializer(np.zeros(c, dt))
        ctx.bind(n, ctx.add("BatchNormalization", [ctx.operand(x), scale, bias, ctx.initializer(mean),
                                                    ctx.initializer(var)], epsilon=eps))
        return
    if kw.get("stats_out") is not None:
        raise OnnxExporterError("batch norm in training mode is not exported: call model.eval() first")
    norm_shape = tuple(x.shape[nd - len(axes):])
    wshape = tuple(kw.get("wshape") or ())
    if kw.get("inner_shape") is not None or axes != tuple(range(nd - len(axes), nd)) or w is None or \
            (w is not None or b is not None) and not (wshape[len(wshape) - len(axes):] == norm_shape and
                                                      all(d == 1 for d in wshape[:len(wshape) - len(axes)])):
        _general_norm(ctx, n)  # instance and group norm: weights per channel, not per normalised element
        return
    scale = ctx.operand(w) if w is not None else ctx.initializer(np.ones(norm_shape, dt))
    if w is not None and tuple(w.shape) != tuple(norm_shape):
        scale = ctx.add("Reshape", [scale, ctx.ints(norm_shape)])
    ins = [ctx.operand(x), scale]
    if b is not None:
        bias = ctx.operand(b)
        if tuple(b.shape) != tuple(norm_shape):
            bias = ctx.add("Reshape", [bias, ctx.ints(norm_shape)])
        ins.append(bias)
    if ctx.opset >= 17:
        ctx.bind(n, ctx.add("LayerNormalization", ins, axis=nd - len(axes), epsilon=eps))
        return
    red = list(range(nd - len(axes), nd))  # before opset 17: from reductions
    xc = ctx.add("Sub", [ins[0], ctx.axes([ins[0]], red, "ReduceMean", 18, keepdims=1)])
    var = ctx.axes([ctx.add("Mul", [xc, xc])], red, "ReduceMean", 18, keepdims=1)
    rstd = ctx.add("Reciprocal", [ctx.add("Sqrt", [ctx.add("Add", [var, ctx.initializer(np.asarray(eps, dt))])])])
    y = ctx.add("Mul", [ctx.add("Mul", [xc, rstd]), scale])
    ctx.bind(n, ctx.add("Add", [y, ins[2]]) if b is not None else y)


def _general_norm(ctx, n):
    """Group and instance norm (and any other axes): the input viewed as ``inner_shape``, its statistics over
    ``axes``, then weight and bias viewed as ``wshape``, and the result in the input's shape."""
    x, w, b = n.args[:3]
    kw = n.kwargs
    dt = _dtype(n)
    xs = ctx.operand(x)
    inner = kw.get("inner_shape")
    v = ctx.add("Reshape", [xs, ctx.ints(inner)]) if inner is not None else xs
    axes = [int(a) for a in kw["axes"]]
    xc = ctx.add("Sub", [v, ctx.axes([v], axes, "ReduceMean", 18, keepdims=1)])
    var = ctx.axes([ctx.add("Mul", [xc, xc])], axes, "ReduceMean", 18, keepdims=1)
    y = ctx.add("Div", [xc, ctx.add("Sqrt", [ctx.add("Add", [var, ctx.initializer(np.asarray(kw["eps"], dt))])])])
    if w is not None:
        y = ctx.add("Mul", [y, ctx.add("Reshape", [ctx.operand(w), ctx.ints(kw["wshape"])])])
    if b is not None:
        y = ctx.add("Add", [y, ctx.add("Reshape", [ctx.operand(b), ctx.ints(kw["wshape"])])])
    if inner is not None:
        y = ctx.add("Reshape", [y, ctx.add("Shape", [xs])])
    ctx.bind(n, y)


# -- embedding, attention ------------------------------------------------------------------------------------

@conv("EmbeddingBackward0")
def _embedding(ctx, n):
    w = n.args[0]
    idx = n.kwargs.get("idx")
    if idx is None:
        idx = n.args[1]
    ctx.bind(n, ctx.add("Gather", [ctx.operand(w), ctx.operand(idx)], axis=0))


@conv("ScaledDotProductAttentionBackward0")
def _sdpa(ctx, n):
    q, k, v, mask = n.args[:4]
    kw = n.kwargs
    if kw.get("drop") is not None:
        raise OnnxExporterError("attention dropout is not exported: call model.eval() first")
    dt = _dtype(n)
    nd = len(k.shape)
    perm = list(range(nd - 2)) + [nd - 1, nd - 2]
    s = ctx.add("MatMul", [ctx.operand(q), ctx.add("Transpose", [ctx.operand(k)], perm=perm)])
    s = ctx.add("Mul", [s, ctx.initializer(np.asarray(kw.get("scale", 1.0), dt))])
    if mask is not None:
        s = ctx.add("Add", [s, ctx.operand(mask, dt)])
    p = ctx.add("Softmax", [s], axis=-1)
    out = ctx.add("MatMul", [p, ctx.operand(v)])
    ctx.bind(n, out, p) if kw.get("weights") else ctx.bind(n, out)


# -- recurrent layers: moved to _rnn.py ------------------------------------------------------------------


# -- NumPy calls ---------------------------------------------------------------------------------------------------

NP_CONVERTERS: dict = {}

for _name, _op in (("add", "Add"), ("subtract", "Sub"), ("multiply", "Mul"), ("true_divide", "Div"),
                   ("divide", "Div"), ("maximum", "Max"), ("minimum", "Min"), ("greater", "Greater"),
                   ("less", "Less"), ("equal", "Equal"), ("greater_equal", "GreaterOrEqual"),
                   ("less_equal", "LessOrEqual"), ("logical_and", "And"), ("logical_or", "Or"),
                   ("power", "Pow")):
    NP_CONVERTERS[_name] = _binary(_op)
for _name, _op in (("exp", "Exp"), ("log", "Log"), ("tanh", "Tanh"), ("negative", "Neg"), ("sqrt", "Sqrt"),
                   ("absolute", "Abs"), ("logical_not", "Not"), ("copy", "Identity"), ("__copy__", "Identity")):
    NP_CONVERTERS[_name] = _unary(_op)


def _np_reshape(ctx, n):
    shape = n.args[1:] if len(n.args) > 2 else n.args[1]
    shape = shape if isinstance(shape, (tuple, list)) else (shape,)
    ctx.bind(n, ctx.add("Reshape", [ctx.operand(n.args[0]), ctx.ints(shape)]))


def _np_astype(ctx, n):
    ctx.bind(n, ctx.add("Cast", [ctx.operand(n.args[0])], to=_onnx_type(_dtype(n))))


NP_CONVERTERS["reshape"] = _np_reshape
NP_CONVERTERS["astype"] = _np_astype


def _np_where(ctx, n):
    cond, a, b = n.args[:3]
    dt = _dtype(n)
    c = ctx.operand(cond)
    if _value_dtype(cond) not in (None, np.dtype(np.bool_)):
        c = ctx.add("Cast", [c], to=_onnx_type(np.bool_))

    def side(x):
        if _value_dtype(x) is None:
            return ctx.operand(x, dt)
        name = ctx.operand(x)
        return name if _value_dtype(x) == dt else ctx.add("Cast", [name], to=_onnx_type(dt))
    ctx.bind(n, ctx.add("Where", [c, side(a), side(b)]))


NP_CONVERTERS["where"] = _np_where
