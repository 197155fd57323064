"""Recurrent layers, cells and packed sequences against PyTorch: forward values, gradients of the inputs,
initial states and every parameter, state_dicts in both directions, and long sequences without recursion."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dynagrad  # noqa: E402
from dynagrad.nn.utils import rnn as U  # noqa: E402

TU = torch.nn.utils.rnn
TOL = dict(rtol=1e-9, atol=1e-10)


# -- helpers -------------------------------------------------------------------------------------------------

def _to_dg(sd):
    return {k: dynagrad.tensor(v.detach().numpy()) for k, v in sd.items()}


def _to_torch(sd):
    return {k: torch.tensor(v.detach().numpy()) for k, v in sd.items()}


def _pair(name, *args, **kw):
    """The same layer in both frameworks (float64), dynagrad's loaded from PyTorch's state_dict."""
    tm = getattr(torch.nn, name)(*args, **kw).double()
    dm = getattr(dynagrad.nn, name)(*args, **kw).double()
    assert list(dm.state_dict()) == list(tm.state_dict())
    dm.load_state_dict(_to_dg(tm.state_dict()))
    return tm, dm


def _leaf(rng, shape):
    a = rng.standard_normal(shape)
    return torch.tensor(a, requires_grad=True), dynagrad.tensor(a, requires_grad=True)


def _flat(x):
    if x is None:
        return []
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _flat(v)]
    return [x]


def _close(a, b, what=""):
    np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), err_msg=what, **TOL)


def _backward_both(rng, outs_t, outs_d):
    """sum(out * random cotangent) over all outputs, backward in both frameworks."""
    lt = ld = 0
    for a, b in zip(outs_t, outs_d):
        _close(a, b, "forward")
        c = rng.standard_normal(tuple(a.shape))
        lt = lt + (a * torch.tensor(c)).sum()
        ld = ld + (b * dynagrad.tensor(c)).sum()
    lt.backward()
    ld.backward()


def _check_grads(tm, dm, leaves_t, leaves_d):
    for a, b in zip(leaves_t, leaves_d):
        _close(a.grad, b.grad, "input gradient")
    params = dict(dm.named_parameters())
    for n, p in tm.named_parameters():
        assert params[n].grad is not None, n
        _close(p.grad, params[n].grad, n)


def _states(rng, name, shape_h, shape_c):
    if name == "LSTM":
        (ht, hd), (ct, cd) = _leaf(rng, shape_h), _leaf(rng, shape_c)
        return (ht, ct), (hd, cd), [ht, ct], [hd, cd]
    ht, hd = _leaf(rng, shape_h)
    return ht, hd, [ht], [hd]


LAYERS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
CONFIGS = [
    dict(),
    dict(batch_first=True),
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=3, bias=False),
    dict(bidirectional=True, batch_first=True),
]


# -- layers --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("with_hx", [False, True], ids=["zeros", "hx"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(c) for c in CONFIGS])
@pytest.mark.parametrize("layer", LAYERS, ids=[f"{n}{k.get('nonlinearity', '')}" for n, k in LAYERS])
def test_layer_matches_torch(layer, cfg, with_hx):
    name, extra = layer
    rng = np.random.default_rng(0)
    kw = {**extra, **cfg}
    tm, dm = _pair(name, 4, 5, **kw)
    t_len, batch = 6, 3
    xt, xd = _leaf(rng, (batch, t_len, 4) if kw.get("batch_first") else (t_len, batch, 4))
    leaves_t, leaves_d, args_t, args_d = [xt], [xd], (), ()
    if with_hx:
        nd = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        ht, hd, lt, ld = _states(rng, name, (nd, batch, 5), (nd, batch, 5))
        args_t, args_d = (ht,), (hd,)
        leaves_t, leaves_d = leaves_t + lt, leaves_d + ld
    out_t, out_d = tm(xt, *args_t), dm(xd, *args_d)
    _backward_both(rng, _flat(out_t), _flat(out_d))
    _check_grads(tm, dm, leaves_t, leaves_d)


@pytest.mark.parametrize("cfg", [dict(), dict(num_layers=2, bidirectional=True, batch_first=True)])
def test_lstm_proj_size(cfg):
    rng = np.random.default_rng(1)
    tm, dm = _pair("LSTM", 4, 6, proj_size=3, **cfg)
    assert dm.weight_hr_l0.shape == (3, 6) and dm.weight_hh_l0.shape == (24, 3)
    nd = cfg.get("num_layers", 1) * (2 if cfg.get("bidirectional") else 1)
    xt, xd = _leaf(rng, (2, 5, 4) if cfg.get("batch_first") else (5, 2, 4))
    ht, hd, lt, ld = _states(rng, "LSTM", (nd, 2, 3), (nd, 2, 6))
    out_t, out_d = tm(xt, ht), dm(xd, hd)
    assert out_d[0].shape == out_t[0].shape
    assert out_d[1][0].shape == (nd, 2, 3) and out_d[1][1].shape == (nd, 2, 6)
    _backward_both(rng, _flat(out_t), _flat(out_d))
    _check_grads(tm, dm, [xt] + lt, [xd] + ld)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(name, batch_first):
    rng = np.random.default_rng(2)
    tm, dm = _pair(name, 3, 4, num_layers=2, batch_first=batch_first)
    xt, xd = _leaf(rng, (5, 3))
    ht, hd, lt, ld = _states(rng, name, (2, 4), (2, 4))
    out_t, out_d = tm(xt, ht), dm(xd, hd)
    assert out_d[0].shape == (5, 4)
    _backward_both(rng, _flat(out_t), _flat(out_d))
    _check_grads(tm, dm, [xt] + lt, [xd] + ld)
    out_t, out_d = tm(xt), dm(xd)  # no initial state
    _close(out_t[0], out_d[0])


def test_dropout_between_layers():
    x = dynagrad.randn(7, 3, 4)
    m = dynagrad.nn.LSTM(4, 8, num_layers=3, dropout=0.5)
    out1, _ = m(x)
    out2, _ = m(x)
    assert not np.allclose(out1.detach().numpy(), out2.detach().numpy())  # fresh masks each call
    m.eval()
    e1, e2 = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(e1.detach().numpy(), e2.detach().numpy())
    ref = dynagrad.nn.LSTM(4, 8, num_layers=3)
    ref.load_state_dict(m.state_dict())
    np.testing.assert_allclose(ref(x)[0].detach().numpy(), e1.detach().numpy(), rtol=1e-6)
    m.train()
    out, (h, c) = m(x)
    (out.sum() + h.sum()).backward()
    assert all(p.grad is not None for p in m.parameters())
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        dynagrad.nn.GRU(4, 8, dropout=0.2)


def test_dropout_zero_in_train_mode_matches_torch():
    rng = np.random.default_rng(3)
    tm, dm = _pair("GRU", 3, 4, num_layers=2, dropout=0.0)
    xt, xd = _leaf(rng, (4, 2, 3))
    _backward_both(rng, _flat(tm(xt)), _flat(dm(xd)))
    _check_grads(tm, dm, [xt], [xd])


# -- packed sequences through the layers ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("cfg", [dict(), dict(num_layers=2, bidirectional=True, batch_first=True)])
@pytest.mark.parametrize("sorted_", [True, False], ids=["sorted", "unsorted"])
def test_packed_input(name, cfg, sorted_):
    rng = np.random.default_rng(4)
    tm, dm = _pair(name, 3, 5, **cfg)
    lengths = [6, 4, 4, 1] if sorted_ else [4, 6, 1, 3]
    bf = cfg.get("batch_first", False)
    xt, xd = _leaf(rng, (4, 6, 3) if bf else (6, 4, 3))
    nd = cfg.get("num_layers", 1) * (2 if cfg.get("bidirectional") else 1)
    ht, hd, lt, ld = _states(rng, name, (nd, 4, 5), (nd, 4, 5))
    lens_d = lengths if sorted_ else dynagrad.tensor(lengths)
    pt = TU.pack_padded_sequence(xt, lengths, batch_first=bf, enforce_sorted=sorted_)
    pd = U.pack_padded_sequence(xd, lens_d, batch_first=bf, enforce_sorted=sorted_)
    out_t, hid_t = tm(pt, ht)
    out_d, hid_d = dm(pd, hd)
    assert isinstance(out_d, U.PackedSequence)
    np.testing.assert_array_equal(out_d.batch_sizes.numpy(), out_t.batch_sizes.numpy())
    _close(out_t.data, out_d.data)
    pad_t, len_t = TU.pad_packed_sequence(out_t, batch_first=bf)
    pad_d, len_d = U.pad_packed_sequence(out_d, batch_first=bf)
    np.testing.assert_array_equal(len_d.numpy(), len_t.numpy())
    _backward_both(rng, [pad_t] + _flat(hid_t), [pad_d] + _flat(hid_d))
    _check_grads(tm, dm, [xt] + lt, [xd] + ld)


# -- cells ---------------------------------------------------------------------------------------------------

CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {}),
         ("GRUCell", {"bias": False})]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("cell", CELLS, ids=[f"{n}{k}" for n, k in CELLS])
def test_cell_matches_torch(cell, batched):
    name, kw = cell
    rng = np.random.default_rng(5)
    tm, dm = _pair(name, 4, 5, **kw)
    lead = (3,) if batched else ()
    xt, xd = _leaf(rng, lead + (4,))
    if name == "LSTMCell":
        (ht, hd), (ct, cd) = _leaf(rng, lead + (5,)), _leaf(rng, lead + (5,))
        st, sd, lt, ld = (ht, ct), (hd, cd), [ht, ct], [hd, cd]
    else:
        st, sd = _leaf(rng, lead + (5,))
        lt, ld = [st], [sd]
    # two steps, so the state feeds back
    out_t = tm(xt, st)
    out_d = dm(xd, sd)
    out_t = tm(xt * 2, out_t)
    out_d = dm(xd * 2, out_d)
    _backward_both(rng, _flat(out_t), _flat(out_d))
    _check_grads(tm, dm, [xt] + lt, [xd] + ld)
    _close(_flat(tm(xt))[0], _flat(dm(xd))[0])  # default zero state


def test_cell_errors_match_torch():
    for name in ("RNNCell", "GRUCell"):
        tm, dm = _pair(name, 4, 5)
        for x in (np.zeros((2, 3, 4)),):
            with pytest.raises(ValueError) as et:
                tm(torch.tensor(x))
            with pytest.raises(ValueError) as ed:
                dm(dynagrad.tensor(x))
            assert str(ed.value).endswith(str(et.value))  # dynagrad may prefix the module's path


# -- double backward -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_double_backward(name):
    rng = np.random.default_rng(6)
    tm, dm = _pair(name, 3, 4, bidirectional=True)
    xt, xd = _leaf(rng, (4, 2, 3))
    gt = torch.autograd.grad((tm(xt)[0] ** 2).sum(), xt, create_graph=True)[0]
    gd = dynagrad.autograd.grad((dm(xd)[0] ** 2).sum(), xd, create_graph=True)[0]
    _close(gt, gd)
    (gt ** 2).sum().backward()
    (gd ** 2).sum().backward()
    _check_grads(tm, dm, [xt], [xd])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_double_backward_through_the_incoming_gradient(name):
    # the input gradient as a function of the output cotangent v (and of x), differentiated again: the
    # fused layers' backward must be differentiable in v as well as in the saved values
    rng = np.random.default_rng(8)
    tm, dm = _pair(name, 3, 4, num_layers=2, bidirectional=True)
    xt, xd = _leaf(rng, (5, 2, 3))
    vt, vd = _leaf(rng, (5, 2, 8))
    u = rng.standard_normal((5, 2, 3))
    grads = []
    for lib, m, x, v in ((torch, tm, xt, vt), (dynagrad, dm, xd, vd)):
        g = lib.autograd.grad(m(x)[0], x, grad_outputs=v, create_graph=True)[0]
        (g * lib.tensor(u)).sum().backward()
        grads.append((g, v.grad, x.grad))
    for a, b in zip(*grads):
        _close(a, b)
    _check_grads(tm, dm, [], [])


def test_gradcheck_packed_gru_layer():
    from dynagrad.nn import _rnn_ops as R
    rng = np.random.default_rng(7)

    def t(*shape):
        return dynagrad.tensor(rng.standard_normal(shape), requires_grad=True)
    x, h0 = t(7, 2), t(3, 3)
    w_ih, w_hh, b_ih, b_hh = t(9, 2), t(9, 3), t(9), t(9)
    for reverse in (False, True):
        def f(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=reverse):
            return R.GRULayerBackward0.apply(x, h0, None, w_ih, w_hh, b_ih, b_hh, None, batch_sizes=(3, 2, 2),
                                             reverse=reverse)
        assert dynagrad.autograd.gradcheck(f, (x, h0, w_ih, w_hh, b_ih, b_hh))
        ref = R.reference_layer("GRU", x, h0, None, w_ih, w_hh, b_ih, b_hh, None, batch_sizes=(3, 2, 2),
                                reverse=reverse)
        for a, b in zip(f(x, h0, w_ih, w_hh, b_ih, b_hh), ref):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


# -- one node per layer, long sequences ----------------------------------------------------------------------

def test_one_graph_node_per_layer_and_direction():
    m = dynagrad.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    out, _ = m(dynagrad.randn(50, 2, 3))
    seen, stack, names = set(), [out.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or not hasattr(node, "next_functions"):
            continue
        seen.add(id(node))
        names.append(node.name())
        stack.extend(n for n, _ in node.next_functions)
    assert names.count("LSTMLayerBackward0") == 4
    assert len(names) < 20


def test_ten_thousand_steps_backpropagate():
    x = dynagrad.randn(10000, 1, 3, requires_grad=True)
    for name in ("LSTM", "GRU"):
        out, h = getattr(dynagrad.nn, name)(3, 4)(x)
        out.sum().backward()
    assert x.grad.shape == (10000, 1, 3) and np.isfinite(x.grad.numpy()).all()
    for cell in (dynagrad.nn.RNNCell(3, 4), dynagrad.nn.GRUCell(3, 4)):
        h = dynagrad.zeros(1, 4)
        for t in range(10000):
            h = cell(x[t], h)
        h.sum().backward()
        assert cell.weight_hh.grad is not None and np.isfinite(cell.weight_hh.grad.numpy()).all()


# -- parameters, state_dicts, initialisation -----------------------------------------------------------------

@pytest.mark.parametrize("name,kw", [("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2)),
                                     ("GRU", dict(bias=False)), ("RNN", dict(num_layers=2)),
                                     ("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {})])
def test_state_dict_both_ways(name, kw):
    tm = getattr(torch.nn, name)(3, 5, **kw)
    dm = getattr(dynagrad.nn, name)(3, 5, **kw)
    assert [(k, tuple(v.shape)) for k, v in dm.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    tm.load_state_dict(_to_torch(dm.state_dict()))  # dynagrad -> PyTorch
    shape = (4, 2, 3) if "Cell" not in name else (2, 3)
    x = np.random.default_rng(8).standard_normal(shape).astype(np.float32)
    out_t, out_d = _flat(tm(torch.tensor(x)))[0], _flat(dm(dynagrad.tensor(x)))[0]
    np.testing.assert_allclose(out_d.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    dm2 = getattr(dynagrad.nn, name)(3, 5, **kw)
    dm2.load_state_dict(_to_dg(tm.state_dict()))  # and back
    np.testing.assert_array_equal(_flat(dm2(dynagrad.tensor(x)))[0].detach().numpy(), out_d.detach().numpy())


def test_parameter_layout_and_init():
    m = dynagrad.nn.LSTM(3, 16, num_layers=2, bidirectional=True)
    t = torch.nn.LSTM(3, 16, num_layers=2, bidirectional=True)
    assert m._flat_weights_names == t._flat_weights_names
    assert [[tuple(p.shape) for p in ws] for ws in m.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in t.all_weights]
    assert m.all_weights[1][0] is m.weight_ih_l0_reverse
    m.flatten_parameters()
    bound = 1 / np.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(values).max() <= bound and values.std() > bound / 2.5  # U(-b, b) has std b / sqrt(3)
    assert repr(m) == repr(t)
    c = dynagrad.nn.GRUCell(3, 16)
    assert np.abs(c.weight_hh.detach().numpy()).max() <= bound
    relu = {"nonlinearity": "relu"}
    assert repr(dynagrad.nn.RNNCell(3, 4, **relu)) == repr(torch.nn.RNNCell(3, 4, **relu))


def test_errors_match_torch():
    cases = [
        (lambda m: m.LSTM(3, 4)(m.zeros(2, 3, 3, 3)), None),
        (lambda m: m.GRU(3, 4)(m.zeros(2, 3, 3, 3)), None),
        (lambda m: m.GRU(3, 4)(m.zeros(5, 2, 7)), None),
        (lambda m: m.GRU(3, 4)(m.zeros(5, 2, 3), m.zeros(1, 3, 4)), None),
        (lambda m: m.LSTM(3, 4)(m.zeros(5, 2, 3), (m.zeros(1, 2, 4), m.zeros(1, 2, 5))), None),
        (lambda m: m.RNN(3, 4)(m.zeros(5, 2, 3, dtype=m.float64)), None),
        (lambda m: m.RNN(3, 4, nonlinearity="sigmoid"), None),
        (lambda m: m.GRU(3, 4, proj_size=2), None),
        (lambda m: m.LSTM(3, 4, proj_size=4), None),
        (lambda m: m.RNN(3, 4)(m.zeros(5, 3), m.zeros(1, 1, 4)), None),
    ]
    for fn, _ in cases:
        with pytest.raises(Exception) as et:
            fn(_NS(torch))
        with pytest.raises(Exception) as ed:
            fn(_NS(dynagrad))
        assert type(ed.value) is type(et.value)
        assert str(ed.value).endswith(str(et.value))  # dynagrad may prefix the module's path


class _NS:
    """``m.LSTM`` and ``m.zeros`` from one name space, for writing a case once for both frameworks."""

    def __init__(self, lib):
        self.lib = lib

    def __getattr__(self, name):
        return getattr(self.lib.nn, name) if name[0].isupper() else getattr(self.lib, name)


# -- nn.utils.rnn --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_and_pad_roundtrip(batch_first, enforce_sorted):
    rng = np.random.default_rng(9)
    lengths = [5, 3, 3, 2] if enforce_sorted else [3, 5, 2, 4]
    xt, xd = _leaf(rng, (4, 6, 2) if batch_first else (6, 4, 2))
    pt = TU.pack_padded_sequence(xt, torch.tensor(lengths), batch_first, enforce_sorted)
    pd = U.pack_padded_sequence(xd, dynagrad.tensor(lengths), batch_first, enforce_sorted)
    _close(pt.data, pd.data)
    for a, b in zip(pt[1:], pd[1:]):
        if a is None:
            assert b is None
        else:
            np.testing.assert_array_equal(b.numpy(), a.numpy())
    assert pd.batch_sizes.dtype == dynagrad.int64
    for kw in (dict(), dict(padding_value=-1.5), dict(total_length=8)):
        at, lt = TU.pad_packed_sequence(pt, batch_first=batch_first, **kw)
        ad, ld = U.pad_packed_sequence(pd, batch_first=batch_first, **kw)
        _close(at, ad)
        np.testing.assert_array_equal(ld.numpy(), lt.numpy())
        assert ld.dtype == dynagrad.int64
    c = rng.standard_normal(tuple(at.shape))
    (at * torch.tensor(c)).sum().backward()
    (ad * dynagrad.tensor(c)).sum().backward()
    _close(xt.grad, xd.grad)
    seqs = U.unpack_sequence(pd)
    for s, n, i in zip(seqs, lengths, range(4)):
        assert s.shape == (n, 2)
        expect = xd[i, :n] if batch_first else xd[:n, i]
        np.testing.assert_array_equal(s.detach().numpy(), expect.detach().numpy())


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence(batch_first, padding_side):
    rng = np.random.default_rng(10)
    pairs = [_leaf(rng, (n, 3)) for n in (2, 5, 1)]
    at = TU.pad_sequence([p[0] for p in pairs], batch_first=batch_first, padding_value=7.0,
                         padding_side=padding_side)
    ad = U.pad_sequence([p[1] for p in pairs], batch_first=batch_first, padding_value=7.0,
                        padding_side=padding_side)
    _close(at, ad)
    c = rng.standard_normal(tuple(at.shape))
    (at * torch.tensor(c)).sum().backward()
    (ad * dynagrad.tensor(c)).sum().backward()
    for a, b in pairs:
        _close(a.grad, b.grad)
    one = U.pad_sequence([dynagrad.ones(3)])
    assert one.shape == (3, 1)


def test_pack_sequence_and_unpad():
    rng = np.random.default_rng(11)
    seqs = [rng.standard_normal((n, 2)) for n in (2, 4, 3)]
    pt = TU.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    pd = U.pack_sequence([dynagrad.tensor(s) for s in seqs], enforce_sorted=False)
    _close(pt.data, pd.data)
    np.testing.assert_array_equal(pd.sorted_indices.numpy(), pt.sorted_indices.numpy())
    np.testing.assert_array_equal(pd.unsorted_indices.numpy(), pt.unsorted_indices.numpy())
    padded = U.pad_sequence([dynagrad.tensor(s) for s in seqs])
    for a, b in zip(U.unpad_sequence(padded, dynagrad.tensor([2, 4, 3])), seqs):
        np.testing.assert_array_equal(a.numpy(), b)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        U.pack_sequence([dynagrad.tensor(s) for s in seqs])
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        U.pad_packed_sequence(pd, total_length=2)


def test_packed_sequence_object():
    p = U.pack_sequence([dynagrad.ones(3, 2), dynagrad.ones(1, 2)])
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert sorted_indices is None and unsorted_indices is None
    assert p.to("cpu") is p and p.to(dynagrad.float32) is p
    q = p.to(dynagrad.float64)
    assert isinstance(q, U.PackedSequence) and q.data.dtype == dynagrad.float64
    assert q.batch_sizes is p.batch_sizes
    assert p.double().data.dtype == dynagrad.float64 and not p.is_cuda
    r = U.PackedSequence(data, batch_sizes, dynagrad.tensor([1, 0]))
    np.testing.assert_array_equal(r.unsorted_indices.numpy(), [1, 0])
    np.testing.assert_array_equal(U.invert_permutation(dynagrad.tensor([2, 0, 1])).numpy(), [1, 2, 0])
