"""Recurrent layers as ONNX's own RNN/GRU/LSTM operators (any batch size and sequence length).

dynagrad runs one layer and direction as one primitive on the packed ``(T*B, I)`` rows; each becomes one
ONNX operator on ``(T, B, I)`` (``T`` taken as -1, ``B`` read from the initial state's shape, so nothing
about either size is baked in). PyTorch's gate order is converted to ONNX's: LSTM (i, f, g, o) to
(i, o, f, c), GRU (r, z, n) to (z, r, h) with ``linear_before_reset=1`` (PyTorch's reset gate multiplies
``W_hn h + b_hn``). ONNX's LSTM has no output projection, so an LSTM with ``proj_size`` becomes a ``Scan``
whose body is one step of the projected cell.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from ._ops import CONVERTERS, Ctx, _site
from .errors import UnsupportedOperatorError

_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}


def _rows(blocks, h: int) -> np.ndarray:
    return np.concatenate([np.arange(b * h, (b + 1) * h) for b in blocks]).astype(np.int64)


def _gathered(ctx: Ctx, w, idx: np.ndarray, add_dir: bool = True) -> str:
    """``w`` with its gate blocks reordered (rows ``idx``), with a leading direction axis of 1."""
    arr = ctx.array(w)
    if arr is not None:
        out = np.ascontiguousarray(np.asarray(arr)[idx])
        return ctx.initializer(out[None] if add_dir else out)
    g = ctx.add("Gather", [ctx.operand(w), ctx.initializer(idx)], axis=0)
    return ctx.add("Unsqueeze", [g, ctx.initializer(np.asarray([0], np.int64))]) if add_dir else g


def _dim(ctx: Ctx, name: str, j: int) -> str:
    """Dimension ``j`` of ``name`` as a 1-D int64 tensor of one element."""
    shape = ctx.add("Shape", [name])
    return ctx.add("Slice", [shape, ctx.initializer(np.asarray([j], np.int64)),
                             ctx.initializer(np.asarray([j + 1], np.int64))])


def _unsq(ctx: Ctx, x: str) -> str:
    return ctx.add("Unsqueeze", [x, ctx.initializer(np.asarray([0], np.int64))])


def _sq(ctx: Ctx, x: str) -> str:
    return ctx.add("Squeeze", [x, ctx.initializer(np.asarray([0], np.int64))])


def recurrent(ctx: Ctx, n) -> None:
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = n.args[:8]
    kw = n.kwargs
    if kw.get("batch_sizes") is not None:
        raise UnsupportedOperatorError(f"dynagrad.onnx.export: packed sequences (pack_padded_sequence) are not "
                                       f"exported; pass the padded tensor (at {_site(n)})")
    mode = n.target.mode
    cell, reverse = bool(kw.get("cell")), bool(kw.get("reverse"))
    proj = w_hr is not None and not isinstance(w_hr, str)
    gates = len(_ORDER[mode])
    hid = w_hh.shape[0] // gates
    n_in = w_ih.shape[1]
    xs = ctx.operand(x)
    h0s = ctx.operand(h0)
    if cell:
        x3 = _unsq(ctx, xs)
    else:
        shape = ctx.add("Concat", [ctx.initializer(np.asarray([-1], np.int64)), _dim(ctx, h0s, 0),
                                   ctx.initializer(np.asarray([n_in], np.int64))], axis=0)
        x3 = ctx.add("Reshape", [xs, shape])
    if proj:
        y3, h_n, c_n = _projected_lstm(ctx, n, x3, h0s, ctx.operand(c0), reverse, hid)
    else:
        idx = _rows(_ORDER[mode], hid)
        ins = [x3, _gathered(ctx, w_ih, idx), _gathered(ctx, w_hh, idx)]
        if b_ih is not None:
            ins.append(ctx.add("Concat", [_gathered(ctx, b_ih, idx), _gathered(ctx, b_hh, idx)], axis=1))
        else:
            ins.append("")
        ins += ["", _unsq(ctx, h0s)]
        attrs = {"hidden_size": hid, "direction": "reverse" if reverse else "forward"}
        if mode == "LSTM":
            ins.append(_unsq(ctx, ctx.operand(c0)))
            y4, hn, cn = ctx.add("LSTM", ins, n_out=3, **attrs)
            c_n = _sq(ctx, cn)
        else:
            if mode == "GRU":
                attrs["linear_before_reset"] = 1
            else:
                attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"]
            y4, hn = ctx.add(mode.split("_")[0], ins, n_out=2, **attrs)
            c_n = None
        h_n = _sq(ctx, hn)
        y3 = ctx.add("Squeeze", [y4, ctx.initializer(np.asarray([1], np.int64))])
    out_size = w_hh.shape[1]
    if cell:
        ctx.bind(n, h_n, c_n) if mode == "LSTM" else ctx.bind(n, h_n)
        return
    y = ctx.add("Reshape", [y3, ctx.initializer(np.asarray([-1, out_size], np.int64))])
    ctx.bind(n, y, h_n, c_n) if mode == "LSTM" else ctx.bind(n, y, h_n)


def _projected_lstm(ctx: Ctx, n, x3: str, h0: str, c0: str, reverse: bool, hid: int):
    """An LSTM with ``proj_size`` as a Scan over time: (Y (T, B, P), h_n, c_n)."""
    _, _, _, w_ih, w_hh, b_ih, b_hh, w_hr = n.args[:8]
    dt = np.dtype(n.out.dtype)
    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}.get(dt)
    if elem is None:
        raise UnsupportedOperatorError(f"dynagrad.onnx.export: an LSTM with proj_size in {dt} (at {_site(n)})")
    # the input projection of every step in one MatMul, outside the loop
    xw = ctx.add("MatMul", [x3, ctx.transposed(w_ih)])
    if b_ih is not None:
        xw = ctx.add("Add", [xw, ctx.add("Add", [ctx.operand(b_ih), ctx.operand(b_hh)])])
    whh = ctx.transposed(w_hh)
    whr = ctx.transposed(w_hr)
    outer = ctx.nodes
    ctx.nodes = []
    h_in, c_in, x_in = ctx.fresh("h_in"), ctx.fresh("c_in"), ctx.fresh("x_in")
    g = ctx.add("Add", [x_in, ctx.add("MatMul", [h_in, whh])])
    i, f, gg, o = ctx.add("Split", [g, ctx.initializer(np.asarray([hid] * 4, np.int64))], n_out=4, axis=1)
    c = ctx.add("Add", [ctx.add("Mul", [ctx.add("Sigmoid", [f]), c_in]),
                        ctx.add("Mul", [ctx.add("Sigmoid", [i]), ctx.add("Tanh", [gg])])])
    h = ctx.add("MatMul", [ctx.add("Mul", [ctx.add("Sigmoid", [o]), ctx.add("Tanh", [c])]), whr])
    h_out, c_out, y_out = ctx.fresh("h_out"), ctx.fresh("c_out"), ctx.fresh("y_out")
    ctx.nodes += [helper.make_node("Identity", [h], [h_out]), helper.make_node("Identity", [c], [c_out]),
                  helper.make_node("Identity", [h], [y_out])]
    body_nodes = ctx.nodes
    ctx.nodes = outer
    vi = lambda name: helper.make_tensor_value_info(name, elem, None)  # noqa: E731
    body = helper.make_graph(body_nodes, ctx.fresh("lstm_step"), [vi(h_in), vi(c_in), vi(x_in)],
                             [vi(h_out), vi(c_out), vi(y_out)])
    d = [1 if reverse else 0]
    h_n, c_n, y = ctx.add("Scan", [h0, c0, xw], n_out=3, body=body, num_scan_inputs=1,
                          scan_input_directions=d, scan_output_directions=d)
    return y, h_n, c_n


for _name in ("RNNTanhLayerBackward0", "GRULayerBackward0", "LSTMLayerBackward0"):
    CONVERTERS[_name] = recurrent
