"""Mixed precision: autocast's per-op policy and GradScaler's loss scaling, against plain float32 and
against PyTorch."""
import numpy as np
import pytest

import dynagrad

bf16 = dynagrad.bfloat16
pytestmark = pytest.mark.skipif(bf16 is None, reason="bfloat16 needs ml_dtypes")


def test_autocast_policy():
    a = dynagrad.randn(8, 8, requires_grad=True)
    with dynagrad.autocast(device_type="cpu", dtype=bf16):
        y = a @ a
        assert y.dtype == bf16
        s = y.sum()
        assert s.dtype == dynagrad.float32  # reductions in float32
        sm = y.softmax(-1)
        assert sm.dtype == dynagrad.float32
        e = y + 1  # elementwise: the input's type
        assert e.dtype == bf16
        d = a.double() @ a.double()  # float64 is not eligible, as in PyTorch
        assert d.dtype == dynagrad.float64
    assert (a @ a).dtype == dynagrad.float32  # off again outside
    s.backward()
    assert a.grad.dtype == dynagrad.float32


@pytest.mark.parametrize("dt", ["bfloat16", "float16"])
def test_autocast_matches_float32_to_dtype_tolerance(dt):
    rng = np.random.default_rng(0)
    x = dynagrad.tensor(rng.standard_normal((16, 32)).astype(np.float32))
    w = dynagrad.tensor(rng.standard_normal((32, 8)).astype(np.float32) * 0.2, requires_grad=True)
    ref = (x @ w).tanh().sum()
    ref.backward()
    g_ref = w.grad.clone()
    w.grad = None
    with dynagrad.autocast(device_type="cpu", dtype=getattr(dynagrad, dt)):
        out = (x @ w).tanh().sum()
    out.backward()
    tol = 2e-2 if dt == "bfloat16" else 3e-3
    assert out.item() == pytest.approx(ref.item(), rel=tol, abs=tol * 16)
    np.testing.assert_allclose(w.grad.numpy(), g_ref.numpy(), rtol=tol * 4, atol=tol * 4)


def test_autocast_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 5)).astype(np.float32)
    b = rng.standard_normal((5, 4)).astype(np.float32)
    with dynagrad.autocast(device_type="cpu", dtype=bf16):
        mine = (dynagrad.tensor(a) @ dynagrad.tensor(b)).float().numpy()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        ref = (torch.tensor(a) @ torch.tensor(b)).float().numpy()
    np.testing.assert_allclose(mine, ref, rtol=1e-2, atol=1e-2)


def test_autocast_decorator_and_disabled():
    @dynagrad.autocast(device_type="cpu", dtype=bf16)
    def f(t):
        return t @ t
    x = dynagrad.randn(3, 3)
    assert f(x).dtype == bf16
    with dynagrad.autocast(device_type="cpu", enabled=False):
        assert (x @ x).dtype == dynagrad.float32
    with pytest.warns(UserWarning, match="CPU Autocast only supports"):  # PyTorch warns and disables
        ac = dynagrad.autocast(device_type="cpu", dtype=dynagrad.float64)
    with ac:
        assert (x @ x).dtype == dynagrad.float32


def _scaler_run(lib, grads_seq, **kw):
    w = lib.zeros(3, requires_grad=True)
    opt = lib.optim.SGD([w], lr=0.5)
    scaler = lib.amp.GradScaler("cpu", **kw)
    scales, ws = [], []
    for g in grads_seq:
        opt.zero_grad()
        loss = (w * lib.tensor(g, dtype=lib.float32)).sum()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(float(scaler.get_scale()))
        ws.append(w.detach().numpy().copy())
    return scales, ws


GRADS = [[1.0, 2.0, 3.0], [float("inf"), 1.0, 1.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [float("nan"), 0, 0],
         [1.0, -1.0, 2.0]]


def test_grad_scaler_skips_inf_and_matches_torch():
    scales, ws = _scaler_run(dynagrad, GRADS, init_scale=1024.0, growth_interval=2)
    # the inf and nan steps are skipped: the weights do not move there
    np.testing.assert_array_equal(ws[1], ws[0])
    np.testing.assert_array_equal(ws[4], ws[3])
    assert scales[:3] == [1024.0, 512.0, 512.0]
    torch = pytest.importorskip("torch")
    ref_scales, ref_ws = _scaler_run(torch, GRADS, init_scale=1024.0, growth_interval=2)
    assert scales == ref_scales
    for a, b in zip(ws, ref_ws):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_grad_scaler_unscale_for_clipping_and_state_dict():
    w = dynagrad.ones(2, requires_grad=True)
    opt = dynagrad.optim.SGD([w], lr=1.0)
    scaler = dynagrad.amp.GradScaler("cpu", init_scale=8.0)
    scaler.scale((w * 4).sum()).backward()
    assert w.grad.tolist() == [32.0, 32.0]
    scaler.unscale_(opt)
    assert w.grad.tolist() == [4.0, 4.0]
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    sd = scaler.state_dict()
    other = dynagrad.amp.GradScaler("cpu")
    other.load_state_dict(sd)
    assert other.get_scale() == scaler.get_scale() == 8.0


def test_gradient_accumulation_example_matches_big_batch():
    """Accumulating 4 micro-batches of 8 gives the gradient of one batch of 32."""
    rng = np.random.default_rng(3)
    x = dynagrad.tensor(rng.standard_normal((32, 5)).astype(np.float32))
    y = dynagrad.tensor(rng.standard_normal((32, 1)).astype(np.float32))
    w = dynagrad.zeros(5, 1, requires_grad=True)
    ((x @ w - y) ** 2).mean().backward()
    full = w.grad.clone()
    w.grad = None
    for i in range(4):
        xb, yb = x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]
        (((xb @ w - yb) ** 2).mean() / 4).backward()
    np.testing.assert_allclose(w.grad.numpy(), full.numpy(), rtol=1e-5, atol=1e-7)
