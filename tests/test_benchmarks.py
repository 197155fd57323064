"""The benchmark command's machinery (no timings are asserted): alternation and settling between thread
pools, the README table written from its JSON, and a quick smoke run of the command itself."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench_blas, harness, readme
from tests.helpers import HAVE_TORCH, torch

ROOT = Path(__file__).resolve().parent.parent


def test_time_case_alternates_and_settles_only_between_pools(monkeypatch):
    events, sleeps = [], []
    monkeypatch.setattr(harness.time, "sleep", sleeps.append)
    fns = {fw: (lambda fw=fw: events.append(fw)) for fw in ("dynagrad", "torch", "numpy")}
    res = harness.time_case("x", fns, number=2, repeats=3, warmup=1)
    assert {fw: len(t) for fw, t in res.times.items()} == {"dynagrad": 3, "torch": 3, "numpy": 3}
    # per repeat: torch follows dynagrad (another pool) and numpy follows torch; numpy -> dynagrad shares
    assert len(sleeps) == 6 and all(s == harness.SETTLE_S for s in sleeps)
    timed = events[3:]  # after the warm-ups
    assert timed[:3] == ["dynagrad"] * 3  # an untimed call when the pool changes, then two timed
    assert timed[3:6] == ["torch"] * 3 and timed[6:9] == ["numpy"] * 3
    assert timed[9:11] == ["dynagrad"] * 2  # same pool as numpy: no untimed call


def _fake_results() -> dict:
    t = {"median_s": 2e-3, "min_s": 1e-3, "repeats_s": [2e-3]}
    return {
        "environment": {"cpus": 2, "numpy": "2.x", "torch": "2.13.0", "python": "3.11",
                        "blas": [{"internal_api": "openblas", "version": "0.3", "architecture": "Haswell"}]},
        "results": [{"name": "MLP step", "dynagrad": t, "torch": {**t, "median_s": 4e-3},
                     "ratio_vs_torch": {"dynagrad": 0.5}}],
        "peak_memory": {"dynagrad": {"peak_kb": 1024 * 100}, "torch": {"peak_kb": 1024 * 200}},
        "import_seconds": {"numpy": 0.05, "dynagrad": 0.15},
        "blas_threads": [{"shape": "MLP fc1 forward, batch 64: 64x784 @ 784x128", "condition": "quiet",
                          "threads": 2, "one_thread_s": 2e-4, "all_threads_s": 1e-4}],
    }


def test_readme_table_is_the_json(tmp_path, monkeypatch):
    text = readme.render(_fake_results())
    assert "| MLP step | 2.00 ms | 4.00 ms | 0.50x | - | - |" in text
    assert "dynagrad 100 MiB, torch 200 MiB (0.50x PyTorch's)" in text
    assert "`import dynagrad` 0.15 s" in text and "0.50x (quiet)" in text and "Haswell" in text
    (tmp_path / "README.md").write_text(f"intro\n{readme.START}\nold table\n{readme.END}\nrest\n")
    (tmp_path / "r.json").write_text(json.dumps(_fake_results()))
    monkeypatch.setattr(readme, "ROOT", tmp_path)
    assert readme.main([str(tmp_path / "r.json")]) == 0
    out = (tmp_path / "README.md").read_text()
    assert "old table" not in out and out.startswith("intro\n") and out.endswith(f"{readme.END}\nrest\n")
    assert "| MLP step |" in out


def test_readme_table_shows_each_thread_count_side_by_side():
    data = _fake_results()
    one = data["results"][0]
    two = {**one, "threads": 2, "dynagrad": {**one["dynagrad"], "median_s": 3e-3}, "ratio_vs_torch": {"dynagrad": 0.75},
           "numpy": one["dynagrad"]}
    data["results"] = [{**one, "threads": 1}, two]
    data["peak_memory_models"] = {"nanoGPT step": {"dynagrad": {"peak_kb": 1024 * 60, "before_kb": 1},
                                                   "torch": {"peak_kb": 1024 * 300, "before_kb": 1}}}
    text = readme.render(data)
    assert "| dynagrad 1 thread | PyTorch 1 thread | dynagrad / PyTorch 1 thread | dynagrad 2 threads |" in text
    assert "| MLP step | 2.00 ms | 4.00 ms | 0.50x | 3.00 ms | 4.00 ms | 0.75x | - | - |" in text
    assert "nanoGPT step (three steps, separate processes): dynagrad 60 MiB, torch 300 MiB (0.20x PyTorch's)" in text


def test_set_threads_gives_both_frameworks_the_count_and_follow_load_restores_the_pool():
    import dynagrad
    from dynagrad import _threads
    g = _threads._governor
    before, saved = _threads._blas_threads(), dict(vars(g))
    try:
        harness.set_threads(None, 1)
        assert dynagrad.get_num_threads() == 1 and not g.enabled
        harness.follow_load(before)
        assert _threads._blas_threads() == before and g.ceiling == g.current == before
    finally:
        _threads._set(before)
        vars(g).update(saved)


def test_blas_table_ratios():
    rows = _fake_results()["blas_threads"]
    assert "0.50x" in bench_blas.table(rows)


def test_the_command_runs_quick(tmp_path):
    out = tmp_path / "r.json"
    res = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "ops", "--quick", "--json", str(out),
                          "--threads", "1,2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert res.returncode == 0, res.stderr
    data = json.loads(out.read_text())
    assert data["environment"]["env_overrides"] == {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None}
    assert any(r["name"].startswith("tiny forward+backward") for r in data["results"])
    assert {r["threads"] for r in data["results"]} == {1, 2}
    assert "| benchmark" in res.stdout and "BLAS:" in res.stdout


def test_floor_counts_the_im2col_products_of_a_convolution():
    from benchmarks import bench_floor
    # 3x3, padding 1, stride 1 on 8x8: 8*8*8 positions, 16*9 patch rows, 32 filters
    gemms = bench_floor._im2col_gemms((8, 16, 8, 8), (32, 16, 3, 3), (1, 1), (1, 1), (1, 1), 1, True)
    assert gemms == [((512, 144), (144, 32)), ((144, 512), (512, 32)), ((512, 32), (32, 144))]
    # the first layer's input needs no gradient; stride 2 halves each side; groups split channels
    gemms = bench_floor._im2col_gemms((2, 4, 9, 9), (6, 2, 3, 3), (2, 2), (0, 0), (1, 1), 2, False)
    assert gemms == [((32, 18), (18, 3)), ((18, 32), (32, 3))] * 2


def test_floor_ratios_and_table():
    from benchmarks import bench_floor
    row = {"workload": "GPT step", "threads": 1, "products": 10, "distinct_shapes": 3, "dynagrad_step_s": 0.12,
           "torch_step_s": 0.1, "numpy_products_s": 0.06, "torch_products_s": 0.05}
    now, only, rest = bench_floor.ratios(row)
    assert (round(now, 6), round(only, 6), round(rest, 6)) == (1.2, 0.6, 1.1)
    assert "| GPT step | 1 | 10 | 100.00 ms | 50.00 ms | 60.00 ms | 1.20x | 0.60x | 1.10x |" in \
        bench_floor.table([row]).replace("  ", " ").replace("  ", " ")
    data = {**_fake_results(), "blas_floor": [row]}
    assert "| GPT step |" in readme.render(data) and "BLAS floor" in readme.render(data)


@pytest.mark.skipif(not HAVE_TORCH, reason="the floor reads PyTorch's profiler")
def test_floor_finds_a_steps_products_and_convolutions():
    from benchmarks import bench_floor
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Conv2d(4, 4, 3, padding=1),
                                torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 5))
    x = torch.randn(2, 1, 6, 6)

    def step():
        model.zero_grad()
        model(x).sum().backward()
    found = bench_floor.product_shapes(step, torch)
    convs = sorted(k for k in found if k[0] == "conv")
    assert convs == [("conv", (2, 1, 6, 6), (4, 1, 3, 3), (1, 1), (1, 1), (1, 1), 1, False),
                     ("conv", (2, 4, 6, 6), (4, 4, 3, 3), (1, 1), (1, 1), (1, 1), 1, True)]
    assert sum(v for k, v in found.items() if k[0] == "mm") >= 2  # the linear layer forward and its weight grad
    numpy_products, torch_products = bench_floor._product_fns(found, torch)
    numpy_products()
    torch_products()


def test_speed_compile_times_reports_the_first_call_above_a_steady_step():
    from benchmarks import bench_compile
    got = bench_compile.speed_compile_times(cases=[1])  # the LSTM LM: the quickest to build
    (name, row), = got.items()
    assert name.startswith("LSTM LM train step") and "error" not in row, row
    assert row["first_call_s"] > row["step_s"] > 0
    assert abs(row["compile_s"] - (row["first_call_s"] - row["step_s"])) < 1e-9
