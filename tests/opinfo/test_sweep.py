"""The differential sweep: every entry of the op database against PyTorch (live, or its golden values).

Without torch (golden values) the Tensor-method and in-place variants are not resolved, so only the
function variants are compared and the xfails are not strict.

Default run: an even spread of each op's samples (a couple of minutes on 2 cores at most); set
``DYNAGRAD_SWEEP=full`` for every sample of every op (needs a live PyTorch). Record golden values with
``DYNAGRAD_RECORD_GOLDEN=1 pytest tests/opinfo``.
"""
from __future__ import annotations

import pytest

import dynagrad
from helpers import HAVE_TORCH, RECORD

from . import runner
from .database import BY_NAME, OPS


@pytest.fixture(scope="module", autouse=True)
def _store_golden():
    yield
    if RECORD:
        runner.write_golden()


@pytest.mark.parametrize("name", [pytest.param(i.name, marks=pytest.mark.xfail(reason=i.xfail, strict=HAVE_TORCH))
                                  if i.xfail else i.name for i in OPS])
def test_op(name):
    info = BY_NAME[name]
    bad, compared = [], 0
    for variant, sample, gg in info.cases():
        if any(k in sample.tag for k in info.skips):
            continue
        key = f"{info.name}|{variant}|{sample.tag}{'|gg' if gg else ''}"
        ref = runner.reference(info, variant, sample, key, gg)
        if ref is None:
            if HAVE_TORCH:
                continue  # torch has no such variant
            pytest.fail(f"no golden value for {key}: record with DYNAGRAD_RECORD_GOLDEN=1 where torch is installed")
        mine = runner.run(dynagrad, info, variant, sample, gg)
        bad += runner.compare(mine, ref, info, sample, f"{variant} {info.variant_name(variant)} [{sample.tag}]")
        compared += 1
    assert compared, f"{name}: no case was compared"
    assert not bad, f"{len(bad)} mismatches:\n" + "\n".join(bad[:25])
