"""``python -m benchmarks.readme [results.json]``: write the README's speed table from a benchmark run.

The block between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` in README.md is replaced by a table
made from the JSON that ``python -m benchmarks`` wrote (by default benchmarks/results.json), so the
README's numbers are that command's output and nothing else.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .harness import fmt_time

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _t(entry: dict | None) -> str:
    return fmt_time(entry["median_s"]).strip() if entry else "-"


def _r(q: float | None) -> str:
    return f"{q:.2f}x" if q is not None else "-"


def _rows(results: list) -> list[tuple[str, dict]]:
    """Results grouped by benchmark name, in first-seen order: (name, {threads: result})."""
    grouped: dict = {}
    for r in results:
        grouped.setdefault(r["name"], {})[r.get("threads")] = r
    return list(grouped.items())


def _pair(by_threads: dict, counts: list, fw: str) -> str:
    """``fw``'s ratio to PyTorch at each thread count, as "0.80x / 0.75x" ("-" where not measured)."""
    vals = [_r(by_threads[n].get("ratio_vs_torch", {}).get(fw)) if n in by_threads else "-" for n in counts]
    return "-" if all(v == "-" for v in vals) else " / ".join(vals)


def render(data: dict) -> str:
    env = data["environment"]
    blas = next((b for b in env["blas"] if b.get("internal_api") in ("openblas", "mkl", "blis")), {})
    counts = sorted({r.get("threads") for r in data["results"] if r.get("threads")}) or [None]
    label = {n: (f"{n} thread{'s' if n > 1 else ''}" if n else "") for n in counts}
    clock = " (CPU time of the calling thread)" if data.get("clock") == "thread" else ""
    lines = [f"Measured by `python -m benchmarks` on {env['cpus']} cores ({blas.get('internal_api', 'BLAS')} "
             f"{blas.get('version', '')} {blas.get('architecture', '')} kernel, NumPy {env['numpy']}, PyTorch "
             f"{env['torch'] or 'not installed'}, Python {env['python']}); dynagrad and PyTorch run with the same "
             "thread count (`set_num_threads`); lower ratios are better. Medians of alternating repeats"
             f"{clock}; on a shared 2-core machine single runs move by 10-30%.", ""]
    head = "| benchmark (medians) |"
    for n in counts:
        head += f" dynagrad {label[n]} | PyTorch {label[n]} | dynagrad / PyTorch {label[n]} |"
    both = f" ({' / '.join(label[n] for n in counts)})" if counts != [None] else ""
    head += f" NumPy by hand / PyTorch{both} | compiled / PyTorch{both} |"
    lines += [head.replace("  ", " "), "|---" * (1 + 3 * len(counts) + 2) + "|"]
    for name, by in _rows(data["results"]):
        row = f"| {name} |"
        for n in counts:
            r = by.get(n)
            if r is None:
                row += " - | - | - |"
            else:
                row += (f" {_t(r.get('dynagrad'))} | {_t(r.get('torch'))} | "
                        f"{_r(r.get('ratio_vs_torch', {}).get('dynagrad'))} |")
        row += f" {_pair(by, counts, 'numpy')} | {_pair(by, counts, 'dynagrad compiled')} |"
        lines.append(row)
    mem = data.get("peak_memory") or {}
    if mem.get("dynagrad", {}).get("peak_kb"):
        parts = [f"{name} {m['peak_kb'] / 1024:.0f} MiB" for name, m in mem.items() if "peak_kb" in m]
        base = mem.get("torch", {}).get("peak_kb")
        ratio = f" ({mem['dynagrad']['peak_kb'] / base:.2f}x PyTorch's)" if base else ""
        lines += ["", "Peak resident memory of the MLP epoch (separate processes, the 188 MiB of inputs "
                  f"included): {', '.join(parts)}{ratio}."]
    models = data.get("peak_memory_models") or {}
    for name, row in models.items():
        d, t = row.get("dynagrad", {}), row.get("torch", {})
        if "peak_kb" in d:
            ratio = f" ({d['peak_kb'] / t['peak_kb']:.2f}x PyTorch's)" if "peak_kb" in t else ""
            parts = ", ".join(f"{fw} {m['peak_kb'] / 1024:.0f} MiB" for fw, m in row.items() if "peak_kb" in m)
            lines += ["", f"Peak resident memory of the {name} (three steps, separate processes): {parts}{ratio}."]
    imports = data.get("import_seconds") or {}
    if imports:
        lines += ["", "Import time (median of 5 fresh interpreters): "
                  + ", ".join(f"`import {m}` {s:.2f} s" for m, s in imports.items()) + "."]
    blas_rows = data.get("blas_threads") or []
    if blas_rows:
        lines += ["", "BLAS threads per matmul shape, 2 threads / 1 thread (`--only blas`): "
                  + "; ".join(f"{r['shape'].split(':')[0]} {r['all_threads_s'] / r['one_thread_s']:.2f}x "
                              f"({r['condition']})" for r in blas_rows
                              if r["shape"].startswith(("MLP fc1 forward, batch 64", "GRU hidden")))
                  + ". The pool is fixed by default, for bit-identical reruns; DYNAGRAD_ADAPTIVE_THREADS=1 makes it "
                  "follow other processes' load (see dynagrad/_threads.py)."]
    floor = data.get("blas_floor") or []
    if floor:
        from .bench_floor import table as floor_table
        lines += ["", "The BLAS floor (`--only floor`): each training step's matrix products alone, with the shapes "
                  "PyTorch's profiler records for one step, timed in NumPy's BLAS (which dynagrad calls; "
                  "convolutions as im2col products) and in PyTorch (its MKL products and oneDNN convolutions, "
                  "forward and backward), over PyTorch's whole step. \"Products only\" is the ratio dynagrad "
                  "would have if nothing but its products took time; \"rest at PyTorch's speed\" the ratio if "
                  "everything else were exactly as fast as PyTorch's.", "", floor_table(floor)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else ROOT / "benchmarks" / "results.json"
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        print(f"README.md has no {START} ... {END} block", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + "\n" + render(json.loads(path.read_text())) + "\n" + END + tail)
    print(f"README.md: speed table from {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
