"""Recurrent layers (``RNN``, ``LSTM``, ``GRU``) and cells (``RNNCell``, ``LSTMCell``, ``GRUCell``).

Parameter names, shapes, gate order and initialisation are PyTorch's, so state_dicts move between the two
frameworks. Each layer and direction runs as one primitive (``nn._rnn_ops``): the time loop and its
backward happen in NumPy, with one fused gate matmul per step.

>>> import dynagrad
>>> lstm = dynagrad.nn.LSTM(4, 8, num_layers=2, batch_first=True)
>>> out, (h, c) = lstm(dynagrad.randn(3, 5, 4))
>>> out.shape, h.shape
(torch.Size([3, 5, 8]), torch.Size([2, 3, 8]))
"""
from __future__ import annotations

import math
import numbers
import warnings

from ...creation import empty, zeros
from ...ops import shape as S
from ...tensor import Tensor
from .. import _rnn_ops as R
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _param(module, name):
    # the registration dict first: a plain attribute lookup would fail over to Module.__getattr__
    p = module._parameters.get(name)
    return p if p is not None else getattr(module, name)


def _permute(h, perm):
    if perm is None:
        return h
    if isinstance(h, tuple):
        return tuple(x.index_select(1, perm) for x in h)
    return h.index_select(1, perm)


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters ``weight_ih_l{k}[_reverse]``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}`` with ``proj_size``), all
    ~ U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        num_directions = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                params = [("weight_ih_l{}{}", (gate_size, layer_input)),
                          ("weight_hh_l{}{}", (gate_size, real_hidden))]
                if bias:
                    params += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    params += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                names = []
                for fmt, shape in params:
                    name = fmt.format(layer, suffix)
                    setattr(self, name, Parameter(empty(shape, **kw)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def __setstate__(self, state: dict) -> None:
        # a file torch.save(model) wrote keeps the weight lists PyTorch caches; dynagrad derives them
        state = {k: v for k, v in state.items() if k not in ("_flat_weights", "_flat_weight_refs")}
        if "all_weights" in state:  # PyTorch < 1.0 layouts
            state["_all_weights"] = state.pop("all_weights")
        state.setdefault("proj_size", 0)
        super().__setstate__(state)

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op: there is no cuDNN weight buffer to compact on the CPU."""

    def _update_flat_weights(self) -> None:
        pass

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- checks ----------------------------------------------------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes) -> None:  # noqa: A002
        w = getattr(self, self._flat_weights_names[0])
        if input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({w.dtype}). "
                             f"Convert input: input.to({w.dtype}), or convert model: model.to({input.dtype})")
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")

    def _expected_hidden(self, batch: int, cell: bool = False) -> tuple:
        size = self.hidden_size if cell or self.proj_size == 0 else self.proj_size
        return (self.num_layers * (2 if self.bidirectional else 1), batch, size)

    @staticmethod
    def check_hidden_size(hx: Tensor, expected, msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.size()) != tuple(expected):
            raise RuntimeError(msg.format(tuple(expected), list(hx.size())))

    def permute_hidden(self, hx, permutation):
        return _permute(hx, permutation)

    # -- forward ---------------------------------------------------------------------------------------------
    def forward(self, input, hx=None):  # noqa: A002
        lstm = self.mode == "LSTM"
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(self.mode, self.mode)
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            bs = tuple(int(v) for v in batch_sizes.tolist())
            batch = bs[0]
            hx = self.permute_hidden(hx, sorted_indices) if hx is not None else None
            batched = True
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D "
                                 f"{'tensor ' if name == 'RNN' else ''}instead")
            batched = input.dim() == 3
            bdim = 0 if self.batch_first else 1
            if not batched:
                input = input.unsqueeze(bdim)  # noqa: A001
                if hx is not None:
                    hx = self._unbatch_hx(hx)
            elif hx is not None:
                self._check_hx_dims(hx, 3, "batched (3-D)")
            batch = input.size(bdim)
            sorted_indices = unsorted_indices = None
            bs = None
        x = data if packed else input
        self.check_input(x, bs)
        num_dir = 2 if self.bidirectional else 1
        if hx is None:
            h0 = zeros(self._expected_hidden(batch), dtype=x.dtype)
            c0 = zeros(self._expected_hidden(batch, cell=True), dtype=x.dtype) if lstm else None
        elif lstm:
            h0, c0 = hx
            self.check_hidden_size(h0, self._expected_hidden(batch), "Expected hidden[0] size {}, got {}")
            self.check_hidden_size(c0, self._expected_hidden(batch, cell=True),
                                   "Expected hidden[1] size {}, got {}")
        else:
            h0, c0 = hx, None
            self.check_hidden_size(h0, self._expected_hidden(batch))
        if not packed:
            if self.batch_first:
                x = x.transpose(0, 1)
            steps = x.shape[0]
            x = x.reshape(steps * batch, self.input_size)
        op = R.LAYER_OPS[self.mode]
        h0s = h0.unbind(0) if self.num_layers * num_dir > 1 else (h0[0],)
        c0s = (c0.unbind(0) if self.num_layers * num_dir > 1 else (c0[0],)) if lstm else None
        hs, cs = [], []
        training = self.training
        for layer in range(self.num_layers):
            outs = []
            for d in range(num_dir):
                k = layer * num_dir + d
                ws = [_param(self, n) for n in self._all_weights[k]]
                w_ih, w_hh = ws[0], ws[1]
                b_ih, b_hh = (ws[2], ws[3]) if self.bias else (None, None)
                w_hr = ws[-1] if self.proj_size > 0 else None
                res = op.apply(x, h0s[k], c0s[k] if lstm else None, w_ih, w_hh, b_ih, b_hh, w_hr,
                               batch_sizes=bs, reverse=d == 1)
                outs.append(res[0])
                hs.append(res[1])
                if lstm:
                    cs.append(res[2])
            x = outs[0] if num_dir == 1 else S.cat(outs, 1)
            if self.dropout and training and layer < self.num_layers - 1:
                from .. import functional as F
                x = F.dropout(x, self.dropout, True)
        h_n = S.stack(hs) if len(hs) > 1 else hs[0].unsqueeze(0)
        hidden = h_n
        if lstm:
            hidden = (h_n, S.stack(cs) if len(cs) > 1 else cs[0].unsqueeze(0))
        if packed:
            return PackedSequence(x, batch_sizes, sorted_indices, unsorted_indices), \
                self.permute_hidden(hidden, unsorted_indices)
        out = x.reshape(steps, batch, x.shape[-1])
        if self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            hidden = tuple(h.squeeze(1) for h in hidden) if lstm else hidden.squeeze(1)
        return out, hidden

    def _check_hx_dims(self, hx, nd, what):
        if self.mode == "LSTM":
            if hx[0].dim() != nd or hx[1].dim() != nd:
                raise RuntimeError(f"For {what} input, hx and cx should also be {nd}-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
        elif hx.dim() != nd:
            raise RuntimeError(f"For {what} input, hx should also be {nd}-D but got {hx.dim()}-D tensor")

    def _unbatch_hx(self, hx):
        self._check_hx_dims(hx, 2, "unbatched 2-D")
        if self.mode == "LSTM":
            return (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        return hx.unsqueeze(1)


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ``nonlinearity='relu'``)."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.__dict__["nonlinearity"] = args[3]
            args = args[:3] + args[4:]
        else:
            self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory, gates (i, f, g, o); ``proj_size > 0`` projects h with ``weight_hr_l{k}``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit, gates (r, z, n): ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# -- cells ---------------------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """Parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, ~ U(-1/sqrt(hidden), 1/sqrt(hidden))
    as PyTorch's."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _run(self, mode: str, input, hx, n_states: int):  # noqa: A002
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = hx if n_states == 2 and hx is not None else (hx,)
        for i, v in enumerate(states):
            if v is not None and v.dim() not in (1, 2):
                what = f"hx[{i}]" if n_states == 2 else "hidden"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {v.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)  # noqa: A001
        if hx is None:
            z = zeros((input.size(0), self.hidden_size), dtype=input.dtype)
            states = (z, z) if n_states == 2 else (z,)
        elif not batched:
            states = tuple(v.unsqueeze(0) for v in states)
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected "
                               f"{self.input_size}")
        for v in states:
            if v.size(0) != input.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden0 batch size "
                                   f"{v.size(0)}")
            if v.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden0 has inconsistent hidden_size: got {v.size(1)}, expected "
                                   f"{self.hidden_size}")
        c0 = states[1] if n_states == 2 else None
        w = [_param(self, n) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        out = R.LAYER_OPS[mode].apply(input, states[0], c0, *w, None, cell=True)
        if not batched:
            out = tuple(o.squeeze(0) for o in out) if n_states == 2 else out.squeeze(0)
        return out


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._run("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", input, hx, 1)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002
        return self._run("LSTM", input, hx, 2)


class GRUCell(RNNCellBase):
    """One GRU step (PyTorch's formulation)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002
        return self._run("GRU", input, hx, 1)
