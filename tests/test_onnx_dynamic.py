"""dynagrad.onnx.export with dynamic axes: onnxruntime runs each exported model at other batch sizes and
sequence lengths with dynagrad's eager outputs; what cannot follow an axis is refused at export."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F
from tests.compile_models import GPT, ConvNet, GPTConfig, ResNet, Seq2Seq, init_from_numpy

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SIZES = [(5, 3), (9, 1), (2, 6)]  # (sequence length, batch) the models run at after export at the first


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [z for y in x for z in _flat(y)]
    return [] if x is None else [x]


def _session(model, args, **kw):
    buf = io.BytesIO()
    torch.onnx.export(model, args, buf, **kw)
    return ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])


def _run_at(sess, model, args, rtol=1e-4, atol=1e-5):
    feed = {i.name: a.numpy() for i, a in zip(sess.get_inputs(), _flat(args))}
    outs = sess.run(None, feed)
    with torch.no_grad():
        ref = _flat(model(*args))
    assert len(outs) == len(ref)
    for o, r in zip(outs, ref):
        assert o.shape == tuple(r.shape)
        np.testing.assert_allclose(o, r.numpy(), rtol=rtol, atol=atol)


def _check_sizes(model, make, names, dynamic_axes, sizes=SIZES, **kw):
    """Export at ``make(*sizes[0])``, then run at every size."""
    sess = _session(model, make(*sizes[0]), input_names=names, dynamic_axes=dynamic_axes, **kw)
    for t, b in sizes:
        _run_at(sess, model, make(t, b))
    return sess


# -- recurrent layers ---------------------------------------------------------------------------------------------

class Recurrent(nn.Module):
    def __init__(self, kind, **kw):
        super().__init__()
        self.rnn = {"tanh": lambda: nn.RNN(4, 6, **kw), "relu": lambda: nn.RNN(4, 6, nonlinearity="relu", **kw),
                    "lstm": lambda: nn.LSTM(4, 6, **kw), "gru": lambda: nn.GRU(4, 6, **kw),
                    "lstm_proj": lambda: nn.LSTM(4, 6, proj_size=3, **kw)}[kind]()

    def forward(self, x, *state):
        if not state:
            return self.rnn(x)
        return self.rnn(x, state[0] if len(state) == 1 else state)


CONFIGS = {
    "1layer": {},
    "2layer_bidir_batch_first": {"num_layers": 2, "bidirectional": True, "batch_first": True},
    "2layer_nobias": {"num_layers": 2, "bias": False},
}


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm", "gru", "lstm_proj"])
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_dynamic_batch_and_sequence(kind, config, with_state):
    kw = CONFIGS[config]
    m = init_from_numpy(Recurrent(kind, **kw), 1).eval()
    rnn = m.rnn
    bf = rnn.batch_first
    layers = rnn.num_layers * (2 if rnn.bidirectional else 1)
    out_h = rnn.proj_size or rnn.hidden_size
    rng = np.random.default_rng(2)

    def make(t, b):
        x = torch.from_numpy(rng.standard_normal((b, t, 4) if bf else (t, b, 4)).astype(np.float32))
        if not with_state:
            return (x,)
        h = torch.from_numpy(rng.standard_normal((layers, b, out_h)).astype(np.float32))
        if kind.startswith("lstm"):
            c = torch.from_numpy(rng.standard_normal((layers, b, rnn.hidden_size)).astype(np.float32))
            return (x, h, c)
        return (x, h)

    xdims = {0: "batch", 1: "seq"} if bf else {0: "seq", 1: "batch"}
    names = ["x", "h0", "c0"][:len(make(2, 2))]
    axes = {"x": xdims, "h0": {1: "batch"}, "c0": {1: "batch"}}
    axes = {k: v for k, v in axes.items() if k in names}
    _check_sizes(m, make, names, axes)


def test_recurrent_uses_onnx_operators_and_names_axes():
    m = init_from_numpy(Recurrent("lstm", num_layers=2), 3).eval()
    buf = io.BytesIO()
    torch.onnx.export(m, (torch.randn(5, 3, 4),), buf, input_names=["x"], output_names=["y", "h", "c"],
                      dynamic_axes={"x": {0: "seq", 1: "batch"}, "y": {0: "seq", 1: "batch"}})
    proto = onnx.load_from_string(buf.getvalue())
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("LSTM") == 2 and "Scan" not in ops
    dims = [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["seq", "batch", 6]
    # outputs not named in dynamic_axes: what the traces at other sizes showed (fixed, or the axis's name)
    dims = [d.dim_param or d.dim_value for d in proto.graph.output[1].type.tensor_type.shape.dim]
    assert dims == [2, "batch", 6]
    # no reshape target is a baked constant holding the traced batch or sequence size
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    for n in proto.graph.node:
        if n.op_type == "Reshape" and n.input[1] in inits:
            assert not {3, 5, 15} & set(inits[n.input[1]].tolist()), inits[n.input[1]]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cells_dynamic_batch(kind):
    cell = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind](4, 5)
    cell = init_from_numpy(cell, 4)
    rng = np.random.default_rng(5)

    def make(t, b):
        x = torch.from_numpy(rng.standard_normal((b, 4)).astype(np.float32))
        h = torch.from_numpy(rng.standard_normal((b, 5)).astype(np.float32))
        return (x, (h, h * 0.5)) if kind == "lstm" else (x, h)

    names = ["x", "h", "c"] if kind == "lstm" else ["x", "h"]
    _check_sizes(cell, make, names, {k: {0: "batch"} for k in names})


def test_seq2seq_gru_cells_dynamic_batch():
    m = init_from_numpy(Seq2Seq(), 7).eval()
    rng = np.random.default_rng(6)

    def make(t, b):
        return (torch.from_numpy(rng.standard_normal((b, 4, 6)).astype(np.float32)),)

    _check_sizes(m, make, ["x"], {"x": {0: "batch"}}, sizes=[(4, 2), (4, 5), (4, 1)])


class Seq2SeqGRU(nn.Module):
    """An encoder-decoder of GRU layers (teacher forcing): both sequences dynamic."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 8)
        self.enc = nn.GRU(8, 16, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(32, 16)
        self.dec = nn.GRU(8, 16, batch_first=True, num_layers=1)
        self.out = nn.Linear(16, 11)

    def forward(self, src, tgt):
        _, h = self.enc(self.emb(src))
        h = torch.tanh(self.bridge(torch.cat((h[0], h[1]), dim=1))).unsqueeze(0)
        y, h = self.dec(self.emb(tgt), h)
        return F.log_softmax(self.out(y), dim=-1), h


def test_seq2seq_gru_layers_dynamic_batch_and_both_lengths():
    m = init_from_numpy(Seq2SeqGRU(), 8).eval()
    rng = np.random.default_rng(7)

    def make(t, b):
        return (torch.from_numpy(rng.integers(0, 11, (b, t))), torch.from_numpy(rng.integers(0, 11, (b, t + 2))))

    _check_sizes(m, make, ["src", "tgt"], {"src": {0: "batch", 1: "src_len"}, "tgt": {0: "batch", 1: "tgt_len"}})


# -- nanoGPT, attention, Transformer layers ----------------------------------------------------------------------

@pytest.mark.parametrize("flash,opset", [(True, 20), (False, 20), (False, 13)])
def test_nanogpt_dynamic_batch_and_sequence(flash, opset):
    cfg = GPTConfig(block_size=16, vocab_size=23, n_layer=2, n_head=2, n_embd=16, flash=flash)
    torch.manual_seed(0)
    m = GPT(cfg).eval()

    class Logits(nn.Module):  # every position's logits (nanoGPT's training path without targets)
        def __init__(self, gpt):
            super().__init__()
            self.gpt = gpt

        def forward(self, idx):
            b, t = idx.size()
            pos = torch.arange(0, t, dtype=torch.long)
            x = self.gpt.transformer.wte(idx) + self.gpt.transformer.wpe(pos)
            for block in self.gpt.transformer.h:
                x = block(x)
            return self.gpt.lm_head(self.gpt.transformer.ln_f(x))

    rng = np.random.default_rng(8)

    def make(t, b):
        return (torch.from_numpy(rng.integers(0, 23, (b, t))),)

    # exported at the full block size: shorter sequences slice the causal buffer with the traced length
    sizes = [(16, 2), (5, 3), (1, 1), (12, 4)]
    _check_sizes(Logits(m), make, ["idx"], {"idx": {0: "batch", 1: "seq"}}, sizes=sizes, opset_version=opset)
    # GPT.forward itself: the last position's logits, and the loss output is None
    _check_sizes(m, make, ["idx"], {"idx": {0: "batch", 1: "seq"}}, sizes=[(7, 2), (3, 5)], opset_version=opset)


class SDPA(nn.Module):
    def __init__(self, mask_kind, is_causal=False):
        super().__init__()
        self.mask_kind, self.is_causal = mask_kind, is_causal

    def forward(self, q, k, v, mask=None):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=self.is_causal)


@pytest.mark.parametrize("mask_kind", ["none", "causal", "bool", "float"])
def test_sdpa_masks_dynamic(mask_kind):
    m = SDPA(mask_kind, is_causal=mask_kind == "causal")
    rng = np.random.default_rng(9)

    def make(t, b):
        q, k, v = (torch.from_numpy(rng.standard_normal((b, 2, t, 4)).astype(np.float32)) for _ in range(3))
        if mask_kind == "bool":
            return (q, k, v, torch.from_numpy(rng.random((b, 1, t, t)) > 0.3) | torch.eye(t, dtype=torch.bool))
        if mask_kind == "float":
            return (q, k, v, torch.from_numpy(rng.standard_normal((t, t)).astype(np.float32)))
        return (q, k, v)

    names = ["q", "k", "v", "mask"][:len(make(2, 2))]
    axes = {n: {0: "batch", 2: "seq"} for n in ["q", "k", "v"]}
    if mask_kind == "bool":
        axes["mask"] = {0: "batch", 2: "seq", 3: "seq"}
    elif mask_kind == "float":
        axes["mask"] = {0: "seq", 1: "seq"}
    _check_sizes(m, make, names, axes)


class MHA(nn.Module):
    def __init__(self, batch_first, need_weights, masks):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=batch_first)
        self.need_weights, self.masks = need_weights, masks

    def forward(self, q, kv, *masks):
        kw = {}
        if self.masks:
            kw = {"key_padding_mask": masks[0], "attn_mask": nn.Transformer.generate_square_subsequent_mask(
                q.size(1 if self.attn.batch_first else 0))}
        out, w = self.attn(q, kv, kv, need_weights=self.need_weights, **kw)
        return (out, w) if self.need_weights else out


@pytest.mark.parametrize("batch_first,need_weights,masks", [(True, True, False), (False, False, True),
                                                            (True, True, True)])
def test_multihead_attention_dynamic(batch_first, need_weights, masks):
    m = init_from_numpy(MHA(batch_first, need_weights, masks), 10).eval()
    rng = np.random.default_rng(11)

    def make(t, b):
        shape = (b, t, 8) if batch_first else (t, b, 8)
        q = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
        kv = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
        if not masks:
            return (q, kv)
        pad = np.zeros((b, t), bool)
        pad[:, -1] = t > 2
        return (q, kv, torch.from_numpy(pad))

    sd = {0: "batch", 1: "seq"} if batch_first else {0: "seq", 1: "batch"}
    names = ["q", "kv", "pad"][:len(make(3, 2))]
    axes = {"q": sd, "kv": sd, "pad": {0: "batch", 1: "seq"}}
    _check_sizes(m, make, names, {k: v for k, v in axes.items() if k in names})


@pytest.mark.parametrize("norm_first,activation,opset", [(False, "relu", 20), (True, "gelu", 20), (True, "gelu", 13)])
def test_transformer_encoder_and_decoder_layers(norm_first, activation, opset):
    class EncDec(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                                                        norm_first=norm_first,
                                                                        activation=activation), 2)
            self.dec = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=norm_first,
                                                  activation=F.gelu if activation == "gelu" else "relu")

        def forward(self, src, tgt):
            mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
            return self.dec(tgt, self.enc(src), tgt_mask=mask, tgt_is_causal=True)

    m = init_from_numpy(EncDec(), 12).eval()
    rng = np.random.default_rng(13)

    def make(t, b):
        return (torch.from_numpy(rng.standard_normal((b, t, 8)).astype(np.float32)),
                torch.from_numpy(rng.standard_normal((b, t + 1, 8)).astype(np.float32)))

    _check_sizes(m, make, ["src", "tgt"], {"src": {0: "b", 1: "s"}, "tgt": {0: "b", 1: "t"}}, opset_version=opset)


def test_nn_transformer_with_masks():
    m = init_from_numpy(nn.Transformer(8, 2, 1, 1, 16, dropout=0.0), 14).eval()
    rng = np.random.default_rng(15)

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.t = m

        def forward(self, src, tgt, pad):
            mask = self.t.generate_square_subsequent_mask(tgt.size(0))
            return self.t(src, tgt, tgt_mask=mask, src_key_padding_mask=pad)

    def make(t, b):
        pad = np.zeros((b, t), bool)
        pad[0, -1] = True
        return (torch.from_numpy(rng.standard_normal((t, b, 8)).astype(np.float32)),
                torch.from_numpy(rng.standard_normal((t + 2, b, 8)).astype(np.float32)), torch.from_numpy(pad))

    _check_sizes(Wrap(), make, ["src", "tgt", "pad"],
                 {"src": {0: "s", 1: "b"}, "tgt": {0: "t", 1: "b"}, "pad": {0: "b", 1: "s"}})


class Pieces(nn.Module):
    """Embedding, layer norm, GELU (exact and tanh), softmax, view/transpose/split chains."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(13, 12)
        self.ln = nn.LayerNorm(12)
        self.fc = nn.Linear(12, 12)

    def forward(self, idx):
        b, t = idx.shape
        x = self.ln(self.emb(idx))
        a, c = self.fc(x).split(6, dim=-1)
        a = F.gelu(a).view(b, t, 2, 3).transpose(1, 2).reshape(b * 2, t, 3)
        c = F.gelu(c, approximate="tanh").view(b, t, 2, 3).permute(0, 2, 1, 3).flatten(0, 1)
        s = torch.softmax(a @ c.transpose(-1, -2) / math.sqrt(3), dim=-1)
        return (s @ c).view(b, 2, t, 3).transpose(1, 2).contiguous().view(b, t, -1)


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_embedding_norm_gelu_softmax_view_chains(opset):
    m = init_from_numpy(Pieces(), 16).eval()
    rng = np.random.default_rng(17)
    _check_sizes(m, lambda t, b: (torch.from_numpy(rng.integers(0, 13, (b, t))),), ["idx"],
                 {"idx": {0: "batch", 1: "seq"}}, opset_version=opset)


def test_conv_pool_batchnorm_dynamic_batch():
    m = init_from_numpy(ResNet(width=8), 5)
    m.train()
    m(torch.randn(2, 3, 112, 112))  # running statistics that are not the initial ones
    m.eval()
    rng = np.random.default_rng(18)
    _check_sizes(m, lambda t, b: (torch.from_numpy(rng.standard_normal((b, 3, 112, 112)).astype(np.float32)),),
                 ["x"], {"x": [0]}, sizes=[(0, 2), (0, 1), (0, 3)])
    c = init_from_numpy(ConvNet(), 4).eval()
    _check_sizes(c, lambda t, b: (torch.from_numpy(rng.standard_normal((b, 3, 32, 32)).astype(np.float32)),),
                 ["x"], {"x": {0: "n"}}, sizes=[(0, 2), (0, 5)])


# -- what cannot follow an axis is refused ---------------------------------------------------------------------

class Unrolled(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(3, 4)

    def forward(self, x):
        h = torch.zeros(x.size(1), 4)
        for t in range(x.size(0)):  # a Python loop over the sequence length
            h = self.cell(x[t], h)
        return h


def test_python_loop_over_a_dynamic_length_is_refused():
    m = Unrolled().eval()
    with pytest.raises(torch.onnx.errors.OnnxExporterError) as e:
        torch.onnx.export(m, (torch.randn(5, 2, 3),), io.BytesIO(), input_names=["x"],
                          dynamic_axes={"x": {0: "seq", 1: "batch"}})
    msg = str(e.value)
    assert "'seq'" in msg and "cannot be honoured" in msg and "test_onnx_dynamic.py" in msg
    # the batch axis alone is fine
    _check_sizes(m, lambda t, b: (torch.randn(5, b, 3),), ["x"], {"x": {1: "batch"}}, sizes=[(5, 2), (5, 7)])


class ValueDependent(nn.Module):
    def forward(self, x):
        w = torch.from_numpy(np.linspace(0, 1, x.shape[1] * 2).astype(np.float32)[::2].copy())
        return x * w  # a constant whose values (not only its size) follow the axis


def test_size_dependent_constant_is_refused_with_its_line():
    with pytest.raises(RuntimeError, match=r"cannot be honoured: MulBackward0 .*test_onnx_dynamic.py:\d+: "
                                           r"return x \* w|constant .*test_onnx_dynamic.py"):
        torch.onnx.export(ValueDependent(), (torch.randn(2, 6),), io.BytesIO(), input_names=["x"],
                          dynamic_axes={"x": {1: "n"}})
    sess = _session(ValueDependent(), (torch.randn(2, 6),), input_names=["x"], dynamic_axes={"x": {0: "b"}})
    _run_at(sess, ValueDependent(), (torch.randn(4, 6),))


class SumBoth(nn.Module):
    def forward(self, a, c):
        return a.sum(0) + c.sum(0)


def test_inconsistent_axis_sizes_are_refused():
    m = SumBoth()
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match="'b' has size 2 in one input and 4"):
        torch.onnx.export(m, (torch.randn(2, 3), torch.randn(4, 3)), io.BytesIO(), input_names=["a", "c"],
                          dynamic_axes={"a": {0: "b"}, "c": {0: "b"}})


class Packed(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 4)

    def forward(self, x):
        packed = nn.utils.rnn.pack_padded_sequence(x, [4, 2])
        _, h = self.rnn(packed)
        return h


def test_packed_sequences_are_refused_with_the_line():
    with pytest.raises(torch.onnx.errors.UnsupportedOperatorError, match=r"PackPaddedSequence.*test_onnx_dynamic.py"):
        torch.onnx.export(Packed(), (torch.randn(4, 2, 3),), io.BytesIO())


def test_batch_one_example_exports_for_other_batches():
    m = init_from_numpy(Recurrent("gru", num_layers=2, bidirectional=True), 19).eval()
    _check_sizes(m, lambda t, b: (torch.randn(t, b, 4),), ["x"], {"x": {0: "seq", 1: "batch"}},
                 sizes=[(1, 1), (6, 4), (3, 2)])


class TrilOfOnes(nn.Module):
    """A causal mask built in forward from the length (tril of ones), and a triu of the scores."""

    def forward(self, x):
        t = x.size(1)
        mask = torch.ones(t, t).tril()
        att = (x @ x.transpose(1, 2)).masked_fill(mask == 0, float("-inf")).softmax(-1)
        return att @ x + torch.triu(x @ x.transpose(1, 2), diagonal=1).sum(-1, keepdim=True)


@pytest.mark.parametrize("opset", [13, 20])
def test_masks_built_from_the_length(opset):
    _check_sizes(TrilOfOnes(), lambda t, b: (torch.randn(b, t, 3),), ["x"], {"x": {0: "b", 1: "t"}},
                 opset_version=opset)


class Reductions(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 6, batch_first=True)

    def forward(self, x):
        out, _ = self.gru(x)
        vals, idx = out.max(dim=1)
        return (out.mean(dim=1), out[:, -1, :], vals, idx, out.min(dim=-1).values, out.amin(dim=1),
                out.var(dim=1), out.std(dim=(0, 1), unbiased=False), torch.logsumexp(out, dim=1),
                out.cumsum(dim=1), out.gather(1, idx.unsqueeze(1)))


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 5)
        self.prelu = nn.PReLU()
        self.acts = [nn.SiLU(), nn.Mish(), nn.LeakyReLU(0.2), nn.ELU(0.7), nn.SELU(), nn.CELU(1.3),
                     nn.Hardtanh(-0.5, 0.4), nn.Hardsigmoid(), nn.Hardswish(), nn.Softplus(2.0, 1.0), nn.LogSigmoid(),
                     nn.Threshold(0.1, -2.0), nn.ReLU6(), nn.GELU(), nn.Tanh(), nn.Sigmoid()]

    def forward(self, x):
        h = self.fc(x) * 3
        outs = [a(h) for a in self.acts] + [self.prelu(h)]
        return torch.stack(outs, 1)


class Shapes(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3)
        self.gn = nn.GroupNorm(2, 4)
        self.inorm = nn.InstanceNorm2d(4, affine=True)
        self.prelu = nn.PReLU(4)

    def forward(self, x):
        y = self.prelu(self.inorm(self.gn(self.conv(F.pad(x, (1, 2, 0, 1))))))
        y = torch.flip(y, (1, 3)).repeat(1, 2, 1, 1)
        return F.pad(y, (1, 1), value=0.5), y.flatten(1).unsqueeze(0).squeeze(0)


class Vision(nn.Module):
    """Transposed convolution, upsampling, pools (ceil mode, adaptive), F.normalize and a size used as a number,
    at other batch sizes, heights and widths."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x):
        y = F.relu(self.bn(self.conv(x)))
        p = F.avg_pool2d(self.up(y) + F.interpolate(y[:, :2], scale_factor=2, mode="nearest"), 2)
        z = F.adaptive_avg_pool2d(F.max_pool2d(p, 3, 2, ceil_mode=True), (1, 1)).flatten(1)
        return F.normalize(p.flatten(2), dim=-1) * p.size(3), z / x.size(2)


@pytest.mark.parametrize("which", ["reductions", "activations", "shapes", "vision"])
def test_more_layers_at_other_sizes(which):
    rng = np.random.default_rng(20)
    if which == "reductions":
        m, make = Reductions(), lambda t, b: (torch.from_numpy(rng.standard_normal((b, t, 4)).astype(np.float32)),)
        axes = {"x": {0: "b", 1: "t"}}
    elif which == "activations":
        m, make = Activations(), lambda t, b: (torch.from_numpy(rng.standard_normal((b, t, 5)).astype(np.float32)),)
        axes = {"x": {0: "b", 1: "t"}}
    elif which == "shapes":
        m, make = Shapes(), lambda t, b: (torch.from_numpy(rng.standard_normal((b, 2, 6, t + 4)).astype(np.float32)),)
        axes = {"x": {0: "b", 3: "w"}}
    else:
        m = Vision()
        m.train()
        m(torch.randn(2, 3, 12, 12))  # running statistics of their own
        make = lambda t, b: (torch.from_numpy(rng.standard_normal((b, 3, 2 * t + 4, 2 * t)).astype(np.float32)),)  # noqa: E731
        axes = {"x": {0: "b", 2: "h", 3: "w"}}
    m = init_from_numpy(m, 21).eval()
    _check_sizes(m, make, ["x"], axes)


@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm", "gru", "lstm_proj"])
def test_recurrent_float64_as_scan(kind):
    # onnxruntime runs ONNX's RNN/GRU/LSTM in float32 only: float64 layers become Scans of PyTorch's cell
    m = init_from_numpy(Recurrent(kind, num_layers=2, bidirectional=True), 22).double().eval()
    rng = np.random.default_rng(23)
    sess = _session(m, (torch.from_numpy(rng.standard_normal((5, 3, 4))),), input_names=["x"],
                    dynamic_axes={"x": {0: "seq", 1: "batch"}})
    for t, b in [(5, 3), (8, 1), (2, 4)]:
        _run_at(sess, m, (torch.from_numpy(rng.standard_normal((t, b, 4))),), rtol=1e-12, atol=1e-12)


class PoolFlatten(nn.Module):
    def forward(self, x):
        return F.avg_pool2d(x, 2).flatten(1)  # 3 * (h // 2): a floor of the axis, which the graph cannot follow


def test_floor_of_an_axis_is_refused_not_guessed():
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match=r"'h' cannot be honoured: .*test_onnx_dynamic"):
        torch.onnx.export(PoolFlatten(), (torch.randn(2, 3, 8, 6),), input_names=["x"], dynamic_axes={"x": {2: "h"}})
    _check_sizes(PoolFlatten(), lambda t, b: (torch.randn(b, 3, 8, 6),), ["x"], {"x": {0: "b"}})
