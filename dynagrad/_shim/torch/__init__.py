"""Stands in for this package in Python processes a ``dynagrad run`` program starts (``dynagrad run`` puts
this folder first on their PYTHONPATH): importing it installs dynagrad's import alias and hands the name over
to the dynagrad module it maps to, so child processes run on dynagrad as the parent does."""
import importlib
import sys

from dynagrad import _run
from dynagrad.cli import TorchAlias

_run.install(TorchAlias)
sys.modules[__name__] = importlib.import_module(TorchAlias.PREFIXES[__name__])
