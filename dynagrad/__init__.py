"""dynagrad: a define-by-run deep learning framework in pure Python on NumPy, with PyTorch's API.

>>> import dynagrad as torch
>>> x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x ** 2).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from __future__ import annotations

from . import (
    _tensor_methods,  # attaches operators and methods to Tensor
    autograd,
    random,
)
from . import dtypes as _dtypes
from ._device import get_default_device, set_default_device
from ._printing import set_printoptions
from ._stft import istft, stft
from ._threads import get_num_threads, set_num_threads
from ._toplevel import *  # noqa: F403
from ._windows import bartlett_window, blackman_window, hamming_window, hann_window, kaiser_window
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
    chalf,
    complex32,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float8_e4m3fn,
    float8_e5m2,
    float16,
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
from .ops.combine import *  # noqa: F403
from .ops.distance import cdist
from .ops.elementwise import *  # noqa: F403
from .ops.elementwise import abs, pow, round  # noqa: A004
from .ops.index import *  # noqa: F403
from .ops.index import index_put_
from .ops.linalg import *  # noqa: F403
from .ops.math import *  # noqa: F403
from .ops.reduce import *  # noqa: F403
from .ops.reduce import all, any, max, min, return_types, sum  # noqa: A004
from .ops.sampling import affine_grid_generator, grid_sampler, grid_sampler_2d, grid_sampler_3d
from .ops.shape import *  # noqa: F403
from .ops.sorting import *  # noqa: F403
from .ops.stats import *  # noqa: F403
from .random import (
    Generator,
    _sample_dirichlet,
    _standard_gamma,
    bernoulli,
    binomial,
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
from ._device import layout, sparse_bsc, sparse_bsr, sparse_coo, sparse_csc, sparse_csr, strided

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
    """Deprecated PyTorch spelling of ``set_default_dtype``: ``torch.DoubleTensor`` or 'torch.DoubleTensor'."""
    import warnings

    from ._tensortype import resolve
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    dt, cuda, _ = resolve(t)
    if cuda:
        from .cuda._errors import not_compiled
        raise not_compiled("set_default_tensor_type()")
    set_default_dtype(dt)


def get_num_interop_threads() -> int:
    """1: dynagrad runs independent ops one after another (PyTorch's CPU build reports its inter-op pool)."""
    return 1


def set_num_interop_threads(n: int) -> None:
    """Accepted: there is no inter-op thread pool to size."""
    if int(n) < 1:
        raise RuntimeError("Expected num_threads to be positive")


def set_flush_denormal(mode: bool) -> bool:
    """False: NumPy keeps subnormal floats, and dynagrad cannot switch the CPU to flush them (PyTorch returns
    True where it could set the mode)."""
    return False


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """dynagrad's CPU kernels are deterministic (every sampler draws PyTorch's stream, reductions have a
    fixed order, the BLAS pool is fixed unless DYNAGRAD_ADAPTIVE_THREADS=1 opted in to following the load);
    mode True also keeps an opted-in pool fixed (see dynagrad/_threads.py).

    >>> import dynagrad
    >>> dynagrad.use_deterministic_algorithms(True); dynagrad.are_deterministic_algorithms_enabled()
    True
    >>> dynagrad.use_deterministic_algorithms(False)
    """
    import builtins
    if not isinstance(mode, builtins.bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not "
                        f"{type(mode).__name__}")
    from . import _threads
    _threads.set_deterministic(mode, warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    from . import _threads
    return _threads._governor.deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    from . import _threads
    return _threads._governor.warn_only


_matmul_precision = "highest"


def set_float32_matmul_precision(precision: str) -> None:
    """Record the float32 matmul precision ('highest', 'high', 'medium'). On the CPU every setting computes in
    full float32, as PyTorch's CPU kernels do; ``torch.backends.cuda.matmul.allow_tf32`` reads this.

    >>> import dynagrad
    >>> dynagrad.set_float32_matmul_precision("high"); dynagrad.get_float32_matmul_precision()
    'high'
    >>> dynagrad.set_float32_matmul_precision("highest")
    """
    global _matmul_precision
    if precision not in ("highest", "high", "medium"):
        import warnings
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      f"setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul_precision = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision


class OutOfMemoryError(RuntimeError):
    """``torch.OutOfMemoryError`` (also ``torch.cuda.OutOfMemoryError``): a device ran out of memory."""


def get_device_module(device=None):  # noqa: F811 - PyTorch's parameter name
    """The ``torch.<type>`` module of a device type: ``torch.cpu`` when none is given.

    >>> import dynagrad
    >>> dynagrad.get_device_module("cuda").__name__
    'dynagrad.cuda'
    """
    import importlib

    from ._device import device as device_cls
    kind = "cpu" if device is None else (device if isinstance(device, device_cls) else device_cls(device)).type
    if kind in ("cpu", "cuda", "mps", "xpu"):
        return importlib.import_module(f".{kind}", __name__)
    raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered as 'torch.{kind}'.")


def is_vulkan_available() -> bool:
    return False


def typename(obj) -> str:
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__


def clamp_(t, min=None, max=None):  # noqa: A002, F811
    return t.clamp_(min, max)


del annotations


_LAZY_SUBMODULES = {"nn", "optim", "distributions", "special", "func", "vision", "serialization", "profiler",
                     "viz", "memory", "amp", "onnx", "jit", "distributed", "testing", "linalg", "fft", "cpu", "utils",
                     "compile", "compiler", "cuda", "backends", "accelerator", "mps", "xpu", "version",
                     "torch_version", "__config__", "sparse", "fx", "_dynamo", "_inductor", "signal",
                     "multiprocessing", "storage", "_C", "hub", "_subclasses"}
_LEGACY_TYPES = {"DoubleTensor", "FloatTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor",
                 "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"}
# torch.has_* flags: (value, deprecation message or None)
_HAS = {"has_cuda": (False, "'has_cuda' is deprecated, please use 'torch.backends.cuda.is_built()'"),
        "has_cudnn": (False, "'has_cudnn' is deprecated, please use 'torch.backends.cudnn.is_available()'"),
        "has_mps": (False, "'has_mps' is deprecated, please use 'torch.backends.mps.is_built()'"),
        "has_mkldnn": (False, "'has_mkldnn' is deprecated, please use 'torch.backends.mkldnn.is_available()'"),
        "has_openmp": (False, None), "has_lapack": (True, None), "has_spectral": (True, None)}
_AMP_NAMES = {"autocast", "is_autocast_enabled", "get_autocast_dtype", "is_autocast_available"}


_SPECIAL_ALIASES = {"lgamma": "gammaln", "digamma": "digamma", "polygamma": "polygamma", "erfinv": "erfinv",
                    "erfc": "erfc", "logit": "logit", "sinc": "sinc", "mvlgamma": "multigammaln"}


def __getattr__(name: str):
    # Subpackages load on first use, which keeps `import dynagrad` fast; save/load live in serialization.py.
    import importlib
    if name in ("save", "load"):
        return getattr(importlib.import_module(".serialization", __name__), name)
    if name == "__version__":
        return importlib.import_module(".torch_version", __name__).__version__
    if name in _AMP_NAMES:
        return getattr(importlib.import_module(".amp.autocast_mode", __name__), name)
    if name == "torch":  # torch.torch is torch itself (kornia annotates with torch.torch.Tensor)
        return importlib.import_module(__name__)
    if name in ("SymInt", "SymFloat", "SymBool"):
        return getattr(importlib.import_module("._symbolic", __name__), name)
    if name in ("from_dlpack", "to_dlpack"):
        return getattr(importlib.import_module(".utils.dlpack", __name__), name)
    if name in ("UntypedStorage", "TypedStorage"):
        return getattr(importlib.import_module(".storage", __name__), name)
    if name in _LEGACY_TYPES:
        return importlib.import_module("._tensortype", __name__).top_level()[name]
    if name in _HAS:
        value, message = _HAS[name]
        if message:
            import warnings
            warnings.warn(message, UserWarning, stacklevel=2)
        return value
    if name == "has_mkl":
        return importlib.import_module(".backends.mkl", __name__).is_available()
    if name == "sparse_coo_tensor":
        return importlib.import_module(".sparse", __name__).sparse_coo_tensor
    if name in _SPECIAL_ALIASES:  # torch.lgamma, torch.digamma, ... live in dynagrad.special
        return getattr(importlib.import_module(".special", __name__), _SPECIAL_ALIASES[name])
    if name in _LAZY_SUBMODULES:
        try:
            return importlib.import_module("." + name, __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'dynagrad' has no attribute '{name}'")
