"""Shared test configuration."""
import os

import numpy as np
import pytest

os.environ.setdefault("DYNAGRAD_TESTING", "1")


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global random state, in dynagrad and NumPy."""
    import dynagrad
    dynagrad.manual_seed(0)
    np.random.seed(0)
    yield
