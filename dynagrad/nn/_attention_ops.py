"""Attention: ``scaled_dot_product_attention`` as one primitive; ``multi_head_attention_forward`` built on it.

The primitive computes ``softmax(q k^T * scale + mask) @ v`` (with an optional dropout mask on the
probabilities) in NumPy, keeps the probabilities, and its backward is the usual closed form:
``dS = P * (dP - sum(dP * P))``. It can also return the (dropped-out) probabilities as a second output, which
is what ``MultiheadAttention`` returns as its attention weights. Gradients of gradients recompute the
attention from primitives (``reference_attention``) and differentiate that.

``multi_head_attention_forward`` follows ``torch.nn.functional.multi_head_attention_forward`` step by step
(same argument handling, masks, ``bias_k``/``bias_v``, ``add_zero_attn``, separate projection weights), so
its outputs match PyTorch's given the same weights.
"""
from __future__ import annotations

import math
import warnings

from .. import random as _random
from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D
from ..ops._rows import softmax_grad_last, softmax_last_inplace
from ..tensor import Tensor
from ._rnn_ops import recompute_backward

_nd = xp.ndarray


def _swap(a):
    return xp.swapaxes(a, -1, -2)


class ScaledDotProductAttentionBackward0(Op):
    """``softmax(q @ k^T * scale + mask) [* dropout] @ v``; inputs (q, k, v, mask) with mask None or additive.
    Static: ``scale``, ``drop`` (the dropout keep-mask already scaled by 1/(1-p), or None) and ``weights``
    (also return the probabilities)."""

    save = (0, 1, 2, 3)
    materialize_grads = False

    def forward(ctx, q, k, v, mask, scale=1.0, drop=None, weights=False, zero_masked=False):
        s = q @ _swap(k)
        s *= s.dtype.type(scale)
        if mask is not None:
            if xp.broadcast_shapes(s.shape, mask.shape) == s.shape:
                s += mask
            else:
                s = s + mask
        with xp.errstate(invalid="ignore"):  # fully masked rows give NaN, as in PyTorch's softmax
            top = softmax_last_inplace(s)
        if zero_masked and mask is not None:
            # F.scaled_dot_product_attention (PyTorch 2.13) gives 0 for a fully masked row, not NaN
            dead = xp.isneginf(top)
            if dead.any():
                s[xp.broadcast_to(dead, s.shape)] = 0
        p = s if drop is None else s * drop
        out = p @ v
        if ctx is not None:
            ctx.p, ctx.scale, ctx.drop, ctx.weights = s, scale, drop, weights
        return (out, p) if weights else out

    def release(self, where) -> None:
        super().release(where)
        self.__dict__.pop("p", None)

    def backward(self, grads, q, k, v, mask):
        go, gw = (grads[0], grads[1]) if type(grads) is list else (grads, None)
        if not all(g is None or D.is_array(g) for g in (go, gw)):
            grads = [go, gw] if self.weights else [go]
            return recompute_backward(self, grads, (q, k, v, mask), self._reference)
        p, drop, scale = self.p, self.drop, self.scale
        need = [e[0] is not None for e in self.edges]
        pd = p if drop is None else p * drop
        gv = dp = None
        if go is not None:
            gv = _swap(pd) @ go if need[2] else None
            dp = go @ _swap(v)
        if gw is not None:
            dp = gw if dp is None else dp + gw
        if dp is None:
            return None, None, gv, None
        if drop is not None:
            dp = dp * drop
        ds = softmax_grad_last(dp, p)  # (dp - sum(dp * p)) * p
        gmask = ds if need[3] else None
        if need[0] or need[1]:
            ds = ds * ds.dtype.type(scale) if gmask is not None else _scale_inplace(ds, scale)
        gq = ds @ k if need[0] else None
        gk = _swap(ds) @ q if need[1] else None
        return gq, gk, gv, gmask

    def _reference(self, q, k, v, mask):
        return reference_attention(q, k, v, mask, self.scale, self.drop, self.weights)


def _scale_inplace(a, scale):
    a *= a.dtype.type(scale)
    return a


def reference_attention(q, k, v, mask, scale, drop=None, weights=False):
    """The same attention from Tensor primitives (for double backward and as the tests' oracle)."""
    from ..ops.reduce import softmax
    s = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        s = s + mask
    p = softmax(s, -1)
    if drop is not None:
        p = p * Tensor._wrap(drop)
    out = p @ v
    return (out, p) if weights else out


def _dropout_keep(shape, p: float, dtype):
    """The attention weights' dropout noise, as PyTorch's math path draws it (``at::dropout`` on the
    softmax output)."""
    if p >= 1:
        return xp.zeros(shape, dtype)
    return _random.dropout_noise(shape, p, dtype)


def _additive(mask: Tensor, dtype):
    """A boolean 'may attend' mask (True = keep, as SDPA takes it) as an additive float mask."""
    return Tensor._wrap(xp.where(mask._data, 0, -xp.inf).astype(dtype))


def _causal(n_q: int, n_k: int, dtype):
    return Tensor._wrap(xp.where(xp.tri(n_q, n_k, dtype=bool), 0, -xp.inf).astype(dtype))


def _attend(q, k, v, mask, dropout_p, scale, weights=False, zero_masked=False):
    drop = None
    if dropout_p > 0:
        shape = xp.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])
        if mask is not None:
            shape = xp.broadcast_shapes(shape, mask.shape)
        drop = _dropout_keep(shape, dropout_p, q._data.dtype)
    return ScaledDotProductAttentionBackward0.apply(q, k, v, mask, scale=scale, drop=drop, weights=weights,
                                                    zero_masked=zero_masked)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(q k^T / sqrt(E) + mask) @ v`` over the last two dims, as PyTorch's.

    ``attn_mask``: boolean (True = may attend) or additive float, broadcastable to (..., L, S). ``is_causal``
    masks future positions (top-left aligned). ``enable_gqa``: key/value may have fewer heads (dim -3) than
    query, each shared by a group of query heads.

    >>> import dynagrad
    >>> import dynagrad.nn.functional as F
    >>> q = dynagrad.ones(2, 4, 3, 8)
    >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
    torch.Size([2, 4, 3, 8])
    """
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must be at least 2-D")
    if query.size(-1) != key.size(-1):
        raise RuntimeError(f"scaled_dot_product_attention: query and key must have the same embedding dim, "
                           f"got {query.size(-1)} and {key.size(-1)}")
    n_q, n_k = query.size(-2), key.size(-2)
    dt = query._data.dtype
    if scale is None:
        scale = 1.0 / math.sqrt(query.size(-1))
    mask = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        mask = _causal(n_q, n_k, dt)
    elif attn_mask is not None:
        mask = _additive(attn_mask, dt) if attn_mask.dtype.name == "bool" else attn_mask
    if enable_gqa and query.dim() >= 3 and key.size(-3) != query.size(-3):
        hq, hk = query.size(-3), key.size(-3)
        if hq % hk:
            raise RuntimeError(f"number of heads in key/value ({hk}) must divide number of heads in query "
                               f"({hq})")
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // hk, dim=-3)
    return _attend(query, key, value, mask, dropout_p, scale, zero_masked=True)


# -- multi-head attention (torch.nn.functional.multi_head_attention_forward) ---------------------------------

def _none_or_dtype(input):  # noqa: A002
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask, mask_name: str, other_type, other_name: str, target_type, check_other: bool = True):
    """A boolean mask (True = masked out) as an additive float mask of ``target_type``; float masks pass."""
    if mask is None:
        return None
    is_float = mask.dtype.is_floating_point
    if mask.dtype.name != "bool" and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for "
                      "both instead.", stacklevel=3)
    if not is_float:
        return Tensor._wrap(xp.where(mask._data, -xp.inf, 0).astype(target_type.numpy))
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D "
                                 f"but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                                 f"but found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but "
                                 f"found {key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or "
                                 f"1-D but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or "
                                     f"3-D but found {attn_mask.dim()}-D tensor instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                         f"{attn_mask.shape}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D "
                         "query tensor")


def _in_projection_packed(q, k, v, w, b=None) -> list:
    from .functional import linear
    e = q.size(-1)
    if k is v:
        if q is k:
            return list(linear(q, w, b).chunk(3, -1))
        w_q, w_kv = w.split([e, e * 2])
        b_q, b_kv = (None, None) if b is None else b.split([e, e * 2])
        return [linear(q, w_q, b_q)] + list(linear(k, w_kv, b_kv).chunk(2, -1))
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return [linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)]


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None) -> tuple:
    from .functional import linear
    eq, ek, ev = q.size(-1), k.size(-1), v.size(-1)
    for w, shape, what in ((w_q, (eq, eq), "query"), (w_k, (eq, ek), "key"), (w_v, (eq, ev), "value")):
        if tuple(w.shape) != shape:
            raise AssertionError(f"expecting {what} weights shape of {shape}, but got {w.shape}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def multi_head_attention_forward(query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight, out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None,
                                 use_separate_proj_weight: bool = False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None, static_v=None,
                                 average_attn_weights: bool = True, is_causal: bool = False):
    """Multi-head attention on (L, N, E) query and (S, N, E) key/value (or unbatched (L, E)), as PyTorch's.

    Returns ``(attn_output, attn_weights)``; the weights (averaged over heads unless
    ``average_attn_weights=False``) only when ``need_weights``.
    """
    from ..creation import zeros
    from ..ops import shape as S
    from .functional import linear, pad

    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                           "module method `generate_square_subsequent_mask` to create this mask.")
    causal_only = is_causal and key_padding_mask is None and not need_weights
    if causal_only:
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got "
                             f"{embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                                 f"{value.shape[:2]}")
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                                 "v_proj_weight is None")
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight,
                                 b_q, b_k, b_v)
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = S.cat([k, bias_k.repeat(1, bsz, 1)])
        v = S.cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None else
                             "bias_v is set but bias_k is None")
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        if static_k.size(0) != bsz * num_heads or static_k.size(2) != head_dim:
            raise AssertionError(f"expecting static_k of shape ({bsz * num_heads}, *, {head_dim}), but got "
                                 f"{tuple(static_k.shape)}")
        k = static_k
    if static_v is None:
        v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        if static_v.size(0) != bsz * num_heads or static_v.size(2) != head_dim:
            raise AssertionError(f"expecting static_v of shape ({bsz * num_heads}, *, {head_dim}), but got "
                                 f"{tuple(static_v.shape)}")
        v = static_v
    if add_zero_attn:
        z = zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype)
        k = S.cat([k, z], 1)
        v = S.cat([v, z], 1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.size(1)
    if key_padding_mask is not None:
        for i, n in enumerate((bsz, src_len)):
            if key_padding_mask.shape[i] != n:
                raise AssertionError(f"Expected key_padded_mask.shape[{i}] to be {n}, but got "
                                     f"{key_padding_mask.shape[i]}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1) \
            .reshape(bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0
    if causal_only:
        attn_mask = _causal(tgt_len, src_len, query._data.dtype)
    scale = 1.0 / math.sqrt(head_dim)
    res = _attend(q, k, v, attn_mask, dropout_p, scale, weights=need_weights)
    out, weights = res if need_weights else (res, None)
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if need_weights:
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not is_batched:
            weights = weights.squeeze(0)
    if not is_batched:
        out = out.squeeze(1)
    return out, weights
