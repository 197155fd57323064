"""A public op cannot land without its database entry (or a reason in exclusions.py)."""
from __future__ import annotations

from .coverage import public_ops, uncovered
from .database import OPS
from .exclusions import EXCLUDED


def test_every_public_op_has_an_entry():
    missing = uncovered(OPS)
    assert not missing, (f"{len(missing)} public ops have no entry in tests/opinfo (db_*.py) and no reason in "
                         f"tests/opinfo/exclusions.py: {missing}")


def test_exclusions_are_public_and_reasoned():
    public = public_ops()
    stale = [k for k in EXCLUDED if k not in public]
    assert not stale, f"exclusions for names that are not public ops (remove them): {stale}"
    assert all(len(r) > 20 for r in EXCLUDED.values())
