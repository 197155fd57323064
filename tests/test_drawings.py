"""What the pictures say: graph drawings labelled with the module that ran each op and the user's own line
(never a launcher's), rendered or explained; the training-curve PNG with and without matplotlib; the PNG
encoder, checked by decoding with Pillow."""
import os
import runpy
import shutil
import sys

import numpy as np
import pytest

import dynagrad
from dynagrad import _plot, _png, _source, nn, viz
from dynagrad.autograd import state
from dynagrad.nn.modules import module as module_mod


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x).tanh() * 2  # tanh and mul run in Block's own forward


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.blocks = nn.Sequential(Block(), nn.ReLU())

    def forward(self, x):
        return self.blocks(self.fc1(x)).sum(1)


def _ops(root):
    """{node name: [module label, ...]} over the graph behind ``root``."""
    out, stack, seen = {}, [root.grad_fn], set()
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen or not hasattr(n, "next_functions"):
            continue
        seen.add(id(n))
        out.setdefault(n.name(), []).append(viz.module_of(n))
        stack.extend(t for t, _ in n.next_functions)
    return out


def test_record_modules_labels_each_op_with_its_module():
    net = Net()
    x = dynagrad.randn(2, 3)
    y = dynagrad.tensor([0.5, 1.0])
    with viz.record_modules(net):
        loss = nn.MSELoss()(net(x), y)
    ops = _ops(loss)
    assert ops["AddmmBackward0"] == ["blocks.0.fc (Linear)", "fc1 (Linear)"] or \
        sorted(ops["AddmmBackward0"]) == ["blocks.0.fc (Linear)", "fc1 (Linear)"]
    assert ops["TanhBackward0"] == ["blocks.0 (Block)"] and "blocks.0 (Block)" in ops["MulBackward0"]
    assert ops["ReluBackward0"] == ["blocks.1 (ReLU)"]
    assert [v for k, v in ops.items() if k.startswith("Sum")] == [["Net"]]  # the root's own op: its class
    assert ops["SubBackward0"] == ["MSELoss"]  # a module outside the model: its class alone
    mmd = viz.to_mermaid(loss, params=dict(net.named_parameters()))
    assert "TanhBackward0<br/>blocks.0 (Block)<br/>(2, 4) float32<br/>test_drawings.py:" in mmd
    dot = viz.make_dot(loss).source
    assert "ReluBackward0\\nblocks.1 (ReLU)\\n" in dot
    # nothing is left installed, and ops after the block carry no label
    assert module_mod._global_call_hooks == 0 and state.record_hook is None
    assert viz.module_of((net(x) * 3).grad_fn) is None


def test_record_modules_without_a_model_and_with_another_record_hook():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid())
    seen = []
    state.record_hook = seen.append  # e.g. activation checkpointing's
    try:
        with viz.record_modules():
            out = net(dynagrad.ones(1, 2))
        assert state.record_hook == seen.append
    finally:
        state.record_hook = None
    assert viz.module_of(out.grad_fn) == "1 (Sigmoid)" and len(seen) == 2  # the earlier hook still ran


def test_record_modules_pops_on_an_exception():
    class Bad(nn.Module):
        def forward(self, x):
            raise ValueError("no")

    net = nn.Sequential(nn.Linear(2, 2), Bad())
    with viz.record_modules(net) as rec:
        with pytest.raises(ValueError):
            net(dynagrad.ones(1, 2))
        assert rec._stack == []
        out = nn.Linear(2, 1)(dynagrad.ones(1, 2, requires_grad=True))
    assert viz.module_of(out.grad_fn) == "Linear"


def test_the_users_line_skips_console_script_wrappers_and_runpy(tmp_path):
    # pip's wrapper for the `dynagrad` command: a __main__ module calling dynagrad.cli.main
    wrapper = tmp_path / "bin" / "dynagrad"
    wrapper.parent.mkdir()
    wrapper.write_text("import sys\nfrom dynagrad.cli import main\nimport dynagrad._source as s\n"
                       "where = s.user_frame(1)\n")
    g = {"__name__": "__main__"}
    exec(compile(wrapper.read_text(), str(wrapper), "exec"), g)
    assert g["where"][0] == __file__  # the wrapper is skipped; the next frame out is this test
    g = {}
    exec(compile("import dynagrad._source as s\nwhere = s.user_frame(1)\n", runpy.__file__, "exec"), g)
    assert g["where"][0] == __file__
    # a user's script is the user's, whatever it is called
    script = tmp_path / "train.py"
    script.write_text("import dynagrad._source as s\nwhere = s.user_frame(1)\n")
    assert runpy.run_path(str(script))["where"] == (str(script), 2)
    # dynagrad train's program counts as the user's; the rest of the package does not
    assert _source._skip(sys._getframe()) is False
    assert _source._PKG + "_train.py" in _source._PROGRAMS


def test_save_drawings_renders_with_graphviz_or_says_how(tmp_path, monkeypatch):
    w = dynagrad.ones(3, requires_grad=True)
    loss = (w * 2).sum()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = viz.save_drawings(loss, str(tmp_path / "g"), params={"w": w})
    assert out["rendered"] == [] and os.path.exists(out["dot"]) and os.path.exists(out["mmd"])
    assert "mermaid.live" in out["hint"] and f"dot -Tsvg {tmp_path / 'g.dot'} -o {tmp_path / 'g.svg'}" in out["hint"]
    monkeypatch.undo()
    if shutil.which("dot") is None:
        return
    out = viz.save_drawings(loss, str(tmp_path / "h"), params={"w": w}, formats=("svg", "png"))
    assert out["hint"] is None and out["rendered"] == [str(tmp_path / "h.svg"), str(tmp_path / "h.png")]
    assert (tmp_path / "h.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "h.png").read_bytes()[:8] == _png.PNG_SIGNATURE


HISTORY = [{"epoch": e, "loss": 2 / e, "test_loss": 2.2 / e, "train_acc": 1 - 0.5 / e, "test_acc": 1 - 0.6 / e}
           for e in range(1, 9)]


def test_training_curves_without_matplotlib(tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    path = tmp_path / "curves.png"
    assert _plot.training_curves(HISTORY, str(path), "mlp: 8 epochs") == "dynagrad"
    with Image.open(path) as im:
        im.load()
        px = np.asarray(im.convert("RGB"))
    assert px.shape[1] > 800 and px.shape[0] > 300
    for colour in _plot.PALETTE[:2]:  # both series are drawn, in their colours
        assert (np.abs(px.astype(int) - colour).sum(-1) < 30).sum() > 100, colour
    assert (px < 80).all(-1).sum() > 500  # dark pixels: axes and text


def test_training_curves_with_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    Image = pytest.importorskip("PIL.Image")
    path = tmp_path / "curves.png"
    assert _plot.training_curves(HISTORY, str(path)) == "matplotlib"
    with Image.open(path) as im:
        assert im.size == (900, 360)


def test_nice_ticks_and_text():
    assert _plot.nice_ticks(0.0, 1.0) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert _plot.nice_ticks(0.43, 0.99) == [0.4, 0.6, 0.8, 1.0]
    assert _plot.nice_ticks(3.0, 3.0)[0] <= 3.0 <= _plot.nice_ticks(3.0, 3.0)[-1]
    c = _plot.Canvas(60, 20)
    c.text(0, 0, "aZ%~")  # a character without a glyph draws as '?', never fails
    assert (c.px < 255).any()


@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4])
def test_png_encoder_round_trips_through_pillow(channels):
    Image = pytest.importorskip("PIL.Image")
    import io
    rng = np.random.default_rng(channels or 0)
    shape = (7, 13) if channels is None else (7, 13, channels)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    data = _png.encode_png(img)
    assert _png.png_size(data) == (13, 7)
    with Image.open(io.BytesIO(data)) as im:
        back = np.asarray(im)
    np.testing.assert_array_equal(back.reshape(img.shape), img)


def test_png_encoder_rejects_bad_images():
    with pytest.raises(TypeError, match="uint8"):
        _png.encode_png(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="C in 1..4"):
        _png.encode_png(np.zeros((2, 2, 5), np.uint8))
    with pytest.raises(ValueError, match="not a PNG"):
        _png.png_size(b"GIF89a" + b"\0" * 30)
