"""bfloat16's NumPy type comes from ml_dtypes, which is slow to import (about 0.5 s for 0.7), so dynagrad
imports it only when a program first touches bfloat16. Each check runs in a fresh interpreter, since this
test session has imported ml_dtypes already."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "torch"


def _run(body: str) -> str:
    script = "import sys\nimport dynagrad\n" + textwrap.dedent(body)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=os.path.dirname(os.path.abspath(__file__)))
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_import_and_float32_training_leave_ml_dtypes_unloaded():
    out = _run("""
        import dynagrad.nn as nn
        m = nn.Linear(3, 2)
        m(dynagrad.randn(4, 3)).sum().backward()
        print("ml_dtypes" in sys.modules, dynagrad.bfloat16, dynagrad.bfloat16.itemsize,
              dynagrad.bfloat16.is_floating_point)
    """)
    assert out == "False torch.bfloat16 2 True"


def test_first_use_loads_it():
    out = _run("""
        t = dynagrad.tensor([1.0, 2.5]).bfloat16()
        print("ml_dtypes" in sys.modules, t.dtype, t.is_floating_point(), t.tolist(), (t * 2).dtype)
    """)
    assert out == "True torch.bfloat16 True [1.0, 2.5] torch.bfloat16"


def test_arrays_made_by_ml_dtypes_convert():
    out = _run("""
        import ml_dtypes, numpy as np
        t = dynagrad.from_numpy(np.ones(3, dtype=ml_dtypes.bfloat16))
        print(t.dtype, dynagrad.promote_types(t.dtype, dynagrad.float16))
    """)
    assert out == "torch.bfloat16 torch.float32"


def test_autocast_loads_it():
    out = _run("""
        with dynagrad.autocast("cpu"):
            y = dynagrad.randn(2, 3) @ dynagrad.randn(3, 4)
        print(y.dtype)
    """)
    assert out == "torch.bfloat16"


def test_saving_and_loading_bfloat16_in_a_fresh_process(tmp_path):
    path = tmp_path / "bf16.dg"
    _run(f"""
        dynagrad.save({{"w": dynagrad.arange(4.0).bfloat16()}}, {str(path)!r})
    """)
    out = _run(f"""
        sd = dynagrad.load({str(path)!r})
        print("ml_dtypes" in sys.modules, sd["w"].dtype, sd["w"].tolist())
    """)
    assert out == "True torch.bfloat16 [0.0, 1.0, 2.0, 3.0]"


def test_loading_a_torch_checkpoint_with_bfloat16_in_a_fresh_process():
    out = _run(f"""
        zoo = dynagrad.load({str(FIXTURES / "dtypes.pt")!r})
        legacy = dynagrad.load({str(FIXTURES / "dtypes_legacy.pt")!r})
        print(zoo["bfloat16"].dtype, legacy["bfloat16"].dtype)
    """)
    assert out == "torch.bfloat16 torch.bfloat16"
