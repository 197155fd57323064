"""Entries: reductions, scans, sorting and statistics."""
from __future__ import annotations

from . import samples as S
from .core import custom, reduction

F, ALL, REAL = S.FLOATS, S.ALL, S.REAL
NUM = ("float32", "float64", "int64", "bool", "float16", "uint8", "int32", "bfloat16")


_TIES = ("equal values: which of them PyTorch's CPU kernel reports (std::nth_element / std::partial_sort) is "
         "libstdc++'s implementation detail; dynagrad reports the first in stable sorted order (tie-free samples "
         "are compared)")


def _scan(name, **kw):
    kw.setdefault("family", "reduce")
    return reduction(name, dim_kind="required", **kw)


def _dim_cases(mk, dtypes=F, extra=()):
    for dt in dtypes:
        mk.add(mk.t(3, 4, dtype=dt), 1, tag=f"{dt}-d1")
        mk.add(mk.t(3, 4, dtype=dt, layout="T"), 0, tag=f"{dt}-T")
    mk.add(mk.t(dtype="float32"), 0, tag="0d")
    mk.add(mk.t(0, dtype="float32"), 0, tag="empty")
    mk.add(mk.t(2, 0, dtype="float32"), 1, tag="empty-dim")
    mk.add(mk.special(), 0, tag="special")
    mk.add(mk.t(3, 4, dtype="int64", lo=-5, hi=5), 1, tag="int64")
    mk.add(mk.t(3, 4, dtype="bool"), 1, tag="bool")
    mk.add(mk.t(3, 4, dtype="float64"), 1, tag="float64-gradgrad")
    mk.add(mk.t(3, 4), 2, tag="bad-dim")
    for e in extra:
        e(mk)


OPS = [
    reduction("sum", dtypes=NUM),
    reduction("nansum", dtypes=NUM),
    reduction("mean", dtypes=F + ("float16", "bfloat16", "int64", "complex64")),
    reduction("nanmean", dtypes=F + ("float16", "int64")),
    reduction("prod", dtypes=NUM, dim_kind="single"),
    reduction("amax", dtypes=REAL),
    reduction("amin", dtypes=REAL),
    reduction("max", dtypes=REAL, dim_kind="single"),
    reduction("min", dtypes=REAL, dim_kind="single"),
    reduction("argmax", dtypes=REAL, dim_kind="single", grad=False),
    reduction("argmin", dtypes=REAL, dim_kind="single", grad=False),
    reduction("std", dtypes=F + ("float16", "int64", "complex64")),
    reduction("var", dtypes=F + ("float16", "int64", "complex64")),
    reduction("std_mean", dtypes=F),
    reduction("var_mean", dtypes=F),
    reduction("logsumexp", dtypes=F + ("int64", "float16"), dim_kind="required"),
    reduction("all", dtypes=ALL, grad=False),
    reduction("any", dtypes=ALL, grad=False),
    reduction("count_nonzero", dtypes=ALL, grad=False),
    reduction("median", dtypes=REAL, dim_kind="single"),
    reduction("nanmedian", dtypes=REAL, dim_kind="single"),
    reduction("mode", dtypes=REAL, dim_kind="single", grad=False,
              skips={"special": "NaN among the values: PyTorch's mode sorts with std::sort and operator<, so where a "
                                "NaN lands (and which value wins) depends on libstdc++'s algorithm; NaN-free inputs "
                                "are compared"}),
    reduction("norm", dtypes=F + ("float16", "complex64")),
    reduction("aminmax", dtypes=REAL, dim_kind="single", call=lambda m, x, **k: m.aminmax(x, **k)),
    _scan("cumsum", dtypes=NUM),
    _scan("cumprod", dtypes=NUM),
    _scan("cummax", dtypes=REAL),
    _scan("cummin", dtypes=REAL),
    _scan("logcumsumexp", dtypes=F + ("float16", "int64")),
    _scan("softmax", dtypes=F + ("float16", "int64")),
    _scan("log_softmax", dtypes=F + ("float16", "int64")),
    custom("logcumsumexp_inf", lambda mk: (mk.add(mk.v([float("inf"), 1.0]), 0),
                                           mk.add(mk.v([float("-inf"), float("-inf"), 1.0]), 0),
                                           mk.add(mk.v([[1.0, float("inf")], [float("nan"), 2.0]]), 1)),
           call=lambda m, *a: m.logcumsumexp(*a), method=None, inplace=None, family="reduce"),
    custom("max_nan_grad", lambda mk: (mk.add(mk.v([3.0, float("nan"), -1.0])),
                                       mk.add(mk.v([[3.0, float("nan")], [1.0, 2.0]]), 1)),
           call=lambda m, *a: m.max(*a), method=None, inplace=None, family="reduce"),
    custom("sort", lambda mk: _dim_cases(mk, extra=(lambda mk: mk.add(mk.t(3, 4), 1, True),
                                                    lambda mk: mk.add(mk.v([3.0, 1.0, 3.0, 2.0, 1.0]), stable=True),
                                                    lambda mk: mk.add(mk.t(3, 4), dim=0, descending=True))),
           family="reduce"),
    custom("argsort", lambda mk: _dim_cases(mk, extra=(lambda mk: mk.add(mk.t(3, 4), 1, True),)),
           grad=False, family="reduce"),
    custom("msort", lambda mk: (mk.add(mk.t(3, 4)), mk.add(mk.t()), mk.add(mk.t(0, 2)), mk.add(mk.special())),
           family="reduce"),
    custom("topk", lambda mk: (mk.add(mk.t(3, 5), 2), mk.add(mk.t(3, 5), 2, 0), mk.add(mk.t(3, 5), 2, largest=False),
                               mk.add(mk.t(3, 5), 6), mk.add(mk.t(), 1), mk.add(mk.t(0), 0), mk.add(mk.special(), 3),
                               mk.add(mk.v([[3, -1, 4, 0, 2], [-5, 9, 2, 6, 5], [3, 5, -8, 9, 7]], "int64"), 2),
                               mk.add(mk.t(3, 5, dtype="int64", lo=-5, hi=5), 2, tag="ties"),
                               mk.add(mk.t(3, 5, dtype="complex64"), 2),
                               mk.add(mk.t(3, 5, dtype="float64"), 2, tag="float64-gradgrad")), family="reduce",
           skips={"ties": _TIES}),
    custom("kthvalue", lambda mk: (mk.add(mk.t(3, 5), 2), mk.add(mk.t(3, 5), 1, 0), mk.add(mk.t(3, 5), 6),
                                   mk.add(mk.t(), 1), mk.add(mk.v([[3, -1, 4, 0, 2], [-5, 9, 2, 6, 5]], "int64"), 2),
                                   mk.add(mk.t(3, 5, dtype="int64"), 2, tag="ties"), mk.add(mk.special(), 4),
                                   mk.add(mk.t(3, 5), 2, keepdim=True), mk.add(mk.t(3, 5), 0),
                                   mk.add(mk.t(3, 5, dtype="bool"), 1), mk.add(mk.t(3, 5, dtype="float64"), 2,
                                                                              tag="float64-gradgrad")),
           family="reduce", skips={"ties": _TIES}),
    custom("quantile", lambda mk: (mk.add(mk.t(3, 5), 0.3), mk.add(mk.t(3, 5), 0.3, 1),
                                   mk.add(mk.t(3, 5), mk.v([0.1, 0.5, 0.9]), 0, keepdim=True),
                                   mk.add(mk.t(3, 5, dtype="float64"), 0.25, 1, interpolation="lower"),
                                   mk.add(mk.t(3, 5), 0.25, 1, interpolation="higher"),
                                   mk.add(mk.t(3, 5), 0.25, 1, interpolation="midpoint"),
                                   mk.add(mk.t(3, 5), 0.25, 1, interpolation="nearest"),
                                   mk.add(mk.t(3, 5), 1.5), mk.add(mk.special(), 0.5),
                                   mk.add(mk.t(3, 5, dtype="int64"), 0.5)), family="reduce"),
    custom("nanquantile", lambda mk: (mk.add(mk.special(), 0.5), mk.add(mk.t(3, 5), 0.3, 1),
                                      mk.add(mk.v([[float("nan")] * 3, [1.0, 2.0, 3.0]]), 0.5, 1)), family="reduce"),
    custom("unique", lambda mk: (mk.add(mk.v([3, 1, 3, 2, 1], "int64")),
                                 mk.add(mk.v([3, 1, 3, 2, 1], "int64"), return_inverse=True, return_counts=True),
                                 mk.add(mk.v([[1, 2], [1, 2], [0, 1]], "int64"), dim=0),
                                 mk.add(mk.v([3.0, 1.0, 3.0]), sorted=True), mk.add(mk.t(0)),
                                 mk.add(mk.t(dtype="float32")), mk.add(mk.v([3, 1, 3, 2], "int64"), sorted=False),
                                 mk.add(mk.v([float("nan"), 1.0, float("nan"), 1.0]), return_counts=True),
                                 mk.add(mk.v([[1, 2], [1, 2], [0, 1]], "int64"), dim=0, return_inverse=True,
                                        return_counts=True),
                                 mk.add(mk.v([[1, 2, 1], [3, 4, 3]], "int64"), dim=1, return_inverse=True),
                                 mk.add(mk.v(2.0), return_inverse=True), mk.add(mk.v([True, False, True])),
                                 mk.add(mk.t(4, dtype="float16")), mk.add(mk.t(4, dtype="complex64")),
                                 mk.add(mk.t(3, 4), dim=2)), grad=False, family="reduce"),
    custom("unique_consecutive", lambda mk: (mk.add(mk.v([1, 1, 2, 2, 3, 1, 1, 2], "int64")),
                                             mk.add(mk.v([1, 1, 2, 2, 3, 1], "int64"), return_inverse=True,
                                                    return_counts=True),
                                             mk.add(mk.v([[1, 2], [1, 2], [0, 1]], "int64"), dim=0),
                                             mk.add(mk.v([[1, 1, 2], [1, 1, 3]], "int64"), dim=1,
                                                    return_counts=True),
                                             mk.add(mk.t(0)), mk.add(mk.v([1.0, 1.0, float("nan"), float("nan")])),
                                             mk.add(mk.v([[1, 1, 2], [3, 3, 4]], "int64"), return_inverse=True),
                                             mk.add(mk.v([[1, 2], [1, 2], [0, 1]], "int64"), dim=0,
                                                    return_inverse=True, return_counts=True),
                                             mk.add(mk.v(3.0), return_counts=True), mk.add(mk.t(2, dtype="complex64"))),
           grad=False, family="reduce"),
    custom("bincount", lambda mk: (mk.add(mk.v([0, 1, 1, 3], "int64")), mk.add(mk.v([0, 1, 1, 3], "int64"), minlength=6),
                                   mk.add(mk.v([0, 1, 1], "int64"), mk.v([0.5, 1.0, 2.0])),
                                   mk.add(mk.v([], "int64")), mk.add(mk.v([-1, 2], "int64")),
                                   mk.add(mk.v([0.0, 1.0]))), grad=False, family="reduce"),
    custom("histc", lambda mk: (mk.add(mk.t(20)), mk.add(mk.t(20), bins=5, min=-1, max=1),
                                mk.add(mk.v([1.0, 2.0, 1.0]), bins=4, min=0, max=3), mk.add(mk.t(0), bins=3),
                                mk.add(mk.v([1.0, 1.0]), bins=3), mk.add(mk.t(20, dtype="float64"), bins=7),
                                mk.add(mk.t(4, dtype="int64"), bins=3), mk.add(mk.t(4), bins=0),
                                mk.add(mk.t(4), bins=3, min=2, max=1), mk.add(mk.v([1.0, float("nan"), 2.0]), bins=3),
                                mk.add(mk.v([1.0, float("nan"), 2.0]), bins=3, min=0, max=3),
                                mk.add(mk.v([1.0, float("inf"), 2.0]), bins=3),
                                mk.add(mk.v([0.0, 0.1, 0.2, 0.3, 0.7, 1.0]), bins=10, min=0, max=1),
                                mk.add(mk.t(20, dtype="float16"), bins=6), mk.add(mk.t(3, 4), bins=4),
                                mk.add(mk.v([5.0, 5.0, 5.0]), bins=2)), grad=False, family="reduce"),
    custom("histogram", lambda mk: (mk.add(mk.t(20), 5), mk.add(mk.t(20), mk.v([-2.0, -1.0, 0.0, 2.0])),
                                    mk.add(mk.t(20), 4, range=(-1.0, 1.0)),
                                    mk.add(mk.t(20), 4, weight=mk.t(20, lo=0, hi=1), density=True),
                                    mk.add(mk.t(20, dtype="float64"), 3, density=True),
                                    mk.add(mk.v([0.0, 0.1, 0.2, 0.3, 0.7, 1.0]), 10),
                                    mk.add(mk.v([1.0, 2.0]), mk.v([0.0, 1.0], "float64")),
                                    mk.add(mk.v([1.0, 1.0, 1.0]), 3), mk.add(mk.t(0), 3), mk.add(mk.t(3, 4), 3),
                                    mk.add(mk.t(20, dtype="int64"), 3), mk.add(mk.t(20), 0),
                                    mk.add(mk.v([1.0, float("inf")]), 3),
                                    mk.add(mk.v([1.0, 2.0, 5.0]), 3, range=(3.0, 1.0))),
           grad=False, method="histogram", family="reduce"),
    custom("histogramdd", lambda mk: (mk.add(mk.t(10, 2), bins=[2, 3]), mk.add(mk.t(10, 2), bins=3),
                                      mk.add(mk.t(10, 2), bins=2, range=[-1.0, 1.0, -2.0, 2.0],
                                             weight=mk.t(10, lo=0, hi=1), density=True),
                                      mk.add(mk.t(4, 5, 3), bins=[2, 2, 2]),
                                      mk.add(mk.t(10, 2), bins=[mk.v([-2.0, 0.0, 2.0]), mk.v([-1.0, 1.0])]),
                                      mk.add(mk.t(10), bins=3), mk.add(mk.t(10, 2), bins=[2, 3, 4]),
                                      mk.add(mk.t(10, 2, dtype="float64"), bins=[2, 2], density=True)),
           grad=False, method=None, inplace=None, family="reduce"),
    custom("cov", lambda mk: (mk.add(mk.t(3, 6)), mk.add(mk.t(6)), mk.add(mk.t(3, 6), correction=0),
                              mk.add(mk.t(3, 6), fweights=mk.v([1, 2, 1, 1, 3, 1], "int64")),
                              mk.add(mk.t(3, 6), aweights=mk.t(6, lo=0.1, hi=1)), mk.add(mk.t(2, 3, 4)),
                              mk.add(mk.t(3, 6, dtype="float64"), tag="float64-gradgrad"),
                              mk.add(mk.t(3, 6, dtype="int64"))), family="reduce"),
    custom("corrcoef", lambda mk: (mk.add(mk.t(3, 6)), mk.add(mk.t(6)), mk.add(mk.t(3, 6, dtype="float64"),
                                                                               tag="float64-gradgrad")),
           family="reduce"),
    custom("diff", lambda mk: (mk.add(mk.t(3, 5)), mk.add(mk.t(3, 5), 2), mk.add(mk.t(3, 5), dim=0),
                               mk.add(mk.t(3, 5), prepend=mk.t(3, 1), append=mk.t(3, 2)), mk.add(mk.t(5), 7),
                               mk.add(mk.v([True, False, True])), mk.add(mk.t(4, dtype="int64")), mk.add(mk.t()),
                               mk.add(mk.t(3, 5, dtype="float64"), tag="float64-gradgrad")), family="reduce"),
    custom("trapezoid", lambda mk: (mk.add(mk.t(3, 5)), mk.add(mk.t(3, 5), dx=0.5), mk.add(mk.t(3, 5), mk.t(5)),
                                    mk.add(mk.t(3, 5), dim=0), mk.add(mk.t(0)), mk.add(mk.t(5, dtype="int64")),
                                    mk.add(mk.t(3, 5, dtype="float64"), tag="float64-gradgrad")), family="reduce"),
    custom("trapz", lambda mk: (mk.add(mk.t(3, 5)), mk.add(mk.t(3, 5), mk.t(5))), family="reduce"),
    custom("cumulative_trapezoid", lambda mk: (mk.add(mk.t(3, 5)), mk.add(mk.t(3, 5), dx=0.5),
                                               mk.add(mk.t(3, 5), mk.t(5)), mk.add(mk.t(3, 5), dim=0),
                                               mk.add(mk.t(1)), mk.add(mk.t(3, 5, dtype="float64"),
                                                                       tag="float64-gradgrad")), family="reduce"),
    custom("dist", lambda mk: (mk.add(mk.t(3, 4), mk.t(4)), mk.add(mk.t(3, 4), mk.t(3, 4), 1),
                               mk.add(mk.t(3, 4), mk.t(3, 4), float("inf")), mk.add(mk.t(3, 4), mk.t(3, 4), 0),
                               mk.add(mk.t(3, 4, dtype="float64"), mk.t(4, dtype="float64"), 3, tag="float64-gradgrad")),
           family="reduce"),
]
