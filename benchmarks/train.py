"""``python -m benchmarks.train``: run ``dynagrad train`` for each seed model and write the README's table of
what it printed.

Each model trains with the command's defaults in its own process and a fresh folder, one after the other
(so the times are not shared cores); what it printed (with its parameter count, final test accuracy and
time) goes to ``benchmarks/train_results.json``, and the block between ``<!-- train:start -->`` and
``<!-- train:end -->`` in README.md is rewritten from that file: a table of the three runs and the MLP's
output. ``--no-readme`` only records; ``--readme-only`` rewrites the block from the recorded file.
tests/test_cli.py checks that the README block is what ``render`` makes of the JSON and that the recorded
accuracies, parameter counts and epoch rows (all but their times) are what ``dynagrad train`` prints.
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
_FINAL = re.compile(r"^final test accuracy: (\d+\.\d\d)% \((\d+) epochs in (\d+\.\d)s, (\d+\.\d)s of CPU time\)",
                    re.M)


def parse(stdout: str) -> dict:
    """{"model", "parameters", "epochs", "test_accuracy" (the printed percent, a string), "seconds",
    "cpu_seconds"}."""
    head, final = _PARAMS.search(stdout), _FINAL.search(stdout)
    if head is None or final is None:
        raise ValueError(f"not the output of dynagrad train:\n{stdout[-2000:]}")
    return {"model": head.group(1), "parameters": int(head.group(2).replace(",", "")), "epochs": int(head.group(3)),
            "test_accuracy": final.group(1), "seconds": float(final.group(3)), "cpu_seconds": float(final.group(4))}


_TIMES = re.compile(r"\| +\d+\.\d\ds \| +[\d,]+$", re.M)


def epoch_rows(stdout: str) -> list[str]:
    """The per-epoch rows of the table ``dynagrad train`` prints, without their time and speed columns."""
    return [_TIMES.sub("|", line) for line in stdout.splitlines() if re.match(r"^ +\d+ \| ", line)]


def render(data: dict) -> str:
    lines = [f"Measured by `python -m benchmarks.train` ({data['cpus']} cores, Python {data['python']}): "
             "`dynagrad train --model NAME` with its",
             "defaults (15 epochs, seeded 80/20 split of the 1,797 digits). The losses and accuracies are what the "
             "command",
             "prints on any machine; the times move with the machine's load (the CPU times less so).", "",
             "| `--model` | parameters | test accuracy | time, training and evaluation | of which CPU time |",
             "|---|---|---|---|---|"]
    for r in data["runs"]:
        lines.append(f"| {r['model']} | {r['parameters']:,} | {r['test_accuracy']}% | {r['seconds']:.1f} s | "
                     f"{r['cpu_seconds']:.1f} s |")
    mlp = next(r for r in data["runs"] if r["model"] == "mlp")
    lines += ["", "The MLP's run printed (without a terminal, so without progress bars):", "", "```text",
              mlp["stdout"].rstrip("\n"), "```"]
    return "\n".join(lines)


def write_readme(data: dict, readme: Path = ROOT / "README.md") -> None:
    text = readme.read_text()
    a, b = text.index(START) + len(START), text.index(END)
    readme.write_text(text[:a] + "\n" + render(data) + "\n" + text[b:])


def run() -> dict:
    runs = []
    for m in MODELS:
        with tempfile.TemporaryDirectory() as tmp:  # the default folders, relative: the paths print as a user sees
            proc = subprocess.run([sys.executable, "-m", "dynagrad.cli", "train", "--model", m], capture_output=True,
                                  text=True, cwd=tmp, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        if proc.returncode != 0:
            raise SystemExit(f"dynagrad train --model {m} failed:\n{proc.stderr}")
        runs.append({**parse(proc.stdout), "stdout": proc.stdout})
        print(f"{m}: {runs[-1]['test_accuracy']}% in {runs[-1]['seconds']} s")
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "runs": runs}


def main(argv: list[str]) -> int:
    if "--readme-only" in argv:
        write_readme(json.loads(RESULTS.read_text()))
        return 0
    data = run()
    RESULTS.write_text(json.dumps(data, indent=1) + "\n")
    if "--no-readme" not in argv:
        write_readme(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
