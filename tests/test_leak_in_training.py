"""The graph-growth warning in real training loops: ``Optimizer.step`` runs the check itself, so
``total_loss += loss`` in an ordinary nn + optimizer loop warns (pointing at the ``opt.step()`` line) and
``total_loss += loss.item()`` does not."""
import warnings

import pytest

import dynagrad
import dynagrad.nn as nn
import dynagrad.nn.functional as F
from dynagrad import memory

OPTIMIZERS = {
    "sgd": lambda params: dynagrad.optim.SGD(params, lr=0.01, momentum=0.9),
    "adam": lambda params: dynagrad.optim.Adam(params, lr=1e-3),
    "rmsprop": lambda params: dynagrad.optim.RMSprop(params, lr=1e-3),
}


def _loop(make_opt, leak: bool, steps: int = 40, hook: bool = False):
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = make_opt(model.parameters())
    if hook:
        opt.register_step_post_hook(lambda *a: None)  # the step path with hooks checks too
    x, y = dynagrad.randn(64, 8), dynagrad.randn(64, 1)
    memory._reset_leak_check()
    total_loss = 0.0
    for step in range(steps):
        xb, yb = x[step % 8 * 8:][:8], y[step % 8 * 8:][:8]
        loss = F.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()  # MARK-step
        if leak:
            total_loss += loss
        else:
            total_loss += loss.item()
    return total_loss


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_total_loss_plus_loss_warns(name):
    with pytest.warns(memory.GraphGrowthWarning, match=r"total_loss \+= loss") as rec:
        _loop(OPTIMIZERS[name], leak=True)
    w = [r for r in rec if r.category is memory.GraphGrowthWarning]
    assert len(w) == 1  # once
    with open(__file__) as f:
        line = next(i for i, s in enumerate(f, 1) if "MARK-step" in s and "next(" not in s)
    assert w[0].filename == __file__ and w[0].lineno == line  # names the user's opt.step() line


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_item_does_not_warn(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", memory.GraphGrowthWarning)
        total = _loop(OPTIMIZERS[name], leak=False, steps=70)
    assert isinstance(total, float)


def test_step_with_hooks_checks_too():
    with pytest.warns(memory.GraphGrowthWarning):
        _loop(OPTIMIZERS["sgd"], leak=True, hook=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", memory.GraphGrowthWarning)
        _loop(OPTIMIZERS["sgd"], leak=False, hook=True)


def test_lbfgs_step_is_counted():
    w = dynagrad.randn(4, requires_grad=True)
    opt = dynagrad.optim.LBFGS([w], max_iter=2)
    memory._reset_leak_check()

    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert memory._steps == 3


def test_silenced_by_the_switch(monkeypatch):
    monkeypatch.setattr(memory, "enabled_leak_check", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", memory.GraphGrowthWarning)
        _loop(OPTIMIZERS["sgd"], leak=True)


def _steps_with(keep, steps=64):
    """A loop where ``keep(loss, state)`` decides what outlives each step."""
    w = dynagrad.randn(4, requires_grad=True)
    opt = dynagrad.optim.SGD([w], lr=0.01)
    memory._reset_leak_check()
    state = {}
    for _ in range(steps):
        loss = (w * dynagrad.randn(4)).sum() ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        keep(loss, state)
    return state


def test_appending_losses_warns():
    with pytest.warns(memory.GraphGrowthWarning, match=r"graph of optimizer step \d+ is still alive at step"):
        _steps_with(lambda loss, st: st.setdefault("losses", []).append(loss))


@pytest.mark.parametrize("keep", [
    lambda loss, st: st.update(prev=loss),                                 # last step's loss, for comparison
    lambda loss, st: st.update(best=loss) if len(st) == 0 else None,     # one early loss kept for good
], ids=["previous-loss", "one-loss-kept"])
def test_keeping_a_graph_or_two_does_not_warn(keep):
    with warnings.catch_warnings():
        warnings.simplefilter("error", memory.GraphGrowthWarning)
        _steps_with(keep)


def test_one_graph_reused_with_retain_graph_does_not_warn():
    w = dynagrad.randn(4, requires_grad=True)
    opt = dynagrad.optim.SGD([w], lr=0.01)
    loss = (w * 2.0).sum()  # one graph, backpropagated every step
    memory._reset_leak_check()
    with warnings.catch_warnings():
        warnings.simplefilter("error", memory.GraphGrowthWarning)
        for _ in range(64):
            opt.zero_grad()
            loss.backward(retain_graph=True)
            opt.step()


def test_the_check_never_walks_all_objects(monkeypatch):
    # walking gc.get_objects() cost 5-40 ms per check; only the warning itself may count nodes
    def forbidden(*a, **k):
        raise AssertionError("the graph-growth check walked every object")
    monkeypatch.setattr(memory.gc, "get_objects", forbidden)
    _steps_with(lambda loss, st: None, steps=200)


@pytest.mark.parametrize("kind", ["outputs-kept", "scaled-backward"])
def test_leaks_not_held_by_the_root_warn(kind):
    # the graph outlives the step through a tensor other than the backward's root
    lin = nn.Linear(4, 1)
    opt = dynagrad.optim.SGD(lin.parameters(), lr=0.01)
    memory._reset_leak_check()
    keep, total = [], 0
    with pytest.warns(memory.GraphGrowthWarning):
        for _ in range(64):
            out = lin(dynagrad.ones(2, 4))
            loss = (out ** 2).mean()
            if kind == "outputs-kept":
                keep.append(out)
                loss.backward()
            else:
                total = total + loss
                (loss / 2).backward()
            opt.step()
            opt.zero_grad()


def test_a_root_held_only_by_a_reference_cycle_does_not_warn():
    class Square(dynagrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = (x * x).sum()
            ctx.save_for_backward(x)
            ctx.y = y  # output -> its node -> output: a cycle the garbage collector frees
            return y

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    lin = nn.Linear(16, 16)
    opt = dynagrad.optim.SGD(lin.parameters(), lr=1e-4)
    memory._reset_leak_check()
    with warnings.catch_warnings():
        warnings.simplefilter("error", memory.GraphGrowthWarning)
        for _ in range(80):
            opt.zero_grad()
            Square.apply(lin(dynagrad.ones(8, 16))).backward()
            opt.step()
