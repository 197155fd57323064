"""dynagrad.onnx.export: onnxruntime runs the exported seed models with the same outputs."""
from __future__ import annotations

import io

import numpy as np
import pytest

import dynagrad as torch
from tests.compile_models import MLP, RNN, ConvNet, ResNet, Seq2Seq, Transformer, init_from_numpy

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

rng = np.random.default_rng(0)


def _export(model, args, **kw):
    buf = io.BytesIO()
    proto = torch.onnx.export(model, args, buf, **kw).model_proto
    return proto, ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])


def _check(model, args, feed_args=None, **kw):
    proto, sess = _export(model, args, **kw)
    feed_args = feed_args or args
    outs = sess.run(None, {i.name: a.numpy() for i, a in zip(sess.get_inputs(), feed_args)})
    with torch.no_grad():
        ref = model(*feed_args)
    ref = ref if isinstance(ref, tuple) else (ref,)
    assert len(outs) == len(ref)
    for o, r in zip(outs, ref):
        np.testing.assert_allclose(o, r.numpy(), rtol=1e-4, atol=1e-5)
    return proto


def _ops(proto):
    return {n.op_type for n in proto.graph.node}


def test_mlp():
    proto = _check(init_from_numpy(MLP(), 1), (torch.randn(8, 64),), input_names=["x"], output_names=["logits"])
    assert proto.ir_version <= 13 and proto.opset_import[0].version == 20  # torch.onnx's default
    assert "Gemm" in _ops(proto) and "Relu" in _ops(proto)
    assert [i.name for i in proto.graph.input] == ["x"] and proto.graph.output[0].name == "logits"
    assert {"fc1.weight", "fc3.bias"} <= {t.name for t in proto.graph.initializer}


def test_mlp_dynamic_batch_and_file(tmp_path):
    m = init_from_numpy(MLP(), 2)
    path = tmp_path / "mlp.onnx"
    torch.onnx.export(m, (torch.randn(8, 64),), str(path), input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 64)
    np.testing.assert_allclose(sess.run(None, {"x": x.numpy()})[0], m(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_convnet():
    proto = _check(init_from_numpy(ConvNet(), 4), (torch.randn(2, 3, 32, 32),))
    assert "Conv" in _ops(proto)


def test_resnet_eval():
    m = init_from_numpy(ResNet(width=8), 5)
    m.train()
    m(torch.randn(2, 3, 112, 112))  # some running statistics
    m.eval()
    proto = _check(m, (torch.randn(2, 3, 112, 112),))
    assert {"BatchNormalization", "MaxPool", "AveragePool"} <= _ops(proto)


def test_rnn_classifier_dynamic_batch():
    m = init_from_numpy(RNN(), 6)
    args = (torch.randn(4, 12, 4), torch.zeros(1, 4, 32))
    other = (torch.randn(7, 12, 4), torch.randn(1, 7, 32))
    proto = _check(m, args, other, input_names=["x", "h"], dynamic_axes={"x": {0: "b"}, "h": {1: "b"}})
    assert "RNN" in _ops(proto)


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_transformer(opset):
    m = init_from_numpy(Transformer(), 8).eval()
    src = torch.from_numpy(rng.integers(0, 10, (3, 32)))
    proto = _check(m, (src,), opset_version=opset)
    assert {"Softmax", "Gather"} <= _ops(proto)
    assert ("LayerNormalization" in _ops(proto)) == (opset >= 17)


def test_seq2seq_inference_gru_cells():
    m = init_from_numpy(Seq2Seq(), 7).eval()
    proto = _check(m, (torch.randn(2, 4, 6),))
    assert "GRU" in _ops(proto)


def test_training_mode_batchnorm_is_refused():
    m = ResNet(width=8).train()
    with pytest.raises(RuntimeError, match="eval"):
        torch.onnx.export(m, (torch.randn(2, 3, 112, 112),), io.BytesIO())
