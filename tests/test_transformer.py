"""Transformer layers, stacks and the full encoder-decoder against PyTorch: outputs (eval mode, and train mode
with dropout 0), gradients of inputs and every parameter, masks, state_dicts in both directions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dynagrad  # noqa: E402

TOL = dict(rtol=1e-9, atol=1e-9)
E, H, FF = 8, 2, 16


def _to_dg(sd):
    return {k: dynagrad.tensor(v.detach().numpy()) for k, v in sd.items()}


def _build(make):
    """make(lib) in both frameworks (float64), dynagrad's loaded from PyTorch's state_dict."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm, dm = make(torch).double(), make(dynagrad).double()
    assert list(dm.state_dict()) == list(tm.state_dict())
    dm.load_state_dict(_to_dg(tm.state_dict()))
    return tm, dm


def _leaf(rng, shape):
    a = rng.standard_normal(shape)
    return torch.tensor(a, requires_grad=True), dynagrad.tensor(a, requires_grad=True)


def _mask(kind, n, m=None):
    m = m or n
    if kind == "causal_float":
        a = np.triu(np.full((n, m), -np.inf), 1)
    elif kind == "causal_bool":
        a = np.triu(np.ones((n, m), bool), 1)
    else:
        return None, None
    return torch.tensor(a), dynagrad.tensor(a)


def _compare(tm, dm, inputs, kw_t, kw_d, train=False, seed=0):
    rng = np.random.default_rng(seed)
    tm.train(train)
    dm.train(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_t = tm(*[a for a, _ in inputs], **kw_t)
        out_d = dm(*[b for _, b in inputs], **kw_d)
    np.testing.assert_allclose(out_d.detach().numpy(), out_t.detach().numpy(), **TOL)
    c = rng.standard_normal(tuple(out_t.shape))
    (out_t * torch.tensor(c)).sum().backward()
    (out_d * dynagrad.tensor(c)).sum().backward()
    for a, b in inputs:
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **TOL)
    params = dict(dm.named_parameters())
    for n, p in tm.named_parameters():
        np.testing.assert_allclose(params[n].grad.numpy(), p.grad.numpy(), err_msg=n, **TOL)


LAYER_CFGS = [
    dict(),
    dict(norm_first=True),
    dict(activation="gelu", batch_first=True),
    dict(activation="gelu", norm_first=True, batch_first=True, bias=False),
    dict(activation="silu", layer_norm_eps=1e-3),
]


def _kw(cfg, lib):
    cfg = dict(cfg)
    if cfg.get("activation") == "silu":
        cfg["activation"] = lib.nn.functional.silu  # a callable activation
    return cfg


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("cfg", LAYER_CFGS, ids=[str(c) for c in LAYER_CFGS])
def test_encoder_layer(cfg, train):
    rng = np.random.default_rng(1)
    tm, dm = _build(lambda lib: lib.nn.TransformerEncoderLayer(E, H, FF, 0.0, **_kw(cfg, lib)))
    bf = cfg.get("batch_first", False)
    x = _leaf(rng, (3, 5, E) if bf else (5, 3, E))
    mt, md = _mask("causal_float", 5)
    kpm = np.zeros((3, 5), bool)
    kpm[0, 3:] = True
    _compare(tm, dm, [x], dict(src_mask=mt, src_key_padding_mask=torch.tensor(kpm)),
             dict(src_mask=md, src_key_padding_mask=dynagrad.tensor(kpm)), train=train)


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("cfg", LAYER_CFGS, ids=[str(c) for c in LAYER_CFGS])
def test_decoder_layer(cfg, train):
    rng = np.random.default_rng(2)
    tm, dm = _build(lambda lib: lib.nn.TransformerDecoderLayer(E, H, FF, 0.0, **_kw(cfg, lib)))
    bf = cfg.get("batch_first", False)
    tgt = _leaf(rng, (2, 4, E) if bf else (4, 2, E))
    mem = _leaf(rng, (2, 6, E) if bf else (6, 2, E))
    mt, md = _mask("causal_bool", 4)
    kpm = np.zeros((2, 6), bool)
    kpm[1, 4:] = True
    _compare(tm, dm, [tgt, mem],
             dict(tgt_mask=mt, memory_key_padding_mask=torch.tensor(kpm), tgt_is_causal=True),
             dict(tgt_mask=md, memory_key_padding_mask=dynagrad.tensor(kpm), tgt_is_causal=True), train=train)


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_and_decoder_stacks(batch_first):
    rng = np.random.default_rng(3)

    def enc(lib):
        layer = lib.nn.TransformerEncoderLayer(E, H, FF, 0.0, batch_first=batch_first)
        return lib.nn.TransformerEncoder(layer, 3, lib.nn.LayerNorm(E), enable_nested_tensor=False)
    tm, dm = _build(enc)
    assert len(dm.layers) == 3 and dm.layers[0] is not dm.layers[1]
    src = _leaf(rng, (2, 5, E) if batch_first else (5, 2, E))
    mt, md = _mask("causal_float", 5)
    _compare(tm, dm, [src], dict(mask=mt), dict(mask=md))

    def dec(lib):
        layer = lib.nn.TransformerDecoderLayer(E, H, FF, 0.0, batch_first=batch_first, norm_first=True)
        return lib.nn.TransformerDecoder(layer, 2, lib.nn.LayerNorm(E))
    tm, dm = _build(dec)
    tgt = _leaf(rng, (2, 3, E) if batch_first else (3, 2, E))
    mem = _leaf(rng, (2, 5, E) if batch_first else (5, 2, E))
    mt, md = _mask("causal_float", 3)
    _compare(tm, dm, [tgt, mem], dict(tgt_mask=mt), dict(tgt_mask=md), train=True)


@pytest.mark.parametrize("cfg", [dict(), dict(batch_first=True, norm_first=True, activation="gelu"),
                                 dict(bias=False)])
def test_transformer(cfg):
    rng = np.random.default_rng(4)
    tm, dm = _build(lambda lib: lib.nn.Transformer(E, H, 2, 2, FF, 0.0, **cfg))
    bf = cfg.get("batch_first", False)
    src = _leaf(rng, (2, 6, E) if bf else (6, 2, E))
    tgt = _leaf(rng, (2, 4, E) if bf else (4, 2, E))
    mt = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    md = dynagrad.nn.Transformer.generate_square_subsequent_mask(4, dtype=dynagrad.float64)
    kpm = np.zeros((2, 6), bool)
    kpm[0, 5:] = True
    kw = dict(src_key_padding_mask=kpm, memory_key_padding_mask=kpm)
    _compare(tm, dm, [src, tgt], dict(tgt_mask=mt, **{k: torch.tensor(v) for k, v in kw.items()}),
             dict(tgt_mask=md, **{k: dynagrad.tensor(v) for k, v in kw.items()}))


def test_generate_square_subsequent_mask():
    a = torch.nn.Transformer.generate_square_subsequent_mask(5).numpy()
    b = dynagrad.nn.Transformer.generate_square_subsequent_mask(5)
    assert b.dtype == dynagrad.float32
    np.testing.assert_array_equal(b.numpy(), a)


def test_nested_tensor_path_zeroes_padding_like_torch():
    rng = np.random.default_rng(5)

    def enc(lib):
        layer = lib.nn.TransformerEncoderLayer(E, H, FF, 0.0, batch_first=True)
        return lib.nn.TransformerEncoder(layer, 2)
    tm, dm = _build(enc)
    tm.eval()
    dm.eval()
    x = rng.standard_normal((3, 5, E))
    kpm = np.zeros((3, 5), bool)
    kpm[0, 3:] = True
    kpm[2, 4:] = True
    with torch.no_grad():
        a = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm)).numpy()
    with dynagrad.no_grad():
        b = dm(dynagrad.tensor(x), src_key_padding_mask=dynagrad.tensor(kpm)).numpy()
    assert (a[0, 3:] == 0).all()
    np.testing.assert_allclose(b, a, **TOL)


def test_nested_tensor_warning_and_state_dict_to_torch():
    with pytest.warns(UserWarning, match="enable_nested_tensor is True, but self.use_nested_tensor is False"):
        dynagrad.nn.TransformerEncoder(dynagrad.nn.TransformerEncoderLayer(E, H, FF), 1)
    d = dynagrad.nn.Transformer(E, H, 1, 1, FF, dropout=0.0, batch_first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.nn.Transformer(E, H, 1, 1, FF, dropout=0.0, batch_first=True)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in d.state_dict().items()})
    rng = np.random.default_rng(6)
    src = rng.standard_normal((2, 5, E)).astype(np.float32)
    tgt = rng.standard_normal((2, 3, E)).astype(np.float32)
    a = t(torch.tensor(src), torch.tensor(tgt)).detach().numpy()
    b = d(dynagrad.tensor(src), dynagrad.tensor(tgt)).detach().numpy()
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    bound = np.sqrt(6 / (E + FF))  # xavier_uniform_ on every matrix, as PyTorch's _reset_parameters
    w = d.encoder.layers[0].linear1.weight.detach().numpy()
    assert np.abs(w).max() <= bound


def test_dropout_in_train_mode_and_errors():
    m = dynagrad.nn.Transformer(E, H, 1, 1, FF, dropout=0.3)
    src, tgt = dynagrad.randn(5, 2, E, requires_grad=True), dynagrad.randn(3, 2, E)
    out = m(src, tgt)
    out.sum().backward()
    assert out.shape == (3, 2, E) and src.grad is not None
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        m(dynagrad.randn(5, 2, E), dynagrad.randn(3, 4, E))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        dynagrad.nn.TransformerEncoderLayer(E, H, activation="tanh")
