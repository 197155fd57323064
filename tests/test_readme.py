"""README.md stands alone: every relative link resolves inside the repository (anchors to a heading), the
train block is what `python -m benchmarks.train` makes of its recorded run (tests/test_cli.py checks that
run against what `dynagrad train` prints), and counts it quotes match the code."""
import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md"] + [os.path.join("docs", f) for f in sorted(os.listdir(os.path.join(ROOT, "docs")))
                        if f.endswith(".md")]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(path: str) -> set:
    """GitHub's anchors for the headings of a Markdown file."""
    out = set()
    in_code = False
    for line in open(path):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


@pytest.mark.parametrize("doc", DOCS)
def test_links_resolve_inside_the_repository(doc):
    path = os.path.join(ROOT, doc)
    text = re.sub(r"```.*?```", "", open(path).read(), flags=re.S)  # links in code blocks are code
    links = LINK.findall(text)
    for target in links:
        if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
            continue  # external: not checked without a network
        file, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
        assert dest.startswith(ROOT + os.sep) or dest == ROOT, f"{doc}: {target} points outside the repository"
        assert os.path.exists(dest), f"{doc}: {target} does not exist"
        if anchor:
            assert anchor in _anchors(dest), f"{doc}: no heading for #{anchor} in {file or doc}"
    if doc == "README.md":
        assert links and "docs/architecture.md" in links


def test_readme_train_block_is_the_recorded_run():
    from benchmarks import train
    data = json.load(open(train.RESULTS))
    text = open(os.path.join(ROOT, "README.md")).read()
    block = text[text.index(train.START) + len(train.START):text.index(train.END)].strip("\n")
    assert block == train.render(data)
    assert [r["model"] for r in data["runs"]] == list(train.MODELS)
    for r in data["runs"]:
        assert train.parse(r["stdout"]) == {k: r[k] for k in ("model", "parameters", "epochs", "test_accuracy",
                                                              "seconds", "cpu_seconds")}


def test_readme_counts_match_the_code():
    import inspect

    import dynagrad.distributions as d
    text = " ".join(open(os.path.join(ROOT, "README.md")).read().split())
    n = sum(1 for name in d.__all__ if inspect.isclass(getattr(d, name, None))
            and issubclass(getattr(d, name), d.Distribution) and getattr(d, name) not in (d.Distribution,
                                                                                          d.ExponentialFamily))
    assert f"`dynagrad.distributions` ({n} distributions" in text
    from dynagrad.serialization import _unpickler
    assert f"bounds nesting at {_unpickler.MAX_DEPTH} levels" in text
