"""The OpInfo record and how a record turns into cases."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import samples as S
from .runner import FULL


@dataclass
class OpInfo:
    """One public op: how to call it, its samples, and what is expected of it.

    ``name`` is the op's path under ``torch`` ('exp', 'nn.functional.gelu', 'special.erf'). ``method`` and
    ``inplace`` are the Tensor method names (found automatically from torch when left as ``"auto"``).
    ``skips`` maps a sample tag (a substring of it) to the reason the case is not compared.
    """

    name: str
    gen: Callable | None = None  # family generator (info, mk, full) or None with custom
    custom: Callable | None = None  # custom(mk): calls mk.add(...)
    dtypes: tuple = S.FLOATS
    domain: tuple = (-2.0, 2.0)
    other_domain: tuple | None = None
    grad: bool = True
    gradgrad: bool = True
    method: str | None = "auto"
    inplace: str | None = "auto"
    rtol: float | dict | None = None
    atol: float | dict | None = None
    grad_tol: tuple | None = None
    special_values: bool = True
    scalar_other: bool = True
    dim_kind: str = "multi"
    skips: dict = field(default_factory=dict)
    xfail: str | None = None
    family: str = "misc"
    call: Callable | None = None  # (m, *args, **kwargs) for the function variant
    call_dynagrad: Callable | None = None
    check_values: bool = True
    ignore_dtype: bool = False
    budget: int = 14  # samples in the default (sampled) run
    variants_budget: int = 2

    def variant_name(self, variant: str) -> str:
        if variant == "method":
            return self.method
        if variant == "inplace":
            return self.inplace
        return self.name

    def resolve_variants(self, torch_mod) -> None:
        base = self.name.rsplit(".", 1)[-1]
        if self.method == "auto":
            self.method = base if ("." not in self.name and torch_mod is not None
                                   and hasattr(torch_mod.Tensor, base)) else None
        if self.inplace == "auto":
            self.inplace = base + "_" if ("." not in self.name and torch_mod is not None
                                          and hasattr(torch_mod.Tensor, base + "_")) else None

    def samples(self, full: bool):
        mk = S.Maker(self.name)
        if self.custom is not None:
            self.custom(mk)
        else:
            self.gen(self, mk, full)
        return mk.samples

    def cases(self, full: bool = FULL):
        """(variant, sample, gradgrad) triples: everything when ``full``, an even spread otherwise."""
        samples = self.samples(full)
        gg_tag = next((s.tag for s in samples if "gradgrad" in s.tag), None)
        picked = samples
        if not full and len(samples) > self.budget:
            step = len(samples) / self.budget
            idx = {int(i * step) for i in range(self.budget)}
            picked = [s for i, s in enumerate(samples) if i in idx or "special" in s.tag or s.tag == gg_tag]
        out = []
        if self.call is not None or "." in self.name or True:
            for s in picked:
                out.append(("function", s, self.gradgrad and self.grad and s.tag == gg_tag))
        for variant in ("method", "inplace"):
            if self.variant_name(variant) is None:
                continue
            vs = [s for s in samples if s.args and hasattr(s.args[0], "shape") and s.args[0].ndim > 0]
            if not full:
                vs = vs[:self.variants_budget]
            out += [(variant, s, False) for s in vs]
        return out


def unary(name, **kw):
    kw.setdefault("family", "unary")
    return OpInfo(name, gen=S.unary, **kw)


def binary(name, **kw):
    kw.setdefault("family", "binary")
    return OpInfo(name, gen=S.binary, **kw)


def reduction(name, **kw):
    kw.setdefault("family", "reduce")
    return OpInfo(name, gen=S.reduction, **kw)


def custom(name, fn, **kw):
    return OpInfo(name, custom=fn, **kw)
