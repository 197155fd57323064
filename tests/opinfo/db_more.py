"""Entries: the ops of issue 20 parts 3-5 (sampling, CTC, fractional pooling, statistics, set and shape
helpers, the torch.* forms of nn functions, in-place variants)."""
from __future__ import annotations

from . import samples as S
from .core import custom
from .runner import TL

F, ALL, REAL = S.FLOATS, S.ALL, S.REAL
I64 = "int64"


def c(name, fn, **kw):
    kw.setdefault("family", "more")
    return custom(name, fn, **kw)


OPS = [
    c("grid_sampler", lambda mk: [mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 2, lo=-1.2, hi=1.2), m, p, a)
                                  for m in (0, 1, 2) for p in (0, 1, 2) for a in (False, True)]
      + [mk.add(mk.t(1, 2, 3, 4, 5), mk.t(1, 2, 3, 2, 3, lo=-1.2, hi=1.2), 0, 2, False)],
      method=None, inplace=None, grad_tol=(1e-2, 1e-3)),
    c("grid_sampler_2d", lambda mk: (mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 2, lo=-1.2, hi=1.2), 0, 0, False),
                                     mk.add(mk.t(1, 2, 3, 4, 5), mk.t(1, 2, 3, 2, 3), 0, 0, False)),
      method=None, inplace=None),
    c("grid_sampler_3d", lambda mk: (mk.add(mk.t(1, 2, 3, 4, 5), mk.t(1, 2, 3, 2, 3, lo=-1.2, hi=1.2), 1, 1, True),
                                     mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 2), 0, 0, False)),
      method=None, inplace=None),
    c("affine_grid_generator", lambda mk: (mk.add(mk.t(2, 2, 3), (2, 1, 3, 4), False),
                                           mk.add(mk.t(1, 3, 4), (1, 1, 2, 3, 2), True)),
      method=None, inplace=None),
]


# -- torch.<op>_ in-place functions: the input, mutated, is the result ------------------------------------------
_POS = ("log_", "log10_", "log1p_", "log2_", "sqrt_", "rsqrt_", "reciprocal_", "acosh_", "arccosh_")
_UNIT = ("acos_", "arccos_", "asin_", "arcsin_", "atanh_", "arctanh_", "logit_")


def _inplace_entry(name):
    def gen(mk):
        if name in ("gcd_", "lcm_"):
            mk.add(mk.t(3, 4, dtype="int64", lo=-9, hi=9), mk.t(4, dtype="int64", lo=-9, hi=9))
            return
        if name in ("xlogy_", "ldexp_"):
            mk.add(mk.t(3, 4), mk.t(4, lo=0.5, hi=2))
            return
        if name in ("clamp_max_", "clamp_min_"):
            mk.add(mk.t(3, 4), 0.3)
            return
        if name == "clip_":
            mk.add(mk.t(3, 4), -0.5, 0.5)
            return
        if name == "fill_":
            mk.add(mk.t(3, 4), 1.5)
            mk.add(mk.t(3, 4, dtype="int64"), mk.v(2.0))
            return
        if name == "addmv_":
            mk.add(mk.t(3), mk.t(3, 4), mk.t(4), beta=0.5, alpha=2)
            return
        if name == "resize_as_":
            mk.add(mk.t(3, 4), mk.t(12))
            return
        lo, hi = (0.2, 3.0) if name in _POS else (-0.8, 0.8) if name in _UNIT else (-2.0, 2.0)
        if name in ("acosh_", "arccosh_"):
            lo, hi = 1.1, 3.0
        if name == "logit_":
            lo, hi = 0.1, 0.9
        mk.add(mk.t(3, 4, lo=lo, hi=hi))
        mk.add(mk.t(5, dtype="float64", lo=lo, hi=hi))
        if name not in ("detach_", "zero_", "fill_", "conj_physical_"):
            mk.add(mk.t(2, 3, dtype="int64", lo=max(lo, -3), hi=max(hi, 2)), tag="int64")  # in-place into an int
    return c(name, gen, grad=False, method=None, inplace=None, call=(lambda n: lambda m, *a, **k: (
        lambda r: r)(getattr(m, n)(*a, **k)))(name))


OPS += [_inplace_entry(n) for n in (
    "abs_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
    "asinh_", "atan_", "atanh_", "ceil_", "clamp_max_", "clamp_min_", "clip_", "conj_physical_", "cos_", "cosh_",
    "deg2rad_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_",
    "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_",
    "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_",
    "tanh_", "trunc_", "xlogy_", "zero_", "addmv_", "detach_", "resize_as_")]


# -- nn functions at torch's top level (ATen's signatures) ---------------------------------------------------------
def _img(mk, *shape, **kw):
    return mk.t(*shape, **kw)


OPS += [
    c("adaptive_avg_pool1d", lambda mk: (mk.add(mk.t(2, 3, 7), 3),), method=None, inplace=None),
    c("adaptive_max_pool1d", lambda mk: (mk.add(mk.t(2, 3, 7), 3),), method=None, inplace=None),
    c("avg_pool1d", lambda mk: (mk.add(mk.t(2, 3, 8), 2), mk.add(mk.t(2, 3, 8), 3, 2, 1, True, False)),
      method=None, inplace=None),
    c("max_pool1d", lambda mk: (mk.add(mk.t(2, 3, 8), 2), mk.add(mk.t(2, 3, 8), 3, 2, 1, 1, True)),
      method=None, inplace=None),
    c("max_pool1d_with_indices", lambda mk: (mk.add(mk.t(2, 3, 8), 2),), method=None, inplace=None),
    c("max_pool2d", lambda mk: (mk.add(mk.t(1, 2, 6, 6), 2), mk.add(mk.t(1, 2, 6, 6), 3, 2, 1)),
      method=None, inplace=None),
    c("max_pool3d", lambda mk: (mk.add(mk.t(1, 2, 4, 4, 4), 2),), method=None, inplace=None),
    c("conv1d", lambda mk: (mk.add(mk.t(2, 3, 7), mk.t(4, 3, 3)), mk.add(mk.t(2, 3, 7), mk.t(4, 3, 3), mk.t(4), 2, 1)),
      method=None, inplace=None),
    c("conv2d", lambda mk: (mk.add(mk.t(1, 2, 5, 5), mk.t(3, 2, 3, 3), None, 1, 1),), method=None, inplace=None),
    c("conv3d", lambda mk: (mk.add(mk.t(1, 2, 4, 4, 4), mk.t(3, 2, 2, 2, 2)),), method=None, inplace=None),
    c("conv_transpose1d", lambda mk: (mk.add(mk.t(2, 3, 5), mk.t(3, 4, 3), None, 2, 1, 1),), method=None,
      inplace=None),
    c("conv_transpose2d", lambda mk: (mk.add(mk.t(1, 2, 4, 4), mk.t(2, 3, 3, 3), mk.t(3), 2),), method=None,
      inplace=None),
    c("conv_transpose3d", lambda mk: (mk.add(mk.t(1, 2, 3, 3, 3), mk.t(2, 3, 2, 2, 2)),), method=None, inplace=None),
    c("convolution", lambda mk: (mk.add(mk.t(1, 2, 5, 5), mk.t(3, 2, 3, 3), mk.t(3), (1, 1), (1, 1), (1, 1), False,
                                        (0, 0), 1),
                                 mk.add(mk.t(1, 2, 4, 4), mk.t(2, 3, 3, 3), None, (2, 2), (0, 0), (1, 1), True,
                                        (1, 1), 1)), method=None, inplace=None),
    c("conv_tbc", lambda mk: (mk.add(mk.t(7, 2, 3), mk.t(3, 3, 4), mk.t(4)), mk.add(mk.t(7, 2, 3), mk.t(3, 3, 4),
                                                                                  mk.t(4), 1),
                              mk.add(mk.t(7, 2, 3), mk.t(3, 2, 4), mk.t(4))), method=None, inplace=None),
    c("batch_norm", lambda mk: (mk.add(mk.t(3, 4), mk.t(4), mk.t(4), mk.t(4), mk.t(4, lo=0.5), False, 0.1, 1e-5, True,
                                       grad=False),
                                mk.add(mk.t(3, 4), None, None, None, None, True, 0.1, 1e-5, True)),
      method=None, inplace=None),
    c("instance_norm", lambda mk: (mk.add(mk.t(2, 3, 5), None, None, None, None, True, 0.1, 1e-5, True),),
      method=None, inplace=None),
    c("layer_norm", lambda mk: (mk.add(mk.t(3, 4), (4,)), mk.add(mk.t(3, 4), (4,), mk.t(4), mk.t(4), 1e-3)),
      method=None, inplace=None),
    c("group_norm", lambda mk: (mk.add(mk.t(2, 4, 3), 2), mk.add(mk.t(2, 4, 3), 2, mk.t(4), mk.t(4))),
      method=None, inplace=None),
    c("rms_norm", lambda mk: (mk.add(mk.t(3, 4), (4,)), mk.add(mk.t(3, 4), (4,), mk.t(4), 1e-3)), method=None,
      inplace=None),
    c("bilinear", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 2), mk.t(5, 4, 2), mk.t(5)),), method=None, inplace=None),
    c("binary_cross_entropy_with_logits", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4, lo=0, hi=1), grad=False),
                                                      mk.add(mk.t(3, 4), mk.t(3, 4, lo=0, hi=1), None, None, 2,
                                                             grad=False),
                                                      mk.add(mk.t(3, 4), mk.t(3, 4, lo=0, hi=1), None, None, 0,
                                                             grad=False)), method=None, inplace=None),
    c("cosine_embedding_loss", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4), mk.v([1.0, -1.0, 1.0]), grad=False),
                                           mk.add(mk.t(3, 4), mk.t(3, 4), mk.v([1.0, -1.0, 1.0]), 0.2, 2,
                                                  grad=False)), method=None, inplace=None),
    c("hinge_embedding_loss", lambda mk: (mk.add(mk.t(4), mk.v([1.0, -1.0, 1.0, -1.0]), grad=False),
                                          mk.add(mk.t(4), mk.v([1.0, -1.0, 1.0, -1.0]), 0.5, 0, grad=False)),
      method=None, inplace=None),
    c("margin_ranking_loss", lambda mk: (mk.add(mk.t(4), mk.t(4), mk.v([1.0, -1.0, 1.0, -1.0]), grad=False),),
      method=None, inplace=None),
    c("kl_div", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4, lo=0, hi=1), grad=False),
                            mk.add(mk.t(3, 4), mk.t(3, 4), 2, log_target=True, grad=False)), method=None, inplace=None),
    c("poisson_nll_loss", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4, lo=0, hi=3), True, False, 1e-8, 1, grad=False),
                                      mk.add(mk.t(3, 4, lo=0.1, hi=2), mk.t(3, 4, lo=0, hi=3), False, True, 1e-8, 0,
                                             grad=False)), method=None, inplace=None),
    c("triplet_margin_loss", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4), mk.t(3, 4)),
                                         mk.add(mk.t(3, 4), mk.t(3, 4), mk.t(3, 4), 0.5, 1, 1e-6, True, 0)),
      method=None, inplace=None),
    c("ctc_loss", lambda mk: (mk.add(_logp(mk), mk.v([[1, 2, 2], [1, 3, 0]], I64), (6, 5), (3, 2)),
                              mk.add(_logp(mk), mk.v([[1, 2, 2], [1, 3, 0]], I64), mk.v([6, 5], I64), mk.v([3, 2], I64),
                                     0, 0, True)), method=None, inplace=None, gradgrad=False),
    c("cosine_similarity", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4)), mk.add(mk.t(3, 4), mk.t(4), 0)), method=None,
      inplace=None),
    c("pairwise_distance", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4)), mk.add(mk.t(3, 4), mk.t(4), 1.0, 1e-6, True)),
      method=None, inplace=None),
    c("pdist", lambda mk: (mk.add(mk.t(4, 3)), mk.add(mk.t(4, 3), 1.0)), method=None, inplace=None),
    c("pixel_shuffle", lambda mk: (mk.add(mk.t(1, 8, 2, 3), 2),), method=None, inplace=None),
    c("pixel_unshuffle", lambda mk: (mk.add(mk.t(1, 2, 4, 6), 2),), method=None, inplace=None),
    c("channel_shuffle", lambda mk: (mk.add(mk.t(1, 4, 2, 2), 2),), method=None, inplace=None),
    c("constant_pad_nd", lambda mk: (mk.add(mk.t(2, 3), (1, 2)), mk.add(mk.t(2, 3), (1, 1, 0, 1), 2.5),
                                     mk.add(mk.t(2, 3), (-1, 1))), method=None, inplace=None),
    c("prelu", lambda mk: (mk.add(mk.t(2, 3, 4), mk.t(3)), mk.add(mk.t(2, 3), mk.t(1))), method=None, inplace=None),
    c("hardshrink", lambda mk: (mk.add(mk.t(3, 4)), mk.add(mk.t(3, 4), 0.3)), method=None, inplace=None),
    c("celu", lambda mk: (mk.add(mk.t(3, 4)), mk.add(mk.t(3, 4), 0.5)), method=None, inplace=None),
    c("selu", lambda mk: (mk.add(mk.t(3, 4)),), method=None, inplace=None),
    c("threshold", lambda mk: (mk.add(mk.t(3, 4), 0.1, -2.0),), method=None, inplace=None),
    c("celu_", lambda mk: (mk.add(mk.t(3, 4), 0.5, grad=False),), method=None, inplace=None),
    c("selu_", lambda mk: (mk.add(mk.t(3, 4), grad=False),), method=None, inplace=None),
    c("threshold_", lambda mk: (mk.add(mk.t(3, 4), 0.1, -2.0, grad=False),), method=None, inplace=None),
    c("rrelu", lambda mk: (mk.add(mk.t(3, 4)), mk.add(mk.t(3, 4), 0.1, 0.3)), method=None, inplace=None),
    c("rrelu_", lambda mk: (mk.add(mk.t(3, 4), grad=False),), method=None, inplace=None),
    c("dropout", lambda mk: (mk.add(mk.t(3, 4), 0.5, False), mk.add(mk.t(3, 4), 0.0, True), mk.add(mk.t(3, 4), 1.5, True)),
      method=None, inplace=None),
    c("dropout_", lambda mk: (mk.add(mk.t(3, 4), 0.5, False, grad=False),), method=None, inplace=None),
    c("alpha_dropout", lambda mk: (mk.add(mk.t(3, 4), 0.5, False), mk.add(mk.t(3, 4), 0.0, True)), method=None,
      inplace=None),
    c("alpha_dropout_", lambda mk: (mk.add(mk.t(3, 4), 0.5, False, grad=False),), method=None, inplace=None),
    c("feature_dropout", lambda mk: (mk.add(mk.t(2, 3, 4), 0.5, False), mk.add(mk.t(2, 3, 4), 0.0, True)), method=None,
      inplace=None),
    c("feature_dropout_", lambda mk: (mk.add(mk.t(2, 3, 4), 0.5, False, grad=False),), method=None, inplace=None),
    c("feature_alpha_dropout", lambda mk: (mk.add(mk.t(2, 3, 4), 0.5, False),), method=None, inplace=None),
    c("feature_alpha_dropout_", lambda mk: (mk.add(mk.t(2, 3, 4), 0.5, False, grad=False),), method=None,
      inplace=None),
    c("embedding", lambda mk: (mk.add(mk.t(4, 3), mk.v([[0, 2], [1, 1]], I64)), mk.add(mk.t(4, 3), mk.v([0, 2], I64), 0),
                               mk.add(mk.t(4, 3), mk.v([4], I64))), method=None, inplace=None),
    c("embedding_renorm_", lambda mk: (mk.add(mk.t(4, 3), mk.v([0, 2], I64), 0.5, 2.0, grad=False),), method=None,
      inplace=None),
    c("lstm_cell", lambda mk: (mk.add(mk.t(2, 3), TL([mk.t(2, 4), mk.t(2, 4)]), mk.t(16, 3), mk.t(16, 4), mk.t(16),
                                      mk.t(16)),), method=None, inplace=None),
    c("gru_cell", lambda mk: (mk.add(mk.t(2, 3), mk.t(2, 4), mk.t(12, 3), mk.t(12, 4), mk.t(12), mk.t(12)),
                              mk.add(mk.t(2, 3), mk.t(2, 4), mk.t(12, 3), mk.t(12, 4))), method=None, inplace=None),
    c("rnn_tanh_cell", lambda mk: (mk.add(mk.t(2, 3), mk.t(2, 4), mk.t(4, 3), mk.t(4, 4), mk.t(4), mk.t(4)),),
      method=None, inplace=None),
    c("rnn_relu_cell", lambda mk: (mk.add(mk.t(2, 3), mk.t(2, 4), mk.t(4, 3), mk.t(4, 4)),), method=None, inplace=None),
    c("lstm", lambda mk: (mk.add(mk.t(5, 2, 3), TL([mk.t(1, 2, 4), mk.t(1, 2, 4)]),
                                 TL([mk.t(16, 3), mk.t(16, 4), mk.t(16), mk.t(16)]), True, 1, 0.0, False, False, False),
                          mk.add(mk.t(2, 5, 3), TL([mk.t(2, 2, 4), mk.t(2, 2, 4)]),
                                 TL([mk.t(16, 3), mk.t(16, 4), mk.t(16, 4), mk.t(16, 4)]), False, 2, 0.0, False, False,
                                 True)), method=None, inplace=None),
    c("gru", lambda mk: (mk.add(mk.t(5, 2, 3), mk.t(2, 2, 4), TL([mk.t(12, 3), mk.t(12, 4), mk.t(12), mk.t(12),
                                                                  mk.t(12, 3), mk.t(12, 4), mk.t(12), mk.t(12)]),
                                True, 1, 0.0, False, True, False),), method=None, inplace=None),
    c("rnn_tanh", lambda mk: (mk.add(mk.t(5, 2, 3), mk.t(1, 2, 4), TL([mk.t(4, 3), mk.t(4, 4), mk.t(4), mk.t(4)]),
                                     True, 1, 0.0, False, False, False),), method=None, inplace=None),
    c("rnn_relu", lambda mk: (mk.add(mk.t(5, 2, 3), mk.t(1, 2, 4), TL([mk.t(4, 3), mk.t(4, 4)]), False, 1, 0.0, False,
                                     False, False),), method=None, inplace=None),
]


def _logp(mk):
    import numpy as np
    x = mk.t(6, 2, 4).astype(np.float64)
    return (x - np.log(np.exp(x).sum(-1, keepdims=True))).astype(np.float32)


# -- small utilities of the top level --------------------------------------------------------------------------
OPS += [
    c("fill", lambda mk: (mk.add(mk.t(3, 4), 1.5), mk.add(mk.t(3, 4, dtype="int64"), 2.7), mk.add(mk.t(3, 4), mk.v(2.0)),
                          mk.add(mk.t(3, 4), mk.t(2))), method=None, inplace=None),
    c("detach", lambda mk: (mk.add(mk.t(3, 4)),), method=None, inplace=None),
    c("is_same_size", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4)), mk.add(mk.t(3, 4), mk.t(4, 3))), grad=False),
    c("isin", lambda mk: (mk.add(mk.v([1, 2, 3, 4], I64), mk.v([2, 4, 7], I64)),
                          mk.add(mk.v([1, 2, 3, 4], I64), mk.v([2, 4, 7], I64), invert=True),
                          mk.add(mk.v([1.0, 2.5, float("nan")]), mk.v([2.5, float("nan")])),
                          mk.add(mk.v([[1, 2], [3, 4]], I64), 3), mk.add(2, mk.v([1, 2], I64)),
                          mk.add(mk.v([1, 2], I64), mk.v([2.0, 1.5]))), grad=False, method=None, inplace=None),
    c("put", lambda mk: (mk.add(mk.t(3, 4), mk.v([0, 5, -1], I64), mk.t(3)),
                         mk.add(mk.t(3, 4), mk.v([[0, 5], [5, 1]], I64), mk.t(2, 2), True),
                         mk.add(mk.t(3, 4), mk.v([12], I64), mk.t(1)), mk.add(mk.t(3, 4), mk.v([0, 1], I64), mk.t(3)),
                         mk.add(mk.t(3, 4), mk.v([0], "int32"), mk.t(1)))),
    c("unravel_index", lambda mk: (mk.add(mk.v([5, 0, 11], I64), (3, 4)), mk.add(mk.v(7, I64), (2, 2, 2)),
                                   mk.add(mk.v([-1], I64), (3, 4)), mk.add(mk.v([12], I64), (3, 4)),
                                   mk.add(mk.v([1.0]), (3, 4))), grad=False, method=None, inplace=None),
    c("select_scatter", lambda mk: (mk.add(mk.t(3, 4), mk.t(4), 0, 1), mk.add(mk.t(3, 4), mk.t(3), 1, -1),
                                    mk.add(mk.t(3, 4), mk.t(3), 0, 0)), method=None, inplace=None),
    c("slice_scatter", lambda mk: (mk.add(mk.t(4, 4), mk.t(2, 4), 0, 1, 3), mk.add(mk.t(4, 4), mk.t(4, 2), 1, 0, 4, 2),
                                   mk.add(mk.t(4, 4), mk.t(4, 4)), mk.add(mk.t(4, 4), mk.t(3, 4))),
      method=None, inplace=None),
    c("diagonal_scatter", lambda mk: (mk.add(mk.t(3, 3), mk.t(3)), mk.add(mk.t(3, 4), mk.t(3), 1),
                                      mk.add(mk.t(2, 3, 3), mk.t(3, 2), 0, 1, 2), mk.add(mk.t(3, 3), mk.t(2))),
      method=None, inplace=None),
    c("split_with_sizes", lambda mk: (mk.add(mk.t(5, 2), (2, 3)), mk.add(mk.t(5, 2), (1, 1), 1),
                                      mk.add(mk.t(5, 2), (2, 2)))),
    c("unsafe_split", lambda mk: (mk.add(mk.t(5, 2), 2),)),
    c("unsafe_split_with_sizes", lambda mk: (mk.add(mk.t(5, 2), (2, 3)),)),
    c("unsafe_chunk", lambda mk: (mk.add(mk.t(5, 2), 2),)),
    c("nonzero_static", lambda mk: (mk.add(mk.v([[0, 1], [2, 0]], I64), size=3), mk.add(mk.v([0, 1, 1], I64), size=1),
                                    mk.add(mk.v([0.0, 1.0]), size=2, fill_value=7)), grad=False),
    c("norm_except_dim", lambda mk: (mk.add(mk.t(3, 4)), mk.add(mk.t(3, 4, 2), 2, 1), mk.add(mk.t(3, 4), 3, -1)),
      method=None, inplace=None),
    c("gradient", lambda mk: (mk.add(mk.t(5)), mk.add(mk.t(4, 5), spacing=2.0), mk.add(mk.t(4, 5), dim=1, edge_order=2),
                              mk.add(mk.t(4, 5), spacing=(mk.v([0.0, 1.0, 3.0, 4.0]),), dim=0),
                              mk.add(mk.t(6), spacing=(mk.v([0.0, 1.0, 1.5, 3.0, 4.0, 7.0]),), edge_order=2),
                              mk.add(mk.t(4, 5), spacing=[1.0, 0.5]), mk.add(mk.t(5, dtype="int64")),
                              mk.add(mk.t(1)), mk.add(mk.t(4, 5), edge_order=3)), method=None, inplace=None),
    c("get_device", lambda mk: (mk.add(mk.t(3)),), grad=False, method=None, inplace=None),
]


# -- Tensor methods without a function (dynagrad/_tensor_extras.py) ------------------------------------------------
def _m(name, fn, **kw):
    kw.setdefault("method", None)
    kw.setdefault("inplace", None)
    return c(name, fn, call=lambda m, x, *a, **k: getattr(x, name)(*a, **k), **kw)


OPS += [
    c("hash_tensor", lambda mk: (mk.add(mk.t(3, 4)), mk.add(mk.t(3, 4, dtype="int64", lo=-9, hi=9), 1),
                                 mk.add(mk.t(3, 4, dtype="float16"), (0, 1), keepdim=True), mk.add(mk.t(0)),
                                 mk.add(mk.t(2, 0), 1), mk.add(mk.t(2, 0), 0), mk.add(mk.t(3, dtype="bool")),
                                 mk.add(mk.t(3, dtype="uint8"))), grad=False),
    _m("sum_to_size", lambda mk: (mk.add(mk.t(2, 3), 1, 3), mk.add(mk.t(2, 3), (3,)), mk.add(mk.t(2, 3), 2, 1),
                                  mk.add(mk.t(2, 3), 3, 1), mk.add(mk.t(2, 3, dtype="float64"), 1, 1,
                                                                   tag="float64-gradgrad"))),
    _m("fill_diagonal_", lambda mk: (mk.add(mk.t(3, 3), 2.0), mk.add(mk.t(5, 3), 1.0), mk.add(mk.t(7, 3), 1.0, True),
                                     mk.add(mk.t(2, 2, 2), -1.0), mk.add(mk.t(2, 3, 2), 1.0), mk.add(mk.t(3), 1.0),
                                     mk.add(mk.t(3, 3, dtype="int64"), 7)), grad=False),
    _m("cdouble", lambda mk: (mk.add(mk.t(3)), mk.add(mk.t(3, dtype="int64"))), grad=False),
    _m("resize", lambda mk: (mk.add(mk.t(2, 3), 3, 2), mk.add(mk.t(2, 3), (6,)), mk.add(mk.t(2, 3), 4))),
    _m("resize_as", lambda mk: (mk.add(mk.t(2, 3), mk.t(6)),)),
    _m("dim_order", lambda mk: (mk.add(mk.t(2, 3)), mk.add(mk.t(2, 3, layout="T")), mk.add(mk.t())), grad=False),
    _m("is_nonzero", lambda mk: (mk.add(mk.v([0.0])), mk.add(mk.v(2)), mk.add(mk.t(2)), mk.add(mk.t(0))), grad=False),
]
