"""dynagrad.onnx: export a model to ONNX (``torch.onnx.export``), built with the ``onnx`` package's helpers.

>>> import dynagrad, io
>>> m = dynagrad.nn.GRU(4, 8)
>>> prog = dynagrad.onnx.export(m, (dynagrad.randn(5, 3, 4),), io.BytesIO(), input_names=["x"],
...                             dynamic_axes={"x": {0: "seq", 1: "batch"}})
>>> [n.op_type for n in prog.model_proto.graph.node if n.op_type == "GRU"]
['GRU']

The model runs once under ``dynagrad.compile``'s tracer (no grad, in its current train/eval mode); the
recorded graph is cleaned by the compiler's passes (dead code, common subexpressions and, with
``do_constant_folding``, everything computable from the parameters), and each primitive becomes ONNX
nodes (``_ops.py``): linear layers Gemm/MatMul, convolutions Conv, normalisations BatchNormalization and
LayerNormalization, recurrent layers ONNX's RNN/GRU/LSTM (``_rnn.py``), attention MatMul/Softmax.
Parameters become initializers named as in ``state_dict``. Python values the program read
(``if x.sum() > 0``) are fixed to the traced path, as in PyTorch's exporter (logged).
``dynamic_axes``/``dynamic_shapes`` mark input dimensions as named symbols; the model is traced again at
other sizes and every size that follows them is computed from the inputs' shapes in the graph
(``_dynamic.py``); what cannot follow them makes the export raise ``OnnxExporterError`` with the op and the
user's line. The file has IR version 10 and the requested opset (default 20, as PyTorch's), so onnxruntime
loads it.
"""
from __future__ import annotations

import enum
import logging
import os

from . import errors
from ._program import ONNXProgram
from .errors import OnnxExporterError

__all__ = ["export", "is_in_onnx_export", "OnnxExporterError", "ONNXProgram", "errors", "TrainingMode",
           "OperatorExportTypes"]


class TrainingMode(enum.IntEnum):
    """``training=`` of the legacy exporter (``dynamo=False``): EVAL exports in eval mode (the default),
    PRESERVE in the model's own mode; TRAINING is refused (dynagrad exports inference graphs)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """``operator_export_type=``: only ONNX (standard operators) is supported."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3

log = logging.getLogger("dynagrad.onnx")
_exporting = [False]


def is_in_onnx_export() -> bool:
    """Whether an export is tracing the model now.

    >>> import dynagrad
    >>> dynagrad.onnx.is_in_onnx_export()
    False
    """
    return _exporting[0]


def export(model, args=(), f=None, *, kwargs: dict | None = None, verbose: bool | None = None,
           input_names=None, output_names=None, opset_version: int | None = None, dynamo: bool = True,
           external_data: bool = True, dynamic_shapes=None, custom_translation_table=None, report: bool = False,
           optimize: bool = True, verify: bool = False, profile: bool = False, dump_exported_program: bool = False,
           artifacts_dir="." , export_params: bool = True, keep_initializers_as_inputs: bool = False,
           dynamic_axes=None, training=None, operator_export_type=None, do_constant_folding: bool = True,
           custom_opsets=None, export_modules_as_functions=False, autograd_inlining: bool = True):
    """Export ``model(*args, **kwargs)`` to ONNX, written to ``f`` (a path or a binary file object) when given.

    ``dynamic_axes`` ({input or output name: {dim: symbol} or [dims]}) or ``dynamic_shapes`` (keyed by
    forward's parameter names, or one entry per argument; a dimension is a name, a ``Dim``-like object or
    None) make those dimensions symbolic: the graph computes every size that follows them, or the export
    raises ``OnnxExporterError`` naming the op and line that cannot. Returns an ``ONNXProgram`` with
    ``dynamo=True`` (PyTorch's default), None with ``dynamo=False``, as ``torch.onnx.export`` does.

    >>> import dynagrad, io
    >>> m = dynagrad.nn.Linear(3, 2)
    >>> prog = dynagrad.onnx.export(m, (dynagrad.randn(1, 3),), io.BytesIO(), input_names=["x"],
    ...                             dynamic_axes={"x": {0: "batch"}})
    >>> [d.dim_param or d.dim_value for d in prog.model_proto.graph.input[0].type.tensor_type.shape.dim]
    ['batch', 3]
    """
    try:
        import onnx  # noqa: F401
    except ImportError as e:
        raise ImportError("dynagrad.onnx.export needs the onnx package: pip install onnx (or "
                          "pip install 'dynagrad[onnx]')") from e
    from ._export import export_model, initializers_as_inputs
    if isinstance(args, list):
        args = tuple(args)
    if not isinstance(args, tuple):
        args = (args,)
    kw = dict(kwargs or {})
    if args and isinstance(args[-1], dict) and kwargs is None:
        kw = args[-1]  # the legacy exporter's convention: a trailing dict holds keyword arguments
        args = args[:-1]
    if custom_opsets:
        raise OnnxExporterError("custom_opsets: dynagrad exports only the standard ONNX domain")
    if export_modules_as_functions:
        raise OnnxExporterError("export_modules_as_functions is not supported: modules are inlined")
    mode = _mode_name(training)
    if mode == "TRAINING":
        raise OnnxExporterError("training=TrainingMode.TRAINING is not supported: dynagrad exports inference "
                                "graphs (call model.eval(), or leave training at its default)")
    if operator_export_type is not None and _mode_name(operator_export_type) not in ("ONNX", "0"):
        raise OnnxExporterError(f"operator_export_type={operator_export_type}: only OperatorExportTypes.ONNX "
                                f"(standard operators) is supported")
    if custom_translation_table:
        raise OnnxExporterError("custom_translation_table maps PyTorch's ATen ops to ONNX Script functions; "
                                "dynagrad has no ATen ops to map")
    # the legacy exporter (dynamo=False) exports in eval mode unless told to preserve the model's; the
    # modules' own flags are put back afterwards
    # tracing runs the model: what its forward changes in place (running statistics, a step counter) is put
    # back afterwards, so exporting leaves the model as it was
    buffers = [(b, b._data.copy()) for b in model.buffers()] if hasattr(model, "buffers") else []
    modes = None
    if not dynamo and mode in (None, "EVAL") and hasattr(model, "modules") and hasattr(model, "train"):
        modes = [(mod, mod.training) for mod in model.modules()]
        model.train(False)
    _exporting[0] = True
    try:
        proto = export_model(model, args, kw, input_names=input_names, output_names=output_names,
                             dynamic_axes=dynamic_axes, dynamic_shapes=dynamic_shapes,
                             opset=opset_version or 20, fold=do_constant_folding, verbose=bool(verbose),
                             export_params=export_params)
        prog = ONNXProgram(proto)
        if verify:  # in the mode the model was exported in
            _exporting[0] = False
            prog.verify(model, args, kw)
    finally:
        _exporting[0] = False
        for mod, was in modes or ():
            mod.training = was
        for b, data in buffers:
            if b._data.shape == data.shape and b._data.dtype == data.dtype:
                b._data[...] = data
            else:
                b._data = data
    if keep_initializers_as_inputs:
        proto = initializers_as_inputs(proto)
        prog = ONNXProgram(proto)
    if f is not None:
        import onnx
        if isinstance(f, (str, bytes)) or hasattr(f, "__fspath__"):
            onnx.save(proto, os.fspath(f))
        else:
            f.write(proto.SerializeToString())
    return prog if dynamo else None


def _mode_name(x) -> str | None:
    if x is None:
        return None
    name = getattr(x, "name", None)
    return str(name if name is not None else x).split(".")[-1].upper()
