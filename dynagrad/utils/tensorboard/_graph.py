"""The model graph ``SummaryWriter.add_graph`` writes: one forward run traced op by op into a GraphDef.

The model runs once in eval mode without grad (as PyTorch's ``jit.trace``-based ``add_graph`` runs it)
while ``state.transform_hook`` sees every op and a global forward pre-hook/hook keeps the stack of running
modules. Nodes are named by module scope as PyTorch names them (``Net/Linear[fc1]/addmm``), so TensorBoard
folds each module into a box; every node carries ``_output_shapes``. Inputs and outputs are ``IO Node``s,
parameters and buffers ``prim::GetAttr`` nodes under their module, tensors made inside ``forward`` from
Python values ``prim::Constant``.
"""
from __future__ import annotations

import re

from ...autograd import state
from . import _proto


def _op_name(cls) -> str:
    base = re.sub(r"Backward\d*$", "", cls.__name__) or cls.__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


class _Recorder:
    def __init__(self, model) -> None:
        self.model = model
        self.scopes = {}  # id(module) -> "Net/Linear[fc1]"
        root = type(model).__name__
        self.scopes[id(model)] = root
        for name, m in model.named_modules():
            if not name:
                continue
            parent, _, leaf = name.rpartition(".")
            parent_scope = self.scopes.get(id(model.get_submodule(parent)) if parent else id(model), root)
            self.scopes.setdefault(id(m), f"{parent_scope}/{type(m).__name__}[{leaf}]")
        self.stack = [root]
        self.nodes = []  # NodeDefs in creation order
        self.produced = {}  # id(Tensor) -> "node name" or "node name:k"
        self.keep = []  # tensors whose ids are keys of `produced`, alive until the trace ends
        self.counts = {}
        self.attr_names = {}  # id(param or buffer) -> "weight", with its module's scope
        for m in model.modules():
            for pname, p in list(m._parameters.items()) + list(m._buffers.items()):
                if p is not None:
                    self.attr_names.setdefault(id(p), (self.scopes[id(m)], pname, p))

    def unique(self, base: str) -> str:
        k = self.counts.get(base, 0)
        self.counts[base] = k + 1
        return base if k == 0 else f"{base}.{k}"

    def node(self, name: str, op: str, inputs, shapes, attr: str = "") -> str:
        nd = _proto.node_def_pb2.NodeDef(name=name, op=op, input=list(inputs))
        av = _proto.attr_value_pb2.AttrValue
        nd.attr["_output_shapes"].CopyFrom(av(list=av.ListValue(shape=[
            _proto.TensorShapeProto(dim=[_proto.TensorShapeProto.Dim(size=int(d)) for d in s]) for s in shapes])))
        if attr:
            nd.attr["attr"].CopyFrom(av(s=attr.encode()))
        self.nodes.append(nd)
        return name

    def source_of(self, t) -> str:
        """The node that produced tensor ``t`` (a parameter, a buffer or a constant on first sight)."""
        key = self.produced.get(id(t))
        if key is not None:
            return key
        info = self.attr_names.get(id(t))
        if info is not None:
            scope, pname, _ = info
            name = self.node(self.unique(f"{scope}/{pname}"), "prim::GetAttr", [], [t.shape],
                             f"{{ name : {pname} }}")
        else:
            name = self.node(self.unique(f"{self.stack[-1]}/constant"), "prim::Constant", [], [t.shape],
                             f"{{ dtype : {t.dtype} }}")
        self.produced[id(t)] = name
        self.keep.append(t)
        return name

    def hook(self, cls, inputs, kw, prev):
        from ...tensor import Tensor
        if prev is not None:
            out = prev(cls, inputs, kw)
        else:
            state.transform_hook = None
            try:
                out = cls.apply(*inputs, **kw)
            finally:
                state.transform_hook = self._installed
        srcs = [self.source_of(x) for x in _tensors(inputs, Tensor)]
        outs = out if isinstance(out, tuple) else (out,)
        outs = [o for o in outs if isinstance(o, Tensor)]
        attr = ", ".join(f"{k} : {_short(v)}" for k, v in kw.items() if not isinstance(v, Tensor))
        name = self.node(self.unique(f"{self.stack[-1]}/{_op_name(cls)}"), f"aten::{_op_name(cls)}", srcs,
                         [o.shape for o in outs], f"{{ {attr} }}" if attr else "")
        for k, o in enumerate(outs):
            self.produced[id(o)] = name if k == 0 else f"{name}:{k}"
            self.keep.append(o)
        return out


def _tensors(xs, T):
    for x in xs:
        if isinstance(x, T):
            yield x
        elif isinstance(x, (list, tuple)):
            yield from _tensors(x, T)


def _short(v) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def _flat_outputs(out, T):
    if isinstance(out, T):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat_outputs(o, T)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _flat_outputs(o, T)]
    return []


def graph(model, args=None, verbose: bool = False, use_strict_trace: bool = True):
    """(GraphDef, None) for ``model(*args)``; see the module docstring."""
    from ... import no_grad
    from ...nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
    from ...tensor import Tensor
    if not callable(getattr(model, "forward", None)):
        raise TypeError(f"add_graph needs an nn.Module (something with a forward method), got {type(model)}")
    if args is None:
        args = ()
    elif isinstance(args, Tensor) or not isinstance(args, (list, tuple)):
        args = (args,)
    else:
        args = tuple(args)
    rec = _Recorder(model)
    for i, t in enumerate(_tensors(args, Tensor)):
        rec.produced[id(t)] = rec.node(f"input/input.{i}", "IO Node", [], [t.shape])
        rec.keep.append(t)

    def pre(module, _args):
        rec.stack.append(rec.scopes.get(id(module), f"{rec.stack[-1]}/{type(module).__name__}"))

    def post(module, _args, _out):
        if len(rec.stack) > 1:
            rec.stack.pop()

    modes = [(m, m.training) for m in model.modules()]
    prev = state.transform_hook
    rec._installed = lambda cls, inputs, kw: rec.hook(cls, inputs, kw, prev)
    handles = [register_module_forward_pre_hook(pre), register_module_forward_hook(post, always_call=True)]
    model.eval()
    state.transform_hook = rec._installed
    try:
        with no_grad():
            out = model(*args)
    except Exception as e:
        raise RuntimeError(f"add_graph could not run the model to record its graph: {type(e).__name__}: {e}") from e
    finally:
        state.transform_hook = prev
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    for i, t in enumerate(_flat_outputs(out, Tensor)):
        rec.node(f"output/output.{i}", "IO Node", [rec.source_of(t)], [t.shape])
    if verbose:
        for nd in rec.nodes:
            print(f"{nd.name} = {nd.op}({', '.join(nd.input)})")
    gd = _proto.graph_pb2.GraphDef(node=rec.nodes, versions=_proto.versions_pb2.VersionDef(producer=22))
    return gd, None
