"""Trace, clean, convert: the body of ``dynagrad.onnx.export``."""
from __future__ import annotations

import logging

import numpy as np

from ..autograd.grad_mode import no_grad
from ..compile import guards, interp, passes, tracer
from ..compile.ir import Graph, Value
from ..tensor import Tensor
from . import _dynamic
from .errors import OnnxExporterError

log = logging.getLogger("dynagrad.onnx")

IR_VERSION = 10


def _trace(model, args, kwargs):
    flat, spec = guards.flatten(args, kwargs)
    mods, _ = tracer.scan(model, flat)
    with no_grad():
        try:
            result, tr = tracer.run(model, args, kwargs, flat, mods, [])
        except tracer.Unsupported as e:
            raise OnnxExporterError(f"dynagrad.onnx.export: cannot trace the model: {e}") from None
    if tr.tracer.failed is not None and not tr.tracer.failed.startswith("the function prints"):
        # (printing, a warning included, is fine here: the exported graph does not print; torch's exporter
        # also runs the model's Python once)
        raise OnnxExporterError(f"dynagrad.onnx.export: cannot trace the model: {tr.tracer.failed}")
    return flat, spec, result, tr


def _graph(model, args, kwargs) -> Graph:
    return _trace(model, args, kwargs)[3].graph


def export_model(model, args, kwargs, input_names=None, output_names=None, dynamic_axes=None, dynamic_shapes=None,
                 opset=20, fold=True, verbose=False, export_params=True):
    import onnx
    from onnx import helper

    if opset > 26:
        raise OnnxExporterError(f"opset_version {opset} is not supported (13 to 26)")
    if opset < 13:
        # PyTorch's exporter does the same below its lowest opset (18): a warning, and a higher opset kept
        log.warning("Setting ONNX exporter to use operator set version 13 because the requested opset_version %s "
                    "is a lower version than dynagrad has conversions for", opset)
        opset = 13
    flat, spec, result, tr = _trace(model, args, kwargs)
    g = tr.graph
    from ._ops import check_inference
    check_inference(g)
    _dynamic.lift_constants(g)
    tensor_pos = [i for i, x in enumerate(flat) if isinstance(x, Tensor)]
    input_names = list(input_names or [])
    if len(input_names) > len(tensor_pos):
        raise OnnxExporterError(f"{len(input_names)} input_names for {len(tensor_pos)} tensor inputs")
    input_names += _dynamic.leaf_names(model, args, kwargs)[len(input_names):]
    dyn = _dynamic.from_dynamic_axes(dynamic_axes, input_names, flat)
    out_dims = None
    if dynamic_shapes is not None:
        for i, dims in _dynamic.from_dynamic_shapes(model, args, kwargs, dynamic_shapes, flat).items():
            dyn.setdefault(i, {}).update(dims)
    if dyn:
        out_dims = _dynamic.generalise(model, args, kwargs, flat, g, dyn, _graph, _unflatten)
    sites = {n.meta.get("where") for n in g.nodes if n.op == "guard" and not n.meta.get("free")}
    for site in sites:
        log.info("dynagrad.onnx.export: the model reads a tensor value at %s; the exported graph is fixed to "
                 "the traced path", tracer.format_site(site))
    g.nodes = [n for n in g.nodes if n.op != "guard" and not (n.op == "effect" or n.meta.get("effect"))]
    passes.dce(g)
    passes.cse(g)
    passes.simplify(g)
    known = _known_values(g, fold)
    from . import _rnn  # noqa: F401 - registers the recurrent converters
    from ._ops import Ctx, convert
    ctx = Ctx(opset, known, flat)
    graph_inputs = []
    for k, i in enumerate(tensor_pos):
        x = flat[i]
        node = next((n for n in g.nodes if n.op == "input" and n.target == i), None)
        shape = [dyn.get(i, {}).get(j, n) for j, n in enumerate(x.shape)]
        graph_inputs.append(helper.make_tensor_value_info(input_names[k], _onnx_type(x._data.dtype), shape))
        if node is not None:
            ctx.names[node.out.id] = input_names[k]
            ctx.sym_sources[i] = input_names[k]
    for n in g.nodes:
        if n.op in ("input", "output", "bwd_output"):
            continue
        if n.op in ("ext", "const") or n.outputs and all(v.id in known for v in n.outputs):
            if n.op == "ext":
                ctx.labels[n.out.id] = n.meta.get("label", "const")
            continue  # an initializer, made when a node uses it
        convert(ctx, n)
    out_node = g.output_node()
    outs = list(out_node.args) if out_node is not None else []
    output_names = list(output_names or [])
    output_names += [f"output_{k}" for k in range(len(output_names), len(outs))]
    unknown = [k for k in (dynamic_axes or {}) if k not in input_names and k not in output_names]
    if unknown:
        raise OnnxExporterError(f"dynamic_axes names {unknown}, which are neither inputs ({input_names}) nor "
                                f"outputs ({output_names[:len(outs)]}) of the exported graph")
    graph_outputs = []
    out_dyn = {}
    for k, v in (dynamic_axes or {}).items():
        if k in output_names:
            out_dyn[k] = v if isinstance(v, dict) else {a: f"{k}_dynamic_axes_{a + 1}" for a in v}
    for k, (name, v) in enumerate(zip(output_names, outs)):
        src = ctx.operand(v)
        ctx.nodes.append(helper.make_node("Identity", [src], [name]))
        # with dynamic inputs, an output dimension is what the traces at other sizes showed: fixed, an axis's
        # name, or unnamed; a name given in dynamic_axes wins
        found = out_dims[k] if out_dims is not None and k < len(out_dims) else list(v.shape)
        shape = [out_dyn.get(name, {}).get(j, found[j]) for j in range(len(v.shape))]
        graph_outputs.append(helper.make_tensor_value_info(name, _onnx_type(np.dtype(v.dtype)), shape))
    graph = helper.make_graph(ctx.nodes, type(model).__name__ if not callable(model) or hasattr(model, "forward")
                              else getattr(model, "__name__", "graph"), graph_inputs, graph_outputs,
                              initializer=ctx.inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="dynagrad", ir_version=IR_VERSION)
    if not export_params:
        proto = initializers_as_inputs(proto, keep_values=False, only=set(ctx.labels.values()))
    onnx.checker.check_model(proto)
    if verbose:
        print(helper.printable_graph(proto.graph))
    return proto


def initializers_as_inputs(proto, keep_values: bool = True, only=None):
    """A copy of ``proto`` whose initializers (those named in ``only``, when given) are also graph inputs
    (``keep_initializers_as_inputs``), or, with ``keep_values=False``, inputs only (``export_params=False``:
    the parameters are fed when the model runs)."""
    from onnx import helper

    out = type(proto)()
    out.CopyFrom(proto)
    have = {i.name for i in out.graph.input}
    moved = [t for t in out.graph.initializer if only is None or t.name in only]
    for t in moved:
        if t.name not in have:
            out.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    if not keep_values:
        kept = [t for t in out.graph.initializer if not (only is None or t.name in only)]
        del out.graph.initializer[:]
        out.graph.initializer.extend(kept)
    return out


def _unflatten(args, kwargs, flat):
    it = iter(flat)

    def rebuild(x):
        if isinstance(x, Tensor):
            return next(it)
        if type(x) in (tuple, list):
            return type(x)(rebuild(y) for y in x)
        if type(x) is dict:
            return {k: rebuild(v) for k, v in x.items()}
        next(it)
        return x
    a = rebuild(tuple(args))
    k = rebuild(dict(kwargs)) if kwargs else {}
    return a, k


def _known_values(g: Graph, fold: bool) -> dict:
    """Arrays of values computable at export time: parameters, constants and (with folding) everything
    computed from them alone."""
    known: dict = {}
    for n in g.nodes:
        if n.op == "const":
            known[n.out.id] = np.asarray(n.target)
        elif n.op == "ext":
            known[n.out.id] = np.asarray(n.target._data)
        elif n.op in ("full", "range", "rdiv", "tri") and not n.meta.get("symbolic"):
            known[n.out.id] = _dynamic.lifted_value(n)
        elif fold and n.op in ("op", "np") and not n.meta.get("symbolic"):
            ins = n.inputs()
            if ins and all(v.id in known for v in ins):
                try:
                    res = interp.run_node(n, known)
                except Exception:  # noqa: BLE001 - converted as a node instead
                    continue
                for v, r in zip(n.outputs, res):
                    known[v.id] = np.asarray(r)
    return known


_TYPES = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.int16): 5,
          np.dtype(np.int32): 6, np.dtype(np.int64): 7, np.dtype(np.bool_): 9, np.dtype(np.float16): 10,
          np.dtype(np.float64): 11}


def _onnx_type(dt) -> int:
    try:
        return _TYPES[np.dtype(dt)]
    except KeyError:
        raise OnnxExporterError(f"dtype {dt} has no ONNX equivalent here") from None


__all__ = ["export_model", "Value"]
