"""The documentation's code runs: every ```python block of docs/debugging.md (and README.md's "A taste"
block), in order, in one namespace per file, in a fresh interpreter started in a temporary folder.

Conventions in the Markdown:

* A block whose first line is ``# raises SomeError`` must raise that exception; ``# warns SomeWarning``
  must emit that warning. Any other block must run without an exception.
* A fenced block that follows a ```python block with nothing but blank lines between (```text, ```mermaid
  or a bare fence) shows that block's output: what a terminal would show, i.e. what it prints, the warnings
  it emits (as Python prints them) and, for a raising block, the traceback. ``...`` stands for any text
  (the rest of the output must appear in order). Anything shown after a sentence of prose is illustrative
  and not checked (timings, for example).
* Blocks are compiled with the Markdown file's name and their own line numbers in it, so an error that
  names "debugging.md:57" names line 57 of the page.

Run as a script (``python tests/test_docs.py FILE.md SECTION OUT.json``) it executes one file's blocks and
writes the results as JSON; the tests start that in a subprocess, both files at once.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import traceback
import warnings
from contextlib import redirect_stdout
from dataclasses import dataclass

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = {"debugging.md": (os.path.join(ROOT, "docs", "debugging.md"), ""),
         "README.md": (os.path.join(ROOT, "README.md"), "A taste")}
FENCE = re.compile(r"^(\s*)```\s*([\w-]*)\s*$")
MARKER = re.compile(r"^#\s*(raises|warns)\s+([\w.]+)")


@dataclass
class Block:
    line: int  # line number (1-based) of the block's first code line in the Markdown file
    code: str
    marker: tuple | None  # ("raises", "RuntimeError") / ("warns", "GraphGrowthWarning")
    output: str | None  # the adjacent output block's text


def parse(path: str, section: str = "") -> list[Block]:
    """The ```python blocks of ``path`` (of its ``## section`` only, when given) with their output blocks."""
    with open(path) as f:
        lines = f.read().splitlines()
    fences = []  # (lang, first code line index, end fence index)
    i, current = 0, ""
    while i < len(lines):
        if lines[i].startswith("#"):  # a heading (fenced blocks are skipped whole below)
            current = lines[i].lstrip("#").strip()
        m = FENCE.match(lines[i])
        if m:
            j = i + 1
            while j < len(lines) and not FENCE.match(lines[j]):
                j += 1
            if not section or current == section:
                fences.append((m.group(2), i + 1, j))
            i = j + 1
            continue
        i += 1
    blocks = []
    for k, (lang, start, end) in enumerate(fences):
        if lang != "python":
            continue
        code = "\n".join(lines[start:end])
        first = code.lstrip().splitlines()[0] if code.strip() else ""
        m = MARKER.match(first)
        output = None
        if k + 1 < len(fences) and fences[k + 1][0] != "python":
            nstart = fences[k + 1][1]
            if all(not s.strip() for s in lines[end + 1:nstart - 1]):
                output = "\n".join(lines[nstart:fences[k + 1][2]])
        blocks.append(Block(start + 1, code, (m.group(1), m.group(2)) if m else None, output))
    return blocks


def matches(expected: str, actual: str) -> str | None:
    """None when ``actual`` contains the pieces of ``expected`` between its ``...`` in order, else the piece
    that is missing."""
    pos = 0
    for piece in expected.split("..."):
        piece = piece.strip()
        if not piece:
            continue
        at = actual.find(piece, pos)
        if at < 0:
            return piece
        pos = at + len(piece)
    return None


# -- the runner (in the subprocess) -------------------------------------------------------------------------------

def run_file(path: str, section: str) -> list[dict]:
    import gc
    import linecache

    from dynagrad import _source
    for me in (__file__, os.path.abspath(__file__)):  # this runner's frames are not the page's: leave them
        _source._inside[me] = True  # out of the forward traces anomaly mode records, as dynagrad's own are

    name = os.path.basename(path)
    with open(path) as f:
        text = f.read()
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)  # tracebacks quote the page's lines
    namespace = {"__name__": "__main__", "__file__": name}
    results = []
    for block in parse(path, section):
        buf = io.StringIO()
        caught = []

        def show(message, category, filename, lineno, file=None, line=None, buf=buf, caught=caught):
            caught.append(category.__name__)
            buf.write(warnings.formatwarning(message, category, filename, lineno, line))

        exc_types, exc_text = [], ""
        code = compile("\n" * (block.line - 1) + block.code, name, "exec")
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = show
            try:
                with redirect_stdout(buf):
                    exec(code, namespace)
            except Exception as e:  # noqa: BLE001 - reported to the test
                exc_types = [c.__name__ for c in type(e).__mro__]
                exc_text = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
                del e
        buf.write(exc_text)
        results.append({"line": block.line, "output": buf.getvalue(), "raised": exc_types, "warned": caught})
        gc.collect()
    return results


# -- the tests -----------------------------------------------------------------------------------------------------

def _blocks():
    out = []
    for key, (path, section) in FILES.items():
        if os.path.exists(path):
            out += [pytest.param(key, b, id=f"{key}:{b.line}") for b in parse(path, section)]
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    procs = {}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    for key, (path, section) in FILES.items():
        cwd = tmp_path_factory.mktemp(key.replace(".", "_"))
        out = cwd / "results.json"
        procs[key] = (subprocess.Popen([sys.executable, __file__, path, section, str(out)], cwd=cwd, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), out)
    got = {}
    for key, (proc, out) in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"the runner failed on {key}:\n{stdout}\n{stderr}"
        got[key] = {r["line"]: r for r in json.loads(out.read_text())}
    return got


@pytest.mark.parametrize("key, block", _blocks())
def test_block(results, key, block):
    r = results[key][block.line]
    where = f"{key}, the block at line {block.line}"
    if block.marker and block.marker[0] == "raises":
        assert block.marker[1] in r["raised"], f"{where} should raise {block.marker[1]}; it printed:\n{r['output']}"
    else:
        assert not r["raised"], f"{where} raised:\n{r['output']}"
    if block.marker and block.marker[0] == "warns":
        assert block.marker[1] in r["warned"], f"{where} should warn {block.marker[1]}; it printed:\n{r['output']}"
    if block.output is not None:
        missing = matches(block.output, r["output"])
        assert missing is None, (f"{where}: the output shown on the page is not what it prints.\nMissing:\n"
                                 f"{missing}\n\nActual output:\n{r['output']}")


def test_pages_have_their_blocks():
    blocks = parse(*FILES["debugging.md"])
    assert len(blocks) >= 8
    assert sum(b.marker == ("raises", "RuntimeError") for b in blocks) >= 3  # NaN, in-place, shape error
    assert any(b.marker == ("warns", "GraphGrowthWarning") for b in blocks)
    with open(FILES["debugging.md"][0]) as f:
        assert "```mermaid" in f.read()
    assert len(parse(*FILES["README.md"])) == 1


def test_matches_elides():
    assert matches("a ... c", "a b c") is None
    assert matches("a\n...\nc", "a b c") is None
    assert matches("c ... a", "a b c") == "a"


if __name__ == "__main__":
    md, sec, dest = sys.argv[1:4]
    res = run_file(md, sec)
    with open(dest, "w") as f:
        json.dump(res, f)
