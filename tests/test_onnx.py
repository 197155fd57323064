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
    before = {k: v.clone() for k, v in m.state_dict().items()}
    with pytest.raises(RuntimeError, match="eval"):
        torch.onnx.export(m, (torch.randn(2, 3, 112, 112),), io.BytesIO())
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match=r"batch norm in training mode.*model.eval\(\)"):
        torch.onnx.export(m, (torch.randn(2, 3, 112, 112),), input_names=["x"], dynamic_axes={"x": {0: "b"}})
    # the traces ran the model, but its running statistics and counters are as they were
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k


# -- torch.onnx.export's signature and results ---------------------------------------------------------------------

_TORCH_PARAMS = ["model", "args", "f", "kwargs", "verbose", "input_names", "output_names", "opset_version", "dynamo",
                 "external_data", "dynamic_shapes", "custom_translation_table", "report", "optimize", "verify",
                 "profile", "dump_exported_program", "artifacts_dir", "export_params", "keep_initializers_as_inputs",
                 "dynamic_axes", "training", "operator_export_type", "do_constant_folding", "custom_opsets",
                 "export_modules_as_functions", "autograd_inlining"]  # PyTorch 2.13's, in order


def test_signature_matches_torch():
    import inspect
    ours = inspect.signature(torch.onnx.export).parameters
    assert list(ours) == _TORCH_PARAMS
    try:
        import torch as real_torch
    except ImportError:
        return
    theirs = inspect.signature(real_torch.onnx.export).parameters
    assert list(ours) == list(theirs)
    for name, p in theirs.items():
        assert ours[name].kind == p.kind, name
        if isinstance(p.default, (bool, int, str, type(None))):
            assert ours[name].default == p.default, name


class TwoArgs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x, scale=None):
        y = self.fc(x)
        return y * scale if scale is not None else y


def test_returns_onnx_program_path_file_object_and_none(tmp_path):
    m = init_from_numpy(TwoArgs(), 3)
    x = torch.randn(2, 4)
    prog = torch.onnx.export(m, (x,))  # no file: the program only
    assert isinstance(prog, torch.onnx.ONNXProgram) and prog.model_proto.graph.node
    ref = m(torch.ones(2, 4)).detach().numpy()
    np.testing.assert_allclose(prog(torch.ones(2, 4))[0].numpy(), ref, rtol=1e-5, atol=1e-6)
    prog.save(tmp_path / "a.onnx")
    buf = io.BytesIO()
    prog.save(buf)
    assert onnx.load(str(tmp_path / "a.onnx")) == onnx.load_from_string(buf.getvalue())
    assert torch.onnx.export(m, (x,), tmp_path / "b.onnx", dynamo=False) is None  # a PathLike, legacy result
    sess = ort.InferenceSession(str(tmp_path / "b.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: np.ones((2, 4), np.float32)})[0], ref,
                               rtol=1e-5, atol=1e-6)


def test_kwargs_and_dynamic_shapes_by_parameter_name():
    m = init_from_numpy(TwoArgs(), 4)
    x, s = torch.randn(2, 4), torch.randn(2, 1)
    dims = {"x": {0: "batch"}, "scale": {0: "batch"}}
    try:
        from torch.export import Dim  # PyTorch's own Dim objects are accepted too
        dims = {"x": {0: Dim("batch")}, "scale": (Dim("batch"), None)}
    except ImportError:
        pass
    prog = torch.onnx.export(m, (x,), kwargs={"scale": s}, dynamic_shapes=dims, input_names=["x", "scale"])
    inputs = prog.model_proto.graph.input
    assert [d.dim_param or d.dim_value for d in inputs[0].type.tensor_type.shape.dim] == ["batch", 4]
    sess = ort.InferenceSession(prog.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x5, s5 = torch.randn(5, 4), torch.randn(5, 1)
    np.testing.assert_allclose(sess.run(None, {"x": x5.numpy(), "scale": s5.numpy()})[0],
                               m(x5, scale=s5).detach().numpy(), rtol=1e-5, atol=1e-6)
    # a tuple with one entry per argument, and the legacy trailing dict of keyword arguments
    prog = torch.onnx.export(m, (x, {"scale": s}), dynamic_shapes=(["b", None], {0: "b"}), dynamo=True)
    assert prog.model_proto.graph.input[1].type.tensor_type.shape.dim[0].dim_param == "b"
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match=r"fails at other sizes \(b=3\).*mul of shapes"):
        torch.onnx.export(m, (x, {"scale": s}), dynamic_shapes=([None, None], {0: "b"}))  # x's batch left static
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match="not arguments of the model's forward"):
        torch.onnx.export(m, (x,), dynamic_shapes={"y": {0: "b"}})


def test_export_params_false_and_initializers_as_inputs():
    m = init_from_numpy(MLP(), 9)
    x = torch.randn(3, 64)
    proto = torch.onnx.export(m, (x,), export_params=False, input_names=["x"]).model_proto
    names = [i.name for i in proto.graph.input]
    assert names[0] == "x" and "fc1.weight" in names and "fc1.weight" not in {t.name for t in proto.graph.initializer}
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    sd = {k: v.numpy() for k, v in m.state_dict().items()}
    feed = {"x": x.numpy(), **{n: sd[n] for n in names[1:]}}
    np.testing.assert_allclose(sess.run(None, feed)[0], m(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    proto = torch.onnx.export(m, (x,), keep_initializers_as_inputs=True).model_proto
    assert {t.name for t in proto.graph.initializer} <= {i.name for i in proto.graph.input}


def test_old_opset_exports_at_13_with_a_warning(caplog):
    # tutorials ask for opset 10-12; PyTorch 2.13 warns and keeps a newer opset when it cannot convert
    with caplog.at_level("WARNING", logger="dynagrad.onnx"):
        prog = torch.onnx.export(TwoArgs(), (torch.randn(1, 4),), opset_version=11)
    assert prog.model_proto.opset_import[0].version == 13 and "opset_version 11" in caplog.text


def test_bad_arguments():
    m = TwoArgs()
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match="opset_version 30"):
        torch.onnx.export(m, (torch.randn(1, 4),), opset_version=30)
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match="out of range"):
        torch.onnx.export(m, (torch.randn(1, 4),), input_names=["x"], dynamic_axes={"x": {2: "b"}})
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match="2 input_names for 1"):
        torch.onnx.export(m, (torch.randn(1, 4),), input_names=["x", "y"])


class StateIn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 4)

    def forward(self, x, hc):
        return self.rnn(x, hc)


def test_default_input_names_are_forward_parameters_and_unknown_axes_are_refused():
    m = init_from_numpy(StateIn(), 10).eval()
    args = (torch.randn(5, 2, 3), (torch.randn(1, 2, 4), torch.randn(1, 2, 4)))
    axes = {"x": {0: "seq", 1: "batch"}, "hc_0": {1: "batch"}, "hc_1": {1: "batch"}}
    prog = torch.onnx.export(m, args, dynamic_axes=axes)
    assert [i.name for i in prog.model_proto.graph.input] == ["x", "hc_0", "hc_1"]
    sess = ort.InferenceSession(prog.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x, h, c = torch.randn(7, 3, 3), torch.randn(1, 3, 4), torch.randn(1, 3, 4)
    outs = sess.run(None, {"x": x.numpy(), "hc_0": h.numpy(), "hc_1": c.numpy()})
    y, (hn, cn) = m(x, (h, c))
    for o, r in zip(outs, (y, hn, cn)):
        np.testing.assert_allclose(o, r.detach().numpy(), rtol=1e-4, atol=1e-5)
    # a name that is no input or output: PyTorch warns and exports a fixed axis; dynagrad refuses
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match=r"dynamic_axes names \['input'\]"):
        torch.onnx.export(m, args, dynamic_axes={"input": {0: "seq"}})


def test_training_mode_and_verify():
    m = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(3))
    m[2].eval()  # a frozen submodule: its own flag comes back as it was
    x = torch.randn(4, 3)
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match=r"dropout in training mode.*model.eval\(\)"):
        torch.onnx.export(m, (x,))  # dynamo=True keeps the model's mode, as PyTorch's dynamo exporter
    buf = io.BytesIO()
    assert torch.onnx.export(m, (x,), buf, dynamo=False, verify=True) is None  # legacy: eval mode for the export
    assert m.training and m[1].training and not m[2].training
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    m.eval()
    np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0], m(x).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(torch.onnx.errors.OnnxExporterError, match="TRAINING is not supported"):
        torch.onnx.export(m, (x,), training=torch.onnx.TrainingMode.TRAINING, dynamo=False)
    prog = torch.onnx.export(m, (x,), verify=True)
    prog.optimize()
    assert torch.onnx.TrainingMode.EVAL == 0 and torch.onnx.OperatorExportTypes.ONNX == 0


SCRIPT = '''
import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn


class RNNModel(nn.Module):  # the word language model example's shape
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(30, 8)
        self.rnn = nn.LSTM(8, 12, 2, dropout=0.2)
        self.decoder = nn.Linear(12, 30)

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.encoder(input), hidden)
        return self.decoder(output), hidden


torch.manual_seed(0)
model = RNNModel()
hidden = (torch.zeros(2, 4, 12), torch.zeros(2, 4, 12))
dummy = torch.randint(0, 30, (6, 4))
torch.onnx.export(model, (dummy, hidden), "model.onnx", export_params=True, opset_version=11,
                  do_constant_folding=True, input_names=["input", "h0", "c0"], output_names=["output", "hn", "cn"],
                  dynamic_axes={"input": {0: "seq", 1: "batch"}, "h0": {1: "batch"}, "c0": {1: "batch"},
                                "output": {0: "seq", 1: "batch"}}, dynamo=False)
model.eval()
sess = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
x = torch.randint(0, 30, (9, 3))
h = (torch.randn(2, 3, 12), torch.randn(2, 3, 12))
outs = sess.run(None, {"input": x.numpy(), "h0": h[0].numpy(), "c0": h[1].numpy()})
with torch.no_grad():
    ref, (hn, cn) = model(x, h)
print("max error", max(float(np.abs(o - r.numpy()).max()) for o, r in zip(outs, (ref, hn, cn))))
'''


def test_pytorch_export_script_under_dynagrad_run(tmp_path):
    import os
    import subprocess
    import sys
    (tmp_path / "export.py").write_text(SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-m", "dynagrad.cli", "run", "export.py"], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    err = float(r.stdout.split("max error")[-1])
    assert err < 1e-5
