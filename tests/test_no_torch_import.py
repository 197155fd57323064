"""dynagrad never imports PyTorch: importing it and running a training step leaves ``torch`` out of
sys.modules (checked in a fresh interpreter, since this test session may have imported torch itself)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    import dynagrad as torch

    torch.manual_seed(0)
    # a training step on the core: parameters, forward, loss, backward, an update under no_grad
    w = torch.randn(4, 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    x, target = torch.randn(8, 4), torch.randint(0, 3, (8,))
    logits = (x @ w + b).relu()
    loss = -logits.log_softmax(1)[torch.arange(8), target].mean()
    loss.backward()
    with torch.no_grad():
        for p in (w, b):
            p -= 0.1 * p.grad
            p.grad = None
    repr(loss); loss.item(); w.tolist()

    # and through the higher-level API, when it is there
    try:
        import dynagrad.nn as nn
        import dynagrad.optim as optim
    except ImportError:
        nn = None
    if nn is not None:
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = optim.SGD(model.parameters(), lr=0.1)
        out = nn.functional.cross_entropy(model(x), target)
        opt.zero_grad()
        out.backward()
        opt.step()

    leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
    print("LEAKED" if leaked else "CLEAN", leaked)
""")


def _run(extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                          env=env, cwd=os.path.dirname(os.path.abspath(__file__)))


def test_training_step_leaves_torch_out_of_sys_modules():
    res = _run()
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().startswith("CLEAN"), res.stdout + res.stderr


def test_works_where_torch_cannot_be_imported():
    # a `torch` that fails to import, first on the path: dynagrad must not need it anywhere
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "torch.py"), "w") as f:
            f.write("raise ImportError('torch is not available here')\n")
        res = _run({"PYTHONPATH": d + os.pathsep + os.environ.get("PYTHONPATH", "")})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().startswith("CLEAN"), res.stdout + res.stderr
