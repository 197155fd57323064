"""``python -m benchmarks.train``: run ``dynagrad train`` for each seed model and write the README's table of
what it printed.

Each model trains with the command's defaults in its own process, one after the other (so the times are
not shared cores), and its printed parameter count, final test accuracy and time go to
``benchmarks/train_results.json``; the block between ``<!-- train:start -->`` and ``<!-- train:end -->`` in
README.md is then rewritten from that file. ``--no-readme`` only records. tests/test_cli.py checks that the
README block is what ``render`` makes of the JSON and that the accuracies and parameter counts are the
ones ``dynagrad train`` prints.
"""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "train_results.json"
START, END = "<!-- train:start -->", "<!-- train:end -->"
MODELS = ("mlp", "cnn", "rnn")

_PARAMS = re.compile(r"^dynagrad \S+: training (\w+) \(([\d,]+) parameters\).* for (\d+) epochs", re.M)
_FINAL = re.compile(r"^final test accuracy: (\d+\.\d\d)% \((\d+) epochs in (\d+\.\d)s\)", re.M)


def parse(stdout: str) -> dict:
    """{"model", "parameters", "epochs", "test_accuracy" (the printed percent, a string), "seconds"}."""
    head, final = _PARAMS.search(stdout), _FINAL.search(stdout)
    if head is None or final is None:
        raise ValueError(f"not the output of dynagrad train:\n{stdout[-2000:]}")
    return {"model": head.group(1), "parameters": int(head.group(2).replace(",", "")), "epochs": int(head.group(3)),
            "test_accuracy": final.group(1), "seconds": float(final.group(3))}


def render(data: dict) -> str:
    lines = [f"Measured by `python -m benchmarks.train` ({data['cpus']} cores, Python {data['python']}): "
             "`dynagrad train --model NAME` with its defaults (15 epochs, seeded 80/20 split of the 1,797 digits);",
             "the accuracies are what the command prints on any machine, the times move with the machine's load.",
             "", "| `--model` | parameters | test accuracy | time (training and evaluation) |", "|---|---|---|---|"]
    for r in data["runs"]:
        lines.append(f"| {r['model']} | {r['parameters']:,} | {r['test_accuracy']}% | {r['seconds']:.1f} s |")
    return "\n".join(lines)


def write_readme(data: dict, readme: Path = ROOT / "README.md") -> None:
    text = readme.read_text()
    a, b = text.index(START) + len(START), text.index(END)
    readme.write_text(text[:a] + "\n" + render(data) + "\n" + text[b:])


def run() -> dict:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in MODELS:
            proc = subprocess.run([sys.executable, "-m", "dynagrad.cli", "train", "--model", m, "--no-progress",
                                   "--out", tmp, "--logdir", os.path.join(tmp, "runs")],
                                  capture_output=True, text=True, cwd=tmp, env=dict(os.environ, PYTHONPATH=str(ROOT)))
            if proc.returncode != 0:
                raise SystemExit(f"dynagrad train --model {m} failed:\n{proc.stderr}")
            runs.append(parse(proc.stdout))
            print(f"{m}: {runs[-1]}")
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "runs": runs}


def main(argv: list[str]) -> int:
    data = run()
    RESULTS.write_text(json.dumps(data, indent=1) + "\n")
    if "--no-readme" not in argv:
        write_readme(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
