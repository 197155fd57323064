"""dynagrad.optim.lr_scheduler against torch.optim.lr_scheduler: the same lr (and momentum) sequences, state
dicts that resume mid-way (also from PyTorch's), ReduceLROnPlateau on a metric sequence.

The torch-free tests at the top check hand-computed schedules.
"""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

import dynagrad
import dynagrad.optim as optim
from dynagrad.optim import lr_scheduler as S


def make_opt(cls=optim.SGD, lrs=(0.1,), **kw):
    groups = [{"params": [dynagrad.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return cls(groups, **kw)


def run(opt, sched, n, metrics=None, epochs=None):
    """lrs seen by each optimizer step, stepping the scheduler after it (as in a training loop)."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecated step(epoch) form warns
        for i in range(n):
            opt.step()
            out.append([g["lr"] for g in opt.param_groups])
            if metrics is not None:
                sched.step(metrics[i])
            elif epochs is not None:
                sched.step(epochs[i])
            else:
                sched.step()
    return out


# ---------------------------------------------------------------------------------------------------
# without torch
# ---------------------------------------------------------------------------------------------------
def test_hand_computed_schedules():
    opt = make_opt(lrs=(1.0,))
    got = [lr[0] for lr in run(opt, S.MultiStepLR(opt, [2, 4, 4], gamma=0.5), 6)]
    assert got == [1, 1, .5, .5, .125, .125]
    opt = make_opt(lrs=(1.0,))
    got = [lr[0] for lr in run(opt, S.LinearLR(opt, start_factor=0.25, total_iters=3), 5)]
    np.testing.assert_allclose(got, [0.25, 0.5, 0.75, 1.0, 1.0])
    opt = make_opt(lrs=(1.0,))
    got = [lr[0] for lr in run(opt, S.CosineAnnealingLR(opt, T_max=4, eta_min=0.5), 9)]
    expect = [0.5 + 0.5 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(9)]
    np.testing.assert_allclose(got, expect, rtol=1e-12)
    opt = make_opt(lrs=(1.0,))
    got = [lr[0] for lr in run(opt, S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2), 7)]
    q = 0.25 * (2 - 2 ** .5)  # cos(pi/4) terms of the 4-epoch cycle
    np.testing.assert_allclose(got, [1, .5, 1, 1 - q, .5, q, 1], rtol=1e-12)
    opt = make_opt(lrs=(1.0,))
    got = [lr[0] for lr in run(opt, S.PolynomialLR(opt, total_iters=4, power=2.0), 6)]
    np.testing.assert_allclose(got, [1, 9 / 16, 1 / 4, 1 / 16, 0, 0], atol=1e-15)


def test_one_cycle_by_hand_and_momentum():
    opt = make_opt(optim.Adam, lrs=(0.5,))
    s = S.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear", div_factor=4.0,
                     final_div_factor=25.0)
    got, betas = [], []
    for _ in range(10):
        got.append(opt.param_groups[0]["lr"])
        betas.append(opt.param_groups[0]["betas"][0])
        opt.step()
        s.step()
    # up from 0.25 to 1.0 over steps 0..2 (pct_start 0.3), then down to 0.01 at step 9
    np.testing.assert_allclose(got[:3], [0.25, 0.625, 1.0])
    np.testing.assert_allclose(got[-1], 0.01)
    np.testing.assert_allclose(betas[:3], [0.95, 0.9, 0.85])
    assert opt.param_groups[0]["betas"][1] == 0.999
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        s.step()


def test_reduce_on_plateau_by_hand():
    opt = make_opt(lrs=(1.0, 0.1))
    s = S.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=1, cooldown=1, min_lr=[0.2, 0.0],
                            threshold=0.1, threshold_mode="abs")
    lrs = []
    for metric in [1.0, 1.05, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
        s.step(metric)
        lrs.append(s.get_last_lr())
    # 1.05 is not better by 0.1: two bad epochs -> halve; 2.0 is better (and ends the cooldown); then two bad
    # epochs -> halve; one ignored in cooldown, two bad -> halve, the first group stopping at min_lr
    assert lrs == [[1.0, 0.1]] * 2 + [[0.5, 0.05]] * 3 + [[0.25, 0.025]] * 3 + [[0.2, 0.0125]]
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode median is unknown!"):
        S.ReduceLROnPlateau(opt, mode="median")


def test_scheduler_api_and_warnings():
    opt = make_opt()
    with pytest.warns(UserWarning, match=r"`lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        s = S.StepLR(make_opt(), 2)
        s.step()
    s = S.ExponentialLR(opt, gamma=0.5)
    assert opt.param_groups[0]["initial_lr"] == 0.1 and s.base_lrs == [0.1] and s.last_epoch == 0
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        s.get_lr()
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        S.StepLR(make_opt(), 2, last_epoch=3)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        S.StepLR([], 2)
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        S.ChainedScheduler([s, S.StepLR(make_opt(), 2)])
    with pytest.raises(ValueError, match="number of milestones to be equal to 0"):
        S.SequentialLR(opt, [s, S.StepLR(opt, 2)], milestones=[])
    sd = s.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 0 and sd["_last_lr"] == [0.1]


# ---------------------------------------------------------------------------------------------------
# against torch
# ---------------------------------------------------------------------------------------------------
def _lambda(e):
    return 0.95 ** e


def _mult(e):
    return 0.9 if e % 2 else 1.0


# name -> builder(lr_scheduler module, optimizer) -> scheduler
CASES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.5),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2,
                                                                              eta_min=1e-3),
    "CosineAnnealingWarmRestarts-Tmult1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=[_lambda, lambda e: 1 / (e + 1)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lr_lambda=_mult),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=10, power=2.0),
    "OneCycleLR-cos": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=31),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(o, max_lr=1.0, epochs=3, steps_per_epoch=11,
                                                          anneal_strategy="linear", three_phase=True),
    "OneCycleLR-nomomentum": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=40, pct_start=0.25,
                                                       cycle_momentum=False, div_factor=10.0),
    "CyclicLR-triangular": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3,
                                                    step_size_down=5, mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                                  mode="exp_range", gamma=0.9),
    "SequentialLR": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
                                                    m.ExponentialLR(o, gamma=0.9)], milestones=[5]),
    "SequentialLR-3": lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.5, total_iters=10),
                                                      m.CosineAnnealingLR(o, T_max=8),
                                                      m.StepLR(o, step_size=2)], milestones=[4, 12]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=6),
                                                         m.ExponentialLR(o, gamma=0.9)]),
    "Chained-cosine-multistep": lambda m, o: m.ChainedScheduler([m.CosineAnnealingLR(o, T_max=12),
                                                                 m.MultiStepLR(o, [5, 9], 0.5)]),
}


def _pair(torch, name, opt_cls="SGD", **opt_kw):
    opt_kw = dict(momentum=0.9) if opt_cls == "SGD" else opt_kw
    out = []
    tp = [torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)]
    dp = [dynagrad.zeros(2, requires_grad=True), dynagrad.zeros(2, requires_grad=True)]
    for mod, params, sched_mod in ((torch.optim, tp, torch.optim.lr_scheduler), (optim, dp, S)):
        o = getattr(mod, opt_cls)([{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.05}],
                                  **opt_kw)
        out.append((o, CASES[name](sched_mod, o)))
    return out


def _groups(opt):
    keep = ("lr", "momentum", "betas", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")
    return [{k: g[k] for k in keep if k in g} for g in opt.param_groups]


def _same(a, b):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("opt_cls", ["SGD", "Adam"])
def test_matches_torch(name, opt_cls):
    torch = pytest.importorskip("torch")
    (to, ts), (do, ds) = _pair(torch, name, opt_cls)
    for _ in range(30):
        for o in (to, do):
            o.step()
        ts.step()
        ds.step()
        _same(ds.get_last_lr(), ts.get_last_lr())
        tg, dg = _groups(to), _groups(do)
        assert [sorted(g) for g in dg] == [sorted(g) for g in tg]
        for a, b in zip(dg, tg):
            for k in a:
                _same(a[k], b[k])


def _plain(sd):
    """A scheduler state dict without callables (which are not compared)."""
    return {k: v for k, v in sd.items() if k not in ("lr_lambdas", "_schedulers", "_scale_fn_ref",
                                                        "_scale_fn_custom")}


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
                                  "LambdaLR", "LinearLR", "OneCycleLR-cos", "CyclicLR-triangular2",
                                  "SequentialLR-3", "ChainedScheduler", "PolynomialLR"])
def test_state_dict_resume_matches_torch(name):
    """Save at step 12 (ours, and torch's converted), load into fresh optimizers and schedulers, continue."""
    torch = pytest.importorskip("torch")
    (to, ts), (do, ds) = _pair(torch, name)
    for _ in range(12):
        to.step()
        do.step()
        ts.step()
        ds.step()
    tsd, dsd = ts.state_dict(), ds.state_dict()
    assert sorted(dsd) == sorted(tsd)
    for k, v in _plain(dsd).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            _same(v, _plain(tsd)[k])
        elif k != "milestones":
            assert v == _plain(tsd)[k], k
    for source in (dsd, tsd):
        (to2, ts2), (do2, ds2) = _pair(torch, name)
        ds2.load_state_dict(copy.deepcopy(source))
        do2.load_state_dict(do.state_dict())
        ts2.load_state_dict(copy.deepcopy(tsd))
        to2.load_state_dict(to.state_dict())
        for _ in range(18):
            for o, sched in ((to2, ts2), (do2, ds2)):
                o.step()
                sched.step()
            _same(ds2.get_last_lr(), ts2.get_last_lr())
            _same([g["lr"] for g in do2.param_groups], [g["lr"] for g in to2.param_groups])
    # the resumed run equals an uninterrupted one
    (to3, ts3), _ = _pair(torch, name)
    for _ in range(30):
        to3.step()
        ts3.step()
    _same(ds2.get_last_lr(), ts3.get_last_lr())


def test_closed_form_step_with_epoch_matches_torch():
    """The deprecated ``step(epoch)`` (closed form where there is one), also with fractional epochs for
    CosineAnnealingWarmRestarts."""
    torch = pytest.importorskip("torch")
    epochs = [0, 1, 2, 5, 3, 3, 8, 13, 7, 20]
    for name in ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ConstantLR",
                 "PolynomialLR", "LambdaLR", "CosineAnnealingWarmRestarts-Tmult1"]:
        (to, ts), (do, ds) = _pair(torch, name)
        _same(run(do, ds, len(epochs), epochs=epochs), run(to, ts, len(epochs), epochs=epochs))
    frac = [i / 5 for i in range(60)]
    (to, ts), (do, ds) = _pair(torch, "CosineAnnealingWarmRestarts")
    _same(run(do, ds, len(frac), epochs=frac), run(to, ts, len(frac), epochs=frac))
    assert ds.T_i == ts.T_i and ds.T_cur == pytest.approx(ts.T_cur) and ds.last_epoch == ts.last_epoch


@pytest.mark.parametrize("kw", [dict(), dict(mode="max", factor=0.5, patience=2),
                                dict(threshold=0.05, threshold_mode="abs", cooldown=2, patience=1),
                                dict(mode="max", threshold_mode="rel", threshold=0.1, min_lr=[0.02, 0.001]),
                                dict(factor=0.3, patience=0, min_lr=0.004, eps=1e-3)])
def test_reduce_lr_on_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    metrics = list(np.round(1.0 + np.cumsum(rng.normal(0.0, 0.05, 40)), 3))
    res, sds = [], []
    for mod, sched_mod, p in ((torch.optim, torch.optim.lr_scheduler, torch.zeros(1, requires_grad=True)),
                              (optim, S, dynagrad.zeros(1, requires_grad=True))):
        o = mod.SGD([{"params": [p], "lr": 0.1}, {"params": [], "lr": 0.05}])
        s = sched_mod.ReduceLROnPlateau(o, **kw)
        res.append(run(o, s, 25, metrics=metrics))
        sds.append(s.state_dict())
        # resume from the state dict for the rest of the sequence
        o2 = mod.SGD([{"params": [p], "lr": 0.1}, {"params": [], "lr": 0.05}])
        s2 = sched_mod.ReduceLROnPlateau(o2, **kw)
        s2.load_state_dict(s.state_dict())
        o2.load_state_dict(o.state_dict())
        res.append(run(o2, s2, 15, metrics=metrics[25:]))
    assert res[0] == res[2] and res[1] == res[3]
    assert sds[0] == sds[1]
