"""Issue #8 pieces that live in the core: anomaly detection, errors naming user lines, graph drawings,
the profiler and the memory report."""
import shutil
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

import dynagrad
from dynagrad import memory, viz
from dynagrad.profiler import profile, record_function

HERE = __file__


def _line_of(text: str) -> int:
    with open(HERE) as f:
        for i, line in enumerate(f, 1):
            if text in line and "_line_of" not in line:
                return i
    raise AssertionError(text)


def _deep_model(x):
    h = x * 2
    for _ in range(5):
        h = h.tanh() + 1
    h = h - h  # exactly zero ...
    return (h.log() * 3).sum()  # MARK-log0: ... so log(0) = -inf and its gradient is inf


def test_anomaly_names_the_user_line_of_log0():
    x = dynagrad.ones(3, requires_grad=True)
    with dynagrad.autograd.detect_anomaly():
        loss = _deep_model(x)
        with pytest.raises(RuntimeError) as e:
            loss.backward()
    msg = str(e.value)
    assert "LogBackward0" in msg
    assert f"test_transparency.py:{_line_of('MARK-log0')}" in msg
    assert "Traceback of forward call" in msg and "_deep_model" in msg


def test_anomaly_off_means_no_check():
    x = dynagrad.ones(3, requires_grad=True)
    _deep_model(x).backward()  # inf gradients flow silently, as in PyTorch without anomaly mode
    assert not dynagrad.isfinite(x.grad).all()


def test_set_detect_anomaly_toggles():
    dynagrad.autograd.set_detect_anomaly(True)
    try:
        assert dynagrad.autograd.is_anomaly_enabled()
    finally:
        dynagrad.autograd.set_detect_anomaly(False)
    assert not dynagrad.autograd.is_anomaly_enabled()


def test_inplace_error_names_both_lines():
    a = dynagrad.randn(3, requires_grad=True)
    b = a.sigmoid()  # MARK-saved
    b.mul_(2)  # MARK-inplace
    with pytest.raises(RuntimeError) as e:
        b.sum().backward()
    msg = str(e.value)
    assert "modified by an inplace operation" in msg
    assert f"test_transparency.py:{_line_of('MARK-saved')}" in msg
    assert f"test_transparency.py:{_line_of('MARK-inplace')}" in msg


def test_freed_graph_error_names_the_earlier_backward():
    x = dynagrad.randn(3, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()  # MARK-first-backward
    with pytest.raises(RuntimeError) as e:
        y.backward()
    msg = str(e.value)
    assert "backward through the graph a second time" in msg
    assert f"test_transparency.py:{_line_of('MARK-first-backward')}" in msg


def _mlp_loss():
    nn = pytest.importorskip("dynagrad.nn")
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = dynagrad.randn(5, 4)
    y = dynagrad.tensor([0, 1, 2, 0, 1])
    return model, nn.functional.cross_entropy(model(x), y)


def test_make_dot_and_mermaid_name_every_parameter():
    model, loss = _mlp_loss()
    params = dict(model.named_parameters())
    dot = viz.make_dot(loss, params=params)
    mer = viz.to_mermaid(loss, params=params)
    for name in params:
        assert name in dot.source
        assert name in mer
    assert dot.source.count("->") >= 6
    assert "MmBackward0" in dot.source or "AddmmBackward0" in dot.source or "LinearBackward" in dot.source
    assert mer.startswith("flowchart BT")


def test_make_dot_shows_shapes_and_saved_values():
    w = dynagrad.randn(3, 4, requires_grad=True)
    x = dynagrad.randn(2, 3)
    out = (x @ w).relu().sum()
    src = viz.make_dot(out, params={"w": w}, show_saved=True).source
    assert "(2, 4) float32" in src and "saved (2, 3)" in src and "w\\n(3, 4) float32" in src


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_make_dot_renders_with_dot(tmp_path):
    w = dynagrad.randn(3, requires_grad=True)
    dot = viz.make_dot((w * 2).sum(), params={"w": w})
    path = dot.render(str(tmp_path / "g"), format="svg")
    assert open(path).read().lstrip().startswith("<?xml")


def test_graph_drawing_is_iterative_for_deep_graphs():
    x = dynagrad.ones(1, requires_grad=True)
    h = x
    for _ in range(3000):
        h = h * 1.0
    assert viz.to_mermaid(h).count("-->") >= 3000


def test_profiler_records_forward_and_backward_ops():
    x = dynagrad.randn(16, 16, requires_grad=True)
    with profile(record_shapes=True) as prof:
        with record_function("my_step"):
            (x @ x).relu().sum().backward()
    rows = {r.key: r for r in prof.key_averages()}
    assert {"mm", "relu", "sum", "MmBackward0", "ReluBackward0", "SumBackward0", "my_step"} <= set(rows)
    assert rows["mm"].count == 1 and rows["mm"].cpu_memory_usage == 16 * 16 * 4
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=5)
    assert "Self CPU" in table and "my_step" in table


def test_profiler_totals_add_up_to_wall_time():
    x = dynagrad.randn(128, 128, requires_grad=True)
    w = dynagrad.randn(128, 128, requires_grad=True)
    t0 = time.perf_counter()
    with profile() as prof:
        with record_function("steps"):
            for _ in range(20):
                ((x @ w).tanh() @ w).sum().backward()
    wall = (time.perf_counter() - t0) * 1e6
    assert abs(prof.self_cpu_time_total - wall) <= 0.2 * wall


def test_profiler_exports_chrome_trace(tmp_path):
    import json
    x = dynagrad.randn(4, requires_grad=True)
    with profile() as prof:
        x.exp().sum().backward()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    events = json.loads(path.read_text())["traceEvents"]
    assert {"exp", "ExpBackward0"} <= {e["name"] for e in events}
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in events)


def test_profiler_is_off_outside_the_block():
    from dynagrad.autograd import state
    assert state.transform_hook is None
    with profile():
        assert state.transform_hook is not None
    assert state.transform_hook is None and state.profiler is None


def test_memory_summary_counts_graph_and_tensors():
    x = dynagrad.randn(256, 256, requires_grad=True)
    y = (x @ x).exp()  # saves x, x and the exp output
    s = memory.stats()
    assert s["live_tensor_bytes"] >= 2 * 256 * 256 * 4
    assert s["graph_saved_bytes"] >= 2 * 256 * 256 * 4
    assert s["graph_nodes"] >= 2
    y.sum().backward()
    assert "live tensors" in memory.summary()


def test_memory_peak_tracking():
    memory.reset_peak_memory_stats()
    try:
        big = dynagrad.zeros(1000, 1000)
        del big
        assert memory.max_memory_allocated() >= 4_000_000
    finally:
        memory.stop_tracking()


def _train(steps, leak):
    w = dynagrad.randn(4, requires_grad=True)
    total = 0.0
    memory._reset_leak_check()
    for _ in range(steps):
        loss = (w * dynagrad.randn(4)).sum() ** 2
        loss.backward()
        with dynagrad.no_grad():
            w -= 0.01 * w.grad
        w.grad = None
        total += loss if leak else loss.item()
        memory.on_optimizer_step()
    return total


def test_leak_warning_fires_for_total_loss_plus_loss():
    with pytest.warns(memory.GraphGrowthWarning, match="total_loss \\+= loss"):
        _train(40, leak=True)


def test_no_leak_warning_for_item():
    with warnings.catch_warnings():
        warnings.simplefilter("error", memory.GraphGrowthWarning)
        _train(40, leak=False)


def test_dynagrad_run_reports_missing_torch_names(tmp_path):
    script = tmp_path / "uses_missing.py"
    script.write_text(textwrap.dedent("""
        import torch
        x = torch.ones(2)
        print("sum", x.sum().item())
        torch.definitely_not_a_function(x)
    """))
    proc = subprocess.run([sys.executable, "-m", "dynagrad.cli", "run", str(script)], capture_output=True, text=True)
    assert "sum 2.0" in proc.stdout
    assert proc.returncode == 2
    assert "torch.definitely_not_a_function" in proc.stderr and "uses_missing.py, line 5" in proc.stderr
