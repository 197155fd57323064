"""Every example in dynagrad's docstrings runs and prints what it shows (doctest, module by module)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import dynagrad
from dynagrad import _threads

MODULES = ["dynagrad"] + sorted(m.name for m in pkgutil.walk_packages(dynagrad.__path__, "dynagrad."))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    mod = importlib.import_module(name)
    dynagrad.manual_seed(0)  # examples that draw random numbers do not depend on the tests before them
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=FLAGS)
    # examples may change process-wide settings (set_num_threads turns the load-following pool off)
    adaptive, dtype = _threads._governor.enabled, dynagrad.get_default_dtype()
    try:
        for test in finder.find(mod, name):
            runner.run(test)
    finally:
        _threads._governor.enabled = adaptive
        dynagrad.set_default_dtype(dtype)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see output)"


def test_public_api_has_examples():
    examples = sum(t.examples.__len__() for name in MODULES
                   for t in doctest.DocTestFinder().find(importlib.import_module(name), name))
    assert examples > 500
