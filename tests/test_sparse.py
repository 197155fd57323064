"""Sparse COO tensors against PyTorch: construction, coalescing, conversion, printing, the products
(``torch.sparse.mm``, ``torch.mm``/``spmm``/``@`` both ways) with gradients to the dense operand and to the
values, ``torch.sparse.sum``/``softmax``/``log_softmax``, clear errors for what is not supported, and a GCN
training loop (the official example's layer: ``torch.spmm(adj, x @ W)``)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import dynagrad
from tests.helpers import reference

IDX = [[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]]
VAL = [3.0, 4.0, 5.0, 1.0, -2.0]


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _sparse(lib, requires_grad=False, dtype=None):
    v = lib.tensor(VAL, dtype=dtype or lib.float32, requires_grad=requires_grad)
    return lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)), v


def test_construction_coalesce_and_conversion_match_torch():
    def run(lib):
        s, _ = _sparse(lib)
        c = s.coalesce()
        d = lib.tensor([[0.0, 1.5, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, -1.0]])
        h = lib.sparse_coo_tensor(lib.tensor([[0, 2]]), lib.ones(2, 3), (4, 3))
        return [s.is_coalesced(), s._nnz(), s.sparse_dim(), s.dense_dim(), list(s.shape), str(s.dtype),
                _np(s._indices()), _np(s._values()), c.is_coalesced(), _np(c.indices()), _np(c.values()),
                _np(s.to_dense()), _np(d.to_sparse().indices()), _np(d.to_sparse().values()),
                d.to_sparse().is_coalesced(), _np(d.to_sparse(1).indices()), _np(d.to_sparse(1).values()),
                _np(h.to_dense()), h.dense_dim(), _np(s.t().to_dense()), _np(s.transpose(0, 1).to_dense()),
                _np((s * 2).to_dense()), _np((-s).to_dense()), _np((s + s).to_dense()), (s + s)._nnz(),
                _np(d + s), _np(d - s), _np((s / 2).to_dense()), _np(s.double().to_dense()),
                str(s.double().dtype), s.type(), s.long().type(), s.is_sparse, d.is_sparse, str(s.layout),
                str(d.layout), s.numel(), s.dim(), len(s), s.size(1),
                _np(lib.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2]).to_dense()),
                list(lib.sparse_coo_tensor([[0, 3], [1, 0]], [1.0, 2.0]).shape),
                _np(lib.sparse_coo_tensor(np.array(IDX, dtype=np.int32), lib.ones(5), (3, 3),
                                          dtype=lib.int64).to_dense()),
                _np(lib.zeros(2, 3).to_sparse().indices()), lib.zeros(2, 3).to_sparse()._nnz(),
                _np(s.mul(d).to_dense()), _np(s.coalesce().abs().to_dense()), _np((s.coalesce() ** 2).to_dense())]

    want = reference(run)
    got = run(dynagrad)
    for i, (w, g) in enumerate(zip(want, got)):
        if isinstance(w, (list, bool, int, str)) and not isinstance(w, np.ndarray):
            assert w == g, (i, w, g)
        else:
            np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(w, dtype=float), rtol=1e-6,
                                       err_msg=str(i))


def test_repr_matches_torch():
    def run(lib):
        s, _ = _sparse(lib)
        sg, _ = _sparse(lib, requires_grad=True)
        return [repr(s), repr(s.double()), repr(lib.zeros(2, 3).to_sparse()), repr(lib.eye(2).to_sparse(1)),
                repr(lib.sparse_coo_tensor([[0, 1]], [1, 2], (3,))), repr(sg).split("layout=torch.sparse_coo")[0]]
    want = reference(run)
    got = run(dynagrad)
    for w, g in zip(want, got):
        assert g == w, f"\n{g}\n!=\n{w}"


@pytest.mark.parametrize("form", ["sparse.mm", "mm", "spmm", "matmul_op", "dense_matmul", "dense_mm",
                                  "sparse.addmm"])
def test_products_and_gradients_to_dense_and_values_match_torch(form):
    rng = np.random.default_rng(0)
    dense = rng.standard_normal((3, 4)).astype(np.float32)
    left = rng.standard_normal((2, 3)).astype(np.float32)
    bias = rng.standard_normal((3, 4)).astype(np.float32)

    def run(lib):
        s, v = _sparse(lib, requires_grad=True)
        m = lib.tensor(dense, requires_grad=True)
        if form == "sparse.mm":
            out = lib.sparse.mm(s, m)
        elif form == "mm":
            out = lib.mm(s, m)
        elif form == "spmm":
            out = lib.spmm(s, m)
        elif form == "matmul_op":
            out = s @ m
        elif form == "sparse.addmm":
            out = lib.sparse.addmm(lib.tensor(bias), s, m, beta=0.5, alpha=2.0)
        else:
            m = lib.tensor(left, requires_grad=True)
            out = m @ s if form == "dense_matmul" else lib.mm(m, s)
        (out * out).sum().backward()
        return [_np(out), _np(v.grad), _np(m.grad)]

    want = reference(run)
    got = run(dynagrad)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_gradients_through_to_sparse_and_to_dense_match_torch():
    rng = np.random.default_rng(1)
    x0 = (rng.standard_normal((3, 3)) * (rng.random((3, 3)) > 0.4)).astype(np.float32)
    w0 = rng.standard_normal((3, 2)).astype(np.float32)

    def run(lib):
        x = lib.tensor(x0, requires_grad=True)
        w = lib.tensor(w0, requires_grad=True)
        s = x.to_sparse()
        y = lib.sparse.mm(s, w).tanh().sum() + (s.to_dense() ** 2).sum()
        y.backward()
        s2, v = _sparse(lib, requires_grad=True)
        (s2.coalesce().to_dense() * lib.arange(9.0).reshape(3, 3)).sum().backward()
        return [_np(y), _np(x.grad), _np(w.grad), _np(v.grad)]

    want = reference(run)
    for w, g in zip(want, run(dynagrad)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_sparse_leaf_gets_a_sparse_gradient_as_in_torch():
    dense = np.arange(12, dtype=np.float32).reshape(3, 4) / 10

    def run(lib):
        s = lib.sparse_coo_tensor(lib.tensor(IDX), lib.tensor(VAL), (3, 3), requires_grad=True)
        lib.sparse.mm(s, lib.tensor(dense)).sum().backward()
        g = s.grad
        return [g.is_sparse, g.is_coalesced(), _np(g.coalesce().indices()), _np(g.coalesce().values()),
                _np(g.to_dense()), s.requires_grad]

    want = reference(run)
    got = run(dynagrad)
    for w, g in zip(want, got):
        if isinstance(w, bool):
            assert w == g
        else:
            np.testing.assert_allclose(g, w, rtol=1e-6)


def test_sum_softmax_log_softmax_match_torch():
    def run(lib):
        s, v = _sparse(lib, requires_grad=True)
        sm = lib.sparse.softmax(s, 1)
        lsm = lib.sparse.log_softmax(s, 0)
        t1 = lib.sparse.sum(s, dim=1)
        t0 = lib.sparse.sum(s, dim=0)
        loss = (sm.to_dense() * lib.arange(9.0).reshape(3, 3)).sum() + lsm.to_dense().sum() + \
            (t1.to_dense() ** 2).sum() + lib.sparse.sum(s) + s.sum()
        loss.backward()
        return [_np(sm.to_dense()), _np(lsm.to_dense()), _np(t1.to_dense()), t1.is_sparse, _np(t0.to_dense()),
                _np(lib.sparse.sum(s)), _np(lib.sparse.sum(s, dim=(0, 1))), _np(s.sum(1).to_dense()),
                _np(v.grad)]

    want = reference(run)
    got = run(dynagrad)
    for w, g in zip(want, got):
        if isinstance(w, bool):
            assert w == g
        else:
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_gradcheck_through_sparse_ops():
    rng = np.random.default_rng(2)
    v = dynagrad.tensor(rng.standard_normal(5), dtype=dynagrad.float64, requires_grad=True)
    m = dynagrad.tensor(rng.standard_normal((3, 2)), dtype=dynagrad.float64, requires_grad=True)
    idx = dynagrad.tensor(IDX)

    def f(v, m):
        s = dynagrad.sparse_coo_tensor(idx, v, (3, 3))
        return (dynagrad.sparse.mm(s, m).sin().sum() + dynagrad.sparse.softmax(s, 1).to_dense().pow(2).sum()
                + (m.t() @ s).sum())

    assert dynagrad.autograd.gradcheck(f, (v, m))
    assert dynagrad.autograd.gradgradcheck(lambda v, m: dynagrad.sparse.mm(
        dynagrad.sparse_coo_tensor(idx, v, (3, 3)), m).pow(2).sum(), (v, m))


def test_unsupported_ops_and_bad_input_raise_clearly():
    s = dynagrad.eye(3).to_sparse()
    with pytest.raises(NotImplementedError, match=r"Tensor\.exp is not supported for sparse COO"):
        s.exp()
    with pytest.raises(NotImplementedError, match="sparse COO.*to_dense"):
        dynagrad.exp(s)
    with pytest.raises(NotImplementedError, match="torch.cat"):
        dynagrad.cat([s, s])
    with pytest.raises(TypeError, match="Use Tensor.to_dense"):
        s.numpy()
    with pytest.raises(RuntimeError, match="uncoalesced"):
        _sparse(dynagrad)[0].indices()
    with pytest.raises(RuntimeError, match="same nnz"):
        dynagrad.sparse_coo_tensor([[0, 1]], [1.0], (3,))
    with pytest.raises(RuntimeError, match="len\\(size\\) == sparse_dim \\+ dense_dim"):
        dynagrad.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3, 3))
    with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
        dynagrad.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,))
    with pytest.raises(RuntimeError, match="Expected dim 0 size 3, got 4"):
        dynagrad.sparse.mm(s, dynagrad.ones(4, 2))
    with pytest.raises(RuntimeError, match="expected sizes to match"):
        dynagrad.ones(2, 2) + s
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
        s + dynagrad.ones(3, 3)


def test_legacy_sparse_constructor_warns_and_builds():
    i = dynagrad.tensor(IDX)
    with pytest.warns(UserWarning, match="sparse_coo_tensor"):
        s = dynagrad.sparse.FloatTensor(i, dynagrad.tensor(VAL), dynagrad.Size([3, 3]))
    assert isinstance(s, dynagrad.sparse.FloatTensor) and not isinstance(s, dynagrad.FloatTensor)
    assert s.type() == "torch.sparse.FloatTensor" and s.shape == (3, 3)
    with pytest.warns(UserWarning):
        e = dynagrad.sparse.FloatTensor(2, 3)
    assert e._nnz() == 0 and e.shape == (2, 3)


def _gcn_run(lib, steps=8):
    """Two graph convolutions on a random graph, trained with Adam: the loss at each step."""
    rng = np.random.default_rng(5)
    n, f, h, c = 30, 12, 8, 3
    edges = rng.integers(0, n, (2, 80))
    feats = (rng.random((n, f)) < 0.2).astype(np.float32)
    labels = rng.integers(0, c, n)
    lib.manual_seed(0)
    adj = lib.sparse_coo_tensor(edges, lib.ones(edges.shape[1]), (n, n), dtype=lib.int64)
    adj = lib.eye(n) + adj
    deg = lib.sqrt(1 / lib.sum(adj, dim=1))
    deg[deg == float("inf")] = 0
    deg = lib.diag(deg).to_sparse()
    adj = (deg @ adj @ deg).to_sparse()
    x = lib.FloatTensor(feats)
    x = (lib.diag(1 / lib.clamp(x.sum(1), min=1)).to_sparse() @ x).to_sparse()
    y = lib.LongTensor(labels)
    w1 = lib.nn.Parameter(lib.Tensor(f, h))
    w2 = lib.nn.Parameter(lib.Tensor(h, c))
    lib.nn.init.xavier_normal_(w1)
    lib.nn.init.xavier_normal_(w2)
    opt = lib.optim.Adam([w1, w2], lr=0.05, weight_decay=5e-4)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        hid = lib.nn.functional.relu(lib.spmm(adj, lib.mm(x, w1)))
        out = lib.nn.functional.log_softmax(lib.spmm(adj, lib.mm(hid, w2)), dim=1)
        loss = lib.nn.functional.nll_loss(out[lib.LongTensor(range(20))], y[:20])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_gcn_training_matches_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = reference(_gcn_run)
        got = _gcn_run(dynagrad)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)
    assert got[-1] < got[0]
