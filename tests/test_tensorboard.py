"""torch.utils.tensorboard as dynagrad.utils.tensorboard: event files TensorBoard's own reader
(EventAccumulator) reads, with the contents PyTorch's SummaryWriter writes for the same calls.

Each comparison writes the same summaries with dynagrad's writer (dynagrad tensors) and, when PyTorch is
installed, with torch.utils.tensorboard (torch tensors holding the same numbers), then reads both logs back."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dynagrad
from dynagrad import nn
from dynagrad.utils.tensorboard import SummaryWriter

ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(logdir):
    acc = ea.EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0, "histograms": 0,
                                                          "tensors": 0, "audio": 0})
    acc.Reload()
    return acc


def _log(writer_cls, tensor, logdir):
    """The same calls on either framework's writer; ``tensor`` makes that framework's tensors."""
    rng = np.random.default_rng(0)
    vals = rng.standard_normal(1000).astype(np.float32)
    img = rng.random((3, 6, 10)).astype(np.float32)
    batch = rng.random((5, 1, 4, 4)).astype(np.float32)
    labels = (rng.random(64) > 0.5).astype(np.int64)
    preds = rng.random(64).astype(np.float32)
    snd = np.sin(np.arange(800, dtype=np.float32) / 7)
    with writer_cls(str(logdir)) as w:
        for step in range(4):
            w.add_scalar("loss", tensor(np.array(1.0 / (step + 1), np.float32)), step)
            w.add_scalar("plain", 0.25 * step, step)
            w.add_scalar("new", 2.0 * step, step, new_style=True)
        w.add_scalars("run", {"a": 1.0, "b": tensor(np.array(2.0, np.float32))}, 0)
        w.add_histogram("hist", tensor(vals), 0)
        w.add_histogram("hist10", vals, 1, bins=10)
        w.add_histogram("histmax", tensor(vals), 2, max_bins=20)
        w.add_image("chw", tensor(img), 0)
        w.add_image("hwc_uint8", (img.transpose(1, 2, 0) * 255).astype(np.uint8), 0, dataformats="HWC")
        w.add_image("hw", tensor(img[0]), 0, dataformats="HW")
        w.add_images("batch", tensor(batch), 0)
        w.add_text("note", "some **markdown**", 3)
        w.add_pr_curve("pr", tensor(labels), tensor(preds), 0)
        w.add_audio("snd", tensor(snd), 0, sample_rate=8000)
        w.add_custom_scalars_multilinechart(["loss", "plain"], title="both")
        w.add_hparams({"lr": 0.1, "bs": 32, "opt": "sgd", "flag": True}, {"hparam/acc": 0.75}, run_name="hp",
                      hparam_domain_discrete={"opt": ["sgd", "adam"]})


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    base = tmp_path_factory.mktemp("tb")
    _log(SummaryWriter, dynagrad.from_numpy, base / "dg")
    try:
        import torch
        from torch.utils.tensorboard import SummaryWriter as TorchWriter
    except ImportError:
        return _read(base / "dg"), None, base
    _log(TorchWriter, torch.from_numpy, base / "pt")
    return _read(base / "dg"), _read(base / "pt"), base


def test_event_files_are_read_by_tensorboard(logs):
    dg, _, _ = logs
    tags = dg.Tags()
    assert {"loss", "plain"} <= set(tags["scalars"])
    assert {"chw", "hwc_uint8", "hw", "batch"} <= set(tags["images"])
    assert {"hist", "hist10", "histmax"} <= set(tags["histograms"])
    assert {"note/text_summary", "pr", "custom_scalars__config__", "new"} <= set(tags["tensors"])
    assert tags["audio"] == ["snd"]
    assert [(e.step, round(e.value, 6)) for e in dg.Scalars("loss")] == [(0, 1.0), (1, 0.5), (2, 0.333333),
                                                                          (3, 0.25)]


def _same_tags(dg, pt):
    a, b = dg.Tags(), pt.Tags()
    for kind in ("scalars", "images", "histograms", "tensors", "audio"):
        assert sorted(a[kind]) == sorted(b[kind]), kind


def test_the_same_contents_as_pytorchs_writer(logs):
    dg, pt, base = logs
    if pt is None:
        pytest.skip("PyTorch is not installed")
    _same_tags(dg, pt)
    for tag in ("loss", "plain"):
        assert [(e.step, e.value) for e in dg.Scalars(tag)] == [(e.step, e.value) for e in pt.Scalars(tag)]
    for tag in ("hist", "hist10", "histmax"):
        h, g = dg.Histograms(tag)[0].histogram_value, pt.Histograms(tag)[0].histogram_value
        assert (h.min, h.max, h.num, h.bucket_limit, h.bucket) == (g.min, g.max, g.num, g.bucket_limit, g.bucket)
        assert h.sum == pytest.approx(g.sum, rel=1e-6) and h.sum_squares == pytest.approx(g.sum_squares, rel=1e-6)
    import io

    from PIL import Image
    for tag in ("chw", "hwc_uint8", "hw", "batch"):
        a, b = dg.Images(tag)[0], pt.Images(tag)[0]
        assert (a.width, a.height) == (b.width, b.height), tag
        pa = np.asarray(Image.open(io.BytesIO(a.encoded_image_string)))
        pb = np.asarray(Image.open(io.BytesIO(b.encoded_image_string)))
        np.testing.assert_array_equal(pa, pb, err_msg=tag)  # different PNG encoders, the same pixels
    for tag in ("note/text_summary", "pr", "custom_scalars__config__", "new"):
        a, b = dg.Tensors(tag)[0], pt.Tensors(tag)[0]
        assert a.step == b.step and a.tensor_proto == b.tensor_proto, tag
        assert dg.SummaryMetadata(tag) == pt.SummaryMetadata(tag), tag
    assert dg.Audio("snd")[0].encoded_audio_string == pt.Audio("snd")[0].encoded_audio_string
    # add_scalars: one run folder per curve, named as PyTorch names them
    assert sorted(p for p in os.listdir(base / "dg") if p.startswith("run_")) == ["run_a", "run_b"]
    assert sorted(p for p in os.listdir(base / "pt") if p.startswith("run_")) == ["run_a", "run_b"]
    # add_hparams: the three plugin summaries, byte for byte, and the metric as a scalar in the run folder
    hd, hp = _read(base / "dg" / "hp"), _read(base / "pt" / "hp")
    for tag in ("_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"):
        assert hd.SummaryMetadata(tag) == hp.SummaryMetadata(tag), tag
    assert [e.value for e in hd.Scalars("hparam/acc")] == [e.value for e in hp.Scalars("hparam/acc")] == [0.75]


def test_default_log_dir_and_comment_follow_pytorch(tmp_path, monkeypatch):
    import socket
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    (run,) = os.listdir(tmp_path / "runs")
    assert run.endswith("_" + socket.gethostname() + "_lr0.1") and w.get_logdir() == os.path.join("runs", run)
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path / "runs" / run))


def test_purge_step_flush_close_and_reopen(tmp_path):
    w = SummaryWriter(tmp_path, purge_step=5, filename_suffix=".dg", max_queue=1000, flush_secs=1000)
    w.add_scalar("x", 1.0, 5)
    w.flush()  # written although the queue is far from full
    files = [f for f in os.listdir(tmp_path) if f.startswith("events")]
    assert len(files) == 1 and files[0].endswith(".dg")
    assert [e.value for e in _read(tmp_path).Scalars("x")] == [1.0]
    w.close()
    w.close()  # twice is fine
    w.add_scalar("x", 2.0, 6)  # after close, a new event file
    w.close()
    assert [e.value for e in _read(tmp_path).Scalars("x")] == [1.0, 2.0]
    from tensorboard.backend.event_processing import event_file_loader
    path = os.path.join(tmp_path, sorted(f for f in os.listdir(tmp_path) if f.startswith("events"))[0])
    events = list(event_file_loader.EventFileLoader(path).Load())
    assert any(e.HasField("session_log") and e.session_log.status == 1 and e.step == 5 for e in events)


def test_dynagrad_tensors_wherever_numbers_go(tmp_path):
    t = dynagrad.tensor
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("s", t(1.5), global_step=t(3), walltime=t(1000.0))
        w.add_histogram_raw("raw", min=t(0.0), max=t(2.0), num=t(4), sum=t(3.0), sum_squares=t(5.0),
                            bucket_limits=t([1.0, 2.0]), bucket_counts=t([3, 1]), global_step=1)
        w.add_hparams({"lr": t(0.01)}, {"hparam/m": t(0.5)}, run_name="hp")
        w.add_pr_curve("pr", t([0, 1, 1]), t([0.1, 0.9, 0.6]), 0, weights=t([1.0, 2.0, 1.0]))
    acc = _read(tmp_path)
    (e,) = acc.Scalars("s")
    assert (e.step, e.value, e.wall_time) == (3, 1.5, 1000.0)
    h = acc.Histograms("raw")[0].histogram_value
    assert (h.num, list(h.bucket_limit), list(h.bucket)) == (4, [1.0, 2.0], [3.0, 1.0])
    assert [x.value for x in _read(tmp_path / "hp").Scalars("hparam/m")] == [0.5]


def test_bad_input_raises_pytorchs_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="one element"):
            w.add_scalar("x", dynagrad.ones(3))
        with pytest.raises(TypeError, match="should be dictionary"):
            w.add_hparams([("lr", 0.1)], {})
        with pytest.raises(ValueError, match="value should be one of"):
            w.add_hparams({"lr": [0.1]}, {"m": 1.0})
        with pytest.raises(AssertionError, match="size of input tensor and input format are different"):
            w.add_image("x", dynagrad.rand(3, 4, 4), dataformats="HWC1")
        with pytest.raises(ValueError, match="no element"):
            w.add_histogram("x", dynagrad.ones(0))
        with pytest.raises(AssertionError, match="#labels should equal"):
            w.add_embedding(dynagrad.randn(4, 2), metadata=["a"])


def test_add_graph_groups_ops_by_module_with_shapes(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.block = nn.Sequential(nn.ReLU(), nn.Linear(8, 3))
            self.register_buffer("scale", dynagrad.tensor(2.0))

        def forward(self, x):
            return self.block(self.fc1(x)) * self.scale

    net = Net()
    net.train()
    with SummaryWriter(tmp_path) as w:
        w.add_graph(net, dynagrad.randn(5, 4))
    assert net.training and all(m.training for m in net.modules())  # modes restored
    g = _read(tmp_path).Graph()
    nodes = {n.name: n for n in g.node}
    assert nodes["input/input.0"].op == "IO Node"
    assert nodes["Net/Linear[fc1]/weight"].op == "prim::GetAttr"
    (fc1,) = [n for n in g.node if n.name.startswith("Net/Linear[fc1]/") and n.op.startswith("aten::")]
    assert "input/input.0" in fc1.input and "Net/Linear[fc1]/weight" in fc1.input
    assert [d.size for d in fc1.attr["_output_shapes"].list.shape[0].dim] == [5, 8]
    assert any(n.startswith("Net/Sequential[block]/ReLU[0]/") for n in nodes)
    assert any(n.startswith("Net/Sequential[block]/Linear[1]/") for n in nodes)
    mul = [n for n in g.node if n.name.startswith("Net/mul")]
    assert mul and "Net/scale" in mul[0].input
    out = nodes["output/output.0"]
    assert out.input == [mul[0].name] and [d.size for d in out.attr["_output_shapes"].list.shape[0].dim] == [5, 3]


def test_add_graph_reports_a_model_that_fails(tmp_path):
    class Broken(nn.Module):
        def forward(self, x):
            return x @ dynagrad.ones(7, 2)

    with SummaryWriter(tmp_path) as w:
        with pytest.raises(RuntimeError, match="add_graph could not run the model"):
            w.add_graph(Broken(), dynagrad.ones(2, 3))


def test_add_embedding_writes_the_projector_files(tmp_path):
    mat = dynagrad.randn(6, 3)
    with SummaryWriter(tmp_path) as w:
        w.add_embedding(mat, metadata=[f"p{i}" for i in range(6)], label_img=dynagrad.rand(6, 3, 4, 4), tag="emb")
        w.add_embedding(mat, metadata=[[i, i % 2] for i in range(6)], metadata_header=["id", "odd"], global_step=1)
    rows = (tmp_path / "00000" / "emb" / "tensors.tsv").read_text().splitlines()
    np.testing.assert_allclose(np.array([r.split("\t") for r in rows], float), mat.numpy(), rtol=1e-6)
    assert (tmp_path / "00000" / "emb" / "metadata.tsv").read_text().split() == [f"p{i}" for i in range(6)]
    assert (tmp_path / "00001" / "default" / "metadata.tsv").read_text().splitlines()[0] == "id\todd"
    from PIL import Image
    with Image.open(tmp_path / "00000" / "emb" / "sprite.png") as im:
        assert im.size == (12, 12)  # 6 thumbnails in a 3x3 square of 4-pixel images
    config = (tmp_path / "projector_config.pbtxt").read_text()
    from google.protobuf import text_format
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig
    parsed = text_format.Parse(config, ProjectorConfig())
    assert [e.tensor_name for e in parsed.embeddings] == ["emb:00000", "default:00001"]
    assert parsed.embeddings[0].sprite.image_path == "00000/emb/sprite.png"
    assert list(parsed.embeddings[0].sprite.single_image_dim) == [4, 4]


def test_images_with_boxes_video_and_figures(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_image_with_boxes("boxes", dynagrad.zeros(3, 20, 30), dynagrad.tensor([[2.0, 3.0, 15.0, 18.0]]), 0,
                               labels=["cat"])
        pytest.importorskip("PIL")
        w.add_video("clip", dynagrad.rand(2, 3, 3, 8, 8), 0, fps=2)
    acc = _read(tmp_path)
    import io

    from PIL import Image
    box = np.asarray(Image.open(io.BytesIO(acc.Images("boxes")[0].encoded_image_string)))
    assert box.shape == (20, 30, 3) and (box[3, 5] == [255, 0, 0]).all() and (box[10, 10] == 0).all()
    clip = Image.open(io.BytesIO(acc.Images("clip")[0].encoded_image_string))
    assert clip.format == "GIF" and clip.n_frames == 3 and clip.size == (16, 8)  # 2 clips side by side


SCRIPT = textwrap.dedent("""
    import sys
    import torch
    import torch.nn as nn
    from torch.utils.tensorboard import SummaryWriter

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.linspace(-1, 1, 48).reshape(16, 3)
    y = x.sum(1, keepdim=True) ** 2
    writer = SummaryWriter(sys.argv[1])
    writer.add_graph(model, x)
    for step in range(20):
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        writer.add_scalar("Loss/train", loss.item(), step)
        if step % 10 == 0:
            for name, p in model.named_parameters():
                writer.add_histogram(name, p, step)
                writer.add_histogram(name + ".grad", p.grad, step)
    writer.add_hparams({"lr": 0.1}, {"hparam/loss": loss.item()})
    writer.close()
    print(f"loss {loss.item():.6f}")
""")


def test_an_unmodified_tensorboard_script_under_dynagrad_run(tmp_path):
    script = tmp_path / "tb_loop.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=ROOT)
    ours = subprocess.run([sys.executable, "-m", "dynagrad.cli", "run", str(script), str(tmp_path / "dg")],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert ours.returncode == 0, ours.stderr
    dg = _read(tmp_path / "dg")
    assert [e.step for e in dg.Scalars("Loss/train")] == list(range(20))
    assert {"0.weight", "0.weight.grad", "2.bias"} <= set(dg.Tags()["histograms"]) and dg.Tags()["graph"]
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    theirs = subprocess.run([sys.executable, str(script), str(tmp_path / "pt")], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    assert float(ours.stdout.split()[1]) == pytest.approx(float(theirs.stdout.split()[1]), rel=1e-5)
    pt = _read(tmp_path / "pt")
    assert sorted(dg.Tags()["histograms"]) == sorted(pt.Tags()["histograms"])
    np.testing.assert_allclose([e.value for e in dg.Scalars("Loss/train")],
                               [e.value for e in pt.Scalars("Loss/train")], rtol=1e-5)
    a, b = dg.Histograms("0.weight")[0].histogram_value, pt.Histograms("0.weight")[0].histogram_value
    assert (a.num, a.bucket) == (b.num, b.bucket) and a.min == pytest.approx(b.min, rel=1e-6)


def test_importing_the_writer_does_not_import_torch():
    code = ("import sys\nfrom dynagrad.utils.tensorboard import SummaryWriter\n"
            "assert 'torch' not in sys.modules or sys.modules['torch'] is None, 'torch was imported'\n"
            "assert 'torch' not in sys.modules, 'the torch import block was left behind'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("n", [0, 1, 9, 2047, 2048, 2049, 4096, 9001, 65537])
def test_crc32c_matches_the_byte_loop(n):
    from tensorboardX.crc32c import _crc32c as byte_loop
    from tensorboardX.record_writer import masked_crc32c

    from dynagrad.utils.tensorboard import _crc32c
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert _crc32c.crc32c(data) == byte_loop(data)
    assert _crc32c.masked_crc32c(data) == masked_crc32c(data)
