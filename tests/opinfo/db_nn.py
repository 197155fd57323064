"""Entries: torch.nn.functional (the non-random functions; dropout is the random helper's)."""
from __future__ import annotations

from .core import custom


def f(name, fn, **kw):
    kw.setdefault("family", "nn")
    kw.setdefault("method", None)
    kw.setdefault("inplace", None)
    return custom("nn.functional." + name, fn, **kw)


def _act(name, *extra, **kw):
    def gen(mk):
        mk.add(mk.t(3, 4), *extra)
        mk.add(mk.t(), *extra, tag="0d")
        mk.add(mk.t(0, 2), *extra)
        mk.add(mk.t(3, 4, layout="T"), *extra)
        mk.add(mk.special(), *extra, tag="special")
        mk.add(mk.t(3, 4, dtype="float64"), *extra, tag="float64-gradgrad")
        mk.add(mk.t(3, 4, dtype="float16"), *extra)
        mk.add(mk.t(3, 4, dtype="int64"), *extra)
    return f(name, gen, **kw)


I64 = "int64"

OPS = [_act(n) for n in ("relu", "relu6", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign",
                         "tanhshrink", "hardsigmoid", "hardswish", "logsigmoid", "sigmoid", "tanh", "hardtanh",
                         "leaky_relu", "softshrink", "hardshrink")]
OPS += [
    _act("threshold", 0.5, -1.0),
    f("gelu_tanh", lambda mk: (mk.add(mk.t(3, 4), approximate="tanh"), mk.add(mk.t(), approximate="tanh")),
      call=lambda m, x, **k: m.nn.functional.gelu(x, **k)),
    f("glu", lambda mk: (mk.add(mk.t(3, 4)), mk.add(mk.t(4, 3), 0), mk.add(mk.t(3, 3)))),
    f("softmax", lambda mk: (mk.add(mk.t(3, 4), 1), mk.add(mk.t(), 0), mk.add(mk.special(), 0),
                             mk.add(mk.t(3, 4), dim=0, dtype=None))),
    f("log_softmax", lambda mk: (mk.add(mk.t(3, 4), 1), mk.add(mk.t(), 0), mk.add(mk.special(), 0))),
    f("softmin", lambda mk: (mk.add(mk.t(3, 4), 1),)),
    f("normalize", lambda mk: (mk.add(mk.t(3, 4)), mk.add(mk.t(3, 4), 1.0, 0), mk.add(mk.v([[0.0, 0.0]])))),
    f("linear", lambda mk: (mk.add(mk.t(3, 4), mk.t(2, 4)), mk.add(mk.t(3, 4), mk.t(2, 4), mk.t(2)),
                            mk.add(mk.t(4), mk.t(2, 4)), mk.add(mk.t(3, 4), mk.t(2, 3)))),
    f("bilinear", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 2), mk.t(5, 4, 2), mk.t(5)),)),
    f("mse_loss", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4)), mk.add(mk.t(3, 4), mk.t(3, 4), reduction="sum"),
                              mk.add(mk.t(3, 4), mk.t(3, 4), reduction="none"), mk.add(mk.t(3, 4), mk.t(4)))),
    f("l1_loss", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4)),)),
    f("smooth_l1_loss", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4)), mk.add(mk.t(3, 4), mk.t(3, 4), beta=0.5))),
    f("huber_loss", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4)), mk.add(mk.t(3, 4), mk.t(3, 4), delta=0.5))),
    f("cross_entropy", lambda mk: (mk.add(mk.t(3, 5), mk.v([0, 4, 2], I64)), mk.add(mk.t(3, 5), mk.v([0, 4, 2], "int32")),
                                   mk.add(mk.t(3, 5), mk.t(3, 5, lo=0, hi=1)),
                                   mk.add(mk.t(3, 5), mk.v([0, -100, 2], I64)),
                                   mk.add(mk.t(3, 5), mk.v([0, 4, 2], I64), label_smoothing=0.1),
                                   mk.add(mk.t(3, 5), mk.v([0, 4, 2], I64), weight=mk.t(5, lo=0.1, hi=1)),
                                   mk.add(mk.t(2, 5, 3), mk.v([[0, 1, 2], [4, 4, 0]], I64), reduction="none"),
                                   mk.add(mk.t(5), mk.v(1, I64)), mk.add(mk.t(3, 5), mk.v([0, 5, 2], I64)),
                                   mk.add(mk.t(3, 5, dtype="float64"), mk.v([0, 4, 2], I64), tag="float64-gradgrad"))),
    f("nll_loss", lambda mk: (mk.add(mk.t(3, 5), mk.v([0, 4, 2], I64)), mk.add(mk.t(3, 5), mk.v([0, 4, 2], "int32")),
                              mk.add(mk.t(3, 5), mk.v([0, 4, 2], I64), reduction="sum"))),
    f("binary_cross_entropy", lambda mk: (mk.add(mk.t(3, 4, lo=0.05, hi=0.95), mk.t(3, 4, lo=0, hi=1)),
                                          mk.add(mk.v([0.0, 1.0, 0.5]), mk.v([0.0, 1.0, 1.0])))),
    f("binary_cross_entropy_with_logits", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4, lo=0, hi=1)),
                                                      mk.add(mk.t(3, 4), mk.t(3, 4, lo=0, hi=1), pos_weight=mk.t(4, lo=0.5)),
                                                      mk.add(mk.special(), mk.t(16, lo=0, hi=1)))),
    f("kl_div", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4, lo=0, hi=1), reduction="batchmean"),
                            mk.add(mk.t(3, 4), mk.t(3, 4), reduction="sum", log_target=True))),
    f("poisson_nll_loss", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4, lo=0, hi=3)),)),
    f("gaussian_nll_loss", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4), mk.t(3, 4, lo=0.1, hi=1)),)),
    f("margin_ranking_loss", lambda mk: (mk.add(mk.t(4), mk.t(4), mk.v([1.0, -1.0, 1.0, -1.0])),)),
    f("hinge_embedding_loss", lambda mk: (mk.add(mk.t(4), mk.v([1.0, -1.0, 1.0, -1.0])),)),
    f("soft_margin_loss", lambda mk: (mk.add(mk.t(4), mk.v([1.0, -1.0, 1.0, -1.0])),)),
    f("cosine_similarity", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4)), mk.add(mk.t(3, 4), mk.t(4), 0),
                                       mk.add(mk.v([[0.0, 0.0]]), mk.v([[1.0, 0.0]])))),
    f("pairwise_distance", lambda mk: (mk.add(mk.t(3, 4), mk.t(3, 4)), mk.add(mk.t(3, 4), mk.t(4), 1.0))),
    f("pdist", lambda mk: (mk.add(mk.t(4, 3)), mk.add(mk.t(4, 3), 1.0))),
    f("one_hot", lambda mk: (mk.add(mk.v([0, 2, 1], I64)), mk.add(mk.v([0, 2], I64), 4), mk.add(mk.v([0.0]))),
      grad=False),
    f("embedding", lambda mk: (mk.add(mk.v([[0, 2], [1, 1]], I64), mk.t(4, 3)),
                               mk.add(mk.v([0, 2], I64), mk.t(4, 3), padding_idx=0),
                               mk.add(mk.v([4], I64), mk.t(4, 3)))),
    f("layer_norm", lambda mk: (mk.add(mk.t(3, 4), (4,)), mk.add(mk.t(3, 4), (4,), mk.t(4), mk.t(4)),
                                mk.add(mk.t(2, 3, 4), (3, 4)), mk.add(mk.t(3, 4), (3,)),
                                mk.add(mk.t(3, 4, dtype="float64"), (4,), tag="float64-gradgrad"))),
    f("rms_norm", lambda mk: (mk.add(mk.t(3, 4), (4,)), mk.add(mk.t(3, 4), (4,), mk.t(4)))),
    f("group_norm", lambda mk: (mk.add(mk.t(2, 4, 3), 2), mk.add(mk.t(2, 4, 3), 2, mk.t(4), mk.t(4)))),
    f("batch_norm", lambda mk: (mk.add(mk.t(3, 4), mk.t(4), mk.t(4, lo=0.5), training=False),
                                mk.add(mk.t(3, 4), None, None, training=True))),
    f("instance_norm", lambda mk: (mk.add(mk.t(2, 3, 5)),)),
    f("local_response_norm", lambda mk: (mk.add(mk.t(2, 4, 5), 3),)),
    f("conv1d", lambda mk: (mk.add(mk.t(2, 3, 7), mk.t(4, 3, 3)), mk.add(mk.t(2, 3, 7), mk.t(4, 3, 3), mk.t(4), 2, 1),
                            mk.add(mk.t(2, 4, 7), mk.t(4, 2, 3), groups=2), mk.add(mk.t(2, 3, 7), mk.t(4, 2, 3)))),
    f("conv2d", lambda mk: (mk.add(mk.t(1, 2, 5, 5), mk.t(3, 2, 3, 3)),
                            mk.add(mk.t(1, 2, 5, 5), mk.t(3, 2, 3, 3), None, 1, "same"),
                            mk.add(mk.t(1, 2, 5, 5), mk.t(3, 2, 3, 3), mk.t(3), 2, 1, 2))),
    f("conv_transpose1d", lambda mk: (mk.add(mk.t(2, 3, 5), mk.t(3, 4, 3)),)),
    f("conv_transpose2d", lambda mk: (mk.add(mk.t(1, 2, 4, 4), mk.t(2, 3, 3, 3), stride=2),)),
    f("max_pool1d", lambda mk: (mk.add(mk.t(2, 3, 8), 2), mk.add(mk.t(2, 3, 8), 3, 2, 1))),
    f("max_pool2d", lambda mk: (mk.add(mk.t(1, 2, 6, 6), 2), mk.add(mk.t(1, 2, 6, 6), 3, 2, 1, ceil_mode=True))),
    f("avg_pool1d", lambda mk: (mk.add(mk.t(2, 3, 8), 2),)),
    f("avg_pool2d", lambda mk: (mk.add(mk.t(1, 2, 6, 6), 2), mk.add(mk.t(1, 2, 6, 6), 3, 2, 1, count_include_pad=False))),
    f("adaptive_avg_pool1d", lambda mk: (mk.add(mk.t(2, 3, 7), 3),)),
    f("adaptive_avg_pool2d", lambda mk: (mk.add(mk.t(1, 2, 7, 5), (3, 2)),)),
    f("adaptive_max_pool2d", lambda mk: (mk.add(mk.t(1, 2, 7, 5), (3, 2)),)),
    f("lp_pool1d", lambda mk: (mk.add(mk.t(2, 3, 8, lo=0.1), 2.0, 2),)),
    f("pad", lambda mk: (mk.add(mk.t(2, 3), (1, 2)), mk.add(mk.t(1, 2, 4), (1, 1), mode="reflect"),
                         mk.add(mk.t(1, 2, 4), (1, 1), mode="replicate"), mk.add(mk.t(1, 2, 4), (1, 1), mode="circular"),
                         mk.add(mk.t(2, 3), (1, 1, 1, 1), value=2.0), mk.add(mk.t(2, 3), (-1, 1)))),
    f("interpolate", lambda mk: (mk.add(mk.t(1, 2, 4, 4), scale_factor=2), mk.add(mk.t(1, 2, 4, 4), size=(3, 5),
                                                                                    mode="bilinear"),
                                 mk.add(mk.t(1, 2, 4, 4), size=(3, 5), mode="bilinear", align_corners=True),
                                 mk.add(mk.t(1, 2, 4), size=7, mode="linear"))),
    f("pixel_shuffle", lambda mk: (mk.add(mk.t(1, 8, 2, 3), 2),)),
    f("pixel_unshuffle", lambda mk: (mk.add(mk.t(1, 2, 4, 6), 2),)),
    f("unfold", lambda mk: (mk.add(mk.t(1, 2, 4, 4), 2), mk.add(mk.t(1, 2, 4, 4), 2, stride=2, padding=1))),
    f("fold", lambda mk: (mk.add(mk.t(1, 8, 4), (3, 3), 2),)),
    f("scaled_dot_product_attention", lambda mk: (
        mk.add(mk.t(2, 3, 4), mk.t(2, 5, 4), mk.t(2, 5, 4)),
        mk.add(mk.t(2, 3, 4), mk.t(2, 3, 4), mk.t(2, 3, 4), is_causal=True),
        mk.add(mk.t(2, 3, 4), mk.t(2, 5, 4), mk.t(2, 5, 4), mk.t(3, 5, dtype="bool")),
        mk.add(mk.t(1, 2, 4), mk.t(1, 3, 4), mk.t(1, 3, 4), mk.v([[True, False, True], [False, False, False]]),
               tag="masked-row"),
        mk.add(mk.t(2, 3, 4), mk.t(2, 5, 4), mk.t(2, 5, 4), mk.t(3, 5)),
        mk.add(mk.t(2, 3, 4), mk.t(2, 5, 4), mk.t(2, 5, 4), scale=0.3))),
    f("grid_sample", lambda mk: [mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 2, lo=-1.2, hi=1.2), mode=m, padding_mode=p,
                                        align_corners=a, tag=f"{m}-{p}-{a}")
                                 for m in ("bilinear", "nearest", "bicubic") for p in ("zeros", "border", "reflection")
                                 for a in (False, True)]
      + [mk.add(mk.t(1, 2, 3, 4, 5), mk.t(1, 2, 3, 2, 3, lo=-1.2, hi=1.2), mode=m, padding_mode=p, align_corners=a,
                tag=f"3d-{m}-{p}-{a}")
         for m in ("bilinear", "nearest") for p in ("zeros", "border", "reflection") for a in (False, True)]
      + [mk.add(mk.t(2, 1, 3, 4, dtype="float64"), mk.t(2, 2, 2, 2, lo=-1.2, hi=1.2, dtype="float64"),
                mode=m, align_corners=False, tag=f"float64-gradgrad-{m}") for m in ("bilinear",)]
      + [mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 3, 2, lo=-3, hi=3), mode=m, padding_mode=p, align_corners=False,
                tag=f"far-{m}-{p}") for m in ("bilinear", "bicubic") for p in ("zeros", "border", "reflection")]
      + [mk.add(mk.t(1, 1, 4, 5), mk.special().reshape(1, 2, 4, 2), mode=m, padding_mode=p, align_corners=False,
                grad=False, tag=f"special-{m}-{p}") for m in ("bilinear", "nearest") for p in ("zeros", "border")]
      + [mk.add(mk.t(1, 2, 4, 5, dtype="float16"), mk.t(1, 3, 2, 2, lo=-1, hi=1, dtype="float16"), align_corners=False),
         mk.add(mk.t(1, 2, 4, 5, dtype="float64"), mk.t(1, 3, 2, 2, lo=-1, hi=1), align_corners=False),
         mk.add(mk.t(1, 2, 4, 5, dtype="int64"), mk.t(1, 3, 2, 2, dtype="int64"), align_corners=False),
         mk.add(mk.t(1, 2, 3, 4, 5), mk.t(1, 2, 3, 2, 3), mode="bicubic", align_corners=False),
         mk.add(mk.t(2, 2, 4, 5), mk.t(1, 3, 2, 2), align_corners=False),
         mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 3), align_corners=False),
         mk.add(mk.t(1, 2, 0, 5), mk.t(1, 3, 2, 2), align_corners=False),
         mk.add(mk.t(0, 2, 4, 5), mk.t(0, 3, 2, 2), align_corners=False),
         mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 2), mode="linear", align_corners=False),
         mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 2), padding_mode="wrap", align_corners=False)],
      grad_tol=(1e-2, 1e-3), budget=30),
    f("affine_grid", lambda mk: (mk.add(mk.t(2, 2, 3), (2, 1, 3, 4)), mk.add(mk.t(2, 2, 3), (2, 1, 3, 4), True),
                                 mk.add(mk.t(1, 3, 4), (1, 1, 2, 3, 2), False),
                                 mk.add(mk.t(1, 3, 4), (1, 1, 2, 3, 2), True),
                                 mk.add(mk.t(2, 2, 3, dtype="float64"), (2, 1, 3, 4), False, tag="float64-gradgrad"),
                                 mk.add(mk.t(2, 2, 3, dtype="float16"), (2, 1, 3, 4), False),
                                 mk.add(mk.t(1, 2, 3), (1, 1, 1, 4), False), mk.add(mk.t(1, 2, 3), (1, 1, 1, 4), True),
                                 mk.add(mk.t(1, 2, 3, dtype="int64"), (1, 1, 2, 4), False),
                                 mk.add(mk.t(1, 2, 3), (1, 1, 0, 4), False), mk.add(mk.t(1, 2, 3), (1, 1, 4), False),
                                 mk.add(mk.t(1, 3, 4), (1, 1, 2, 4), False), mk.add(mk.t(2, 2, 3), (3, 1, 2, 4), False))),
    f("ctc_loss", lambda mk: [mk.add(_logp(mk, 6, 2, 4), mk.v([[1, 2, 2], [1, 3, 0]], I64), mk.v([6, 5], I64),
                                     mk.v([3, 2], I64), reduction=r, zero_infinity=z, tag=f"{r}-{z}")
                              for r in ("mean", "sum", "none") for z in (False, True)]
      + [mk.add(_logp(mk, 2, 1, 3), mk.v([[1, 1, 1]], I64), mk.v([2], I64), mk.v([3], I64), zero_infinity=True,
                tag="infeasible-zero"),
         mk.add(_logp(mk, 2, 1, 3), mk.v([[1, 1, 1]], I64), mk.v([2], I64), mk.v([3], I64), tag="infeasible"),
         mk.add(_logp(mk, 6, 2, 4), mk.v([1, 2, 2, 3, 3], I64), (6, 4), (3, 2), reduction="none", tag="concatenated"),
         mk.add(_logp(mk, 6, 2, 4), mk.v([[1, 2, 2], [1, 3, 0]], "int32"), mk.v([6, 5], "int32"),
                mk.v([3, 2], "int32"), blank=3, tag="int32-blank3"),
         mk.add(_logp(mk, 6, 2, 4).astype("float64"), mk.v([[1, 2, 2], [1, 1, 0]], I64), (0, 6), (0, 2),
                reduction="none", tag="float64-empty-lengths"),
         mk.add(_logp(mk, 6, 1, 4)[:, 0], mk.v([1, 2], I64), mk.v(6, I64), mk.v(2, I64), reduction="none",
                tag="unbatched"),
         mk.add(_logp(mk, 6, 2, 4), mk.v([[1, 2, 2], [1, 3, 0]], I64), (7, 5), (3, 2), tag="long-input"),
         mk.add(_logp(mk, 6, 2, 4), mk.v([[1, 2, 2], [1, 3, 0]], I64), (6, 5), (4, 2), tag="long-target"),
         mk.add(_logp(mk, 6, 2, 4), mk.v([1, 2, 2, 3], I64), (6, 4), (3, 2), tag="concat-size"),
         mk.add(_logp(mk, 6, 2, 4), mk.v([[1, 2, 2], [1, 3, 0]], I64), (6,), (3, 2), tag="lengths-size"),
         mk.add(_logp(mk, 6, 2, 4), mk.v([[1, 2, 2], [1, 3, 0]], I64), (6, 5), (3, 2), blank=4, tag="blank"),
         mk.add(_logp(mk, 6, 2, 4), mk.v([[1, 2, 2], [1, 3, 0]], I64), (6, 5), (3, 2), reduction="avg", tag="red"),
         mk.add(_logp(mk, 6, 2, 4).astype("float16"), mk.v([[1, 2, 2], [1, 3, 0]], I64), (6, 5), (3, 2),
                tag="half")],
      gradgrad=False, budget=30),
    f("fractional_max_pool2d", lambda mk: (
        mk.add(mk.t(1, 2, 7, 7), 2, output_size=(3, 3), _random_samples=mk.t(1, 2, 2, lo=0, hi=1)),
        mk.add(mk.t(1, 2, 7, 7), 3, output_ratio=(0.5, 0.5), _random_samples=mk.t(1, 2, 2, lo=0, hi=1)),
        mk.add(mk.t(2, 7, 6), (2, 3), output_size=(4, 4), _random_samples=mk.t(1, 2, 2, lo=0, hi=1)),
        mk.add(mk.t(2, 1, 6, 7, dtype="float64"), 2, output_size=(5, 6), _random_samples=mk.t(2, 1, 2, lo=0, hi=1,
                                                                                           dtype="float64"),
               tag="float64-gradgrad"),
        mk.add(mk.v([[[[1.0, float("nan"), 2.0], [float("nan"), 0.0, 5.0], [1.0, 1.0, 1.0]]]]), 2, output_size=2,
               _random_samples=mk.v([[[0.3, 0.7]]])),
        mk.add(mk.t(1, 2, 7, 7, dtype="float16"), 2, output_size=3, _random_samples=mk.t(1, 2, 2, lo=0, hi=1,
                                                                                       dtype="float16")),
        mk.add(mk.t(1, 2, 7, 7), 2, output_size=3, return_indices=True, _random_samples=mk.t(1, 2, 2, lo=0, hi=1)),
        mk.add(mk.t(1, 2, 7, 7), 2, output_size=7, _random_samples=mk.t(1, 2, 2, lo=0, hi=1)),
        mk.add(mk.t(1, 2, 7, 7), 2, output_size=3, _random_samples=mk.t(1, 2, 3, lo=0, hi=1)),
        mk.add(mk.t(1, 2, 7, 7), 2, output_size=3, _random_samples=mk.t(1, 3, 2, lo=0, hi=1)),
        mk.add(mk.t(1, 2, 7, 7), 2, output_size=3, _random_samples=mk.t(1, 2, 2, lo=0, hi=1, dtype="float64")),
        mk.add(mk.t(1, 2, 7, 7, dtype="int64"), 2, output_size=3, _random_samples=mk.t(1, 2, 2, dtype="int64")),
        mk.add(mk.t(1, 2, 7, 7), 2, _random_samples=mk.t(1, 2, 2, lo=0, hi=1)),
        mk.add(mk.t(7, 7), 2, output_size=3, _random_samples=mk.t(1, 2, 2, lo=0, hi=1)))),
    f("fractional_max_pool3d", lambda mk: (
        mk.add(mk.t(1, 2, 5, 6, 7), 2, output_size=(3, 3, 4), _random_samples=mk.t(1, 2, 3, lo=0, hi=1)),
        mk.add(mk.t(2, 6, 6, 6), 2, output_ratio=0.5, _random_samples=mk.t(1, 2, 3, lo=0, hi=1)),
        mk.add(mk.t(1, 1, 4, 5, 5, dtype="float64"), (1, 2, 2), output_size=(3, 3, 3),
               _random_samples=mk.t(1, 1, 3, lo=0, hi=1, dtype="float64"), tag="float64-gradgrad"),
        mk.add(mk.t(1, 2, 5, 6, 7), 2, output_size=(3, 3, 4), return_indices=True,
               _random_samples=mk.t(1, 2, 3, lo=0, hi=1)),
        mk.add(mk.t(1, 2, 5, 6, 7), 2, output_size=(4, 3, 4), _random_samples=mk.t(1, 2, 3, lo=0, hi=1)))),
    f("fractional_max_pool2d_with_indices", lambda mk: (
        mk.add(mk.t(1, 2, 7, 7), 2, output_size=(3, 3), _random_samples=mk.t(1, 2, 2, lo=0, hi=1)),)),
    f("fractional_max_pool3d_with_indices", lambda mk: (
        mk.add(mk.t(1, 2, 5, 6, 7), 2, output_size=(3, 3, 4), _random_samples=mk.t(1, 2, 3, lo=0, hi=1)),)),
]


def _logp(mk, t, n, c):
    import numpy as np
    x = mk.t(t, n, c).astype(np.float64)
    x = x - np.log(np.exp(x).sum(-1, keepdims=True))
    return x.astype(np.float32)
