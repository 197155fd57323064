"""The ``dynagrad`` command end to end, in subprocesses: ``train`` (checkpoint, graph drawings, accuracy line)
for the three seed models, ``inspect`` on the checkpoint it wrote, and ``run`` on a small PyTorch script."""
import os
import re
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
    """One epoch of each seed model, the three trainings running at once."""
    out = tmp_path_factory.mktemp("train")
    procs = {m: subprocess.Popen([sys.executable, "-m", "dynagrad.cli", "train", "--model", m, "--epochs", "1",
                                  "--no-progress", "--out", str(out), "--logdir", str(out / "runs")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=out)
             for m in MODELS}
    done = {}
    for m, p in procs.items():
        stdout, stderr = p.communicate(timeout=120)
        done[m] = (p.returncode, stdout, stderr)
    return out, done


@pytest.mark.parametrize("model", MODELS)
def test_train_writes_checkpoint_drawings_and_accuracy(trained, model):
    out, done = trained
    code, stdout, stderr = done[model]
    assert code == 0, stderr
    m = re.search(r"^final test accuracy: (\d+\.\d\d)% \(", stdout, re.M)
    assert m and 10.0 < float(m.group(1)) <= 100.0, stdout  # one epoch: better than chance (10 classes)
    assert f"checkpoint: {out / (model + '.pt')}" in stdout

    ckpt = dynagrad.load(str(out / f"{model}.pt"))
    assert ckpt["model_name"] == model and ckpt["epoch"] == 1
    assert abs(ckpt["test_accuracy"] * 100 - float(m.group(1))) < 0.01
    from dynagrad import _train
    net = _train.MODELS[model][0](nn)
    net.load_state_dict(ckpt["model"])  # strict: every name and shape matches the model the command builds
    names = [name for name, _ in net.named_parameters()]
    assert names and set(names) <= set(ckpt["model"])
    assert len(ckpt["optimizer"]["state"]) == len(names)  # SGD with momentum: a buffer per parameter

    dot = (out / f"{model}_graph.dot").read_text()
    mmd = (out / f"{model}_graph.mmd").read_text()
    assert dot.startswith("digraph {") and mmd.startswith("flowchart BT")
    for name in names:  # every parameter is a labelled leaf of the drawing
        assert f'label="{name}\\n' in dot, name
        assert f'(["{name}<br/>' in mmd, name
    assert "NllLossBackward0" in dot and "NllLossBackward0" in mmd


def test_train_writes_tensorboard_logs(trained):
    pytest.importorskip("tensorboardX")
    out, _ = trained
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(out / "runs" / "mlp"))


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
    assert ckpt["model_name"] == "mlp" and ckpt["epoch"] == 1
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
