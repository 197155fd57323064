"""``dynagrad run`` runs a program as ``python`` would (argv, ``__file__``, ``__main__``, ``sys.path[0]``,
``-m`` with relative imports, exit status, tracebacks of the program's own errors), aliases ``torch`` in the
processes it starts, and ends a run that needs a missing PyTorch API with one sentence naming it."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
ENV.pop("DYNAGRAD_RUN_TRACEBACK", None)


def _write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _run(cwd, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "dynagrad.cli", "run", *args], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=timeout)


def test_program_sees_what_python_gives_it(tmp_path):
    _write(tmp_path, "helper.py", "VALUE = 7\n")
    _write(tmp_path, "prog.py", """
        import os, sys
        import torch
        import helper
        print(torch.__name__, sys.argv[1:], __name__, os.path.abspath(__file__) == os.path.abspath(sys.argv[0]))
        print(sys.path[0] == os.path.dirname(os.path.abspath(__file__)), helper.VALUE)
        if __name__ == "__main__":
            sys.exit(3)
    """)
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    proc = _run(sub, str(tmp_path / "prog.py"), "--lr", "0.1", "-m", "x")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.splitlines() == ["dynagrad ['--lr', '0.1', '-m', 'x'] __main__ True", "True 7"]


def test_exit_with_a_message_prints_it(tmp_path):
    _write(tmp_path, "bye.py", "import sys\nsys.exit('stopping here')\n")
    proc = _run(tmp_path, "bye.py")
    assert proc.returncode == 1 and proc.stderr.strip() == "stopping here"


def test_the_programs_own_error_prints_as_python_prints_it(tmp_path):
    _write(tmp_path, "bug.py", """
        import torch

        class Net(torch.nn.Module):
            def forward(self, x):
                return self.fc3(x)

        def main():
            return {"a": 1}["b"]

        try:
            Net()(torch.ones(1))
        except AttributeError as e:
            print("caught:", e)
        main()
    """)
    proc = _run(tmp_path, "bug.py")
    plain = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['bug.py']; "
                            "exec(compile(open('bug.py').read().replace('import torch', 'import dynagrad as torch'),"
                            " 'bug.py', 'exec'))"], capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "caught: 'Net' object has no attribute 'fc3'\n"
    assert proc.stderr.startswith("Traceback (most recent call last):\n  File \"bug.py\", line 15, in <module>")
    assert "_run.py" not in proc.stderr and "runpy" not in proc.stderr and "dynagrad run:" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == "KeyError: 'b'" == plain.stderr.splitlines()[-1]


MISSING = {
    "module": ("import torch\nfrom torch.utils.not_a_module import Thing\n", 2,
               "uses the module torch.utils.not_a_module, which dynagrad does not implement."),
    "from_import": ("import torch\nfrom torch.nn import Frobnicator\n", 2,
                    "uses torch.nn.Frobnicator, which dynagrad does not implement."),
    "attribute": ("import torch\n\nx = torch.frobnicate(1)\n", 3,
                  "uses torch.frobnicate, which dynagrad does not implement."),
    "submodule_attribute": ("import torch.nn.functional as F\nF.relu6x(1)\n", 2,
                            "uses torch.nn.functional.relu6x (did you mean torch.nn.functional.relu6?), which "
                            "dynagrad does not implement."),
    "tensor_method": ("import torch\nt = torch.ones(2)\nt.frobnicate()\n", 3,
                      "uses Tensor.frobnicate, which dynagrad does not implement."),
    "class_attribute": ("import torch\nm = torch.nn.Linear(2, 2)\nm.frobnicate()\n", 3,
                        "uses torch.nn.Linear.frobnicate, which dynagrad does not implement."),
    "keyword": ("import torch\nimport torch.nn.functional as F\nF.cross_entropy(torch.zeros(2, 3),\n"
                "                torch.tensor([0, 1]), frobnicate=0.1)\n", 3,
                "uses the keyword argument frobnicate= of torch.nn.functional.cross_entropy, which dynagrad does "
                "not implement."),
    "keyword_of_class": ("import torch\ntorch.nn.Linear(2, 2, frobnicate=True)\n", 2,
                         "uses the keyword argument frobnicate= of torch.nn.Linear, which dynagrad does not "
                         "implement."),
    "optional_package": ("import sys\nsys.modules['onnx'] = None  # as if onnx were not installed\nimport torch\n"
                         "torch.onnx.export(torch.nn.Linear(2, 2), torch.ones(1, 2), 'm.onnx')\n", 4,
                         ": dynagrad.onnx.export needs the onnx package: pip install onnx"),
    "not_implemented": ("import torch\ns = torch.eye(2).to_sparse()\ns.exp()\n", 3,
                        ": Tensor.exp is not supported for sparse COO tensors"),
}


@pytest.fixture(scope="module")
def missing_runs(tmp_path_factory):
    """Every MISSING program, started at once (each is its own short process)."""
    procs = {}
    for case, (src, _, _) in MISSING.items():
        folder = tmp_path_factory.mktemp(case)
        (folder / "prog.py").write_text(src)
        procs[case] = subprocess.Popen([sys.executable, "-m", "dynagrad.cli", "run", "prog.py"], cwd=folder, env=ENV,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = {}
    for case, p in procs.items():
        out, err = p.communicate(timeout=180)
        done[case] = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    return done


@pytest.mark.parametrize("case", sorted(MISSING))
def test_a_missing_api_ends_in_one_sentence(missing_runs, case):
    _, line, sentence = MISSING[case]
    proc = missing_runs[case]
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"dynagrad run: prog.py, line {line}") and sentence in last, proc.stderr
    assert "Traceback" not in proc.stderr and "dynagrad/" not in proc.stderr
    assert f'File "prog.py", line {line}' in proc.stderr  # the line itself is shown above the sentence


def test_module_mode_runs_packages_with_relative_imports_and_pytest(tmp_path):
    _write(tmp_path, "app/__init__.py", "")
    _write(tmp_path, "app/model.py", "def build():\n    return 'built'\n")
    _write(tmp_path, "app/__main__.py", """
        import sys
        import torch
        from .model import build
        print(__name__, __package__, sys.argv[1:], build(), torch.__name__)
    """)
    proc = _run(tmp_path, "-m", "app", "a", "--b")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "__main__ app ['a', '--b'] built dynagrad"
    _write(tmp_path, "test_uses_torch.py", """
        import torch
        def test_it():
            assert torch.__name__ == "dynagrad" and torch.ones(3).sum().item() == 3
    """)
    proc = _run(tmp_path, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_uses_torch.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_child_processes_see_torch_as_dynagrad(tmp_path):
    _write(tmp_path, "parent.py", """
        import importlib.metadata
        import multiprocessing
        import subprocess
        import sys
        import torch

        CHECK = ("import importlib.metadata, torch, torchvision; "
                 "print(torch.__name__, torch.__version__ == importlib.metadata.version('torch'))")

        def child(q):
            import torch
            import torch.nn as nn
            q.put(f"{torch.__name__} {nn.Linear.__module__.split('.')[0]} {torch.ones(2).sum().item()}")

        if __name__ == "__main__":
            out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
            print("python -c:", out.stdout.strip(), out.stderr.strip()[-300:] or "ok")
            ctx = multiprocessing.get_context("spawn")
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(q,))
            p.start()
            print("spawned:", q.get(timeout=60))
            p.join()
            print("metadata:", importlib.metadata.version("torch") == torch.__version__)
    """)
    proc = _run(tmp_path, "parent.py", timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["python -c: dynagrad True ok", "spawned: dynagrad dynagrad 2.0",
                                        "metadata: True"]


def test_shim_covers_every_aliased_package():
    from dynagrad import _run
    from dynagrad.cli import TorchAlias
    for name in TorchAlias.PREFIXES:
        assert os.path.isfile(os.path.join(_run.SHIM_DIR, name, "__init__.py")), name
    import dynagrad
    meta = open(os.path.join(_run.SHIM_DIR, "torch-2.13.0.dist-info", "METADATA")).read()
    assert f"Version: {dynagrad.__version__}\n" in meta


def test_no_script_is_a_usage_error(tmp_path):
    proc = _run(tmp_path)
    assert proc.returncode == 2 and "give a script or -m module" in proc.stderr
    proc = _run(tmp_path, "missing.py")
    assert proc.returncode == 2 and "can't open file" in proc.stderr
