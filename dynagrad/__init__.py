"""dynagrad: a define-by-run deep learning framework in pure Python on NumPy, with PyTorch's API.

>>> import dynagrad as torch
>>> x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x ** 2).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import (
    _tensor_methods,  # attaches operators and methods to Tensor
    autograd,
    random,
)
from . import dtypes as _dtypes
from ._printing import set_printoptions
from ._threads import get_num_threads, set_num_threads
from .autograd import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    as_tensor,
    asarray,
    cartesian_prod,
    complex,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    meshgrid,
    ones,
    ones_like,
    polar,
    scalar_tensor,
    tensor,
    tril_indices,
    triu_indices,
    zeros,
    zeros_like,
)
from .creation import range_ as range  # noqa: A001 - torch.range (deprecated, inclusive)
from .dtypes import (
    bfloat16,
    bool,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float16,
    float8_e4m3fn,
    float8_e5m2,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .ops.elementwise import *  # noqa: F403
from .ops.elementwise import abs, pow, round  # noqa: A004
from .ops.index import *  # noqa: F403
from .ops.index import index_put_
from .ops.linalg import *  # noqa: F403
from .ops.math import *  # noqa: F403
from .ops.reduce import *  # noqa: F403
from .ops.reduce import all, any, max, min, return_types, sum  # noqa: A004
from .ops.shape import *  # noqa: F403
from .random import (
    Generator,
    bernoulli,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    multinomial,
    normal,
    poisson,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
)
from .tensor import Size, Tensor, device

float = float  # noqa: PLW0127 - dynagrad.float is the dtype, as torch.float
strided = "torch.strided"
contiguous_format = preserve_format = channels_last = "memory_format"


def is_tensor(obj) -> bool:
    """True for dynagrad tensors (and Parameters)."""
    return isinstance(obj, Tensor)


def is_floating_point(t: Tensor) -> bool:
    return t.is_floating_point()


def is_complex(t: Tensor) -> bool:
    return t.is_complex()


def numel(t: Tensor) -> int:
    return t.numel()


def is_nonzero(t: Tensor) -> bool:
    return t.__bool__()


def result_type(a, b) -> dtype:
    return _dtypes.result_type(a, b)


def can_cast(from_: dtype, to: dtype) -> bool:
    return from_.category <= to.category


def set_default_tensor_type(t) -> None:
    set_default_dtype({"torch.FloatTensor": float32, "torch.DoubleTensor": float64}.get(str(t), t))


def get_num_interop_threads() -> int:
    return 1


def set_num_interop_threads(n: int) -> None:
    pass


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """dynagrad's kernels are deterministic for a given thread count; this also keeps the BLAS pool from
    following other processes' load (see dynagrad/_threads.py), so bits do not depend on them.

    >>> import dynagrad
    >>> dynagrad.use_deterministic_algorithms(True); dynagrad.are_deterministic_algorithms_enabled()
    True
    >>> dynagrad.use_deterministic_algorithms(False)
    """
    from . import _threads
    _threads.set_deterministic(mode)


def are_deterministic_algorithms_enabled() -> bool:
    from . import _threads
    return _threads._governor.deterministic


def set_float32_matmul_precision(precision: str) -> None:
    """Accepted for compatibility: NumPy's BLAS always computes float32 matmuls in full precision."""


def get_float32_matmul_precision() -> str:
    return "highest"


def typename(obj) -> str:
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__


def clamp_(t, min=None, max=None):  # noqa: A002, F811
    return t.clamp_(min, max)


class _Cuda:
    """``torch.cuda``: dynagrad runs on the CPU, so CUDA is never available."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed(seed: int) -> None:  # noqa: F811
        pass

    manual_seed_all = manual_seed

    @staticmethod
    def synchronize(device=None) -> None:  # noqa: F811
        pass

    @staticmethod
    def empty_cache() -> None:
        pass

    @staticmethod
    def is_bf16_supported() -> bool:
        return False


cuda = _Cuda()


class _Mps:
    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def is_built() -> bool:
        return False


class _Backends:
    mps = _Mps()

    class cudnn:  # noqa: N801
        enabled = False
        benchmark = False
        deterministic = True

        @staticmethod
        def is_available() -> bool:
            return False


backends = _Backends()

del annotations


_LAZY_SUBMODULES = {"nn", "optim", "distributions", "special", "func", "vision", "serialization", "profiler",
                     "viz", "memory", "amp", "onnx", "jit", "distributed", "testing", "linalg", "fft", "cpu", "utils",
                     "compile", "compiler", "multiprocessing"}


_SPECIAL_ALIASES = {"lgamma": "gammaln", "digamma": "digamma", "polygamma": "polygamma", "erfinv": "erfinv",
                    "erfc": "erfc", "logit": "logit", "sinc": "sinc", "mvlgamma": "multigammaln"}


def __getattr__(name: str):
    # Subpackages load on first use, which keeps `import dynagrad` fast; save/load live in serialization.py.
    import importlib
    if name in ("save", "load"):
        return getattr(importlib.import_module(".serialization", __name__), name)
    if name == "autocast":
        return importlib.import_module(".amp", __name__).autocast
    if name in _SPECIAL_ALIASES:  # torch.lgamma, torch.digamma, ... live in dynagrad.special
        return getattr(importlib.import_module(".special", __name__), _SPECIAL_ALIASES[name])
    if name in _LAZY_SUBMODULES:
        try:
            return importlib.import_module("." + name, __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'dynagrad' has no attribute '{name}'")
