"""Sample inputs: NumPy arrays (made into tensors of each framework) plus Python arguments.

Generators are functions of a ``Maker`` (a seeded RNG with shortcuts), so a sample list is a pure function
of the op's name: the same cases run live and against the golden values.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from .runner import TL

NAN, INF = float("nan"), float("inf")
SPECIAL = [NAN, INF, -INF, 0.0, -0.0, 1e30, -1e30, 1e-30, -1e-30, 1.0, -1.0, 0.5, -2.5, 3.0, 100.0, -100.0]
SPECIAL16 = [NAN, INF, -INF, 0.0, -0.0, 6e4, -6e4, 1e-6, 1.0, -1.0, 0.5, -2.5, 3.0]

FLOATS = ("float32", "float64")
ALL_FLOATS = ("float32", "float64", "float16", "bfloat16")
INTS = ("uint8", "int8", "int16", "int32", "int64")
ALL = ("bool", "uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64", "complex64")
REAL = ("bool", "uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64")


@dataclass
class Sample:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    tag: str = ""
    grad: bool = True  # float inputs require grad (when the op has gradients)


def _np_dtype(name):
    if name == "bfloat16":
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


class Maker:
    """Builds the arrays of one op's samples from one seeded RNG."""

    def __init__(self, name: str):
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))
        self.samples: list[Sample] = []

    def t(self, *shape, dtype="float32", lo=-2.0, hi=2.0, layout="c"):
        """A random array; ``layout`` 'c' contiguous, 'T' a transposed view, 's' every other element."""
        dt = _np_dtype(dtype)
        raw = shape
        if layout == "T" and len(shape) >= 2:
            raw = shape[:-2] + (shape[-1], shape[-2])
        elif layout == "s" and shape:
            raw = shape[:-1] + (2 * shape[-1],)
        if dt.kind == "b":
            a = self.rng.random(raw) < 0.5
        elif dt.kind in "iu":
            lo_i = max(int(lo), 0) if dt.kind == "u" else int(lo)
            a = self.rng.integers(lo_i, max(int(hi), lo_i + 1), size=raw)
        elif dt.kind == "c":
            a = self.rng.uniform(lo, hi, raw) + 1j * self.rng.uniform(lo, hi, raw)
        else:
            a = self.rng.uniform(lo, hi, raw)
        a = np.asarray(a).astype(dt)
        if layout == "T" and len(shape) >= 2:
            return a.swapaxes(-1, -2)
        if layout == "s" and shape:
            return a[..., ::2]
        return a

    def v(self, values, dtype="float32"):
        """An array of given values."""
        return np.asarray(np.array(values, dtype=np.float64 if _np_dtype(dtype).kind in "fV" else None)).astype(
            _np_dtype(dtype))

    def special(self, dtype="float32"):
        vals = SPECIAL16 if dtype in ("float16", "bfloat16") else SPECIAL
        return self.v(vals, dtype)

    def add(self, *args, tag="", grad=True, **kwargs):
        self.samples.append(Sample(tuple(args), kwargs, tag or f"s{len(self.samples)}", grad))


# -- family generators ---------------------------------------------------------------------------------------

SHAPES = [((), "c"), ((0,), "c"), ((5,), "c"), ((3, 4), "c"), ((3, 4), "T"), ((2, 5), "s"), ((2, 0, 3), "c")]


def unary(info, mk: Maker, full: bool):
    lo, hi = info.domain
    for dt in (info.dtypes if full else info.dtypes[:2]):
        for shape, layout in SHAPES if full or dt in FLOATS else SHAPES[2:4]:
            mk.add(mk.t(*shape, dtype=dt, lo=lo, hi=hi, layout=layout), tag=f"{dt}{list(shape)}{layout}")
        if dt in ALL_FLOATS and info.special_values:
            mk.add(mk.special(dt), tag=f"{dt}-special")
    for dt in ALL:  # promotion and refusal rules for the dtypes the op does not list
        if dt not in info.dtypes:
            mk.add(mk.t(2, 3, dtype=dt, lo=max(lo, -3), hi=min(hi, 5)), tag=f"{dt}-other")
    mk.add(mk.t(3, 4, dtype="float64", lo=lo, hi=hi), tag="float64-gradgrad")


BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)), ((0, 3), (1, 3)),
                 ((3, 4), ())]


def binary(info, mk: Maker, full: bool):
    lo, hi = info.domain
    olo, ohi = info.other_domain or info.domain
    for dt in (info.dtypes if full else info.dtypes[:2]):
        for sa, sb in BINARY_SHAPES if full or dt in FLOATS else BINARY_SHAPES[:2]:
            mk.add(mk.t(*sa, dtype=dt, lo=lo, hi=hi), mk.t(*sb, dtype=dt, lo=olo, hi=ohi), tag=f"{dt}{sa}{sb}")
        mk.add(mk.t(3, 4, dtype=dt, lo=lo, hi=hi, layout="T"), mk.t(4, 3, dtype=dt, lo=olo, hi=ohi)[::1].T,
               tag=f"{dt}-noncontig")
        if info.scalar_other:
            for s in ((2, 0.5, True) if full else (2, 0.5)):
                mk.add(mk.t(3, 2, dtype=dt, lo=lo, hi=hi), s, tag=f"{dt}-scalar{s!r}")
    if info.special_values:
        for dt in ("float32", "float16"):
            a = mk.special(dt)
            mk.add(a, a[::-1].copy(), tag=f"{dt}-special")
    for da, db in (("int64", "float32"), ("bool", "int32"), ("uint8", "int8"), ("float16", "float32"),
                   ("int32", "float64"), ("bool", "bool"), ("int64", "int64"), ("float32", "complex64")):
        mk.add(mk.t(2, 3, dtype=da, lo=max(lo, -3), hi=min(hi, 5)), mk.t(3, dtype=db, lo=max(olo, -3), hi=min(ohi, 5)),
               tag=f"mixed-{da}-{db}")
    mk.add(mk.t(3, 4, lo=lo, hi=hi), mk.t(2, 4, lo=olo, hi=ohi), tag="not-broadcastable")
    mk.add(mk.t(3, 4, dtype="float64", lo=lo, hi=hi), mk.t(3, 4, dtype="float64", lo=olo, hi=ohi),
           tag="float64-gradgrad")


def reduction(info, mk: Maker, full: bool):
    """Reductions with ``dim``/``keepdim`` (info.dim_kind: 'multi' tuple dims, 'single' one int, 'none')."""
    kinds = info.dim_kind
    dts = info.dtypes if full else info.dtypes[:2]
    for dt in dts:
        cases = [((3, 4), {}), ((3, 4), {"dim": 1}), ((3, 4), {"dim": 0, "keepdim": True}), ((), {}),
                 ((0,), {}), ((2, 0), {"dim": 1}), ((2, 0), {"dim": 0}), ((5,), {"dim": -1}),
                 ((3, 4), {"dim": -3})]
        if kinds == "multi":
            cases += [((2, 3, 4), {"dim": (0, 2)}), ((2, 3, 4), {"dim": (-1, 0), "keepdim": True})]
        if kinds == "required":
            cases = [(s, k) for s, k in cases if "dim" in k] + [((), {"dim": 0})]
        for shape, kw in cases if full or dt in FLOATS else cases[:3]:
            mk.add(mk.t(*shape, dtype=dt, lo=info.domain[0], hi=info.domain[1]), tag=f"{dt}{list(shape)}{kw}", **kw)
        mk.add(mk.t(3, 4, dtype=dt, layout="T", lo=info.domain[0], hi=info.domain[1]), tag=f"{dt}-T",
               **({"dim": 1} if kinds == "required" else {}))
    for dt in ALL:
        if dt not in info.dtypes:
            mk.add(mk.t(2, 3, dtype=dt, lo=max(info.domain[0], -3), hi=min(info.domain[1], 5)), tag=f"{dt}-other",
                   **({"dim": 1} if kinds == "required" else {}))
    if info.special_values:
        for dt in ("float32", "float16"):
            s = mk.special(dt)
            mk.add(s, tag=f"{dt}-special", **({"dim": 0} if kinds == "required" else {}))
            mk.add(s.reshape(2, -1) if s.size % 2 == 0 else s[:-1].reshape(3, -1), tag=f"{dt}-special2d", dim=1)
    mk.add(mk.t(3, 4, dtype="float64", lo=info.domain[0], hi=info.domain[1]), tag="float64-gradgrad",
           **({"dim": 1} if kinds == "required" else {}))
