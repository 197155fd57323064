"""Recurrent layers as ONNX's own RNN/GRU/LSTM operators (any batch size and sequence length).

dynagrad runs one layer and direction as one primitive on the packed ``(T*B, I)`` rows; each becomes one
ONNX operator on ``(T, B, I)`` (``T`` taken as -1, ``B`` read from the initial state's shape, so nothing
about either size is baked in). PyTorch's gate order is converted to ONNX's: LSTM (i, f, g, o) to
(i, o, f, c), GRU (r, z, n) to (z, r, h) with ``linear_before_reset=1`` (PyTorch's reset gate multiplies
``W_hn h + b_hn``). ONNX's LSTM has no output projection, and onnxruntime runs the recurrent operators in
float32 only, so an LSTM with ``proj_size`` and any layer in another dtype becomes a ``Scan`` whose body is
one step of PyTorch's cell.
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
    if proj or np.dtype(n.out.dtype) != np.float32:  # onnxruntime runs ONNX's recurrent ops in float32 only
        y3, h_n, c_n = _scan_layer(ctx, n, x3, h0s, ctx.operand(c0) if mode == "LSTM" else None, reverse, mode, hid)
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


def _scan_layer(ctx: Ctx, n, x3: str, h0: str, c0: str | None, reverse: bool, mode: str, hid: int):
    """One layer as a Scan over time, its body one step of PyTorch's cell: (Y (T, B, H), h_n, c_n or None).
    For what ONNX's recurrent operators cannot do (LSTM projections) or onnxruntime does not run (float64)."""
    _, _, _, w_ih, w_hh, b_ih, b_hh, w_hr = n.args[:8]
    proj = w_hr is not None and not isinstance(w_hr, str)
    dt = np.dtype(n.out.dtype)
    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
            np.dtype(np.float16): TensorProto.FLOAT16}.get(dt)
    if elem is None:
        raise UnsupportedOperatorError(f"dynagrad.onnx.export: a recurrent layer in {dt} (at {_site(n)})")
    xw = ctx.add("MatMul", [x3, ctx.transposed(w_ih)])  # every step's input projection in one MatMul
    if b_ih is not None:
        xw = ctx.add("Add", [xw, ctx.operand(b_ih)])
    whh = ctx.transposed(w_hh)
    bhh = ctx.operand(b_hh) if b_hh is not None else None
    whr = ctx.transposed(w_hr) if proj else None
    lstm = mode == "LSTM"
    outer = ctx.nodes
    ctx.nodes = []
    h_in, x_in = ctx.fresh("h_in"), ctx.fresh("x_in")
    c_in = ctx.fresh("c_in") if lstm else None
    gh = ctx.add("MatMul", [h_in, whh])
    if bhh is not None:
        gh = ctx.add("Add", [gh, bhh])
    sizes = lambda k: ctx.initializer(np.asarray([hid] * k, np.int64))  # noqa: E731
    if mode in ("RNN_TANH", "RNN_RELU"):
        h = ctx.add("Tanh" if mode == "RNN_TANH" else "Relu", [ctx.add("Add", [x_in, gh])])
    elif mode == "GRU":
        xr, xz, xn = ctx.add("Split", [x_in, sizes(3)], n_out=3, axis=1)
        hr, hz, hn = ctx.add("Split", [gh, sizes(3)], n_out=3, axis=1)
        r = ctx.add("Sigmoid", [ctx.add("Add", [xr, hr])])
        z = ctx.add("Sigmoid", [ctx.add("Add", [xz, hz])])
        nn = ctx.add("Tanh", [ctx.add("Add", [xn, ctx.add("Mul", [r, hn])])])
        h = ctx.add("Add", [ctx.add("Mul", [ctx.add("Sub", [h_in, nn]), z]), nn])
    else:
        g = ctx.add("Add", [x_in, gh])
        i, f, gg, o = ctx.add("Split", [g, sizes(4)], n_out=4, axis=1)
        c = ctx.add("Add", [ctx.add("Mul", [ctx.add("Sigmoid", [f]), c_in]),
                            ctx.add("Mul", [ctx.add("Sigmoid", [i]), ctx.add("Tanh", [gg])])])
        h = ctx.add("Mul", [ctx.add("Sigmoid", [o]), ctx.add("Tanh", [c])])
        if proj:
            h = ctx.add("MatMul", [h, whr])
    h_out, y_out = ctx.fresh("h_out"), ctx.fresh("y_out")
    body_nodes = ctx.nodes + [helper.make_node("Identity", [h], [h_out]), helper.make_node("Identity", [h], [y_out])]
    states_in, states_out = [h_in], [h_out]
    if lstm:
        c_out = ctx.fresh("c_out")
        body_nodes.append(helper.make_node("Identity", [c], [c_out]))
        states_in.append(c_in)
        states_out.append(c_out)
    ctx.nodes = outer
    vi = lambda name: helper.make_tensor_value_info(name, elem, None)  # noqa: E731
    body = helper.make_graph(body_nodes, ctx.fresh("step"), [vi(v) for v in states_in + [x_in]],
                             [vi(v) for v in states_out + [y_out]])
    d = [1 if reverse else 0]
    inits = [h0, c0] if lstm else [h0]
    outs = ctx.add("Scan", inits + [xw], n_out=len(inits) + 1, body=body, num_scan_inputs=1,
                   scan_input_directions=d, scan_output_directions=d)
    if lstm:
        return outs[2], outs[0], outs[1]
    return outs[1], outs[0], None


for _name in ("RNNTanhLayerBackward0", "GRULayerBackward0", "LSTMLayerBackward0"):
    CONVERTERS[_name] = recurrent
