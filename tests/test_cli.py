"""The ``dynagrad`` command end to end, in subprocesses: ``train`` (checkpoint, drawings labelled with modules
and lines, training curves, TensorBoard logs, output without a terminal, a bar on one) for the three seed
models, ``inspect`` on the checkpoint it wrote, and ``run`` on a small PyTorch script."""
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import dynagrad
from dynagrad import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
MODELS = ("mlp", "cnn", "rnn")


def _cli(*args, cwd=None, **kw):
    return subprocess.run([sys.executable, "-m", "dynagrad.cli", *args], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=120, **kw)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Each seed model trained with the command's defaults (as the README quotes them), the three at once,
    with stdout and stderr pipes: no terminal, so no progress bars."""
    out = tmp_path_factory.mktemp("train")
    procs = {m: subprocess.Popen([sys.executable, "-m", "dynagrad.cli", "train", "--model", m, "--out", str(out),
                                  "--logdir", str(out / "runs")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=out)
             for m in MODELS}
    done = {}
    for m, p in procs.items():
        stdout, stderr = p.communicate(timeout=300)
        done[m] = (p.returncode, stdout, stderr)
    return out, done


def _written(stdout: str, what: str) -> list[str]:
    """The paths the final summary lists for ``what`` (e.g. "graph drawings")."""
    m = re.search(rf"^  {what}: +(.+?)(?:  \(.*)?$", stdout, re.M)
    assert m, (what, stdout)
    return [s.strip() for s in m.group(1).split(",")]


@pytest.mark.parametrize("model", MODELS)
def test_train_writes_checkpoint_drawings_and_accuracy(trained, model):
    out, done = trained
    code, stdout, stderr = done[model]
    assert code == 0, stderr
    m = re.search(r"^final test accuracy: (\d+\.\d\d)% \(15 epochs in \d+\.\ds, \d+\.\ds of CPU time\)$", stdout,
                  re.M)
    assert m and 90.0 < float(m.group(1)) <= 100.0, stdout
    assert _written(stdout, "checkpoint") == [str(out / f"{model}.pt")]

    ckpt = dynagrad.load(str(out / f"{model}.pt"))
    assert ckpt["model_name"] == model and ckpt["epoch"] == 15
    assert abs(ckpt["test_accuracy"] * 100 - float(m.group(1))) < 0.01
    from dynagrad import _train
    net = _train.MODELS[model][0](nn)
    net.load_state_dict(ckpt["model"])  # strict: every name and shape matches the model the command builds
    names = [name for name, _ in net.named_parameters()]
    assert names and set(names) <= set(ckpt["model"])
    assert len(ckpt["optimizer"]["state"]) == len(names)  # SGD with momentum: a buffer per parameter

    drawings = _written(stdout, "graph drawings")
    assert str(out / f"{model}_graph.dot") in drawings and str(out / f"{model}_graph.mmd") in drawings
    dot = (out / f"{model}_graph.dot").read_text()
    mmd = (out / f"{model}_graph.mmd").read_text()
    assert dot.startswith("digraph {") and mmd.startswith("flowchart BT")
    for name in names:  # every parameter is a labelled leaf of the drawing
        assert f'label="{name}\\n' in dot, name
        assert f'(["{name}<br/>' in mmd, name
    assert "NllLossBackward0" in dot and "NllLossBackward0<br/>CrossEntropyLoss<br/>" in mmd
    if shutil.which("dot"):
        svg = out / f"{model}_graph.svg"
        assert str(svg) in drawings and svg.read_text().lstrip().startswith("<?xml")
    else:
        assert "mermaid.live" in stdout and f"dot -Tsvg {out / (model + '_graph.dot')}" in stdout


# the module that ran each op, as the drawings label it: (op, module label), in the model's own names
LABELS = {"mlp": [("AddmmBackward0", "fc1 (Linear)"), ("ReluBackward0", "relu1 (ReLU)"),
                  ("AddmmBackward0", "fc3 (Linear)")],
          "cnn": [("ConvolutionBackward0", "conv1 (Conv2d)"), ("MaxPool2DWithIndicesBackward0", "pool (MaxPool2d)"),
                  ("AddmmBackward0", "fc2 (Linear)")],
          "rnn": [("AddmmBackward0", "fc (Linear)"), ("SelectBackward0", "RNNClassifier")]}


@pytest.mark.parametrize("model", MODELS)
def test_drawings_name_the_module_and_the_users_line(trained, model):
    out, done = trained
    assert done[model][0] == 0
    mmd = (out / f"{model}_graph.mmd").read_text()
    from dynagrad import _train
    ops = re.findall(r'\["(\w+Backward\d*)<br/>(.*?)"\]', mmd)
    assert ops
    for op, label in LABELS[model]:
        assert any(o == op and parts.startswith(label + "<br/>") for o, parts in ops), (op, label, mmd)
    lines = {int(n) for n in re.findall(r"_train\.py:(\d+)", mmd)}
    assert lines and "dynagrad:" not in mmd  # not the console-script wrapper's line
    src = open(_train.__file__).read().splitlines()
    for n in lines:  # each is a line of the training program that runs the model or the loss
        assert re.search(r"net\(|self\.(rnn|fc)\(|loss_fn\(", src[n - 1]), (n, src[n - 1])


def test_train_output_without_a_terminal_is_one_line_per_epoch(trained):
    _, done = trained
    for model, (code, stdout, stderr) in done.items():
        assert code == 0, stderr
        assert stderr == "", (model, stderr[:500])  # no bar frames
        assert len(stdout) + len(stderr) < 2048 * 15, model  # well under 2 KB per epoch
        rows = re.findall(r"^ +(\d+) \| +\d+\.\d{4} \| +\d+\.\d{4} \|", stdout, re.M)
        assert rows == [str(e) for e in range(1, 16)], stdout


def test_train_writes_a_png_of_the_training_curves(trained):
    out, done = trained
    for model, (code, stdout, _) in done.items():
        assert code == 0
        path = out / f"{model}_curves.png"
        assert _written(stdout, "training curves") == [str(path)]
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        PIL = pytest.importorskip("PIL.Image")
        with PIL.open(path) as im:
            im.load()  # decodes every row: a truncated or corrupt file raises
            assert im.size[0] > 400 and im.size[1] > 200 and im.mode in ("RGB", "RGBA")
            colours = {px for px in im.convert("RGB").getdata()}
        assert (255, 255, 255) in colours and len(colours) > 20  # a drawing, not a blank image
        try:
            import matplotlib  # noqa: F401 - the command runs in this interpreter's environment
            assert "pip install matplotlib" not in stdout
        except ImportError:  # drawn by the built-in plotter, and the summary says how to get matplotlib's
            assert "built-in plotter; `pip install matplotlib`" in stdout


def test_train_writes_tensorboard_logs_tensorboard_reads(trained):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    out, done = trained
    for model, (code, stdout, _) in done.items():
        assert code == 0
        (logdir,) = _written(stdout, "TensorBoard logs")
        assert os.path.basename(logdir).startswith(model + "_") and os.path.dirname(logdir) == str(out / "runs")
        assert f"tensorboard --logdir {out / 'runs'}" in stdout
        acc = ea.EventAccumulator(logdir, size_guidance={"scalars": 0, "histograms": 0})
        acc.Reload()
        tags = acc.Tags()
        assert {"Loss/train", "Loss/test", "Accuracy/train", "Accuracy/test", "Loss/train_batch"} <= \
            set(tags["scalars"])
        test_acc = acc.Scalars("Accuracy/test")
        assert [e.step for e in test_acc] == list(range(1, 16))
        final = float(re.search(r"^final test accuracy: (\d+\.\d\d)%", stdout, re.M).group(1))
        assert abs(test_acc[-1].value * 100 - final) < 0.006
        assert len(acc.Scalars("Loss/train_batch")) == 15 * 45  # ceil(1437 / 32) steps per epoch
        assert any(t.startswith("weights/") for t in tags["histograms"])
        graph = acc.Graph()
        names = {n.name for n in graph.node}
        assert "input/input.0" in names and "output/output.0" in names
        hp = ea.EventAccumulator(os.path.join(logdir, "hparams"))
        hp.Reload()
        assert "hparam/test_accuracy" in hp.Tags()["scalars"]


def test_readme_numbers_are_what_dynagrad_train_prints(trained):
    """The README's train block comes from benchmarks/train_results.json (tests/test_readme.py); here the
    recorded accuracies, parameter counts and epoch rows (all but their times) must be what the command
    prints now."""
    import json

    from benchmarks import train
    _, done = trained
    recorded = {r["model"]: r for r in json.load(open(train.RESULTS))["runs"]}
    for model, (code, stdout, stderr) in done.items():
        assert code == 0, stderr
        now = train.parse(stdout)
        rec = recorded[model]
        assert (now["parameters"], now["epochs"], now["test_accuracy"]) == \
            (rec["parameters"], rec["epochs"], rec["test_accuracy"]), model
        assert train.epoch_rows(stdout) == train.epoch_rows(rec["stdout"]), model


def test_train_help_shows_the_defaults():
    proc = _cli("train", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for default in ("(default: mlp)", "(default: 15)", "(default: 32)", "(default: 0.05)", "(default: 0.9)",
                    "(default: checkpoints)", "(default: runs)"):
        assert default in text, default


def test_train_refuses_bad_arguments_before_training():
    for args in (["--epochs", "0"], ["--batch-size", "-3"], ["--lr", "0"], ["--model", "vgg"]):
        proc = _cli("train", *args)
        assert proc.returncode == 2 and "dynagrad train: error: argument" in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_train_progress_bar_advances_per_batch_on_a_terminal(tmp_path):
    pty = pytest.importorskip("pty")
    import fcntl
    import select
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "dynagrad.cli", "train", "--epochs", "1", "--no-tensorboard",
                             "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=slave, env=ENV, cwd=tmp_path)
    os.close(slave)
    chunks = []
    while select.select([master], [], [], 60)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    stdout = proc.communicate(timeout=60)[0].decode()
    os.close(master)
    assert proc.returncode == 0
    frames = b"".join(chunks).decode(errors="replace").split("\r")
    counts = [int(m.group(1)) for f in frames if (m := re.search(r"\| *(\d+)/45 \[", f))]
    assert counts[-1] == 45 and len(set(counts)) >= 40, counts  # a frame per batch, not one per epoch
    assert any(re.search(r"loss=\d+\.\d{4}, [\d,]+ img/s", f) for f in frames)
    assert re.search(r"^ +1 \| ", stdout, re.M)  # and the epoch's row on stdout


def test_inspect_lists_the_checkpoint(trained):
    out, done = trained
    assert done["mlp"][0] == 0
    proc = _cli("inspect", str(out / "mlp.pt"))
    assert proc.returncode == 0, proc.stderr
    from dynagrad import _train
    net = _train.MODELS["mlp"][0](nn)
    for name, p in net.named_parameters():
        line = next((s for s in proc.stdout.splitlines() if s.split()[:1] == [f"model.{name}"]), None)
        assert line is not None, (name, proc.stdout)
        assert "float32" in line and str(list(p.shape)).replace(" ", "") in line.replace(" ", "")
    assert "optimizer.state.0.momentum_buffer" in proc.stdout
    assert "PyTorch zip" in proc.stdout and any(s.split()[:1] == ["epoch"] for s in proc.stdout.splitlines())


def test_train_checkpoint_is_read_by_pytorch(trained):
    torch = pytest.importorskip("torch")
    out, done = trained
    assert done["mlp"][0] == 0
    ckpt = torch.load(str(out / "mlp.pt"), weights_only=True)
    assert ckpt["model_name"] == "mlp" and ckpt["epoch"] == 15
    ours = dynagrad.load(str(out / "mlp.pt"))
    for k, v in ckpt["model"].items():
        assert (v.numpy() == ours["model"][k].numpy()).all(), k


def test_inspect_missing_file_fails_cleanly(tmp_path):
    proc = _cli("inspect", str(tmp_path / "nope.pt"))
    assert proc.returncode == 1 and "dynagrad inspect:" in proc.stderr and "Traceback" not in proc.stderr


def test_run_executes_a_torch_script(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent("""
        import sys
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        torch.manual_seed(0)
        steps = int(sys.argv[sys.argv.index("--steps") + 1])
        model = nn.Linear(1, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x = torch.linspace(-1, 1, 32).unsqueeze(1)
        y = 3 * x + 2
        for _ in range(steps):
            loss = F.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"{torch.__name__} w={model.weight.item():.2f} b={model.bias.item():.2f} loss={loss.item():.4f}")
        torch.save(model.state_dict(), "fit.pt")
    """))
    proc = _cli("run", str(script), "--steps", "300", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "dynagrad w=3.00 b=2.00" in proc.stdout, proc.stdout
    assert set(dynagrad.load(str(tmp_path / "fit.pt"))) == {"weight", "bias"}


def test_run_passes_the_exit_code(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text("import sys\nimport torch\nsys.exit(3 if torch.ones(1).item() == 1 else 0)\n")
    assert _cli("run", str(script)).returncode == 3
