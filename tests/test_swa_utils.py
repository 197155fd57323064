"""dynagrad.optim.swa_utils: AveragedModel (SWA, EMA, with and without buffers), SWALR and update_bn.

The torch-free tests at the top check hand-computed values; the rest run the same weights and data through
torch.optim.swa_utils and compare.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import dynagrad
import dynagrad.nn as nn
from dynagrad.optim import swa_utils


def _net(m):
    m.manual_seed(0)
    return m.nn.Sequential(m.nn.Linear(3, 4), m.nn.BatchNorm1d(4), m.nn.ReLU(), m.nn.Linear(4, 2))


# ---------------------------------------------------------------------------------------------------
# without torch
# ---------------------------------------------------------------------------------------------------
def test_hand_computed_averages():
    net = nn.Linear(2, 1)
    swa = swa_utils.AveragedModel(net)
    ema = swa_utils.AveragedModel(net, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.75))
    ema1 = swa_utils.AveragedModel(net, avg_fn=swa_utils.get_ema_avg_fn(0.75))
    assert swa.module is not net and list(swa.state_dict()) == ["n_averaged", "module.weight", "module.bias"]
    for v in (4.0, 8.0, 0.0):
        with dynagrad.no_grad():
            net.weight.fill_(v)
            net.bias.fill_(-v)
        for m in (swa, ema, ema1):
            m.update_parameters(net)
    np.testing.assert_allclose(swa.module.weight.detach().numpy(), [[4.0, 4.0]])
    np.testing.assert_allclose(swa.module.bias.detach().numpy(), [-4.0])
    np.testing.assert_allclose(ema.module.weight.detach().numpy(), [[3.75, 3.75]])
    np.testing.assert_allclose(ema1.module.weight.detach().numpy(), ema.module.weight.detach().numpy())
    assert swa.n_averaged.item() == 3 and swa.n_averaged.dtype == dynagrad.int64
    x = dynagrad.ones(5, 2)
    np.testing.assert_allclose(swa(x).detach().numpy(), swa.module(x).detach().numpy())
    assert not net.weight.grad and swa.module.weight.requires_grad
    with pytest.raises(AssertionError):
        swa_utils.AveragedModel(net, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(ValueError):
        swa_utils.get_ema_multi_avg_fn(1.5)
    # a state dict round trip
    other = swa_utils.AveragedModel(nn.Linear(2, 1))
    other.load_state_dict(swa.state_dict())
    assert other.n_averaged.item() == 3
    np.testing.assert_allclose(other.module.weight.detach().numpy(), swa.module.weight.detach().numpy())


def test_buffers_copied_or_averaged():
    bn = nn.BatchNorm1d(2)
    copy_ = swa_utils.AveragedModel(bn)
    avg = swa_utils.AveragedModel(bn, use_buffers=True)
    for v in (2.0, 4.0):
        bn.running_mean.fill_(v)
        copy_.update_parameters(bn)
        avg.update_parameters(bn)
    np.testing.assert_allclose(copy_.module.running_mean.numpy(), [4.0, 4.0])
    np.testing.assert_allclose(avg.module.running_mean.numpy(), [3.0, 3.0])


def test_swalr_hand_computed():
    opt = dynagrad.optim.SGD([{"params": [dynagrad.zeros(1, requires_grad=True)], "lr": 1.0},
                              {"params": [dynagrad.zeros(1, requires_grad=True)], "lr": 0.5}], lr=1.0)
    sched = swa_utils.SWALR(opt, swa_lr=[0.0, 0.1], anneal_epochs=4, anneal_strategy="linear")
    seen = []
    for _ in range(6):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    np.testing.assert_allclose([s[0] for s in seen], [1.0, 0.75, 0.5, 0.25, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose([s[1] for s in seen], [0.5, 0.4, 0.3, 0.2, 0.1, 0.1], atol=1e-12)
    sd = sched.state_dict()
    assert "anneal_func" not in sd and sd["_anneal_strategy"] == "linear"
    with pytest.raises(ValueError):
        swa_utils.SWALR(opt, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError):
        swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)


def test_update_bn_cumulative_average():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2, momentum=0.3))
    model.eval()
    xs = [dynagrad.randn(8, 2) for _ in range(3)]
    swa_utils.update_bn([(x, 0) for x in xs], model)
    bn = model[1]
    assert bn.momentum == 0.3 and not model.training and bn.num_batches_tracked.item() == 3
    with dynagrad.no_grad():
        hs = [model[0](x).numpy() for x in xs]
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([h.mean(0) for h in hs], 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([h.var(0, ddof=1) for h in hs], 0), rtol=1e-5)
    swa_utils.update_bn([], nn.Linear(2, 2))  # no BatchNorm: nothing to do


# ---------------------------------------------------------------------------------------------------
# against torch
# ---------------------------------------------------------------------------------------------------
def _averagers(m, kind, use_buffers, model):
    su = m.optim.swa_utils
    kw = {"swa": {}, "swa_multi": {"multi_avg_fn": su.get_swa_multi_avg_fn()},
          "swa_fn": {"avg_fn": su.get_swa_avg_fn()},
          "ema_multi": {"multi_avg_fn": su.get_ema_multi_avg_fn(0.999)},
          "ema_multi_fast": {"multi_avg_fn": su.get_ema_multi_avg_fn(0.3)},
          "ema_fn": {"avg_fn": su.get_ema_avg_fn(0.9)}}[kind]
    return su.AveragedModel(model, use_buffers=use_buffers, **kw)


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("kind", ["swa", "swa_multi", "swa_fn", "ema_multi", "ema_multi_fast", "ema_fn"])
def test_averaged_model_matches_torch(kind, use_buffers):
    torch = pytest.importorskip("torch")
    if kind == "swa_multi" and use_buffers:
        pytest.skip("PyTorch's get_swa_multi_avg_fn raises on the integer num_batches_tracked buffer (addcdiv)")
    rng = np.random.default_rng(1)
    models = {m: _net(m) for m in (dynagrad, torch)}
    avgs = {m: _averagers(m, kind, use_buffers, models[m]) for m in models}
    opts = {m: m.optim.SGD(models[m].parameters(), lr=0.1, momentum=0.9) for m in models}
    for p, q in zip(models[dynagrad].parameters(), models[torch].parameters()):  # identical starting weights
        q.data.copy_(torch.from_numpy(p.detach().numpy().copy()))
    for _ in range(12):
        x, y = rng.standard_normal((16, 3)).astype(np.float32), rng.standard_normal((16, 2)).astype(np.float32)
        for m in models:
            loss = ((models[m](m.tensor(x)) - m.tensor(y)) ** 2).mean()
            opts[m].zero_grad()
            loss.backward()
            opts[m].step()
            avgs[m].update_parameters(models[m])
    ours, theirs = avgs[dynagrad].state_dict(), avgs[torch].state_dict()
    assert list(ours) == list(theirs)
    for k in ours:
        a, b = ours[k].numpy(), theirs[k].numpy()
        assert a.dtype == b.dtype, k
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=k)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    avgs[dynagrad].eval()
    avgs[torch].eval()
    np.testing.assert_allclose(avgs[dynagrad](dynagrad.tensor(x)).detach().numpy(),
                               avgs[torch](torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 3, 10])
def test_swalr_matches_torch(strategy, anneal_epochs):
    torch = pytest.importorskip("torch")
    seqs = {}
    for m in (dynagrad, torch):
        groups = [{"params": [m.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.05, 1.0)]
        opt = m.optim.SGD(groups, lr=0.1)
        before = m.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8)
        swa = m.optim.swa_utils.SWALR(opt, swa_lr=[0.02, 0.2, 0.5] if anneal_epochs != 3 else 0.01,
                                      anneal_epochs=anneal_epochs, anneal_strategy=strategy)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in range(20):
                opt.step()
                out.append([g["lr"] for g in opt.param_groups] + swa.get_last_lr())
                (before if epoch < 4 else swa).step()
        seqs[m] = out
        sd = {k: v for k, v in swa.state_dict().items() if not k.startswith("_get_lr")}
        seqs[m, "sd"] = sorted(k for k in sd if k != "_is_initial")
    np.testing.assert_allclose(seqs[dynagrad], seqs[torch], rtol=1e-12, atol=1e-15)
    assert {"anneal_epochs", "_anneal_strategy", "last_epoch", "base_lrs", "_step_count"} <= set(seqs[dynagrad, "sd"])


def test_swalr_resumes_from_state_dict():
    opt = dynagrad.optim.SGD([dynagrad.zeros(1, requires_grad=True)], lr=1.0)
    sched = swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=5)
    for _ in range(2):
        opt.step()
        sched.step()
    sd = sched.state_dict()
    opt2 = dynagrad.optim.SGD([dynagrad.zeros(1, requires_grad=True)], lr=1.0)
    sched2 = swa_utils.SWALR(opt2, swa_lr=0.1, anneal_epochs=5, anneal_strategy="linear")
    sched2.load_state_dict(sd)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    assert sched2.anneal_func is swa_utils.SWALR._cosine_anneal
    for _ in range(4):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]


@pytest.mark.parametrize("through_averaged_model", [False, True])
def test_update_bn_matches_torch(through_averaged_model):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    w1, w2 = rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal((6, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    xs = [rng.standard_normal((n, 3)).astype(np.float32) * 2 + 1 for n in (5, 9, 2)]
    out = {}
    for m in (dynagrad, torch):
        model = m.nn.Sequential(m.nn.Linear(3, 6), m.nn.BatchNorm1d(6, momentum=0.2), m.nn.Tanh(),
                                m.nn.Linear(6, 6), m.nn.BatchNorm1d(6, momentum=None, affine=False))
        with m.no_grad():
            for lin, w in ((model[0], w1), (model[3], w2)):
                lin.weight.copy_(m.tensor(w))
                lin.bias.copy_(m.tensor(b))
        if through_averaged_model:  # the usual SWA recipe: statistics for the averaged weights, loader of pairs
            model = m.optim.swa_utils.AveragedModel(model).eval()
            model.update_parameters(model.module)
            m.optim.swa_utils.update_bn([(m.tensor(x), 0) for x in xs] + [[m.tensor(xs[0])]], model)
            assert not model.training
            bns = model.module[1], model.module[4]
        else:
            model.train()
            m.optim.swa_utils.update_bn([m.tensor(x) for x in xs], model, device="cpu")
            assert model.training
            bns = model[1], model[4]
        assert bns[0].momentum == 0.2 and bns[1].momentum is None
        out[m] = {k: v.numpy() for k, v in model.state_dict().items()}
    assert list(out[dynagrad]) == list(out[torch])
    for k in out[torch]:
        np.testing.assert_allclose(out[dynagrad][k], out[torch][k], rtol=1e-5, atol=1e-5, err_msg=k)


def test_ema_decay_formula_long_run():
    """1000 EMA updates of a drifting weight: the float32 rounding of lerp keeps up with PyTorch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    ws = rng.standard_normal((1000, 4, 3)).astype(np.float32).cumsum(0) * 0.01
    res = {}
    for m in (dynagrad, torch):
        net = m.nn.Linear(3, 4, bias=False)
        ema = m.optim.swa_utils.AveragedModel(net, multi_avg_fn=m.optim.swa_utils.get_ema_multi_avg_fn(0.999))
        for w in ws:
            with m.no_grad():
                net.weight.copy_(m.tensor(w))
            ema.update_parameters(net)
        res[m] = ema.module.weight.detach().numpy()
    np.testing.assert_allclose(res[dynagrad], res[torch], rtol=1e-6, atol=1e-7)
