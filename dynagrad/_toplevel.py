"""torch's top-level forms of nn functions (ATen's own signatures: ``torch.batch_norm``, ``torch.conv2d``,
``torch.kl_div`` with an integer reduction, ...), the ``torch.<op>_`` in-place functions, and small tensor
utilities of the top level (``fill``, ``put``, ``isin``, ``unravel_index``, the ``*_scatter`` functions,
``gradient``). Each forwards to the one implementation in nn.functional or the ops modules.

>>> import dynagrad as torch
>>> x = torch.tensor([-1.0, 4.0])
>>> torch.relu_(x); x
tensor([0., 4.])
tensor([0., 4.])
>>> torch.isin(torch.tensor([1, 2, 3]), torch.tensor([2, 5]))
tensor([False,  True, False])
"""
from __future__ import annotations

from . import dtypes
from .backend import xp
from .tensor import Tensor

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}
# torch's Python bindings of the ATen losses default to reduction 0 (no reduction), whatever their schema says


def _F():
    from .nn import functional
    return functional


def _red(reduction) -> str:
    if isinstance(reduction, str):
        return reduction
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _REDUCTIONS[reduction]


def _stride(stride):
    return None if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else stride


# -- in-place functions: torch.abs_(x) is x.abs_() ----------------------------------------------------------------

_INPLACE = ["abs_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
            "asinh_", "atan_", "atanh_", "ceil_", "clamp_max_", "clamp_min_", "clip_", "conj_physical_", "cos_",
            "cosh_", "deg2rad_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_",
            "gcd_", "i0_", "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
            "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_",
            "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_", "addmv_", "detach_",
            "resize_as_"]


def _method_function(name):
    def fn(input, *args, **kwargs):  # noqa: A002 - PyTorch's parameter name
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: ``input.{name}(...)``."
    return fn


for _n in _INPLACE:
    globals()[_n] = _method_function(_n)


# -- nn functions with ATen's signatures --------------------------------------------------------------------------

def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    return _F().adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size):  # noqa: A002
    """(output, indices), as ATen's adaptive_max_pool1d."""
    return _F().adaptive_max_pool1d(input, output_size, return_indices=True)


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode: bool = False,  # noqa: A002
               count_include_pad: bool = True):
    return _F().avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):  # noqa: A002
    return _F().max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):  # noqa: A002
    return _F().max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, return_indices=True)


def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):  # noqa: A002
    return _F().max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):  # noqa: A002
    return _F().max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):  # noqa: A002
    return _F().conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):  # noqa: A002
    return _F().conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):  # noqa: A002
    return _F().conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1,  # noqa: A002
                     dilation=1):
    return _F().conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1,  # noqa: A002
                     dilation=1):
    return _F().conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1,  # noqa: A002
                     dilation=1):
    return _F().conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def convolution(input, weight, bias, stride, padding, dilation, transposed: bool, output_padding,  # noqa: A002
                groups: int):
    """ATen's general convolution: ``transposed`` picks conv_transpose; the spatial rank is the weight's."""
    nd = weight.ndim - 2
    F = _F()
    if transposed:
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    fn = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    return fn(input, weight, bias, stride, padding, dilation, groups)


def conv_tbc(input, weight, bias, pad: int = 0):  # noqa: A002
    """A 1-D convolution over time-batch-channel input (T, B, C_in) with weight (K, C_in, C_out)."""
    if input.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, out_channels.")
    if bias.ndim != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    out = _F().conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, 1, pad)
    return out.permute(2, 0, 1)


def batch_norm(input, weight, bias, running_mean, running_var, training: bool, momentum: float,  # noqa: A002
               eps: float, cudnn_enabled: bool):
    return _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats: bool,  # noqa: A002
                  momentum: float, eps: float, cudnn_enabled: bool):
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-05,  # noqa: A002
               cudnn_enable: bool = True):
    return _F().layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-05,  # noqa: A002
               cudnn_enabled: bool = True):
    return _F().group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    return _F().rms_norm(input, normalized_shape, weight, eps)


def bilinear(input1, input2, weight, bias=None):
    return _F().bilinear(input1, input2, weight, bias)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):  # noqa: A002
    return _F().binary_cross_entropy_with_logits(input, target, weight, reduction=_red(reduction),
                                                 pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    return _F().cosine_embedding_loss(input1, input2, target, margin, reduction=_red(reduction))


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction=0):  # noqa: A002
    return _F().hinge_embedding_loss(input, target, margin, reduction=_red(reduction))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    return _F().margin_ranking_loss(input1, input2, target, margin, reduction=_red(reduction))


def kl_div(input, target, reduction=0, *, log_target: bool = False):  # noqa: A002
    """ATen's kl_div: no reduction by default; ``reduction`` 1 is the elementwise mean (not 'batchmean')."""
    return _F().kl_div(input, target, reduction=_red(reduction), log_target=log_target)


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction):  # noqa: A002
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_red(reduction))


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-06,
                        swap: bool = False, reduction=0):
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_red(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction=0,
             zero_infinity: bool = False):
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _red(reduction), zero_infinity)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-08):
    return _F().cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p: float = 2, eps: float = 1e-06, keepdim: bool = False):
    return _F().pairwise_distance(x1, x2, p, eps, keepdim)


def pdist(input, p: float = 2):  # noqa: A002
    return _F().pdist(input, p)


def pixel_shuffle(input, upscale_factor: int):  # noqa: A002
    return _F().pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor: int):  # noqa: A002
    return _F().pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input, groups: int):  # noqa: A002
    return _F().channel_shuffle(input, groups)


def constant_pad_nd(input, pad, value=0):  # noqa: A002
    return _F().pad(input, pad, "constant", value)


def prelu(input, weight):  # noqa: A002
    return _F().prelu(input, weight)


def hardshrink(input, lambd: float = 0.5):  # noqa: A002
    return _F().hardshrink(input, lambd)


def celu(input, alpha: float = 1.0):  # noqa: A002
    return _F().celu(input, alpha)


def celu_(input, alpha: float = 1.0):  # noqa: A002
    return _F().celu_(input, alpha)


def selu(input):  # noqa: A002
    return _F().selu(input)


def selu_(input):  # noqa: A002
    return _F().selu_(input)


def threshold(input, threshold: float, value: float):  # noqa: A002
    return _F().threshold(input, threshold, value)


def threshold_(input, threshold: float, value: float):  # noqa: A002
    return _F().threshold_(input, threshold, value)


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, generator=None):  # noqa: A002
    return _F().rrelu(input, lower, upper, training)


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, generator=None):  # noqa: A002
    return _F().rrelu_(input, lower, upper, training)


def _p(p):
    if not 0 <= p <= 1:  # ATen's check (nn.functional raises ValueError for the same)
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    return p


def dropout(input, p: float, train: bool):  # noqa: A002
    return _F().dropout(input, _p(p), train)


def dropout_(input, p: float, train: bool):  # noqa: A002
    return _F().dropout(input, _p(p), train, inplace=True)


def alpha_dropout(input, p: float, train: bool):  # noqa: A002
    return _F().alpha_dropout(input, _p(p), train)


def alpha_dropout_(input, p: float, train: bool):  # noqa: A002
    return _F().alpha_dropout(input, _p(p), train, inplace=True)


def feature_dropout(input, p: float, train: bool):  # noqa: A002
    """Dropout of whole channels (dim 1), as ``dropout2d``/``dropout3d``."""
    return _F()._feature_dropout(input, _p(p), train, False)


def feature_dropout_(input, p: float, train: bool):  # noqa: A002
    return _F()._feature_dropout(input, _p(p), train, True)


def feature_alpha_dropout(input, p: float, train: bool):  # noqa: A002
    return _F().feature_alpha_dropout(input, _p(p), train)


def feature_alpha_dropout_(input, p: float, train: bool):  # noqa: A002
    return _F().feature_alpha_dropout(input, _p(p), train, inplace=True)


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False):
    """ATen's embedding: the weight comes first, and ``padding_idx=-1`` means none."""
    return _F().embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                          scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def embedding_renorm_(input, indices, max_norm: float, norm_type: float):  # noqa: A002
    """Rescale, in place, the rows of ``input`` that ``indices`` name whose norm exceeds ``max_norm``."""
    _F()._embedding_renorm_(input, indices._data if isinstance(indices, Tensor) else indices, max_norm, norm_type)
    return input


def _cell(mode, input, hx, w_ih, w_hh, b_ih, b_hh):  # noqa: A002
    from .nn import _rnn_ops as R
    h, c = (hx[0], hx[1]) if mode == "LSTM" else (hx, None)
    return R.LAYER_OPS[mode].apply(input, h, c, w_ih, w_hh, b_ih, b_hh, None, cell=True)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One LSTM step: (h, c) from input (N, I) and hx = (h, c)."""
    return _cell("LSTM", input, hx, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    return _cell("GRU", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    return _cell("RNN_TANH", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    return _cell("RNN_RELU", input, hx, w_ih, w_hh, b_ih, b_hh)


def _layers(mode, input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):  # noqa: A002
    """ATen's dense recurrent functions: the flat ``params`` list holds per layer and direction
    w_ih, w_hh (, b_ih, b_hh) (, w_hr)."""
    from .nn import _rnn_ops as R
    from .ops import shape as S
    lstm = mode == "LSTM"
    h0, c0 = (hx[0], hx[1]) if lstm else (hx, None)
    num_dir = 2 if bidirectional else 1
    x = input.transpose(0, 1) if batch_first else input
    steps, batch = x.shape[0], x.shape[1]
    x = x.reshape(steps * batch, x.shape[2])
    params = list(params)
    per = len(params) // (num_layers * num_dir)
    proj = per in (3, 5)
    op = R.LAYER_OPS[mode]
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(num_dir):
            k = layer * num_dir + d
            ws = params[k * per:(k + 1) * per]
            b_ih, b_hh = (ws[2], ws[3]) if has_biases else (None, None)
            w_hr = ws[-1] if proj else None
            res = op.apply(x, h0[k], c0[k] if lstm else None, ws[0], ws[1], b_ih, b_hh, w_hr, batch_sizes=None,
                           reverse=d == 1)
            outs.append(res[0])
            hs.append(res[1])
            if lstm:
                cs.append(res[2])
        x = outs[0] if num_dir == 1 else S.cat(outs, 1)
        if dropout and train and layer < num_layers - 1:
            x = _F().dropout(x, dropout, True)
    out = x.reshape(steps, batch, x.shape[-1])
    if batch_first:
        out = out.transpose(0, 1)
    if lstm:
        return out, S.stack(hs), S.stack(cs)
    return out, S.stack(hs)


def lstm(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool,  # noqa: A002
         bidirectional: bool, batch_first: bool):
    """(output, h_n, c_n) of a multi-layer LSTM over (T, N, I) input (``nn.LSTM``'s computation)."""
    return _layers("LSTM", input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)


def gru(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool,  # noqa: A002
        bidirectional: bool, batch_first: bool):
    return _layers("GRU", input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)


def rnn_tanh(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool,  # noqa: A002
             bidirectional: bool, batch_first: bool):
    return _layers("RNN_TANH", input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                   batch_first)


def rnn_relu(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool,  # noqa: A002
             bidirectional: bool, batch_first: bool):
    return _layers("RNN_RELU", input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                   batch_first)


# -- small tensor utilities ---------------------------------------------------------------------------------------

def fill(input, value):  # noqa: A002
    """A new tensor like ``input`` filled with ``value`` (a number or a 0-d tensor), in the graph of ``value``."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               f"dimensions.")
        return value.to(input.dtype).expand(*input.shape).clone()
    from .creation import full_like
    from .ops.elementwise import _zero_grad_like
    return _zero_grad_like(full_like(input, value), input)  # PyTorch's FillBackward0: a zero gradient


def detach(input):  # noqa: A002
    return input.detach()


def is_same_size(input, other) -> bool:  # noqa: A002
    return tuple(input.shape) == tuple(other.shape)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """Whether each element of ``elements`` is in ``test_elements`` (either may be a number)."""
    a = elements._data if isinstance(elements, Tensor) else xp.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    for t in (elements, test_elements):
        if isinstance(t, Tensor) and t._data.dtype.kind == "c":
            raise dtypes.not_implemented("isin_default_cpu", t.dtype)
    return Tensor._wrap(xp.asarray(xp.isin(a, b, invert=invert)))


def unravel_index(indices, shape):
    """The coordinates (one tensor per dim of ``shape``) of flat ``indices``.

    >>> import dynagrad as torch
    >>> torch.unravel_index(torch.tensor([5, 0]), (2, 3))
    (tensor([1, 0]), tensor([2, 0]))
    """
    if not isinstance(indices, Tensor):
        from .creation import tensor
        indices = tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype == dtypes.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(shape)))
    n = 1
    for s in shape:
        n *= s
    a = indices._data.astype(xp.int64)
    if n:
        a = a % n  # PyTorch wraps out-of-range indices around

    coords = xp.unravel_index(a, shape) if shape else ()
    return tuple(Tensor._wrap(xp.asarray(c, xp.int64)) for c in coords)


def select_scatter(input, src, dim: int, index: int):  # noqa: A002
    """``input`` with ``src`` embedded at ``input.select(dim, index)`` (out of place)."""
    from .ops.reduce import normalize_dim
    axis = normalize_dim(dim, input.ndim)
    idx = (slice(None),) * axis + (index,)
    return _scatter_into(input, src, idx)


def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1):  # noqa: A002
    """``input`` with ``src`` embedded at the slice ``start:end:step`` of ``dim`` (out of place)."""
    from .ops.reduce import normalize_dim
    axis = normalize_dim(dim, input.ndim)
    idx = (slice(None),) * axis + (slice(start, end, step),)
    return _scatter_into(input, src, idx)


def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1):  # noqa: A002
    """``input`` with ``src`` embedded on its ``offset`` diagonal of (dim1, dim2) (out of place)."""
    from .ops import shape as S
    target = S.diagonal(input, offset, dim1, dim2)
    if tuple(target.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(target.shape)}")
    mask = xp.zeros(input.shape, bool)
    md = xp.diagonal(mask, offset, S.normalize_dim(dim1, input.ndim), S.normalize_dim(dim2, input.ndim))
    md.setflags(write=True)
    md[...] = True
    from .ops.index import where
    placed = S.DiagonalScatterBackward0.apply(src.to(input.dtype), in_shape=tuple(input.shape),
                                              args=(offset, S.normalize_dim(dim1, input.ndim),
                                                    S.normalize_dim(dim2, input.ndim)))
    return where(Tensor._wrap(mask), placed, input)


def _scatter_into(input, src, idx):  # noqa: A002
    from .ops.index import getitem, index_put
    target = getitem(input, idx)
    if tuple(target.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(target.shape)}")
    return index_put(input, idx, src)


def split_with_sizes(input, split_sizes, dim: int = 0):  # noqa: A002
    return input.split(list(split_sizes), dim)


def unsafe_split(input, split_size, dim: int = 0):  # noqa: A002
    """``split`` (PyTorch's unsafe variants only skip view tracking; the pieces here are views as well)."""
    return input.split(split_size, dim)


def unsafe_split_with_sizes(input, split_sizes, dim: int = 0):  # noqa: A002
    return input.split(list(split_sizes), dim)


def unsafe_chunk(input, chunks: int, dim: int = 0):  # noqa: A002
    return input.chunk(chunks, dim)


def nonzero_static(input, *, size: int, fill_value: int = -1):  # noqa: A002
    """``nonzero`` padded with ``fill_value`` (or cut) to exactly ``size`` rows."""
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, but got size={size}")
    nz = xp.argwhere(input._data).astype(xp.int64)
    out = xp.full((size, input.ndim), fill_value, xp.int64)
    k = min(size, nz.shape[0])
    out[:k] = nz[:k]
    return Tensor._wrap(out)


def norm_except_dim(v, pow: float = 2, dim: int = 0):  # noqa: A002
    """The ``pow``-norm over every dim but ``dim`` (kept with size), as weight_norm uses; dim -1: all dims."""
    if dim == -1:
        return v.norm(pow)
    from .ops.reduce import normalize_dim
    d = normalize_dim(dim, v.ndim)
    others = tuple(i for i in range(v.ndim) if i != d)
    return v.norm(pow, dim=others, keepdim=True) if others else v.abs()


def gradient(input, *, spacing=1, dim=None, edge_order: int = 1):  # noqa: A002
    """numpy.gradient: central differences inside, one-sided (first or second order) at the edges; a tuple
    of tensors, one per dim differentiated. ``spacing``: a number, numbers per dim, or coordinate tensors."""
    from .ops import shape as S
    from .ops.reduce import normalize_dim
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = list(range(input.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    dims = [normalize_dim(d, input.ndim) for d in dims]
    if isinstance(spacing, (list, tuple)):
        sp = list(spacing)
        if len(sp) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                               f"arguments to have the same length, but got a spacing argument of length {len(sp)} "
                               f"and a dim argument of length {len(dims)}.")
    else:
        sp = [spacing] * len(dims)
    x = input if input.dtype.is_floating_point or input.dtype.is_complex else input.to(dtypes.get_default_dtype())
    outs = []
    for d, h in zip(dims, sp):
        n = x.shape[d]
        if n < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")

        def at(i, m=1, d=d):
            return S.narrow(x, d, i, m)
        if isinstance(h, Tensor):  # coordinates along d
            c = h.to(x.dtype) if h.dtype != x.dtype else h
            shape = [1] * x.ndim
            shape[d] = n
            c = c.reshape(shape)

            def cd(i, m=1, c=c, d=d):
                return S.narrow(c, d, i, m)
            dx1 = cd(1, n - 2) - cd(0, n - 2)
            dx2 = cd(2, n - 2) - cd(1, n - 2)
            inner = (dx1 * dx1 * at(2, n - 2) - dx2 * dx2 * at(0, n - 2) + (dx2 * dx2 - dx1 * dx1) * at(1, n - 2)) / \
                (dx1 * dx2 * (dx1 + dx2)) if n > 2 else None
            if edge_order == 1:
                first = (at(1) - at(0)) / (cd(1) - cd(0))
                last = (at(n - 1) - at(n - 2)) / (cd(n - 1) - cd(n - 2))
            else:
                a1, a2 = cd(1) - cd(0), cd(2) - cd(1)
                first = (-(2 * a1 + a2) / (a1 * (a1 + a2))) * at(0) + ((a1 + a2) / (a1 * a2)) * at(1) - \
                    (a1 / (a2 * (a1 + a2))) * at(2)
                b1, b2 = cd(n - 2) - cd(n - 3), cd(n - 1) - cd(n - 2)
                last = (b2 / (b1 * (b1 + b2))) * at(n - 3) - ((b2 + b1) / (b1 * b2)) * at(n - 2) + \
                    ((2 * b2 + b1) / (b2 * (b1 + b2))) * at(n - 1)
        else:
            h = float(h)
            inner = (at(2, n - 2) - at(0, n - 2)) / (2 * h) if n > 2 else None
            if edge_order == 1:
                first, last = (at(1) - at(0)) / h, (at(n - 1) - at(n - 2)) / h
            else:
                first = (-1.5 * at(0) + 2 * at(1) - 0.5 * at(2)) / h
                last = (0.5 * at(n - 3) - 2 * at(n - 2) + 1.5 * at(n - 1)) / h
        parts = [first] + ([inner] if inner is not None else []) + [last]
        outs.append(S.cat(parts, d))
    return tuple(outs)


def hash_tensor(input, dim=(), *, keepdim: bool = False, mode: int = 0):  # noqa: A002
    """The xor of the elements' 64-bit patterns (floats as float64, integers as int64), over all elements or
    ``dim``, as uint64."""
    if mode != 0:
        raise RuntimeError(f"hash_tensor only supports mode=0 (xor_sum) but got mode={mode}")
    a = input._data
    if a.dtype.kind == "c":
        raise RuntimeError("hash_tensor does not support complex inputs")
    wide = a.astype(xp.float64 if a.dtype.kind in "fV" or input.dtype == dtypes.bfloat16 else xp.int64)
    bits = wide.view(xp.uint64)
    from .ops.reduce import axes_of
    axes = axes_of(dim if dim != () else None, a.ndim)
    if a.size == 0 and axes is None:
        raise RuntimeError("hash_tensor: Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument.")
    for ax in axes or ():
        if a.shape[ax] == 0:
            raise IndexError(f"hash_tensor: Expected reduction dim {ax} to have non-zero size.")
    out = xp.bitwise_xor.reduce(bits, axis=axes, keepdims=keepdim)
    return Tensor._wrap(xp.asarray(out, xp.uint64))


def cond(pred, true_fn, false_fn, operands=()):
    """``torch.cond`` run eagerly: ``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``."""
    p = bool(pred.item() if isinstance(pred, Tensor) else pred)
    return (true_fn if p else false_fn)(*operands)


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``torch.vmap`` (``torch.func.vmap``)."""
    from .func import vmap as _vmap
    return _vmap(func, in_dims, out_dims, randomness, chunk_size=chunk_size)


def get_device(input) -> int:  # noqa: A002
    """-1: every dynagrad tensor lives on the CPU."""
    return input.get_device()


def is_storage(obj) -> bool:
    """dynagrad has no separate storage objects: always False."""
    return False


def is_distributed(input) -> bool:  # noqa: A002
    return False


def is_anomaly_enabled() -> bool:
    from .autograd import state
    return bool(state.anomaly_enabled)


def is_anomaly_check_nan_enabled() -> bool:
    from .autograd import state
    return bool(state.anomaly_check_nan)


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switch anomaly detection on or off (``autograd.set_detect_anomaly`` without the context)."""
    from .autograd import state
    state.anomaly_enabled, state.anomaly_check_nan = bool(enabled), bool(check_nan)


_WARN_ALWAYS = [False]


def set_warn_always(b: bool) -> None:
    """Record the flag (PyTorch's C++ TORCH_WARN_ONCE sites; dynagrad's warnings follow Python's filters)."""
    _WARN_ALWAYS[0] = bool(b)


def is_warn_always_enabled() -> bool:
    return _WARN_ALWAYS[0]


_DEBUG_MODE = [0]


def set_deterministic_debug_mode(debug_mode) -> None:
    """0/'default', 1/'warn', 2/'error': as ``use_deterministic_algorithms`` (every dynagrad kernel is
    deterministic, so nothing ever warns or errors)."""
    modes = {"default": 0, "warn": 1, "error": 2}
    mode = modes.get(debug_mode, debug_mode) if isinstance(debug_mode, str) else int(debug_mode)
    if mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    from . import use_deterministic_algorithms
    use_deterministic_algorithms(mode != 0, warn_only=mode == 1)
    _DEBUG_MODE[0] = mode


def get_deterministic_debug_mode() -> int:
    from . import are_deterministic_algorithms_enabled
    if not are_deterministic_algorithms_enabled():
        return 0
    return 1 if _DEBUG_MODE[0] == 1 else 2


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _DEBUG_MODE[0] == 1


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False):
    """A tensor of ``size`` laid out in memory with ``stride`` (in elements); zero-filled (PyTorch leaves it
    uninitialised)."""
    from .creation import zeros
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    base = zeros(1 + sum((s - 1) * st for s, st in zip(size, stride)) if all(size) else 0, dtype=dtype)
    a = base._data
    out = xp.lib.stride_tricks.as_strided(a, size, tuple(st * a.itemsize for st in stride)) if a.size else \
        xp.zeros(size, a.dtype)
    t = Tensor._wrap(xp.array(out) if len(set(out.strides)) != len(out.strides) else out)
    return t.requires_grad_(requires_grad) if requires_grad else t


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                   pin_memory: bool = False):
    """A (zeroed) tensor of ``size`` whose memory is ordered as ``physical_layout`` lists the dims."""
    from .creation import zeros
    size = tuple(int(s) for s in size)
    order = tuple(int(p) for p in physical_layout)
    if sorted(order) != list(range(len(size))):
        raise RuntimeError("Number of dimensions in size does not match the length of the physical_layout")
    phys = zeros(*[size[p] for p in order], dtype=dtype)
    inv = [order.index(i) for i in range(len(size))]
    t = Tensor._wrap(phys._data.transpose(inv))
    return t.requires_grad_(requires_grad) if requires_grad else t


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False):
    """A 1-D tensor sharing the memory of a Python buffer (bytes, bytearray, array, memoryview)."""
    d = dtypes.as_dtype(dtype)
    view = memoryview(buffer)
    if view.nbytes == 0 or count == 0:
        raise ValueError(f"both buffer length ({view.nbytes}) and count ({count}) must not be 0")
    if not 0 <= offset < view.nbytes:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({view.nbytes} bytes) minus 1")
    if count < 0 and (view.nbytes - offset) % d.itemsize:
        raise ValueError(f"buffer length ({view.nbytes - offset} bytes) after offset ({offset} bytes) must be a "
                         f"multiple of element size ({d.itemsize})")
    if count > 0 and count * d.itemsize > view.nbytes - offset:
        raise ValueError(f"requested buffer length ({count} * {d.itemsize} bytes) after offset ({offset} bytes) "
                         f"must not be greater than actual buffer length ({view.nbytes} bytes)")
    a = xp.frombuffer(buffer, dtype=d.numpy, count=count, offset=offset)
    if view.readonly:
        # PyTorch shares a read-only buffer and lets the tensor write into it (mutating, say, a bytes object);
        # a copy keeps the tensor writable without that
        if not _FROMBUFFER_WARNED:
            _warn_readonly_buffer()
        a = a.copy()
    t = Tensor._wrap(a)
    return t.requires_grad_(requires_grad) if requires_grad else t


_FROMBUFFER_WARNED = False


def _warn_readonly_buffer() -> None:
    global _FROMBUFFER_WARNED
    _FROMBUFFER_WARNED = True
    import warnings
    warnings.warn("The given buffer is not writable: torch.frombuffer copied it (PyTorch would share it and let "
                  "the tensor write into the non-writable buffer). This warning is given once per program.",
                  UserWarning, stacklevel=3)


def from_file(filename, shared=None, size: int = 0, *, dtype=None, layout=None, device=None,
              pin_memory: bool = False):
    """``size`` elements of ``dtype`` read from a binary file (memory-mapped when ``shared``)."""
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    if shared:
        a = xp.memmap(filename, dtype=d.numpy, mode="r+", shape=(size,))
    else:
        a = xp.fromfile(filename, dtype=d.numpy, count=size)
        if a.size < size:
            raise RuntimeError(f"unexpected EOF, expected {size} elements, got {a.size}")
    return Tensor._wrap(xp.asarray(a))


_NAMES = sorted(n for n, v in list(globals().items()) if callable(v) and not n.startswith("_") and
                getattr(v, "__module__", None) == __name__)
__all__ = _NAMES
