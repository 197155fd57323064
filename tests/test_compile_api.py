"""torch.compile's surface as scripts use it, compared with PyTorch 2.13 where it is installed: what
torch.compile returns for modules and functions, OptimizedModule's state_dict keys and attributes,
Module.compile, the backend/mode/options/fullgraph/disable arguments and their errors, torch.compiler and
torch._dynamo functions, and the config modules."""
from __future__ import annotations

import copy
import os
import subprocess
import sys

import numpy as np
import pytest

import dynagrad as torch
import dynagrad._dynamo
import dynagrad._inductor.config
import dynagrad.nn as nn
from tests.helpers import torch as pt

if pt is not None:  # the oracle's modules (importlib: an import statement would rebind the name torch)
    import importlib
    importlib.import_module("torch._dynamo")
    importlib.import_module("torch._inductor.config")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _torch_state_kept():
    """PyTorch's compile turns its distributions' argument validation off process-wide: put it back, so
    the later tests that use PyTorch as their oracle see the defaults."""
    if pt is None:
        yield
        return
    validate = pt.distributions.Distribution._validate_args
    yield
    pt.distributions.Distribution.set_default_validate_args(validate)


def _both(fn):
    """fn(lib) for dynagrad and, where installed, PyTorch."""
    return fn(torch), (fn(pt) if pt is not None else None)


def test_compiled_module_is_an_optimized_module_with_orig_mod_keys():
    def make(lib):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
        c = lib.compile(m)
        c.eval()
        out = {"type": type(c).__name__, "keys": list(c.state_dict()), "orig": c._orig_mod is m,
               "names": [n for n, _ in c.named_parameters()], "same": all(a is b for a, b in zip(c.parameters(),
                                                                                          m.parameters())),
               "training": (m.training, c.training), "len": len(c), "repr": repr(c).splitlines()[:2],
               "modules": [n for n, _ in c.named_modules()], "is_module": isinstance(c, lib.nn.Module)}
        c.flag = 3  # set on the original module, as PyTorch's OptimizedModule does
        out["forwarded"] = getattr(m, "flag", None)
        with lib.no_grad():
            out["value"] = c(lib.ones(2, 3)).sum().item()
        return out
    ours, theirs = _both(make)
    assert ours["type"] == "OptimizedModule" and ours["keys"][0] == "_orig_mod.0.weight" and ours["orig"]
    if theirs is not None:
        assert ours["value"] == pytest.approx(theirs.pop("value"), rel=1e-6)
        ours.pop("value")
        assert ours == theirs


def test_state_dict_round_trip_and_deepcopy():
    m = nn.Linear(3, 2)
    c = torch.compile(m)
    sd = c.state_dict()
    m2 = nn.Linear(3, 2)
    c2 = torch.compile(m2)
    c2.load_state_dict(sd)
    np.testing.assert_array_equal(m2.weight.detach().numpy(), m.weight.detach().numpy())
    with pytest.raises(RuntimeError, match="Missing key"):
        c2.load_state_dict(m.state_dict())  # keys without the prefix, as PyTorch refuses them
    d = copy.deepcopy(c)
    assert type(d).__name__ == "OptimizedModule" and d._orig_mod is not m
    x = torch.randn(4, 3)
    np.testing.assert_array_equal(d(x).detach().numpy(), c(x).detach().numpy())
    with torch.no_grad():
        d._orig_mod.weight.zero_()
    assert not np.array_equal(d(x).detach().numpy(), c(x).detach().numpy())  # its own parameters


def test_module_compile_in_place():
    def make(lib):
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 2)
        r = m.compile()
        return {"returns": r, "keys": list(m.state_dict()), "type": type(m).__name__,
                "value": m(lib.ones(1, 3)).sum().item()}
    ours, theirs = _both(make)
    assert ours["returns"] is None and ours["keys"] == ["weight", "bias"]
    if theirs is not None:
        assert ours["value"] == pytest.approx(theirs.pop("value"), rel=1e-6)
        ours.pop("value")
        assert ours == theirs
    m = nn.Linear(3, 2)
    m.compile()
    m(torch.ones(1, 3))
    assert len(m.forward.programs) == 1


def test_functions_decorators_and_the_eager_backends():
    @torch.compile
    def f(x):
        return x + 1

    @torch.compile(dynamic=False, mode="max-autotune")
    def g(x):
        return x * 2
    assert f(torch.ones(1)).tolist() == [2.0] and g(torch.ones(1)).tolist() == [2.0]
    assert f.__name__ == "f" and len(f.programs) == 1
    for backend in ("eager", "aot_eager"):
        e = torch.compile(lambda x: x * 3, backend=backend)
        assert e(torch.ones(1)).tolist() == [3.0] and not e.programs
        assert type(torch.compile(nn.Linear(2, 2), backend=backend)).__name__ == "OptimizedModule"
    for mode in ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"):
        assert torch.compile(lambda x: x - 1, mode=mode)(torch.ones(1)).tolist() == [0.0]
    m = nn.Linear(2, 2)
    assert torch.compile(m, disable=True) is m
    if pt is not None:
        pm = pt.nn.Linear(2, 2)
        assert pt.compile(pm, disable=True) is pm


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the error is what the test compares
        return type(e).__name__, [c.__name__ for c in type(e).__mro__], str(e).splitlines()[0]
    return None


@pytest.mark.parametrize("case", ["backend", "mode", "mode_and_options", "option"])
def test_argument_errors_are_pytorchs(case):
    def call(lib):
        m = lib.nn.Linear(2, 2)
        kw = {"backend": {"backend": "not_a_backend"}, "mode": {"mode": "fast"},
              "mode_and_options": {"mode": "default", "options": {"max_autotune": True}},
              "option": {"options": {"no_such_option": 1}}}[case]
        return _error(lambda: lib.compile(m, **kw)(lib.ones(1, 2)))
    ours, theirs = _both(call)
    assert ours is not None and "RuntimeError" in ours[1]
    if theirs is not None:
        assert ours[0] == theirs[0]
        if case == "option":
            assert ours[2].startswith("Unexpected optimization option no_such_option, known options are")
        elif case == "mode":
            assert ours[2].replace(", lite", "") == theirs[2].replace(", lite", "")
        else:
            assert ours[2] == theirs[2]


def test_fullgraph_raises_unsupported_at_a_graph_break():
    def call(lib):
        @lib.compile(fullgraph=True)
        def k(x):
            return x * 2 if x.sum() > 0 else -x
        return _error(lambda: k(lib.ones(2)))
    ours, theirs = _both(call)
    assert ours[0] == "Unsupported" and "RuntimeError" in ours[1]
    assert isinstance(torch._dynamo.exc.Unsupported("x"), torch._dynamo.exc.TorchDynamoException)
    if theirs is not None:
        assert ours[0] == theirs[0] and ours[1][:3] == theirs[1][:3]


def test_compiler_disable_reset_and_is_compiling(capsys):
    seen = []

    @torch.compiler.disable
    def log(x):
        seen.append(torch.compiler.is_compiling())
        print("value", x.sum().item())

    @torch.compile
    def f(x):
        log(x)
        return x * 2
    for v in (1.0, 2.0):
        assert f(torch.full((2,), v)).tolist() == [2 * v] * 2
    assert capsys.readouterr().out.splitlines() == ["value 2.0", "value 4.0"]
    assert not f.programs and "torch.compiler.disable" in f.events[-1]["reason"]
    g = torch.compile(lambda x: x + 1)
    g(torch.ones(1))
    assert len(g.programs) == 1 and not torch.compiler.is_compiling()
    torch.compiler.reset()
    assert not g.programs
    g(torch.ones(1))
    torch._dynamo.reset()
    assert not g.programs
    if pt is not None:
        assert callable(pt.compiler.disable(lambda x: x)) and pt.compiler.is_compiling() is False


def test_config_modules():
    dc, ic = torch._dynamo.config, torch._inductor.config
    assert dc.cache_size_limit == 8 and dc.suppress_errors is False
    assert ic.coordinate_descent_tuning is False and ic.triton.unique_kernel_names is True
    for cfg, name in ((dc, "no_such_setting"), (ic, "no_such_setting"), (ic.triton, "no_such")):
        with pytest.raises(AttributeError, match="does not exist"):
            setattr(cfg, name, 1)
        with pytest.raises(AttributeError):
            getattr(cfg, name)
    ic.coordinate_descent_tuning = True
    ic.triton.unique_kernel_names = False
    ic.fx_graph_cache = True
    dc.suppress_errors = True
    assert ic.coordinate_descent_tuning is True and ic.triton.unique_kernel_names is False
    ic.coordinate_descent_tuning, ic.triton.unique_kernel_names, dc.suppress_errors = False, True, False
    old = dc.cache_size_limit
    try:
        dc.cache_size_limit = 2  # acts: two programs, then eagerly
        assert dc.recompile_limit == 2 and torch.compile.cache_size_limit == 2
        f = torch.compile(lambda x, n: x * n, dynamic=False)
        for n in range(4):
            assert f(torch.ones(1), n).tolist() == [float(n)]
        assert len(f.programs) == 2
        with dc.patch(cache_size_limit=5):
            assert torch.compile.cache_size_limit == 5
        assert torch.compile.cache_size_limit == 2
    finally:
        dc.cache_size_limit = old
    if pt is not None:
        for key in ("cache_size_limit", "suppress_errors", "capture_scalar_outputs", "automatic_dynamic_shapes",
                    "optimize_ddp", "verbose"):
            assert getattr(dc, key) == getattr(pt._dynamo.config, key), key
        for key in ("coordinate_descent_tuning", "fx_graph_cache", "freezing", "max_autotune"):
            assert getattr(ic, key) == getattr(pt._inductor.config, key), key
        assert ic.triton.cudagraphs == pt._inductor.config.triton.cudagraphs


def test_mark_dynamic_and_automatic_dynamic_shapes():
    with torch._dynamo.config.patch(automatic_dynamic_shapes=False):
        f = torch.compile(lambda x: (x * 2).sum(0))
        for n in (5, 9, 4):
            f(torch.randn(n, 3))
        assert len(f.programs) == 3  # every size its own program
        g = torch.compile(lambda x: (x * 2).sum(0))
        for n in (5, 9, 4):
            x = torch.randn(n, 3)
            torch._dynamo.mark_dynamic(x, 0)
            np.testing.assert_allclose(g(x).numpy(), (x * 2).sum(0).numpy(), rtol=1e-6)
        assert len(g.programs) == 2 and any(e.dynamic for e in g.entries)  # symbolic from the second size


def test_module_imports_under_dynagrad_run(tmp_path):
    script = tmp_path / "imports.py"
    script.write_text("import torch\nimport torch._dynamo\nimport torch._inductor.config\n"
                      "from torch._dynamo.eval_frame import OptimizedModule\n"
                      "torch._dynamo.config.cache_size_limit = 64\n"
                      "torch._inductor.config.coordinate_descent_tuning = True\n"
                      "torch._dynamo.config.suppress_errors = True\n"
                      "m = torch.compile(torch.nn.Linear(2, 2))\n"
                      "print(isinstance(m, OptimizedModule), torch._dynamo.config.cache_size_limit)\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "dynagrad.cli", "run", str(script)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "True 64"


def test_compiling_a_ddp_model_on_two_ranks():
    import importlib.util

    from dynagrad.distributed import launch
    if importlib.util.find_spec("mpi4py") is None or launch.find_mpiexec() is None:
        pytest.skip("MPI is not installed")
    script = os.path.join(ROOT, "tests", "distributed", "ddp_compile.py")
    p = subprocess.run([sys.executable, "-m", "dynagrad.distributed.launch", "-n", "2", script], cwd=ROOT,
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rank 0: compiled ddp OK" in p.stdout and "rank 1: compiled ddp OK" in p.stdout
