"""Attention against PyTorch: F.scaled_dot_product_attention, F.multi_head_attention_forward and
nn.MultiheadAttention over their options (forward, gradients of inputs, masks and parameters, state_dicts)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dynagrad  # noqa: E402
from dynagrad.nn import _attention_ops as A  # noqa: E402

TOL = dict(rtol=1e-9, atol=1e-10)


def _sdpa(lib):
    return lib.nn.functional.scaled_dot_product_attention if lib is torch else A.scaled_dot_product_attention


def _mhaf(lib):
    return lib.nn.functional.multi_head_attention_forward if lib is torch else A.multi_head_attention_forward


def _leaf(rng, shape, grad=True):
    a = rng.standard_normal(shape)
    return torch.tensor(a, requires_grad=grad), dynagrad.tensor(a, requires_grad=grad)


def _close(a, b, what=""):
    if a is None:
        assert b is None, what
        return
    np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), err_msg=what, **TOL)


def _backward_both(rng, outs_t, outs_d):
    lt = ld = 0
    for a, b in zip(outs_t, outs_d):
        _close(a, b, "forward")
        if a is None:
            continue
        c = rng.standard_normal(tuple(a.shape))
        lt = lt + (a * torch.tensor(c)).sum()
        ld = ld + (b * dynagrad.tensor(c)).sum()
    lt.backward()
    ld.backward()


# -- scaled_dot_product_attention --------------------------------------------------------------------------

SDPA = [
    dict(),
    dict(is_causal=True),
    dict(scale=0.3),
    dict(mask="bool"),
    dict(mask="float"),
    dict(mask="float_grad"),
    dict(mask="bool_bcast"),
    dict(is_causal=True, shape=(3, 6, 5)),
]


@pytest.mark.parametrize("cfg", SDPA, ids=[str(c) for c in SDPA])
def test_sdpa_matches_torch(cfg):
    cfg = dict(cfg)
    rng = np.random.default_rng(0)
    shape = cfg.pop("shape", (2, 3, 4, 5))
    q = _leaf(rng, shape)
    k = _leaf(rng, shape[:-2] + (6, shape[-1]))
    v = _leaf(rng, shape[:-2] + (6, 7))
    kind = cfg.pop("mask", None)
    mask = (None, None)
    if kind in ("bool", "bool_bcast"):
        m = rng.random((4, 6) if kind == "bool" else (2, 1, 4, 6)) < 0.6
        m[..., 0] = True
        mask = torch.tensor(m), dynagrad.tensor(m)
    elif kind:
        mask = _leaf(rng, (2, 1, 4, 6), grad=kind == "float_grad")
    outs = [_sdpa(lib)(q[i], k[i], v[i], attn_mask=mask[i], **cfg) for i, lib in enumerate((torch, dynagrad))]
    _backward_both(rng, [outs[0]], [outs[1]])
    for a, b in (q, k, v) + ((mask,) if kind == "float_grad" else ()):
        _close(a.grad, b.grad)


def test_sdpa_gqa_and_unbatched():
    rng = np.random.default_rng(1)
    q, k, v = _leaf(rng, (2, 4, 3, 5)), _leaf(rng, (2, 2, 6, 5)), _leaf(rng, (2, 2, 6, 5))
    outs = [_sdpa(lib)(q[i], k[i], v[i], enable_gqa=True) for i, lib in enumerate((torch, dynagrad))]
    _backward_both(rng, [outs[0]], [outs[1]])
    for a, b in (q, k, v):
        _close(a.grad, b.grad)
    q, k, v = _leaf(rng, (3, 4)), _leaf(rng, (5, 4)), _leaf(rng, (5, 2))
    _close(_sdpa(torch)(q[0], k[0], v[0]), _sdpa(dynagrad)(q[1], k[1], v[1]))


def test_sdpa_dropout():
    q = dynagrad.randn(2, 8, 16, requires_grad=True)
    out = A.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    out.sum().backward()
    assert out.shape == (2, 8, 16) and np.isfinite(q.grad.numpy()).all()
    ref = A.scaled_dot_product_attention(q, q, q)
    assert not np.allclose(out.detach().numpy(), ref.detach().numpy())
    dynagrad.manual_seed(3)
    a = A.scaled_dot_product_attention(q, q, q, dropout_p=0.3)
    dynagrad.manual_seed(3)
    b = A.scaled_dot_product_attention(q, q, q, dropout_p=0.3)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_sdpa_double_backward():
    rng = np.random.default_rng(2)
    q, k, v = _leaf(rng, (2, 3, 4)), _leaf(rng, (2, 5, 4)), _leaf(rng, (2, 5, 3))
    grads = []
    for i, lib in enumerate((torch, dynagrad)):
        out = _sdpa(lib)(q[i], k[i], v[i], is_causal=True)
        g = lib.autograd.grad((out ** 2).sum(), [q[i], k[i], v[i]], create_graph=True)
        sum((x ** 3).sum() for x in g).backward()
        grads.append(g)
    for a, b in zip(*grads):
        _close(a, b)
    for a, b in (q, k, v):
        _close(a.grad, b.grad)


def test_sdpa_errors():
    q = dynagrad.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        A.scaled_dot_product_attention(q, q, q, attn_mask=dynagrad.ones(3, 3, dtype=dynagrad.bool),
                                       is_causal=True)


# -- MultiheadAttention ------------------------------------------------------------------------------------

def _pair_mha(*args, **kw):
    tm = torch.nn.MultiheadAttention(*args, **kw).double()
    dm = dynagrad.nn.MultiheadAttention(*args, **kw).double()
    assert list(dm.state_dict()) == list(tm.state_dict())
    dm.load_state_dict({k: dynagrad.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, dm


def _check_params(tm, dm):
    params = dict(dm.named_parameters())
    for n, p in tm.named_parameters():
        _close(p.grad, params[n].grad, n)


MHA = [
    dict(),
    dict(mask="bool2"),
    dict(mask="float2"),
    dict(mask="bool3", kpm="bool"),
    dict(mask="float3", need_weights=False),
    dict(kpm="bool", need_weights=False),
    dict(kpm="float", mask="float2"),
    dict(self_attn=True, batch_first=True, mask="bool2"),
    dict(self_attn=True, batch_first=True, need_weights=False, is_causal=True),
    dict(unbatched=True),
    dict(unbatched=True, need_weights=False, mask="float2"),
    dict(average_attn_weights=False, mask="float2"),
    dict(kdim=3, vdim=6),
    dict(kdim=3, vdim=6, batch_first=True, need_weights=False),
    dict(add_bias_kv=True, mask="bool2", kpm="bool"),
    dict(add_zero_attn=True, kpm="bool", mask="float2"),
    dict(add_bias_kv=True, add_zero_attn=True, need_weights=False),
    dict(bias=False),
    dict(bias=False, self_attn=True, need_weights=False),
    dict(kv_same=True),
]


@pytest.mark.parametrize("cfg", MHA, ids=[str(c) for c in MHA])
def test_multihead_attention_matches_torch(cfg):
    cfg = dict(cfg)
    rng = np.random.default_rng(3)
    e, h, n_q, n_k, b = 8, 2, 4, 5, 3
    ctor = {k: cfg.pop(k) for k in ("kdim", "vdim", "batch_first", "add_bias_kv", "add_zero_attn", "bias")
            if k in cfg}
    tm, dm = _pair_mha(e, h, **ctor)
    unbatched, bf = cfg.pop("unbatched", False), ctor.get("batch_first", False)

    def shape(n, d):
        return (n, d) if unbatched else ((b, n, d) if bf else (n, b, d))
    q = _leaf(rng, shape(n_q, e))
    if cfg.pop("self_attn", False):
        k = v = q
        n_k = n_q
    elif cfg.pop("kv_same", False):
        k = v = _leaf(rng, shape(n_k, e))
    else:
        k, v = _leaf(rng, shape(n_k, ctor.get("kdim", e))), _leaf(rng, shape(n_k, ctor.get("vdim", e)))
    kind = cfg.pop("mask", None)
    mask = (None, None)
    if kind:
        mshape = (n_q, n_k) if kind.endswith("2") else (b * h, n_q, n_k)
        if kind.startswith("bool"):
            m = rng.random(mshape) < 0.3
            m[..., 0] = False
            mask = torch.tensor(m), dynagrad.tensor(m)
        else:
            mask = _leaf(rng, mshape, grad=False)
    kpm = (None, None)
    if cfg.get("kpm"):
        m = rng.random((b, n_k)) < 0.3
        m[:, 0] = False
        if cfg.pop("kpm") == "float":
            m = np.where(m, -1e4, 0.0)
        kpm = torch.tensor(m), dynagrad.tensor(m)
    if cfg.get("is_causal"):
        c = np.triu(np.ones((n_q, n_q), bool), 1)
        mask = torch.tensor(c), dynagrad.tensor(c)
    outs = []
    for i, mod in enumerate((tm, dm)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs.append(mod(q[i], k[i], v[i], key_padding_mask=kpm[i], attn_mask=mask[i], **cfg))
    if cfg.get("need_weights", True) is False:
        assert outs[1][1] is None
    _backward_both(rng, outs[0], outs[1])
    for a, b_ in {id(x): x for x in (q, k, v)}.values():
        _close(a.grad, b_.grad)
    _check_params(tm, dm)


def test_functional_multi_head_attention_forward():
    rng = np.random.default_rng(4)
    e, h = 6, 3
    q, k, v = _leaf(rng, (4, 2, e)), _leaf(rng, (5, 2, e)), _leaf(rng, (5, 2, e))
    w_in, b_in = _leaf(rng, (3 * e, e)), _leaf(rng, (3 * e,))
    w_out, b_out = _leaf(rng, (e, e)), _leaf(rng, (e,))
    bk, bv = _leaf(rng, (1, 1, e)), _leaf(rng, (1, 1, e))
    outs = []
    for i, lib in enumerate((torch, dynagrad)):
        outs.append(_mhaf(lib)(q[i], k[i], v[i], e, h, w_in[i], b_in[i], bk[i], bv[i], False, 0.0, w_out[i],
                               b_out[i], training=False))
    _backward_both(rng, outs[0], outs[1])
    for a, b in (q, k, v, w_in, b_in, w_out, b_out, bk, bv):
        _close(a.grad, b.grad)


def test_multihead_attention_dropout_and_train_mode():
    m = dynagrad.nn.MultiheadAttention(8, 2, dropout=0.5)
    x = dynagrad.randn(5, 3, 8, requires_grad=True)
    out, w = m(x, x, x)
    out.sum().backward()
    assert w.shape == (3, 5, 5) and x.grad is not None
    assert all(p.grad is not None for p in m.parameters())
    m.eval()
    a, b = m(x, x, x)[0], m(x, x, x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_multihead_attention_parameters_and_init():
    t = torch.nn.MultiheadAttention(8, 2, add_bias_kv=True, kdim=4, vdim=5)
    d = dynagrad.nn.MultiheadAttention(8, 2, add_bias_kv=True, kdim=4, vdim=5)
    assert [(n, tuple(p.shape)) for n, p in d.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert d.in_proj_weight is None and d.in_proj_bias is not None
    d = dynagrad.nn.MultiheadAttention(8, 2)
    assert not d.in_proj_bias.detach().numpy().any() and not d.out_proj.bias.detach().numpy().any()
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform_ on (3E, E)
    w = d.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.std() > bound / 2.5
    assert type(d.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        dynagrad.nn.MultiheadAttention(7, 2)


def test_multihead_attention_state_dict_to_torch():
    d = dynagrad.nn.MultiheadAttention(8, 4, batch_first=True, add_bias_kv=True)
    t = torch.nn.MultiheadAttention(8, 4, batch_first=True, add_bias_kv=True)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in d.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((2, 3, 8)).astype(np.float32)
    a = t(*[torch.tensor(x)] * 3)
    b = d(*[dynagrad.tensor(x)] * 3)
    for u, w in zip(a, b):
        np.testing.assert_allclose(w.detach().numpy(), u.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", ["mask2", "mask3", "kpm", "embed"])
def test_multihead_attention_errors_match_torch(bad):
    def run(lib):
        m = lib.nn.MultiheadAttention(8, 2)
        x = lib.zeros(4, 3, 8) if bad != "embed" else lib.zeros(4, 3, 6)
        mask = {"mask2": lib.zeros(4, 5), "mask3": lib.zeros(5, 4, 4)}.get(bad)
        kpm = lib.zeros(3, 5, dtype=lib.bool) if bad == "kpm" else None
        return m(x, x, x, attn_mask=mask, key_padding_mask=kpm)
    with pytest.raises(Exception) as et:
        run(torch)
    with pytest.raises(Exception) as ed:
        run(dynagrad)
    assert type(ed.value) is type(et.value)
    assert str(ed.value).endswith(str(et.value))
