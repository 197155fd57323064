"""dynagrad.fx against torch.fx: the graphs symbolic tracing records (ops, names, targets, arguments), the
code GraphModules generate, their outputs and gradients, the FX examples' transformations, and the errors.

Each model is written once against a ``torch`` parameter and built with the same seed in both frameworks
(dynagrad draws PyTorch's initial weights), so values compare directly. Where torch is not installed the
references come from tests/golden/test_fx__*.npz.
"""
from __future__ import annotations

import copy
import math
import operator
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dynagrad
import dynagrad.nn.functional as DF
from dynagrad import fx
from dynagrad.fx import _patch
from tests.helpers import reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def helper_fn(x, y):
    return x * 2 + y


def decorated_fn(x):
    return x + 1


# -- models, written once for either framework -----------------------------------------------------------

def _models(torch):
    nn, F = torch.nn, torch.nn.functional
    fxm = torch.fx
    g = globals()
    # fx.wrap registers names of the module it is called from; register ours with the framework at hand
    fxm._symbolic_trace._wrapped_fns_to_patch[(id(g), "helper_fn")] = g
    fxm._symbolic_trace._wrapped_fns_to_patch[(id(g), "decorated_fn")] = g

    class ConvBN(nn.Module):  # the official FX examples' model shape
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.lin = nn.Linear(8 * 4 * 4, 5)

        def forward(self, x):
            x = F.relu(self.bn(self.conv(x)))
            x = F.max_pool2d(x, 2)
            x = torch.add(x, 1.0)
            return self.lin(x.flatten(1))

    class Mixed(nn.Module):  # functions, methods, operators, getitem, parameters, buffers, constants
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 5)
            self.param = nn.Parameter(torch.rand(5))
            self.register_buffer("buf", torch.ones(5))
            self.plain = torch.full((5,), 0.5)
            self.act = F.gelu  # a stored reference to a library function

        def forward(self, x):
            s = x.size(0)
            z = self.lin(x.flatten(1)) + self.param
            z = z.sum(dim=1) + torch.sum(z) + x[0, 1].sum() + s
            z = torch.cat([z, z], 0)
            w = self.buf * z[:5] + self.plain.mul(z[:5]) + torch.ones(5)
            h = z.shape[0] // 2
            return (torch.relu(z) * 2, F.softmax(z, dim=0), F.linear(w.unsqueeze(0), w.unsqueeze(0)),
                    self.act(w), -z[:h], 1 - z, 2 ** z.abs(), z @ z, abs(z), z.view(-1, 2).t())

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.b1 = nn.BatchNorm2d(c)

        def forward(self, x):
            out = F.relu(self.b1(self.c1(x)), inplace=True)
            out += x
            return out.relu()

    class Attn(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h = h
            self.qkv = nn.Linear(d, 3 * d)
            self.register_buffer("mask", torch.tril(torch.ones(4, 4)).view(1, 1, 4, 4))

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.qkv(x).split(C, dim=2)
            q = q.view(B, T, self.h, C // self.h).transpose(1, 2)
            k = k.view(B, T, self.h, C // self.h).transpose(1, 2)
            v = v.view(B, T, self.h, C // self.h).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.mask == 0, float("-inf"))
            y = F.softmax(att, dim=-1) @ v
            return y.transpose(1, 2).contiguous().view(B, T, C)

    class Nested(nn.Module):  # non-leaf submodules, containers, math.sqrt, wrapped functions
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
            self.blocks = nn.ModuleList([Block(4), Block(4)])
            self.heads = nn.ModuleDict({"a": nn.Linear(4, 4), "b": nn.Identity()})
            self.attn = Attn(4, 2)
            self.drop = nn.Dropout(0.1)

        def forward(self, x, tokens):
            h = self.stem(x)
            for b in self.blocks:
                h = b(h)
            h = torch.flatten(F.adaptive_avg_pool2d(h, (1, 1)), 1)
            a, b = self.heads["a"](h).chunk(2, dim=1)
            t = self.heads["b"](self.attn(tokens).mean(1))
            z = self.drop(torch.cat([a, b, t], dim=1))
            z = helper_fn(z, decorated_fn(z).mean())
            return {"z": z.permute(1, 0).reshape(-1, 2).sigmoid(), "n": h.shape[0]}

    class Signature(nn.Module):  # defaults, annotations, *args, **kwargs, keyword-only
        def forward(self, x: torch.Tensor, y=None, *args, flag: bool = True, **kw):
            return x * 3

    return {"convbn": ConvBN, "mixed": Mixed, "nested": Nested, "signature": Signature}


_INPUTS = {"convbn": [(2, 3, 8, 8)], "mixed": [(5, 2, 4)], "nested": [(2, 3, 4, 4), (2, 4, 4)],
           "signature": [(3,)]}


def _inputs(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    return [rng.standard_normal(s).astype(np.float32) for s in _INPUTS[name]]


def _flat(out) -> list:
    if isinstance(out, dict):
        return [v for k in sorted(out) for v in _flat(out[k])]
    if isinstance(out, (tuple, list)):
        return [v for o in out for v in _flat(o)]
    return [out]


def _trace_summary(torch, name):
    """What tracing records and what the GraphModule computes, as plain values."""
    torch.manual_seed(0)
    model = _models(torch)[name]().eval()
    gm = torch.fx.symbolic_trace(model)
    xs = [torch.tensor(a, requires_grad=True) for a in _inputs(name)]
    outs = [o for o in _flat(gm(*xs)) if isinstance(o, torch.Tensor)]
    loss = sum((o.float() * (i + 1)).sum() for i, o in enumerate(outs) if o.dtype.is_floating_point)
    loss.backward()
    ref = [o for o in _flat(model(*xs)) if isinstance(o, torch.Tensor)]
    return {
        "nodes": [[n.op, n.name] for n in gm.graph.nodes],
        "graph": str(gm.graph),
        "code": gm.code,
        "readable": gm.print_readable(print_output=False),
        "str": str(gm),
        "state": list(gm.state_dict().keys()),
        "class": type(gm).__name__,
        "outs": [o.detach() for o in outs],
        "same_as_module": [bool(torch.allclose(a, b, atol=1e-6)) for a, b in zip(outs, ref)],
        "input_grads": [x.grad for x in xs],
        "param_grads": {k: p.grad for k, p in gm.named_parameters() if p.grad is not None},
    }


@pytest.mark.parametrize("name", ["convbn", "mixed", "nested", "signature"])
def test_trace_matches_pytorch(name):
    got = _trace_summary(dynagrad, name)
    want = reference(lambda torch: _trace_summary(torch, name))
    assert got["nodes"] == want["nodes"]
    assert got["graph"] == want["graph"]
    assert got["code"] == want["code"]
    assert got["readable"] == want["readable"]
    assert got["str"] == want["str"]
    assert got["state"] == want["state"] and got["class"] == want["class"]
    assert got["same_as_module"] == want["same_as_module"] and all(got["same_as_module"])
    assert len(got["outs"]) == len(want["outs"])
    for a, b in zip(got["outs"], want["outs"]):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-4, atol=1e-5)
    for a, b in zip(got["input_grads"], want["input_grads"]):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-3, atol=1e-4)
    assert sorted(got["param_grads"]) == sorted(want["param_grads"])
    for k, v in got["param_grads"].items():
        np.testing.assert_allclose(v.numpy(), want["param_grads"][k], rtol=1e-3, atol=1e-4, err_msg=k)


def _tensor_operands(torch):
    """A real tensor on the left of an operator or method whose argument is a Proxy."""
    def f(x):
        t = torch.ones(4)
        i = torch.ones(4, dtype=torch.int64)
        return (t + x, t - x, t * x, t / x, t // x, t % x, t ** x, t @ x, t < x, t == x, i & x.long(),
                t.add(x), torch.add(t, x), torch.floor_divide(t, x), t[x.long()])
    gm = torch.fx.symbolic_trace(f)
    return [[n.op, n.target if isinstance(n.target, str) else n.target.__name__] for n in gm.graph.nodes]


def test_tensor_operand_with_a_proxy_records_pytorchs_call():
    got = _tensor_operands(dynagrad)
    want = reference(_tensor_operands)
    # the targets of call_function nodes are named by the function's own name, which differs between the
    # frameworks' implementations; ops and method names must agree
    assert [g[0] for g in got] == [w[0] for w in want]
    assert [g for g in got if g[0] == "call_method"] == [w for w in want if w[0] == "call_method"]


def _concrete(torch):
    def f(x, flag=True, y=None, n=3):
        if flag:
            return x * n
        return x - 1
    gm = torch.fx.symbolic_trace(f, concrete_args={"flag": True, "y": None, "n": 3})
    x = torch.ones(2)
    out = [gm.code, gm(x).tolist(), gm(x, True, None, 3).tolist()]
    for bad in ((x, False), (x, True, 1)):
        try:
            gm(*bad)
            out.append("no error")
        except AssertionError as e:
            out.append(str(e))
    return out


def test_concrete_args():
    assert _concrete(dynagrad) == reference(_concrete)


# -- the official FX examples' idioms ----------------------------------------------------------------------

def _examples(torch):
    nn, F, fxm = torch.nn, torch.nn.functional, torch.fx
    torch.manual_seed(0)
    m = _models(torch)["convbn"]().eval()
    for _ in range(2):
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 8, 8)
    out = {}

    gm = fxm.symbolic_trace(m)  # 1. replace ops
    for node in gm.graph.nodes:
        if node.op == "call_function" and node.target == torch.add:
            node.target = torch.mul
    gm.graph.lint()
    gm.recompile()
    out["replaced"] = gm(x)
    out["replaced_code"] = gm.code

    def fuse_conv_bn_eval(conv, bn):  # 2. conv-bn fusion
        fused = copy.deepcopy(conv)
        w, b = fused.weight, fused.bias
        rs = torch.rsqrt(bn.running_var + bn.eps)
        fused.weight = nn.Parameter(w * (bn.weight * rs).reshape([-1] + [1] * (len(w.shape) - 1)))
        fused.bias = nn.Parameter((b - bn.running_mean) * rs * bn.weight + bn.bias)
        return fused

    def parent_name(target):
        *parent, name = target.rsplit(".", 1)
        return parent[0] if parent else "", name

    fm = fxm.symbolic_trace(copy.deepcopy(m))
    modules = dict(fm.named_modules())
    for node in fm.graph.nodes:
        if node.op != "call_module":
            continue
        if type(modules[node.target]) is nn.BatchNorm2d and type(modules[node.args[0].target]) is nn.Conv2d:
            conv, bn = modules[node.args[0].target], modules[node.target]
            p, n = parent_name(node.args[0].target)
            setattr(modules[p], n, fuse_conv_bn_eval(conv, bn))
            node.replace_all_uses_with(node.args[0])
            fm.graph.erase_node(node)
    fm.graph.lint()
    fm.recompile()
    fm.delete_all_unused_submodules()
    out["fused"] = fm(x)
    out["fused_matches"] = bool(torch.allclose(fm(x), m(x), atol=1e-5))
    out["fused_modules"] = [k for k, _ in fm.named_modules()]

    gm = fxm.symbolic_trace(m)  # 3. instrumentation: a node inserted after each module call
    for node in list(gm.graph.nodes):
        if node.op == "call_module":
            with gm.graph.inserting_after(node):
                new = gm.graph.call_function(torch.tanh, (node,))
            node.replace_all_uses_with(new, delete_user_cb=lambda user, new=new: user is not new)
    gm.recompile()
    out["instrumented_code"] = gm.code
    out["instrumented"] = gm(x)

    class Counting(fxm.Interpreter):  # 4. an interpreter observing each node
        def __init__(self, mod):
            super().__init__(mod)
            self.counts = {}

        def run_node(self, n):
            self.counts[n.op] = self.counts.get(n.op, 0) + 1
            return super().run_node(n)

    ci = Counting(fxm.symbolic_trace(m))
    out["interpreted"] = ci.run(x)
    out["counts"] = sorted([k, v] for k, v in ci.counts.items())

    class ReluToGelu(fxm.Transformer):  # 5. a transformer
        def call_function(self, target, args, kwargs):
            if target == F.relu:
                target, kwargs = F.gelu, {}
            return super().call_function(target, args, kwargs)

    g2 = ReluToGelu(fxm.symbolic_trace(m)).transform()
    out["transformed"] = g2(x)
    out["transformed_code"] = g2.code

    import importlib  # 6. shape propagation
    ShapeProp = importlib.import_module(torch.__name__ + ".fx.passes.shape_prop").ShapeProp
    sm = fxm.symbolic_trace(m)
    ShapeProp(sm).propagate(x)
    out["shapes"] = [[n.name, list(n.meta["tensor_meta"].shape), str(n.meta["tensor_meta"].dtype),
                      n.meta["tensor_meta"].requires_grad, list(n.meta["tensor_meta"].stride),
                      n.meta["tensor_meta"].is_quantized, n.meta["type"].__name__] for n in sm.graph.nodes]
    out["shaped_readable"] = sm.print_readable(print_output=False)

    rm = fxm.symbolic_trace(m)  # 7. replace_pattern
    matches = fxm.subgraph_rewriter.replace_pattern(rm, lambda a, b: torch.add(a, b),
                                                    lambda a, b: torch.sub(a, b))
    out["matches"] = [[mt.anchor.name, sorted([k.name, v if isinstance(v, float) else v.name]
                                              for k, v in mt.nodes_map.items())] for mt in matches]
    out["rewritten_code"] = rm.code
    out["rewritten"] = rm(x)
    return out


def test_fx_examples_idioms():
    got = _examples(dynagrad)
    want = reference(_examples)
    for key, w in want.items():
        g = got[key]
        if isinstance(g, dynagrad.Tensor):
            np.testing.assert_allclose(g.detach().numpy(), w, rtol=1e-4, atol=1e-5, err_msg=key)
        else:
            assert g == w, key
    assert got["fused_matches"]


def test_fx_examples_program_under_dynagrad_run(tmp_path):
    """The idioms as a PyTorch user's script, run unmodified by ``dynagrad run`` (``import torch.fx``)."""
    src = textwrap.dedent("""
        import torch, torch.fx as fx, torch.nn as nn, torch.nn.functional as F
        from torch.fx.passes.shape_prop import ShapeProp
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.l = nn.Linear(4, 3)
            def forward(self, x):
                return F.relu(self.l(x)) + x.sum(1, keepdim=True)
        torch.manual_seed(0)
        m = M(); gm = fx.symbolic_trace(m); x = torch.randn(2, 4)
        print(gm.code.strip())
        print(gm.graph)
        print([n.target == F.relu for n in gm.graph.nodes], torch.allclose(gm(x), m(x)))
        ShapeProp(gm).propagate(x)
        print([tuple(n.meta['tensor_meta'].shape) for n in gm.graph.nodes])
        import os, sys
        here = os.path.dirname(os.path.abspath(__file__))
        pkg = "exported_dg" if "dynagrad" in torch.__version__ else "exported_pt"  # the two runs overlap
        gm.to_folder(os.path.join(here, pkg), "Exported")
        sys.path.insert(0, here)
        Exported = __import__(pkg).Exported
        print(torch.allclose(Exported()(x), gm(x)))
        try:
            fx.symbolic_trace(lambda x: x if x.sum() > 0 else -x)
        except fx.proxy.TraceError as e:
            print(type(e).__name__, e)
    """)
    path = tmp_path / "prog.py"
    path.write_text(src)
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONWARNINGS="ignore")
    ours = subprocess.Popen([sys.executable, "-m", "dynagrad.cli", "run", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # runs while PyTorch's run does

    def theirs(torch):
        env2 = {k: v for k, v in env.items() if k != "PYTHONPATH"}
        p = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env2, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        return p.stdout
    want = reference(theirs)
    out, err = ours.communicate(timeout=300)
    assert ours.returncode == 0, err[-3000:]
    assert out == want


# -- errors --------------------------------------------------------------------------------------------------

class _Branchy(dynagrad.nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow
            return x
        return -x


def test_control_flow_is_a_trace_error_naming_the_line():
    with pytest.raises(fx.proxy.TraceError) as info:
        fx.symbolic_trace(_Branchy())
    assert str(info.value) == "symbolically traced variables cannot be used as inputs to control flow"
    note = info.value.__notes__[0]
    assert "test_fx.py" in note and "if x.sum() > 0:" in note
    assert isinstance(info.value, ValueError)  # TraceError is a ValueError, as in PyTorch
    assert not _patch.active()  # nothing stays patched after a failed trace


def test_proxy_len_iter_and_conversions():
    with pytest.raises(RuntimeError, match="'len' is not supported in symbolic tracing by default"):
        fx.symbolic_trace(lambda x: len(x))
    with pytest.raises(fx.proxy.TraceError, match="Proxy object cannot be iterated"):
        fx.symbolic_trace(lambda x: [v for v in x])
    with pytest.raises(TypeError, match="Proxy"):
        fx.symbolic_trace(lambda x: int(x))

    def unpack(x):
        a, b, c = x
        return a + c
    gm = fx.symbolic_trace(unpack)  # tuple unpacking of a Proxy is recorded as getitems
    assert [n.name for n in gm.graph.nodes] == ["x", "getitem", "getitem_1", "getitem_2", "add", "output"]
    assert gm(dynagrad.tensor([1.0, 2.0, 3.0])).item() == 4.0


def test_graph_errors():
    g = fx.Graph()
    x = g.placeholder("x")
    y = g.call_function(dynagrad.relu, (x,))
    g.output(y)
    with pytest.raises(RuntimeError, match=r"Tried to erase Node x but it still had 1 users in the graph: "):
        g.erase_node(x)
    with pytest.raises(TypeError, match="'immutable_list' object does not support mutation"):
        g2 = fx.Graph()
        n = g2.call_function(dynagrad.cat, ([x, x],))
        n.args[0].append(x)
    with pytest.raises(ValueError, match="but a Callable is expected"):
        g.create_node("call_function", "relu")
    with pytest.raises(ValueError, match="but a str is expected"):
        g.create_node("call_method", dynagrad.relu)
    other = fx.Graph()
    bad = other.call_function(dynagrad.neg, (x,))  # an argument from another graph
    other.output(bad)
    with pytest.raises(RuntimeError, match="does not belong to this Graph"):
        other.lint()
    with pytest.raises(NotImplementedError, match="wrap must be called at the top level of a module"):
        fx.wrap("len")
    with pytest.raises(NotImplementedError, match="argument of type"):
        fx.symbolic_trace(lambda x: x + object())


# -- Graph and Node API ---------------------------------------------------------------------------------------

def test_node_editing():
    g = fx.Graph()
    x = g.placeholder("x")
    a = g.call_function(dynagrad.add, (x, 1))
    b = g.call_method("mul", (a, 2))
    out = g.output(b)
    with g.inserting_before(b):
        c = g.call_function(dynagrad.neg, (a,), name="neg")
    assert [n.name for n in g.nodes] == ["x", "add", "neg", "mul", "output"]
    assert a.next is c and c.prev is a and b.prev is c
    b.replace_input_with(a, c)
    assert b.args == (c, 2) and list(a.users) == [c] and list(c.users) == [b]
    b.update_arg(1, 3)
    b.update_kwarg("k", x)
    assert b.args == (c, 3) and b.kwargs == {"k": x} and b.all_input_nodes == [c, x]
    b.kwargs = {}
    out.prepend(a)  # moving a node
    assert [n.name for n in g.nodes] == ["x", "neg", "mul", "add", "output"]
    x.append(a)
    assert [n.name for n in g.nodes] == ["x", "add", "neg", "mul", "output"]
    assert b.format_node() == "%mul : [num_users=1] = call_method[target=mul](args = (%neg, 3), kwargs = {})"
    assert [n.name for n in g.find_nodes(op="call_function")] == ["add", "neg"]
    assert c.meta == {} and c.type is None and repr(c) == "neg"
    # a graph copied into another keeps names, metadata and structure
    c.meta["tag"] = 1
    g2 = fx.Graph()
    env = {}
    rv = g2.graph_copy(g, env)
    g2.output(rv)
    assert str(g2) == str(g) and env[c].meta == {"tag": 1} and env[c] is not c
    g3 = copy.deepcopy(g)
    assert str(g3) == str(g)
    # dead code elimination keeps side effects and outputs
    with g.inserting_before(out):
        dead = g.call_function(dynagrad.exp, (x,))
        kept = g.call_function(operator.setitem, (x, 0, 1.0))
    assert g.eliminate_dead_code() is True
    names = [n.name for n in g.nodes]
    assert dead.name not in names and kept.name in names and g.eliminate_dead_code() is False


def test_map_arg_and_aggregate():
    g = fx.Graph()
    x, y = g.placeholder("x"), g.placeholder("y")
    args = (x, [y, 2], {"k": (x, slice(y, None))})
    assert fx.map_arg(args, lambda n: n.name) == ("x", ["y", 2], {"k": ("x", slice("y", None, None))})
    from dynagrad.fx.node import map_aggregate
    doubled = map_aggregate((1, [2, 3]), lambda v: v * 2)
    assert doubled == (2, [4, 6]) and type(doubled[1]).__name__ == "immutable_list"


def test_print_tabular(capsys):
    gm = fx.symbolic_trace(lambda x: dynagrad.relu(x) + 1)
    gm.graph.print_tabular()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["opcode", "name", "target", "args", "kwargs"]
    assert set(lines[1]) == {"-", " "} and len(lines) == 2 + len(gm.graph.nodes)
    assert lines[3].split()[:2] == ["call_function", "relu"]


def test_proxies_around_existing_nodes_build_graphs():
    g = fx.Graph()
    x = fx.Proxy(g.placeholder("x"))
    y = dynagrad.sigmoid(x) * DF.relu(x) + x.mean()
    g.output(y.node)
    del x, y
    gm = fx.GraphModule(dynagrad.nn.Module(), g)
    v = dynagrad.tensor([-1.0, 2.0])
    want = dynagrad.sigmoid(v) * DF.relu(v) + v.mean()
    assert dynagrad.allclose(gm(v), want)
    assert "torch.nn.functional.relu(x, inplace = False)" in gm.code
    assert not _patch.active()


# -- tracing machinery ----------------------------------------------------------------------------------------

def test_functions_keep_their_identity_and_are_restored():
    before = (dynagrad.add.__code__, DF.relu.__code__, dynagrad.Tensor.__add__.__code__)
    seen = {}

    class M(dynagrad.nn.Module):
        def forward(self, x):
            seen["same"] = DF.relu is _stored_relu  # identity holds while tracing
            return _stored_relu(x) + dynagrad.add(x, 1)
    gm = fx.symbolic_trace(M())
    assert seen["same"]
    assert [n.target for n in gm.graph.nodes if n.op == "call_function"][:2] == [DF.relu, dynagrad.add]
    assert (dynagrad.add.__code__, DF.relu.__code__, dynagrad.Tensor.__add__.__code__) == before
    assert not _patch.active()


_stored_relu = DF.relu  # as `from torch.nn.functional import relu` would bind it


def test_custom_tracer_leaves_and_module_calls():
    nn = dynagrad.nn

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(3, 3)

        def forward(self, x):
            return self.l(x).relu()

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.w = nn.Parameter(dynagrad.ones(3))

        def forward(self, x):
            return self.inner(x) * self.w + self.w

    class LeafTracer(fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, Inner) or super().is_leaf_module(m, qualname)

    g = LeafTracer().trace(Outer())
    assert [(n.op, n.target) for n in g.nodes if n.op in ("call_module", "get_attr")] == \
        [("call_module", "inner"), ("get_attr", "w")]  # the parameter's get_attr is made once
    calls = []

    class Recording(fx.Tracer):
        def call_module(self, m, forward, args, kwargs):
            calls.append(type(m).__name__)
            return super().call_module(m, forward, args, kwargs)

    g = Recording().trace(Outer())
    assert calls == ["Inner", "Linear"] and [n.name for n in g.nodes][:3] == ["x", "inner_l", "relu"]
    g = fx.Tracer(autowrap_functions=(scale_fn,)).trace(lambda x: scale_fn(x) + 1)
    assert [n.target for n in g.nodes if n.op == "call_function"][0] is scale_fn
    g = fx.Tracer(param_shapes_constant=True).trace(_ShapeUser())
    assert all(n.target != "size" for n in g.nodes)


def scale_fn(x):  # autowrapping skips names starting with "_", as in PyTorch
    return x * 3


class _ShapeUser(dynagrad.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = dynagrad.nn.Parameter(dynagrad.ones(2, 3))

    def forward(self, x):
        return x.view(-1, self.w.size(1)) @ self.w.t()


def test_graph_module_copies_pickles_and_submodules():
    nn = dynagrad.nn
    dynagrad.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    gm = fx.symbolic_trace(m)
    x = dynagrad.randn(5, 3)
    dup = copy.deepcopy(gm)
    assert dup.get_submodule("0") is not gm.get_submodule("0") and dynagrad.equal(dup(x), gm(x))
    for node in dup.graph.nodes:
        if node.target == "1":
            node.target = "0"  # a different module: only the copy changes
            node.args = (node.args[0],)
    assert isinstance(dup.graph.nodes, object)
    again = pickle.loads(pickle.dumps(gm))
    assert dynagrad.equal(again(x), gm(x)) and again.code == gm.code
    shallow = copy.copy(gm)
    assert shallow.get_submodule("0") is gm.get_submodule("0")
    assert gm.add_submodule("extra.lin", nn.Linear(2, 2)) and isinstance(gm.get_submodule("extra.lin"), nn.Linear)
    assert gm.delete_submodule("extra.lin") and not gm.delete_submodule("nope")
    gm.delete_all_unused_submodules()
    assert [k for k, _ in gm.named_modules()] == ["", "0", "1", "2"]
    assert gm.state_dict().keys() == m.state_dict().keys()
    gm2 = fx.GraphModule({"0": m[0], "1": m[1], "2": m[2]}, gm.graph)  # a dict root
    assert dynagrad.equal(gm2(x), m(x)) and type(gm2).__name__ == "GraphModule"


def test_graph_module_trains_like_the_module():
    nn = dynagrad.nn

    def run(use_fx):
        dynagrad.manual_seed(0)
        m = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
        net = fx.symbolic_trace(m) if use_fx else m
        opt = dynagrad.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        x, y = dynagrad.randn(16, 6), dynagrad.randn(16, 2)
        losses = []
        for _ in range(5):
            loss = DF.mse_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().numpy().copy() for p in net.parameters()]

    l1, p1 = run(False)
    l2, p2 = run(True)
    assert l1 == l2 and all(np.array_equal(a, b) for a, b in zip(p1, p2))


def test_interpreter_api():
    gm = fx.symbolic_trace(lambda x, y: dynagrad.relu(x) * y)
    x, y = dynagrad.tensor([-1.0, 2.0]), dynagrad.tensor([3.0, 4.0])
    interp = fx.Interpreter(gm)
    assert dynagrad.equal(interp.run(x, y), gm(x, y))
    assert dynagrad.equal(interp.boxed_run([x, y]), gm(x, y))
    env = {next(iter(gm.graph.nodes)): dynagrad.tensor([5.0, 5.0])}
    assert fx.Interpreter(gm).run(y, initial_env=env).tolist() == [15.0, 20.0]  # x is not read
    with pytest.raises(RuntimeError, match="Expected positional argument for parameter y"):
        fx.Interpreter(gm).run(x)
    with pytest.raises(RuntimeError, match="While executing %mul"):
        fx.Interpreter(gm).run(x, dynagrad.ones(3))
    assert fx.Interpreter(fx.symbolic_trace(_ShapeUser())).fetch_attr("w").shape == (2, 3)


def _constant_receiver_ops(torch):
    """A constant tensor meeting a Proxy as a method's receiver, a function's argument and an operand."""
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.plain = torch.full((3,), 0.5)

        def forward(self, z):
            return self.plain.mul(z) + torch.mul(self.plain, z) + self.plain * z + self.plain.add(z).sum()
    gm = torch.fx.symbolic_trace(M())
    return [n.op for n in gm.graph.nodes if n.op in ("call_method", "call_function")]


def test_constant_tensor_methods_record_call_method_as_pytorch():
    got = _constant_receiver_ops(dynagrad)
    want = reference(_constant_receiver_ops)
    assert got == want
    assert got[:2] == ["call_method", "call_function"]  # t.mul(proxy), torch.mul(t, proxy)
