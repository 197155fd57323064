"""Public names that are not swept, each with the reason (the coverage test fails for any other op
without an entry in the database or a reason here)."""
from __future__ import annotations

_CREATION = "creation: compared with torch in tests/test_creation.py (no tensor input to sweep)"
_RANDOM = "random sampling: compared stream for stream in the random helper's tests (tests/test_random*.py)"
_CONFIG = "not an op: global configuration or introspection"
_LEAK = ("internal helper re-exported at the top level by a star import (not a torch name); to be dropped "
         "from the namespace")
_CONVERT = "conversion or Tensor bookkeeping, not an op: tests/test_creation.py and tests/test_autograd.py"
_INPLACE_NN = "in-place form of an nn.functional activation: the out-of-place entry is swept"
_DROPOUT = "random (dropout family): the random helper's"
_NN = "not yet in the sweep; compared with torch in tests/test_nn_functional.py / test_pool.py / test_nn_losses.py"

EXCLUDED: dict[str, str] = {}
for _n in ("arange", "as_tensor", "asarray", "complex", "empty", "empty_like", "eye", "from_numpy", "full",
           "full_like", "linspace", "logspace", "ones", "ones_like", "polar", "range", "scalar_tensor", "tensor",
           "zeros", "zeros_like"):
    EXCLUDED["torch." + _n] = _CREATION
for _n in ("empty_strided", "empty_permuted", "frombuffer", "from_file"):
    EXCLUDED["torch." + _n] = "creation from sizes or memory: compared with torch in tests/test_ops_issue20.py"
for _n in ("untyped_storage", "storage", "is_inference"):
    EXCLUDED["Tensor." + _n] = "memory introspection, not an op: tests/third_party/test_compat_apis.py"
for _n in ("const_data_ptr", "new_empty_strided", "is_distributed", "as_subclass", "module_load", "is_set_to",
           "map2_"):
    EXCLUDED["Tensor." + _n] = "Tensor bookkeeping or a callable argument: tests/test_ops_issue20.py"
for _n in ("cond", "vmap"):
    EXCLUDED["torch." + _n] = "higher-order function (takes callables): compared with torch in tests/test_ops_issue20.py"
for _n in ("is_anomaly_enabled", "is_anomaly_check_nan_enabled", "set_anomaly_enabled", "set_warn_always",
           "is_warn_always_enabled", "set_deterministic_debug_mode", "get_deterministic_debug_mode",
           "is_deterministic_algorithms_warn_only_enabled", "is_storage", "is_distributed"):
    EXCLUDED["torch." + _n] = _CONFIG
for _n in ("bernoulli", "binomial", "multinomial", "normal", "poisson", "rand", "rand_like", "randint", "randint_like",
           "randn", "randn_like", "randperm", "get_rng_state", "set_rng_state", "manual_seed", "seed", "initial_seed"):
    EXCLUDED["torch." + _n] = _RANDOM
for _n in ("bernoulli", "bernoulli_", "cauchy_", "exponential_", "geometric_", "log_normal_", "normal_", "random_",
           "uniform_", "multinomial"):
    EXCLUDED["Tensor." + _n] = _RANDOM
for _n in ("are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
           "broadcast_shapes", "can_cast", "finfo", "iinfo",
           "get_default_dtype", "get_float32_matmul_precision", "get_num_interop_threads", "get_num_threads",
           "is_grad_enabled", "is_inference_mode_enabled", "is_nonzero", "is_tensor", "numel", "promote_types",
           "result_type", "set_default_dtype", "set_default_tensor_type", "set_float32_matmul_precision",
           "set_num_interop_threads", "set_num_threads", "set_printoptions", "typename", "use_deterministic_algorithms"):
    EXCLUDED["torch." + _n] = _CONFIG
for _n in ("T", "mT", "as_view", "axes_of", "bool_sub_guard", "builtins_sum", "bump_version", "getitem", "setitem",
           "normalize_dim", "to_np_index", "tensor_other_guard", "add_", "sub_", "xlog1py", "diagonal_copy",
           "clamp_", "index_put_", "index_put", "expand_as", "reshape_as", "view_as", "unfold"):
    EXCLUDED["torch." + _n] = _LEAK if _n not in ("clamp_", "index_put_", "index_put", "expand_as", "reshape_as",
                                                   "view_as", "unfold", "diagonal_copy") else \
        "method-like op also at the top level: its Tensor method is compared in the op tests"
for _n in ("apply_", "backward", "bfloat16", "bool", "byte", "cfloat", "char", "copy_", "cpu", "cuda", "data_ptr",
           "detach", "detach_", "dim", "double", "element_size", "fill_", "float", "get_device", "half", "int",
           "is_contiguous", "is_pinned", "is_shared", "item", "long", "map_", "ndimension", "nelement", "new_empty",
           "new_full", "new_ones", "new_tensor", "new_zeros", "numel", "numpy", "pin_memory", "register_hook",
           "register_post_accumulate_grad_hook", "requires_grad_", "resize_", "retain_grad", "set_",
           "share_memory_", "short", "size", "storage_offset", "stride", "to", "tolist", "type", "type_as", "zero_",
           "expand_as", "reshape_as", "view_as", "index_put", "index_put_", "unfold"):
    EXCLUDED["Tensor." + _n] = _CONVERT if _n not in ("expand_as", "reshape_as", "view_as", "index_put", "index_put_",
                                                      "unfold") else \
        "not yet in the sweep; compared with torch in tests/test_ops_shape.py / test_ops_index.py"
_LINALG_TOP = ("cholesky", "cholesky_inverse", "cholesky_solve", "cross", "det", "eig", "frobenius_norm", "geqrf",
               "inverse", "logdet", "lstsq", "lu", "lu_solve", "lu_unpack", "matrix_exp", "matrix_power",
               "matrix_rank", "nuclear_norm", "orgqr", "ormqr", "pca_lowrank", "pinverse", "qr", "renorm", "slogdet",
               "solve", "svd", "svd_lowrank", "svdvals", "symeig", "triangular_solve")
_LINALG_METHODS = ("cholesky", "cholesky_inverse", "cholesky_solve", "cross", "eig", "geqrf", "logdet", "lstsq", "lu",
                   "lu_solve", "matrix_exp", "matrix_power", "orgqr", "ormqr", "pinverse", "qr", "renorm", "renorm_",
                   "slogdet", "svd", "symeig", "triangular_solve")
_LINALG_TESTS = "linear algebra: compared with torch in tests/test_linalg.py (values, gradients, errors)"
for _n in _LINALG_TOP:
    EXCLUDED["torch." + _n] = _LINALG_TESTS
for _n in _LINALG_METHODS:
    EXCLUDED["Tensor." + _n] = _LINALG_TESTS
for _n in ("det", "inverse", "allclose", "equal", "frexp", "is_complex", "is_conj", "is_floating_point", "is_neg",
           "is_signed"):
    EXCLUDED.setdefault("Tensor." + _n, _LINALG_TESTS if _n in ("det", "inverse") else
                        "covered by the torch function's entry (its method variant needs no tensor output)")
for _n in ("is_complex", "is_conj", "is_floating_point", "is_neg", "is_signed", "allclose", "equal", "frexp",
           "view_as_complex", "view_as_real"):
    EXCLUDED.pop("torch." + _n, None)
for _n in ("celu_", "elu_", "hardtanh_", "leaky_relu_", "relu_", "rrelu_", "selu_", "threshold_"):
    EXCLUDED["nn.functional." + _n] = _INPLACE_NN
for _n in ("alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout", "rrelu",
           "gumbel_softmax"):
    EXCLUDED["nn.functional." + _n] = _DROPOUT
for _n in ("apply_inplace", "bump_version", "pad_index"):
    EXCLUDED["nn.functional." + _n] = _LEAK
for _n in ("adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "avg_pool3d",
           "channel_shuffle", "conv3d", "conv_transpose3d", "cosine_embedding_loss", "embedding_bag",
           "linear_cross_entropy", "lp_pool2d", "lp_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d", "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
           "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss", "native_channel_shuffle",
           "prelu", "triplet_margin_loss", "triplet_margin_with_distance_loss", "upsample", "upsample_bilinear",
           "upsample_nearest"):
    EXCLUDED["nn.functional." + _n] = _NN
for _n in ("lgamma", "sigmoid"):
    EXCLUDED["special." + _n] = "a dynagrad extra: torch.special has no such name (nothing to compare with)"
_SURFACE = ("device and build surface (issue 19): compared with PyTorch's CPU wheel in tests/test_cpu_build.py "
            "and tests/test_legacy_tensor_api.py")
_SPARSE = "sparse COO tensors: compared with torch in tests/test_sparse.py (values, gradients, printing)"
for _n in ("get_default_device", "set_default_device", "get_device_module", "is_vulkan_available",
           "set_flush_denormal"):
    EXCLUDED["torch." + _n] = _SURFACE
EXCLUDED["Tensor.new"] = _SURFACE
EXCLUDED["torch.spmm"] = _SPARSE
for _n in ("is_coalesced", "to_dense", "to_sparse", "to_sparse_coo"):
    EXCLUDED["Tensor." + _n] = _SPARSE
# attached to nn.functional on first use: touched here so that it is public whatever ran before
import dynagrad.nn.functional as _F  # noqa: E402

_F.multi_head_attention_forward  # noqa: B018
EXCLUDED["nn.functional.multi_head_attention_forward"] = (
    "many-argument attention entry point: compared with torch in tests/test_attention.py")
