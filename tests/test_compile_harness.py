"""The differential harness (``dynagrad run --compile-check``): every example and every conformance program
runs eagerly and with each top-level module call compiled, and the two runs must agree (module outputs,
final parameters and buffers, printed output). Long programs are cut after a fixed number of top-level
calls (both runs at the same point) or given small sizes, to keep CI short."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dynagrad.compile import harness

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFORMANCE = "/work/shared/conformance/programs"

# example -> (arguments, max top-level calls or None); small sizes, same code paths
EXAMPLES = {
    "actor_critic_cartpole.py": (["--episodes", "2"], 60),
    "char_lstm.py": ([], 6),
    "cnn_digits.py": (["--epochs", "1"], 30),
    "compile_mlp.py": ([], None),
    "convnet.py": (["--steps", "3"], None),
    "ddp_digits.py": (["--epochs", "1"], 30),
    "dqn_cartpole.py": ([], 120),
    "grad_accumulation.py": ([], 30),
    "linear_regression.py": ([], 100),
    "mlp_digits.py": ([], 30),
    "reinforce_cartpole.py": (["--episodes", "2"], 60),
    "resnet.py": (["--steps", "2", "--batch", "2"], None),
    "rnn_classifier.py": ([], 30),
    "seq2seq_gru.py": ([], 30),
    "transformer_copy.py": (["--steps", "4"], 20),
}
PROGRAMS = {"c09_dqn_cartpole.py": 300, "c03_mlp_digits.py": 400}  # cut short (the others run whole)


OUTPUT_DIFFERS = {"compile_mlp.py"}  # prints how many programs it compiled and their code


def _check(script, args=(), max_calls=None, cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               DYNAGRAD_COMPILE_CHECK_PARALLEL="1")  # the two runs side by side, in their own folders
    if os.path.basename(script) in OUTPUT_DIFFERS:
        env["DYNAGRAD_COMPILE_CHECK_OUTPUT"] = "0"
    cmd = [sys.executable, "-m", "dynagrad.cli", "run", "--compile-check"] + \
        (["--max-calls", str(max_calls)] if max_calls else []) + [script, *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)


def test_every_example_is_listed():
    assert sorted(EXAMPLES) == sorted(f for f in os.listdir(os.path.join(ROOT, "examples")) if f.endswith(".py"))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_compiled_matches_eager(name, tmp_path):
    if "cartpole" in name:
        pytest.importorskip("gymnasium")
    args, cap = EXAMPLES[name]
    p = _check(os.path.join(ROOT, "examples", name), args, cap, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "agree" in p.stderr


def _programs():
    if not os.path.isdir(CONFORMANCE):
        return []
    return sorted(f for f in os.listdir(CONFORMANCE) if f.endswith(".py") and not f.startswith("_"))


@pytest.mark.parametrize("name", _programs() or [pytest.param("none", marks=pytest.mark.skip("no conformance"))])
def test_conformance_program_compiled_matches_eager(name, tmp_path):
    if "cartpole" in name:
        pytest.importorskip("gymnasium")
    p = _check(os.path.join(CONFORMANCE, name), (), PROGRAMS.get(name), cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "agree" in p.stderr and ("RESULT" in p.stdout or name in PROGRAMS)


def test_the_check_finds_a_difference(tmp_path):
    script = tmp_path / "differs.py"
    script.write_text(
        "import torch\n"
        "class M(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return x * (2.0 if torch.compiler.is_compiling() else 3.0)\n"
        "m = M()\n"
        "for i in range(3):\n"
        "    print(m(torch.ones(2)).sum().item())\n")
    p = _check(str(script), cwd=tmp_path)
    assert p.returncode == 1
    assert "call 0 (M#0) output" in p.stderr and "output line 1: '6.0' eagerly, '4.0' compiled" in p.stderr


def test_text_comparison():
    assert harness.same_text("epoch 3 loss 0.1235 (12.5 s)", "epoch 3 loss 0.1234 (9.1 s)")
    assert harness.same_text("146.0 ms per step", "98.3 ms per step")
    assert not harness.same_text("loss 0.1235", "loss 0.1250")
    assert not harness.same_text("accuracy 97.5%", "accuracy 96.5%")
    assert not harness.same_text("predicted: cat", "predicted: dog")


def test_record_comparison():
    rec = {"calls": [{"module": "Linear#0", "out": {"shape": [2], "dtype": "float32", "sum": 3.0, "abs": 3.0,
                                                    "sample": [1.0, 2.0]}}],
           "final": {"Linear#0.weight": {"shape": [2], "dtype": "float32", "sum": 1.0, "abs": 1.0,
                                          "sample": [0.5, 0.5]}}}
    same = json.loads(json.dumps(rec))
    assert harness.compare(rec, same, "a\n", "a\n") == []
    other = json.loads(json.dumps(rec))
    other["calls"][0]["out"]["sample"][1] = 2.01
    assert "call 0 (Linear#0) output: element 1" in harness.compare(rec, other, "", "")[0]
    other = json.loads(json.dumps(rec))
    other["final"]["Linear#0.weight"]["sample"][0] = 0.6
    assert "final Linear#0.weight" in harness.compare(rec, other, "", "")[0]
