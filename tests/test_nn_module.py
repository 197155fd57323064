"""nn.Module against torch.nn.Module: registration and traversal, state_dict in both directions,
load_state_dict reporting (the exact strings), hooks, repr, conversions, containers, Parameter."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_nn_tools import copy_state  # noqa: E402

import dynagrad  # noqa: E402


def net(m):
    """The same architecture in dynagrad and torch: nested modules, a Sequential, BatchNorm buffers, a
    shared (tied) layer and a non-persistent buffer."""
    nn = m.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.norm = nn.BatchNorm1d(4)
            self.register_buffer("scale", m.ones(4) * 2)
            self.register_buffer("cache", m.zeros(2), persistent=False)

        def forward(self, x):
            return m.relu(self.norm(self.fc(x))) * self.scale

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(3, 4)
            self.blocks = nn.Sequential(Block(), nn.Dropout(0.0), Block())
            self.head = nn.ModuleDict({"cls": nn.Linear(4, 2), "aux": nn.Identity()})
            self.tied = self.stem
            self.alpha = nn.Parameter(m.tensor(0.5))

        def forward(self, x):
            return self.head["cls"](self.blocks(self.stem(x))) * self.alpha

    return Net()


def both():
    t = net(torch)
    d = net(dynagrad)
    copy_state(d, t)
    return d, t


def test_names_match_torch():
    d, t = both()
    for fn in (
        lambda m: [n for n, _ in m.named_parameters()],
        lambda m: [n for n, _ in m.named_parameters(remove_duplicate=False)],
        lambda m: [n for n, _ in m.named_parameters(prefix="model", recurse=True)],
        lambda m: [n for n, _ in m.named_parameters(recurse=False)],
        lambda m: [n for n, _ in m.named_buffers()],
        lambda m: [n for n, _ in m.named_buffers(remove_duplicate=False)],
        lambda m: [n for n, _ in m.named_children()],
        lambda m: [n for n, _ in m.named_modules()],
        lambda m: [n for n, _ in m.named_modules(remove_duplicate=False)],
        lambda m: [type(c).__name__ for c in m.children()],
        lambda m: list(m.state_dict().keys()),
        lambda m: list(m.state_dict(prefix="p.").keys()),
        lambda m: dict(m.state_dict()._metadata),
        lambda m: len(list(m.parameters())),
        lambda m: len(list(m.buffers())),
        lambda m: sorted(k for k in dir(m) if k in ("stem", "blocks", "head", "tied", "alpha")),
    ):
        assert fn(d) == fn(t)
    assert isinstance(d.state_dict(), OrderedDict)
    assert d.tied is d.stem and d.get_submodule("blocks.0.fc") is d.blocks[0].fc
    assert d.get_parameter("blocks.2.norm.bias") is d.blocks[2].norm.bias
    assert d.get_buffer("blocks.0.norm.running_mean") is d.blocks[0].norm.running_mean


def test_state_dict_round_trips_between_torch_and_dynagrad():
    d, t = both()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    for _ in range(2):  # train steps update BatchNorm's running stats in both
        d(dynagrad.tensor(x))
        t(torch.tensor(x))
    d.eval()
    t.eval()
    np.testing.assert_allclose(
        d(dynagrad.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    # and the other way: a dynagrad state_dict (through NumPy) into a fresh torch model
    t2 = net(torch)
    t2.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in d.state_dict().items()})
    t2.eval()
    np.testing.assert_allclose(
        t2(torch.tensor(x)).detach().numpy(), d(dynagrad.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    sd = d.state_dict()
    assert sd["blocks.0.norm.num_batches_tracked"].dtype == dynagrad.int64
    assert int(sd["blocks.0.norm.num_batches_tracked"]) == 2
    # NumPy arrays are accepted directly
    d3 = net(dynagrad)
    d3.load_state_dict({k: v.numpy() for k, v in sd.items()})
    np.testing.assert_array_equal(
        d3.blocks[2].norm.running_var.numpy(), sd["blocks.2.norm.running_var"].numpy()
    )


def test_state_dict_is_detached_and_keep_vars():
    d = dynagrad.nn.Linear(2, 2)
    sd = d.state_dict()
    assert not sd["weight"].requires_grad and type(sd["weight"]) is dynagrad.Tensor
    assert np.shares_memory(sd["weight"].numpy(), d.weight.detach().numpy())
    kv = d.state_dict(keep_vars=True)
    assert kv["weight"] is d.weight


def _errors(m, model, sd, **kw):
    try:
        res = model.load_state_dict(sd, **kw)
    except RuntimeError as e:
        return "error", str(e)
    return "ok", repr(res), res.missing_keys, res.unexpected_keys


def test_load_state_dict_reports_like_torch():
    d, t = both()
    cases = []
    for m, model in ((dynagrad, d), (torch, t)):
        sd = dict(model.state_dict())
        sd["stem.weight"] = m.zeros(5, 3)
        sd["head.cls.bias"] = m.zeros(7)
        del sd["blocks.0.fc.bias"]
        del sd["alpha"]
        sd["extra.weight"] = m.zeros(1)
        sd["blocks.9.fc.weight"] = m.zeros(1)
        cases.append((_errors(m, model, sd), _errors(m, model, sd, strict=False)))
    assert cases[0] == cases[1]
    assert (
        "size mismatch for stem.weight: copying a param with shape torch.Size([5, 3]) from checkpoint, "
        "the shape in current model is torch.Size([4, 3])." in cases[0][0][1]
    )
    ok = [
        _errors(m, model, {k: v for k, v in model.state_dict().items() if k != "alpha"}, strict=False)
        for m, model in ((dynagrad, d), (torch, t))
    ]
    assert ok[0] == ok[1] and ok[0][2] == ["alpha"]
    assert (
        repr(d.load_state_dict(d.state_dict()))
        == repr(t.load_state_dict(t.state_dict()))
        == "<All keys matched successfully>"
    )


def test_load_state_dict_is_all_or_nothing():
    d = net(dynagrad)
    before = {k: v.numpy().copy() for k, v in d.state_dict().items()}
    sd = {k: dynagrad.zeros_like(v) + 7 for k, v in d.state_dict().items()}
    sd["head.cls.weight"] = dynagrad.zeros(3, 3)  # one bad shape: nothing may be copied
    with pytest.raises(RuntimeError, match="size mismatch for head.cls.weight"):
        d.load_state_dict(sd)
    for k, v in d.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)
    del sd["head.cls.weight"]
    with pytest.raises(RuntimeError, match="Missing key"):
        d.load_state_dict(sd)
    assert (d.stem.weight.detach().numpy() == before["stem.weight"]).all()
    res = d.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["head.cls.weight"] and (d.stem.weight.detach().numpy() == 7).all()


def test_load_state_dict_assign_and_hooks():
    d = dynagrad.nn.Linear(2, 2)
    w = dynagrad.ones(2, 2)
    seen = []
    d.register_load_state_dict_post_hook(lambda mod, keys: seen.append((mod, list(keys.missing_keys))))
    d.register_load_state_dict_pre_hook(lambda mod, sd, prefix, *a: seen.append(sorted(sd)))
    d.load_state_dict({"weight": w, "bias": dynagrad.zeros(2)}, assign=True)
    assert isinstance(d.weight, dynagrad.nn.Parameter) and d.weight.requires_grad
    assert np.shares_memory(d.weight.detach().numpy(), w.numpy())
    assert seen == [["bias", "weight"], (d, [])]
    calls = []
    d.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(prefix))
    d.state_dict(prefix="x.")
    assert calls == ["x."]


def test_batchnorm_old_checkpoint_without_num_batches_tracked():
    bn = dynagrad.nn.BatchNorm1d(3)
    sd = bn.state_dict()
    del sd["num_batches_tracked"]
    sd._metadata[""]["version"] = 1  # a checkpoint from before the buffer existed loads (as in torch)
    assert repr(bn.load_state_dict(sd)) == "<All keys matched successfully>"
    del sd._metadata
    with pytest.raises(RuntimeError, match='Missing key.*"num_batches_tracked"') if False else _nullcontext():
        bn.load_state_dict(sd)  # no metadata: version None is treated as old, as in torch


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_registration_errors_match_torch():
    def msgs(m):
        out = []
        mod = m.nn.Linear(2, 2)
        for action in (
            lambda: setattr(mod, "weight", m.zeros(2, 2)),
            lambda: setattr(mod, "weight", 3),
            lambda: mod.register_buffer("weight", m.zeros(1)),
            lambda: mod.register_buffer("a.b", m.zeros(1)),
            lambda: mod.register_buffer("", m.zeros(1)),
            lambda: mod.register_buffer("buf", 3),
            lambda: mod.register_parameter("p", m.zeros(1)),
            lambda: mod.register_parameter(1, None),
            lambda: mod.register_parameter("q", m.nn.Parameter(m.zeros(1)) * 2),
            lambda: mod.add_module("weight", m.nn.ReLU()),
            lambda: mod.add_module("a.b", m.nn.ReLU()),
            lambda: mod.add_module("x", 3),
            lambda: mod.nothing,
            lambda: mod.get_submodule("foo"),
            lambda: mod.get_parameter("in_features"),
            lambda: m.nn.Module.__new__(m.nn.Module).__setattr__("w", m.nn.Parameter(m.zeros(1))),
            lambda: m.nn.Module().forward(),
            lambda: m.nn.Module().train("yes"),
            lambda: m.nn.Module(3),
        ):
            try:
                action()
                out.append(None)
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        return out

    for mine, ref in zip(msgs(dynagrad), msgs(torch)):
        if ref and "FloatTensor" in ref[1]:
            ref = (ref[0], ref[1])
        assert mine == ref


def test_setattr_replaces_and_delattr():
    m = dynagrad.nn.Module()
    m.x = dynagrad.nn.Parameter(dynagrad.zeros(1))
    m.register_buffer("b", dynagrad.ones(1))
    m.b = dynagrad.zeros(2)  # assigning a tensor to a buffer name keeps it a buffer
    assert list(m.state_dict()) == ["x", "b"] and m.b.shape == (2,)
    m.x = None
    assert m._parameters["x"] is None and list(m.state_dict()) == ["b"]
    m.c = dynagrad.nn.Buffer(dynagrad.ones(3), persistent=False)
    assert "c" in m._buffers and "c" not in m.state_dict()
    m.sub = dynagrad.nn.ReLU()
    m.sub = dynagrad.nn.Parameter(dynagrad.zeros(1))  # a name changes kind
    assert "sub" in m._parameters and "sub" not in m._modules
    del m.sub, m.b, m.c
    assert not m._parameters.keys() - {"x"} and not m._buffers and not m._modules
    m.plain = 3
    del m.plain
    assert not hasattr(m, "plain")


def test_module_reprs_match_torch():
    d, t = both()
    assert repr(d) == repr(t)
    assert repr(
        dynagrad.nn.ModuleList([dynagrad.nn.Linear(2, 2) for _ in range(3)] + [dynagrad.nn.ReLU()])
    ) == repr(torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()]))
    assert repr(dynagrad.nn.ModuleList()) == repr(torch.nn.ModuleList())
    pl = [
        dynagrad.nn.ParameterList([dynagrad.zeros(2, 3), dynagrad.nn.Parameter(dynagrad.zeros(4))]),
        torch.nn.ParameterList([torch.zeros(2, 3), torch.nn.Parameter(torch.zeros(4))]),
    ]
    assert repr(pl[0]) == repr(pl[1])
    pd = [
        dynagrad.nn.ParameterDict({"a": dynagrad.zeros(2), "b": dynagrad.nn.Parameter(dynagrad.zeros(1, 2))}),
        torch.nn.ParameterDict({"a": torch.zeros(2), "b": torch.nn.Parameter(torch.zeros(1, 2))}),
    ]
    assert repr(pd[0]) == repr(pd[1])

    class Multi(dynagrad.nn.Module):
        def extra_repr(self):
            return "line one\nline two"

    class TMulti(torch.nn.Module):
        def extra_repr(self):
            return "line one\nline two"

    a, b = Multi(), TMulti()
    a.inner, b.inner = dynagrad.nn.Sequential(dynagrad.nn.ReLU()), torch.nn.Sequential(torch.nn.ReLU())
    assert repr(a).replace("Multi", "X") == repr(b).replace("TMulti", "X")


def test_forward_hooks_like_torch():
    def run(m):
        lin = m.nn.Linear(3, 2)
        with m.no_grad():
            lin.weight.copy_(m.arange(6.0).reshape(2, 3) / 10)
            lin.bias.zero_()
        log = []
        h1 = lin.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
        h2 = lin.register_forward_hook(lambda mod, args, out: out + 1)
        h3 = lin.register_forward_pre_hook(
            lambda mod, args, kwargs: log.append(("pre-kw", sorted(kwargs))), with_kwargs=True
        )
        h4 = lin.register_forward_hook(
            lambda mod, args, kwargs, out: log.append(("post-kw", out.shape[0])),
            with_kwargs=True,
            prepend=True,
        )
        out1 = lin(m.ones(1, 3)).detach().numpy().tolist()
        for h in (h1, h2, h3, h4):
            h.remove()
        out2 = lin(m.ones(1, 3)).detach().numpy().tolist()
        with lin.register_forward_hook(lambda mod, args, out: out * 0):
            out3 = lin(m.ones(1, 3)).detach().numpy().tolist()
        out4 = lin(m.ones(1, 3)).detach().numpy().tolist()
        return out1, out2, out3, out4, log

    mine, ref = run(dynagrad), run(torch)
    np.testing.assert_allclose(np.array(mine[:4], dtype=object).tolist(), ref[:4], rtol=1e-6)
    assert mine[4] == ref[4]


def test_always_call_forward_hook_runs_on_error():
    calls = []
    lin = dynagrad.nn.Linear(3, 2)
    lin.register_forward_hook(lambda mod, args, out: calls.append(out), always_call=True)
    with pytest.raises(RuntimeError):
        lin(dynagrad.ones(1, 4))
    assert calls == [None]


def test_full_backward_hooks_like_torch():
    def run(m):
        seq = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.Tanh(), m.nn.Linear(4, 2))
        with m.no_grad():
            for i, p in enumerate(seq.parameters()):
                p.copy_(
                    m.from_numpy(np.random.default_rng(i).standard_normal(tuple(p.shape)).astype(np.float32))
                )
        log = []

        def hook(mod, gin, gout):
            log.append(
                (
                    "hook",
                    type(mod).__name__,
                    [None if g is None else g.numpy().round(5).tolist() for g in gin],
                    [g.numpy().round(5).tolist() for g in gout],
                )
            )
            return (gin[0] * 3,)

        def pre(mod, gout):
            log.append(("pre", type(mod).__name__, [g.numpy().round(5).tolist() for g in gout]))
            return (gout[0] * 2,)

        h = seq[1].register_full_backward_hook(hook)
        seq[2].register_full_backward_pre_hook(pre)
        x = m.from_numpy(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)).requires_grad_()
        seq(x).sum().backward()
        first = x.grad.numpy().copy()
        h.remove()
        x.grad = None
        seq(x).sum().backward()
        return log, first, x.grad.numpy().copy(), seq[0].weight.grad.numpy().copy()

    mine, ref = run(dynagrad), run(torch)
    assert [e[:2] for e in mine[0]] == [e[:2] for e in ref[0]]
    for a, b in zip(mine[0], ref[0]):
        np.testing.assert_allclose(
            np.array(a[2:], dtype=float), np.array(b[2:], dtype=float), rtol=1e-4, atol=1e-5
        )
    for a, b in zip(mine[1:], ref[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_backward_hook_when_no_input_requires_grad():
    for m in (dynagrad, torch):
        lin = m.nn.Linear(2, 2)
        seen = []
        lin.register_full_backward_hook(lambda mod, gin, gout, seen=seen: seen.append((gin, len(gout))))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lin(m.ones(1, 2)).sum().backward()
        assert seen == [((None,), 1)]


def test_global_forward_hook():
    from dynagrad.nn.modules import module as M

    calls = []
    h = M.register_module_forward_hook(lambda mod, args, out: calls.append(type(mod).__name__))
    try:
        dynagrad.nn.Sequential(dynagrad.nn.ReLU())(dynagrad.ones(1))
    finally:
        h.remove()
    dynagrad.nn.ReLU()(dynagrad.ones(1))
    assert calls == ["ReLU", "Sequential"]


def test_hookless_call_takes_the_lean_path(monkeypatch):
    lin = dynagrad.nn.Linear(2, 2)
    monkeypatch.setattr(dynagrad.nn.Module, "_call_with_hooks", lambda *a: pytest.fail("hook path taken"))
    lin(dynagrad.ones(1, 2))


def test_train_eval_zero_grad_apply_requires_grad():
    d, _ = both()
    d.eval()
    assert all(not mod.training for mod in d.modules())
    d.train()
    assert all(mod.training for mod in d.modules())
    d(dynagrad.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in d.parameters())
    d.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in d.parameters())
    d.zero_grad()
    assert all(p.grad is None for p in d.parameters())
    names = []
    assert d.apply(lambda mod: names.append(type(mod).__name__)) is d
    assert names[-1] == "Net" and names[0] == "Linear"
    d.requires_grad_(False)
    assert not any(p.requires_grad for p in d.parameters())


def test_conversions_keep_parameter_identity():
    d, _ = both()
    w = d.stem.weight
    d(dynagrad.ones(2, 3)).sum().backward()
    assert d.double() is d
    assert d.stem.weight is w and w.dtype == dynagrad.float64 and w.grad.dtype == dynagrad.float64
    assert d.blocks[0].norm.running_mean.dtype == dynagrad.float64
    assert d.blocks[0].norm.num_batches_tracked.dtype == dynagrad.int64  # integers stay
    d.to(dynagrad.float32)
    assert w.dtype == dynagrad.float32
    d.to("cpu", dtype=dynagrad.float16)
    assert w.dtype == dynagrad.float16
    d.float().to(dynagrad.zeros(1, dtype=dynagrad.float64))
    assert w.dtype == dynagrad.float64
    d.type(dynagrad.float32)
    assert w.dtype == dynagrad.float32 and d.cpu() is d
    with pytest.raises(
        TypeError,
        match="nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=torch.int64",
    ):
        d.to(dynagrad.int64)
    # PyTorch's CPU build: AssertionError "Torch not compiled with CUDA enabled"
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled.*CPU only"):
        d.cuda()
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled.*CPU only"):
        d.to("cuda")


def test_parameter():
    p = dynagrad.nn.Parameter(dynagrad.tensor([1.0, 2.0]))
    tp = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == repr(tp) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert isinstance(p, dynagrad.Tensor) and p.requires_grad and p.is_leaf
    assert not dynagrad.nn.Parameter(dynagrad.zeros(1), requires_grad=False).requires_grad
    assert dynagrad.nn.Parameter().shape == (0,)
    q = copy.deepcopy(p)
    assert type(q) is dynagrad.nn.Parameter and q.requires_grad and q is not p
    assert not np.shares_memory(q.detach().numpy(), p.detach().numpy())
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is dynagrad.nn.Parameter and r.requires_grad
    assert type(p * 2) is dynagrad.Tensor
    p.custom_flag = True  # Parameters take attributes, as torch's do
    assert copy.deepcopy(p).custom_flag
    with pytest.raises(RuntimeError, match="floating point"):
        dynagrad.nn.Parameter(dynagrad.tensor([1, 2]))
    d, _ = both()
    d2 = copy.deepcopy(d)
    assert d2.tied is d2.stem and d2.stem.weight is not d.stem.weight
    np.testing.assert_array_equal(d2.stem.weight.detach().numpy(), d.stem.weight.detach().numpy())


def test_sequential():
    nn = dynagrad.nn
    a, b, c = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    assert isinstance(s[1:], nn.Sequential) and list(s[1:]) == [b, c] and list(s[1:]._modules) == ["1", "2"]
    s.append(nn.Tanh())
    s.insert(1, nn.Sigmoid())
    assert [type(x).__name__ for x in s] == ["Linear", "Sigmoid", "ReLU", "Linear", "Tanh"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2", "3"] and s[1] is b
    s.extend([nn.Identity()])
    assert len(s) == 5
    s[4] = nn.ReLU6()
    assert type(s[4]).__name__ == "ReLU6"
    assert s.pop(4) is not None and len(s) == 4
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert list(od._modules) == ["fc", "act"] and od.fc is od[0]
    assert len(s + od) == 6 and len(nn.Sequential(b) * 3) == 3
    assert od(dynagrad.ones(1, 2)).shape == (1, 3)
    with pytest.raises(IndexError, match="index 9 is out of range"):
        s[9]
    ts = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(2, 3)), ("act", torch.nn.ReLU())]))
    assert repr(od) == repr(ts)
    assert "fc" not in [k for k in dir(nn.Sequential(a)) if k.isdigit()]


def test_module_list_and_dict():
    nn = dynagrad.nn
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    ml.append(nn.Linear(1, 1))
    ml.extend([nn.Sigmoid()])
    ml.insert(0, nn.Identity())
    assert [type(x).__name__ for x in ml] == ["Identity", "ReLU", "Tanh", "Linear", "Sigmoid"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert type(ml[0]).__name__ == "ReLU" and list(ml._modules) == ["0", "1", "2", "3"]
    ml += [nn.ReLU()]
    assert len(ml) == 5 and len(list(ml.parameters())) == 2
    md = nn.ModuleDict({"a": nn.ReLU(), "b": nn.Linear(1, 1)})
    md["c"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert md.pop("a") is not None and list(md) == ["b", "c"]
    md.update([("d", nn.ReLU())])
    assert [k for k, _ in md.items()] == ["b", "c", "d"]
    assert [n for n, _ in md.named_parameters()] == ["b.weight", "b.bias"]


def test_parameter_list_and_dict():
    nn = dynagrad.nn
    pl = nn.ParameterList([dynagrad.zeros(2), nn.Parameter(dynagrad.ones(1))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(dynagrad.zeros(3))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"] and pl[-1].shape == (3,)
    assert isinstance(pl[0:2], nn.ParameterList) and len(pl[0:2]) == 2
    pd = nn.ParameterDict({"w": dynagrad.zeros(2)})
    pd["b"] = dynagrad.ones(1)
    assert list(pd.keys()) == ["w", "b"] and isinstance(pd["b"], nn.Parameter)
    assert pd.get("zz") is None and "w" in pd and len(pd) == 2
    assert pd.pop("w") is not None and list(pd) == ["b"]
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        pl()
    tl = torch.nn.ParameterList([torch.zeros(2), torch.nn.Parameter(torch.ones(1)), torch.zeros(3)])
    assert [n for n, _ in tl.named_parameters()] == [n for n, _ in pl.named_parameters()]
