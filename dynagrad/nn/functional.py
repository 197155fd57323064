"""``dynagrad.nn.functional``: the stateless forms of the layers, activations and losses
(``torch.nn.functional``).

Hot paths are single primitives from ``nn._ops`` (``linear``, ``cross_entropy`` with class indices,
``layer_norm`` / ``batch_norm`` / ``group_norm``, ``embedding``, ``dropout``, most activations); the rarer
losses are composites of core ops and need no gradient code.

>>> import dynagrad
>>> import dynagrad.nn.functional as F
>>> x = dynagrad.tensor([[1.0, 2.0, 3.0]])
>>> F.cross_entropy(x, dynagrad.tensor([2]))
tensor(0.4076)
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import _source, dtypes
from .. import random as _random
from ..autograd.function import check_no_requires_grad as _no_grad_arg
from ..backend import xp
from ..ops import elementwise as E
from ..ops import index as I
from ..ops import linalg as L
from ..ops import reduce as R
from ..ops import shape as S
from ..ops.conv import (  # noqa: F401 - re-exported
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    fold,
    unfold,
)
from ..ops.ctc import ctc_loss  # noqa: F401 - re-exported
from ..ops.fractional_pool import (  # noqa: F401 - re-exported
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
from ..ops.inplace import apply_inplace
from ..ops.pad import pad_index
from ..ops.pool import (  # noqa: F401 - re-exported
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    lp_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from ..ops.reduce import log_softmax, softmax
from ..ops.resize import interpolate, upsample, upsample_bilinear, upsample_nearest  # noqa: F401 - re-exported
from ..ops.sampling import affine_grid, grid_sample  # noqa: F401 - re-exported
from ..tensor import Tensor, bump_version
from . import _ops as O

sigmoid = E.sigmoid
tanh = E.tanh

_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _scalar_name(t: Tensor) -> str:
    name = t.dtype.name
    return _TORCH_NAMES.get(name, name)


def _as_tensor(x, like: Tensor | None = None):
    if isinstance(x, Tensor):
        return x
    from ..creation import as_tensor
    return as_tensor(x, dtype=like.dtype if like is not None else None)


# -- reductions ----------------------------------------------------------------------------------------------

class _Reduction:
    """``torch.nn._reduction``: the legacy ``size_average``/``reduce`` flags as a reduction string."""

    @staticmethod
    def get_enum(reduction: str) -> int:
        if reduction == "none":
            return 0
        if reduction == "mean" or reduction == "elementwise_mean":
            return 1
        if reduction == "sum":
            return 2
        raise ValueError(f"{reduction} is not a valid value for reduction")

    @staticmethod
    def legacy_get_string(size_average, reduce, emit_warning: bool = True) -> str:
        if emit_warning:
            warnings.warn("size_average and reduce args will be deprecated, please use reduction='mean' "
                          "instead.",
                          stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        if size_average and reduce:
            return "mean"
        return "sum" if reduce else "none"


def _reduction(reduction: str, size_average=None, reduce=None) -> str:
    if size_average is not None or reduce is not None:
        return _Reduction.legacy_get_string(size_average, reduce)
    _Reduction.get_enum(reduction)
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return R.mean(loss)
    if reduction == "sum":
        return R.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _warn_size(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size "
                      f"({input.size()}). "
                      f"This will likely lead to incorrect results due to broadcasting. Please ensure they "
                      f"have the "
                      f"same size.", stacklevel=3)


def _inplace(x: Tensor, fn, inplace: bool, *args, **kw) -> Tensor:
    return apply_inplace(x, fn, *args, **kw) if inplace else fn(x, *args, **kw)


def _float_input(x):
    return E._float_input(x)


def _floats_only(kernel):
    """PyTorch's refusal of integer and bool inputs by the activation kernels (NotImplementedError)."""
    def check(x):
        if isinstance(x, Tensor) and x._data.dtype.kind in "biuc":
            raise dtypes.not_implemented(kernel, x.dtype)
        return x
    return check


_ELU, _LEAKY, _SILU, _MISH = _floats_only("elu_cpu"), _floats_only("leaky_relu_cpu"), _floats_only("silu_cpu"), \
    _floats_only("mish_cpu")
_HSIG, _HSWISH, _SOFTPLUS = _floats_only("hardsigmoid_cpu"), _floats_only("hardswish_cpu"), \
    _floats_only("softplus_cpu")
_LOGSIG, _SOFTSHRINK, _HARDSHRINK = _floats_only("log_sigmoid_cpu"), _floats_only("softshrink_check"), \
    _floats_only("hardshrink_cpu")


# -- linear --------------------------------------------------------------------------------------------------

def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one primitive (one BLAS call for any number of leading dims).

    >>> import dynagrad
    >>> dynagrad.nn.functional.linear(dynagrad.ones(2, 3), dynagrad.ones(4, 3)).shape
    torch.Size([2, 4])
    """
    xd, wd = input._data, weight._data
    if xd.dtype != wd.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_scalar_name(input)} and "
                           f"{_scalar_name(weight)}")
    if wd.ndim != 2 or xd.ndim == 0:
        if xd.ndim == 0 or wd.ndim == 0:
            raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {xd.ndim}D "
                               f"and "
                               f"{wd.ndim}D")
        out = L.matmul(input, S.t(weight) if wd.ndim == 2 else weight)
        return out + bias if bias is not None else out
    if xd.shape[-1] != wd.shape[1]:
        m = 1
        for s in xd.shape[:-1]:
            m *= s
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{xd.shape[-1]} and "
                           f"{wd.shape[1]}x{wd.shape[0]}) (in linear, at {_source.here()})")
    if bias is not None:
        bd = bias._data
        if bd.shape != (wd.shape[0],) and bd.size != 1 and bd.shape[-1:] != (wd.shape[0],):
            target = list(xd.shape[:-1]) + [wd.shape[0]]
            raise RuntimeError(f"The expanded size of the tensor ({wd.shape[0]}) must match the existing "
                               f"size ({bd.shape[-1] if bd.ndim else 1}) at non-singleton dimension "
                               f"{max(xd.ndim - 1, 0)}.  Target sizes: {target}.  Tensor sizes: "
                               f"{list(bd.shape)}")
        if bd.dtype != wd.dtype:
            bias = bias.to(weight.dtype)
    return O.AddmmBackward0.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x1^T A x2 + b`` for each output feature: weight (out, in1, in2)."""
    out = L.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out + bias if bias is not None else out


# -- activations ---------------------------------------------------------------------------------------------

def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else E.relu(input)


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def _threshold_fn(x, threshold, value):
    if x._data.dtype.kind == "b":
        raise dtypes.not_implemented("threshold_cpu", x.dtype)
    return O.ThresholdBackward0.apply(x, threshold=threshold, value=value)


_threshold_fn.__name__ = "threshold"


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return _inplace(input, _threshold_fn, inplace, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return apply_inplace(input, _threshold_fn, threshold, value)


def _hardtanh_fn(x, min_val, max_val):
    if x._data.dtype.kind in "iu":  # an integer tensor is clamped to the bounds truncated to integers
        min_val, max_val = int(min_val), int(max_val)
    return O.HardtanhBackward0.apply(x, lo=min_val, hi=max_val)


_hardtanh_fn.__name__ = "hardtanh"


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace(input, _hardtanh_fn, inplace, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def _elu_fn(x, alpha, scale, input_scale):
    return O.EluBackward0.apply(_ELU(x), alpha=alpha, scale=scale, input_scale=input_scale)


_elu_fn.__name__ = "elu"
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _inplace(input, _elu_fn, inplace, alpha, 1.0, 1.0)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _elu_fn, inplace, _SELU_ALPHA, _SELU_SCALE, 1.0)


def selu_(input: Tensor) -> Tensor:
    return selu(input, True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _inplace(input, _elu_fn, inplace, alpha, 1.0, 1.0 / alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, True)


def _leaky_fn(x, slope):
    return O.LeakyReluBackward0.apply(_LEAKY(x), slope=slope)


_leaky_fn.__name__ = "leaky_relu"


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _inplace(input, _leaky_fn, inplace, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``max(0, x) + weight * min(0, x)``; ``weight`` has one value or one per channel (dim 1)."""
    n = weight.numel()
    nd = input.ndim
    if n != 1:
        if nd < 1 or (input.shape[1] if nd >= 2 else 1) != n:
            channels = input.shape[1] if nd >= 2 else 1
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter "
                               f"numbers = "
                               f"{n} and channel size = {channels}.")
        wshape = tuple(n if i == 1 else 1 for i in range(nd)) if nd >= 2 else (n,)
    else:
        wshape = (1,) * nd
    return O.PreluKernelBackward0.apply(input, weight, wshape=wshape)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Leaky ReLU with a random slope in [lower, upper] per element while training, the mean slope in eval."""
    _LEAKY(input)
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    # PyTorch's CPU kernel: one double uniform on [lower, upper] (bounds rounded to the input's precision)
    # per element <= 0, in order; the others keep slope 1
    x = input._data
    neg = x <= 0
    work = xp.float64 if x.dtype == xp.float64 else xp.float32
    lo, hi = float(work(lower)), float(work(upper))
    slopes = _random.unit_array((int(xp.count_nonzero(neg)),), 53) * (hi - lo) + lo
    noise_arr = xp.ones(x.shape, x.dtype)
    noise_arr[neg] = slopes.astype(work).astype(x.dtype)
    noise = Tensor._wrap(noise_arr)

    def fn(t):
        return t * noise
    fn.__name__ = "rrelu"
    return _inplace(input, fn, inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, True)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """``a * sigmoid(b)`` where ``a`` and ``b`` are the two halves of ``input`` along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        d = R.normalize_dim(dim, input.ndim)
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is "
                           f"size {n}")
    if input._data.dtype.kind in "biuc":
        raise dtypes.not_implemented("glu_cpu", input.dtype)
    a, b = S.chunk(input, 2, dim)
    return a * E.sigmoid(b)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (``approximate='none'``) or its tanh approximation (``'tanh'``)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(f'"GeluKernelImpl" not implemented for \'{_scalar_name(input)}\'')
    return O.GeluBackward0.apply(input, approximate=approximate)


def _silu_fn(x):
    return O.SiluBackward0.apply(_SILU(x))


_silu_fn.__name__ = "silu"


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``."""
    return _inplace(input, _silu_fn, inplace)


def _mish_fn(x):
    return O.MishBackward0.apply(_MISH(x))


_mish_fn.__name__ = "mish"


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _inplace(input, _mish_fn, inplace)


def _hardsigmoid_fn(x):
    return O.HardsigmoidBackward0.apply(_HSIG(x))


_hardsigmoid_fn.__name__ = "hardsigmoid"


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _hardsigmoid_fn, inplace)


def _hardswish_fn(x):
    return O.HardswishBackward0.apply(_HSWISH(x))


_hardswish_fn.__name__ = "hardswish"


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _hardswish_fn, inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""
    return O.SoftplusBackward0.apply(_SOFTPLUS(input), beta=beta, threshold=threshold)


def logsigmoid(input: Tensor) -> Tensor:
    return O.LogSigmoidBackward0.apply(_LOGSIG(input))


def softsign(input: Tensor) -> Tensor:
    return input / (E.abs(input) + 1)


def tanhshrink(input: Tensor) -> Tensor:
    return input - E.tanh(input)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    _HARDSHRINK(input)
    keep = xp.abs(input._data) > lambd
    return input * Tensor._wrap(keep.astype(input._data.dtype))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    _SOFTSHRINK(input)
    v = input._data
    shift = xp.where(v > lambd, -lambd, xp.where(v < -lambd, lambd, 0)).astype(v.dtype)
    keep = (xp.abs(v) > lambd).astype(v.dtype)
    return (input + Tensor._wrap(shift)) * Tensor._wrap(keep)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return softmax(-input, dim, dtype)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """Samples from the Gumbel-softmax distribution; ``hard`` returns one-hot values with soft gradients."""
    e = _random.exponential_array(logits._data.shape, 1.0, logits._data.dtype)  # PyTorch's exponential_()
    g = -xp.log(e)
    y = softmax((logits + Tensor._wrap(g)) / tau, dim)
    if not hard:
        return y
    idx = xp.argmax(y._data, axis=dim)
    hard_y = xp.zeros_like(y._data)
    xp.put_along_axis(hard_y, xp.expand_dims(idx, dim), 1, axis=dim)
    return Tensor._wrap(hard_y) - y.detach() + y


# -- dropout -------------------------------------------------------------------------------------------------

def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(shape, p: float, dtype, like=None):
    """PyTorch's CPU dropout noise: ``bernoulli_(1 - p)`` on the global generator, divided by ``1 - p``
    (nothing is drawn for p == 1, as PyTorch multiplies by zero then); ``like`` is the input, whose
    layout orders the draws as ``empty_like`` does."""
    if p == 1:
        return xp.zeros(shape, dtype)
    return _random.dropout_noise(shape, p, dtype, like=like)


def _apply_mask(x: Tensor, mask, inplace: bool) -> Tensor:
    def fn(t):
        return O.NativeDropoutBackward0.apply(t, mask=mask)
    fn.__name__ = "dropout"
    return _inplace(x, fn, inplace)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) while ``training``: the mask
    PyTorch draws for the same seed (its CPU ``bernoulli_(1 - p)``, one double uniform per element)."""
    _check_p(p)
    if not training or p == 0:
        return input
    x = input._data
    return _apply_mask(input, _dropout_mask(x.shape, p, x.dtype, like=x), inplace)


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    if not training or p == 0:
        return input
    shape = input._data.shape[:2] + (1,) * (input.ndim - 2)
    return _apply_mask(input, _dropout_mask(shape, p, input._data.dtype), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels (dim 1 of (N, C, L), dim 0 of (C, L))."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note "
                           f"that "
                           f"dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
                           f"dimension, a "
                           f"channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if input.ndim == 2:
        if not training or p == 0:
            return input
        mask = _dropout_mask((input.shape[0], 1), p, input._data.dtype)
        return _apply_mask(input, mask, inplace)
    return _feature_dropout(input, p, training, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) inputs."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
                      f"will "
                      f"result in an error in a future release. To retain the behavior and silence this "
                      f"warning, "
                      f"please use dropout instead. Note that dropout2d exists to provide channel-wise "
                      f"dropout on "
                      f"inputs with 2 spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension "
                      f"(i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the "
                      "channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) (or unbatched (C, D, H, W)) inputs."""
    _check_p(p)
    if input.ndim == 4:
        if not training or p == 0:
            return input
        mask = _dropout_mask((input.shape[0], 1, 1, 1), p, input._data.dtype)
        return _apply_mask(input, mask, inplace)
    return _feature_dropout(input, p, training, inplace)


def _alpha_dropout(input: Tensor, p: float, training: bool, feature: bool, inplace: bool) -> Tensor:
    _check_p(p)
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    alpha = 1.7580993408473766  # -SELU's negative saturation, as in PyTorch's _dropout_impl
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    x = input._data
    if feature and x.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
    # PyTorch's arithmetic, one op (one rounding) at a time: b = (noise - 1) * (alpha a) + alpha a p,
    # noise *= a, out = x * noise + b. Half and bfloat16 compute in float; a number added to them is
    # first rounded to their dtype, a number they are multiplied by is not.
    dt = x.dtype
    noise = _random.bernoulli_array(shape, 1.0 - p, dt)
    work = xp.float64 if dt == xp.float64 else xp.float32
    b = noise - dt.type(1)
    b = (b.astype(work) * work(alpha * a)).astype(dt)
    b = (b.astype(work) + xp.asarray(alpha * a * p).astype(dt).astype(work)).astype(dt)
    mul = Tensor._wrap((noise.astype(work) * work(a)).astype(dt))
    add = Tensor._wrap(b)

    def fn(t):
        return t * mul + add
    fn.__name__ = "alpha_dropout"
    return _inplace(input, fn, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    return _alpha_dropout(input, p, training, False, inplace)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    return _alpha_dropout(input, p, training, True, inplace)


# -- sparse --------------------------------------------------------------------------------------------------

def _check_indices(input: Tensor, op: str) -> None:
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar "
                           f"types: "
                           f"Long, Int; but got {input.type()} instead (while checking arguments for {op})")


def _embedding_renorm_(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    w = weight._data
    rows = xp.unique(idx.reshape(-1))
    sub = w[rows]
    if norm_type == float("inf"):
        norms = xp.abs(sub).max(axis=1)
    else:
        norms = (xp.abs(sub) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] = sub * scale[:, None]
    bump_version(weight)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at the integer ``input``; the ``padding_idx`` row gets no gradient, ``max_norm``
    renormalises the looked-up rows of ``weight`` in place. ``sparse=True`` is accepted and gives dense
    gradients (dynagrad has no sparse tensors)."""
    _check_indices(input, "embedding")
    n = weight._data.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= n:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = n + padding_idx
    idx = input._data  # its range is checked by the op (a compiled program checks it there too)
    if max_norm is not None:
        _embedding_renorm_(weight, idx, max_norm, norm_type)
    return O.EmbeddingBackward0.apply(weight, idx=idx, padding_idx=padding_idx,
                                      scale_grad_by_freq=scale_grad_by_freq)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2, scale_grad_by_freq: bool = False,
                  mode: str = "mean", sparse: bool = False, per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxes of bags of embeddings (bags given by ``offsets`` into a 1-D ``input``, or the rows
    of a 2-D ``input``)."""
    if per_sample_weights is not None and input.size() != per_sample_weights.size():
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, "
                         f"then it "
                         f"must have the same shape as the input ({input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated is a "
                             f"mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        b, length = input.shape
        starts = xp.arange(0, b * length, length)
        flat = input._data.reshape(-1)
        include_last_offset = False
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = offsets._data.astype(xp.int64)
        flat = input._data
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is "
                                  f"only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature "
                                  f"request on "
                                  f"GitHub.")
    ends = starts[1:] if include_last_offset else xp.append(starts[1:], flat.size)
    if include_last_offset:
        starts = starts[:-1]
    n_bags = starts.size
    bag_of = xp.repeat(xp.arange(n_bags), ends - starts)
    keep = xp.ones(flat.size, bool)
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += weight.shape[0]
        keep = flat != padding_idx
    rows = embedding(Tensor._wrap(flat[keep]), weight, None, max_norm, norm_type, scale_grad_by_freq)
    bag = bag_of[keep]
    if per_sample_weights is not None:
        rows = rows * I.getitem(per_sample_weights, Tensor._wrap(keep)).unsqueeze(-1)
    dim = weight.shape[1]
    from ..creation import zeros
    if mode == "max":
        out_rows = []
        for i in range(n_bags):
            sel = xp.nonzero(bag == i)[0]
            out_rows.append(R.amax(I.getitem(rows, Tensor._wrap(sel)), 0) if sel.size
                            else zeros(dim, dtype=weight.dtype))
        return S.stack(out_rows) if out_rows else zeros((0, dim), dtype=weight.dtype)
    out = I.index_add(zeros((n_bags, dim), dtype=weight.dtype), 0, Tensor._wrap(bag), rows)
    if mode == "mean":
        counts = xp.maximum(xp.bincount(bag, minlength=n_bags), 1).astype(weight._data.dtype)
        out = out / Tensor._wrap(counts[:, None])
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of size ``num_classes`` (inferred when -1)."""
    a = tensor._data
    if a.dtype != xp.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(a.max()) + 1 if a.size else 0
    elif a.size and a.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = xp.zeros(a.shape + (num_classes,), xp.int64)
    xp.put_along_axis(out, a[..., None], 1, axis=-1)
    return Tensor._wrap(out)


# -- normalisation -------------------------------------------------------------------------------------------

def _verify_batch_size(size) -> None:
    prod = size[0]
    for s in size[2:]:
        prod *= s
    if prod == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


def _same_dtype(t: Tensor | None, x: Tensor):
    if t is None or t._data.dtype == x._data.dtype:
        return t
    return t.to(x.dtype)


def _update_running(running: Tensor, value, momentum: float) -> None:
    r = running._data
    r *= (1 - momentum)
    r += (momentum * value).astype(r.dtype, copy=False)
    bump_version(running)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise over all dims but 1 (the channels); in training use the batch statistics and update the
    running ones (``momentum``; the variance update is unbiased), otherwise use the running statistics."""
    _no_grad_arg(running_mean, "running_mean", "native_batch_norm")
    _no_grad_arg(running_var, "running_var", "native_batch_norm")
    if training:
        _verify_batch_size(input.size())
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    x = input
    nd = x.ndim
    if nd < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (got {nd}D input)")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    axes = (0,) + tuple(range(2, nd))
    wshape = (1, c) + (1,) * (nd - 2)
    weight, bias = _same_dtype(weight, x), _same_dtype(bias, x)
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        dt = x._data.dtype
        stats = (running_mean._data.reshape(wshape).astype(dt, copy=False),
                 running_var._data.reshape(wshape).astype(dt, copy=False))
        return O.NativeBatchNormBackward0.apply(x, weight, bias, axes=axes, wshape=wshape, eps=eps,
                                                stats=stats)
    stats_out = [] if running_mean is not None or running_var is not None else None
    out = O.NativeBatchNormBackward0.apply(x, weight, bias, axes=axes, wshape=wshape, eps=eps,
                                           stats_out=stats_out)
    if stats_out:
        mean, var = stats_out
        n = x.numel() // c
        if running_mean is not None:
            _update_running(running_mean, mean.reshape(-1), momentum)
        if running_var is not None:
            _update_running(running_var, var.reshape(-1) * (n / max(n - 1, 1)), momentum)
    return out


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims."""
    _no_grad_arg(running_mean, "running_mean", "native_batch_norm")
    _no_grad_arg(running_var, "running_var", "native_batch_norm")
    x = input
    nd = x.ndim
    if use_input_stats:
        prod = 1
        for s in x.shape[2:]:
            prod *= s
        if prod == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size {x.size()}")
    c = x.shape[1]
    wshape = (1, c) + (1,) * (nd - 2)
    axes = tuple(range(2, nd))
    weight, bias = _same_dtype(weight, x), _same_dtype(bias, x)
    if not use_input_stats:
        dt = x._data.dtype
        stats = (running_mean._data.reshape(wshape).astype(dt, copy=False),
                 running_var._data.reshape(wshape).astype(dt, copy=False))
        return O.NativeBatchNormBackward0.apply(x, weight, bias, axes=axes, wshape=wshape, eps=eps,
                                                stats=stats)
    stats_out = [] if running_mean is not None or running_var is not None else None
    out = O.NativeBatchNormBackward0.apply(x, weight, bias, axes=axes, wshape=wshape, eps=eps,
                                           stats_out=stats_out)
    if stats_out:
        mean, var = stats_out
        n = x.numel() // (x.shape[0] * c)
        if running_mean is not None:
            _update_running(running_mean, mean.mean(axis=0).reshape(-1), momentum)
        if running_var is not None:
            _update_running(running_var, (var * (n / max(n - 1, 1))).mean(axis=0).reshape(-1), momentum)
    return out


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift (one primitive)."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    ns = tuple(normalized_shape)
    x = input
    k = len(ns)
    if k == 0 or tuple(x.shape[x.ndim - k:]) != ns or x.ndim < k:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape [*, "
                           f"{', '.join(map(str, ns))}], but got input of size{x.size()}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                               f"shape "
                               f"{t.size()} and normalized_shape = {list(ns)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    wshape = (1,) * (x.ndim - k) + ns
    weight, bias = _same_dtype(weight, x), _same_dtype(bias, x)
    return O.NativeLayerNormBackward0.apply(x, weight, bias, axes=axes, wshape=wshape, eps=eps)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing dims (eps defaults to the dtype's
    epsilon)."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    ns = tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(ns):]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape [*, "
                           f"{', '.join(map(str, ns))}], but got input of size{input.size()}")
    if eps is None:
        eps = float(xp.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - len(ns), input.ndim))
    out = input * E.rsqrt(R.mean(input * input, dims, keepdim=True) + eps)
    return out * weight if weight is not None else out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each sample's channels in ``num_groups`` groups, then scale and shift per channel."""
    x = input
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {x.ndim}")
    n, c = x.shape[0], x.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of "
                           f"shape {list(x.shape)} and num_groups={num_groups}")
    _verify_batch_size([n * c // num_groups, num_groups] + list(x.shape[2:]))
    rest = 1
    for s in x.shape[2:]:
        rest *= s
    inner = (n, num_groups, c // num_groups, rest)
    wshape = (1, num_groups, c // num_groups, 1)
    weight, bias = _same_dtype(weight, x), _same_dtype(bias, x)
    return O.NativeGroupNormBackward0.apply(x, weight, bias, axes=(2, 3), wshape=wshape, eps=eps,
                                            inner_shape=inner)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Normalise each element by the squares of its ``size`` neighbouring channels."""
    dim = input.ndim
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {dim} "
                         f"dimensions)")
    if input.numel() == 0:
        return input
    sq = input * input
    c = input.shape[1]
    padded = pad(sq, [0, 0] * (dim - 2) + [size // 2, (size - 1) // 2])
    win = S.stack([S.narrow(padded, 1, i, c) for i in range(size)], 0)
    div = R.sum(win, 0) * (1.0 / size)
    return input / E.pow(div * alpha + k, beta)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``."""
    denom = S.expand_as(E.clamp_min(R.norm(input, p, dim, keepdim=True), eps), input)
    result = input / denom
    if out is not None:
        out.copy_(result)
        return out
    return result


# -- distances -----------------------------------------------------------------------------------------------

def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim."""
    nd = max(x1.ndim, x2.ndim)
    return R.norm(x1 - x2 + eps, p, nd - 1, keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1 . x2 / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim``."""
    x1, x2 = S.broadcast_tensors(x1, x2)
    n1 = E.clamp_min(R.norm(x1, 2, dim, keepdim=True), eps)
    n2 = E.clamp_min(R.norm(x2, 2, dim, keepdim=True), eps)
    return R.sum((x1 / n1) * (x2 / n2), dim)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """Distances between all pairs of rows (upper triangle, row-major)."""
    n = input.shape[0]
    i, j = xp.triu_indices(n, 1)
    return R.norm(I.getitem(input, Tensor._wrap(i)) - I.getitem(input, Tensor._wrap(j)), p, 1)


# -- padding -------------------------------------------------------------------------------------------------

def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)`` from the last dim
    backwards; modes 'constant' (negative widths crop), 'reflect', 'replicate', 'circular'.

    >>> import dynagrad
    >>> dynagrad.nn.functional.pad(dynagrad.ones(1, 2), (1, 2))
    tensor([[0., 1., 1., 0., 0.]])
    """
    pads = tuple(int(p) for p in pad)
    if len(pads) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    n = len(pads) // 2
    if n > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension "
                           f"but got "
                           f"padding length {len(pads)} and input of dimension {input.ndim}")
    if mode == "constant":
        return O.ConstantPadNdBackward0.apply(input, pads=pads, value=0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    x = input
    if any(p < 0 for p in pads):  # crop first, then pad the rest
        x = O.ConstantPadNdBackward0.apply(x, pads=tuple(min(p, 0) for p in pads), value=0)
        pads = tuple(max(p, 0) for p in pads)
    shape = x.shape
    for i in range(n):
        d = x.ndim - 1 - i
        before, after = pads[2 * i], pads[2 * i + 1]
        if mode == "reflect" and (before >= shape[d] or after >= shape[d]):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input "
                               f"dimension, "
                               f"but got: padding ({before}, {after}) at dimension {d} of input "
                               f"{list(shape)}")
        if mode == "circular" and (before > shape[d] or after > shape[d]):
            raise RuntimeError("Padding value causes wrapping around more than once.")
    pairs = tuple((pads[2 * i], pads[2 * i + 1]) for i in reversed(range(n)))
    return pad_index(x, pairs, mode)


# -- losses --------------------------------------------------------------------------------------------------

def _class_targets_check(input: Tensor, target: Tensor) -> None:
    t, x = target._data, input._data
    if t.dtype not in (xp.int64, xp.uint8):  # PyTorch takes Long (or Byte) class indices only
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_scalar_name(target)}")
    if x.ndim == 1:
        if t.ndim != 0:
            raise RuntimeError(f"Expected target size [], got {list(t.shape)}")
        return
    ts, xs = t.shape, x.shape
    if t.ndim == 0 or xs[0] != ts[0]:
        raise ValueError(f"Expected input batch_size ({xs[0]}) to match target batch_size "
                         f"({ts[0] if t.ndim else 1}).")
    if len(ts) != len(xs) - 1 or ts[1:] != xs[2:]:
        raise RuntimeError(f"Expected target size {[xs[0]] + list(xs[2:])}, got {list(ts)}")


def _class_weight(weight: Tensor | None, input: Tensor):
    if weight is None:
        return None
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but "
                           f"got "
                           f"weight tensor of shape: {list(weight.shape)}")
    return weight._data.astype(input._data.dtype, copy=False).reshape(-1)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of class-index ``target`` under log-probabilities ``input`` (N, C, d1, ...)."""
    reduction = _reduction(reduction, size_average, reduce)
    _class_targets_check(input, target)
    _no_grad_arg(weight, "weight", "nll_loss_forward")
    return O.NllLossBackward0.apply(input, target=target._data, weight=_class_weight(weight, input),
                                    ignore_index=ignore_index, reduction=reduction, class_axis=1)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over dim 1 (dim 0 for an unbatched (C,) input) followed by nll_loss, fused into one
    primitive for class-index targets; ``target`` may instead hold class probabilities (same shape as the
    input)."""
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input._data.dtype.kind not in "fc":
        raise dtypes.not_implemented("log_softmax_lastdim_kernel_impl", input.dtype)
    if target._data.dtype.kind == "f" and target.shape == input.shape:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    _class_targets_check(input, target)
    _no_grad_arg(weight, "weight", "nll_loss_forward")
    return O.LogSoftmaxNllBackward.apply(input, target=target._data, weight=_class_weight(weight, input),
                                         ignore_index=ignore_index, reduction=reduction,
                                         smoothing=float(label_smoothing), class_axis=1)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    cdim = 1 if input.ndim > 1 else 0
    c = input.shape[cdim]
    logp = log_softmax(input, cdim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    prod = logp * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[cdim] = c
        prod = prod * _same_dtype(weight, input).reshape(shape)
    loss = -R.sum(prod, cdim)
    if reduction == "mean":
        return R.sum(loss) / (input.numel() // c) if input.numel() else R.mean(loss)
    return _reduce(loss, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``-w (y log x + (1 - y) log(1 - x))`` with the logs clamped at -100, as PyTorch."""
    reduction = _reduction(reduction, size_average, reduce)
    _no_grad_arg(weight, "weight", "binary_cross_entropy")
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input size "
                         f"({input.size()}) is deprecated. Please ensure they have the same size.")
    loss = O.BinaryCrossEntropyBackward0.apply(input, _same_dtype(target, input))  # it checks 0 <= input <= 1
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid and binary cross entropy in one stable primitive; ``pos_weight`` weighs the positive term."""
    reduction = _reduction(reduction, size_average, reduce)
    _no_grad_arg(weight, "weight", "binary_cross_entropy_with_logits")
    _no_grad_arg(pos_weight, "pos_weight", "binary_cross_entropy_with_logits")
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    loss = O.BinaryCrossEntropyWithLogitsBackward0.apply(input, _same_dtype(target, input),
                                                         _same_dtype(pos_weight, input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean (or sum, or elementwise) squared error."""
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    d = input - target
    loss = d * d
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight
        if reduction == "mean":
            return R.sum(loss) / R.sum(weight)
    return _reduce(loss, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean (or sum, or elementwise) absolute error."""
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    loss = E.abs(input - target)
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight
        if reduction == "mean":
            return R.sum(loss) / R.sum(weight)
    return _reduce(loss, reduction)


def _smooth_l1(d: Tensor, beta: float) -> Tensor:
    z = E.abs(d)
    small = Tensor._wrap(z._data < beta)
    return I.where(small, z * z * (0.5 / beta), z - 0.5 * beta)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``."""
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = input - target
    return _reduce(E.abs(d) if beta == 0 else _smooth_l1(d, beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``."""
    _warn_size(input, target)
    _Reduction.get_enum(reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, got: {delta}")
    loss = _smooth_l1(input - target, delta) * delta
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: ``target * (log target - input)``; 'batchmean' divides the sum by
    the batch size (the mathematical KL divergence)."""
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if reduction not in ("batchmean", "mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = E.exp(target) * (target - input)
    else:
        loss = E.xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = R.sum(loss)
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    if log_input:
        loss = E.exp(input) - target * input
    else:
        loss = input - target * E.log(input + eps)
    if full:
        with xp.errstate(divide="ignore", invalid="ignore"):
            st = target * E.log(target) - target + 0.5 * E.log(2 * math.pi * target)
        loss = loss + I.masked_fill(st, Tensor._wrap(target._data <= 1), 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        from ..creation import ones_like
        var = var * ones_like(input)
    elif bool((var._data < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = S.unsqueeze(var, -1)
        elif input.ndim == var.ndim and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # PyTorch clamps a clone under no_grad: the value is clamped, the gradient flows to var unchanged
    v = var._data
    var = var + Tensor._wrap((xp.maximum(v, eps) - v).astype(v.dtype))
    d = input - target
    loss = 0.5 * (E.log(var) + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got "
                           f"sizes: "
                           f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return _reduce(E.clamp_min(-target * (input1 - input2) + margin, 0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    t = target._data
    zeros = Tensor._wrap(xp.zeros((), input._data.dtype))
    out_margin = I.where(Tensor._wrap(t != 1), E.clamp_min(margin - input, 0), zeros)
    out_self = I.where(Tensor._wrap(t != -1), input, zeros)
    return _reduce(out_margin + out_self, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    _no_grad_arg(target, "target", "soft_margin_loss")
    return _reduce(E.log1p(E.exp(-input * target)), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = R.sum(loss, class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos - margin)`` where it is -1."""
    reduction = _reduction(reduction, size_average, reduce)
    if input1.ndim != input2.ndim or input1.ndim not in (1, 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    d = input1.ndim - 1
    prod = R.sum(input1 * input2, d)
    m1 = R.sum(input1 * input1, d) + 1e-12
    m2 = R.sum(input2 * input2, d) + 1e-12
    cos = prod / E.sqrt(m1 * m2)
    t = target._data
    zeros = Tensor._wrap(xp.zeros((), cos._data.dtype))
    pos = I.where(Tensor._wrap(t == 1), 1 - cos, zeros)
    neg = I.where(Tensor._wrap(t == -1), E.clamp_min(cos - margin, 0), zeros)
    return _reduce(pos + neg, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = E.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(E.clamp_min(margin + d_pos - d_neg, 0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same "
                           f"number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
                           f"negative "
                           f"{negative.ndim}D inputs")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = E.minimum(d_neg, dist(positive, negative))
    return _reduce(E.clamp_min(margin + d_pos - d_neg, 0), reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """``sum_{j != y} max(0, margin - x[y] + x[j])**p / C`` per sample (optionally weighted by w[y])."""
    reduction = _reduction(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    _no_grad_arg(weight, "weight", "multi_margin_loss")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    x = input if input.ndim == 2 else S.unsqueeze(input, 0)
    t = target._data.reshape(-1)
    n, c = x.shape
    rows = xp.arange(n)
    xy = I.getitem(x, (Tensor._wrap(rows), Tensor._wrap(t)))
    z = E.clamp_min(margin - S.unsqueeze(xy, 1) + x, 0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * S.unsqueeze(I.getitem(weight, Tensor._wrap(t)), 1)
    other = xp.ones((n, c), x._data.dtype)
    other[rows, t] = 0
    loss = R.sum(z * Tensor._wrap(other), 1) / c
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Hinge loss between every target class (listed in ``target`` up to the first -1) and every other."""
    reduction = _reduction(reduction, size_average, reduce)
    x = input if input.ndim == 2 else S.unsqueeze(input, 0)
    t = target._data.reshape(x.shape)
    n, c = x.shape
    is_target = xp.zeros((n, c), bool)
    pairs = xp.zeros((n, c, c), x._data.dtype)  # [i, target class, other class]
    for i in range(n):
        for k in t[i]:
            if k < 0:
                break
            is_target[i, k] = True
    for i in range(n):
        for k in t[i]:
            if k < 0:
                break
            pairs[i, k] += ~is_target[i]
    margins = E.clamp_min(1 - S.unsqueeze(x, 2) + S.unsqueeze(x, 1), 0)
    loss = R.sum(margins * Tensor._wrap(pairs), (1, 2)) / c
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


# -- misc ----------------------------------------------------------------------------------------------------

def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    r = upscale_factor
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) -> channels regrouped as (C/g, g) and transposed: ShuffleNet's channel shuffle."""
    n, c = input.shape[0], input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} "
                           f"groups.")
    rest = tuple(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle


def max_pool1d_with_indices(*args, **kwargs):
    return max_pool1d(*args, **{**kwargs, "return_indices": True})


def max_pool2d_with_indices(*args, **kwargs):
    return max_pool2d(*args, **{**kwargs, "return_indices": True})


def max_pool3d_with_indices(*args, **kwargs):
    return max_pool3d(*args, **{**kwargs, "return_indices": True})


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    return adaptive_max_pool1d(input, output_size, return_indices=True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    return adaptive_max_pool2d(input, output_size, return_indices=True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    return adaptive_max_pool3d(input, output_size, return_indices=True)


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *, linear_bias=None,
                         weight=None, reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target)`` (the logits are materialised)."""
    logits = linear(input, linear_weight, linear_bias)
    return cross_entropy(logits, target, weight, ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    r = downscale_factor
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    n = len(lead)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


# Functions whose primitives live in other nn files (attention is another engineer's), resolved on first use.
_LAZY = {"scaled_dot_product_attention": "_attention_ops", "multi_head_attention_forward": "_attention_ops",
         "_canonical_mask": "_attention_ops", "_none_or_dtype": "_attention_ops",
         "_mha_shape_check": "_attention_ops", "_in_projection_packed": "_attention_ops",
         "_in_projection": "_attention_ops"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    globals()[name] = value
    return value
