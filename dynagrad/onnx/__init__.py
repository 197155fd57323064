"""dynagrad.onnx: export a model to ONNX (``torch.onnx.export``), built with the ``onnx`` package's helpers.

>>> import dynagrad, io
>>> m = dynagrad.nn.Linear(3, 2)
>>> buf = io.BytesIO()
>>> dynagrad.onnx.export(m, (dynagrad.randn(1, 3),), buf, input_names=["x"])  # doctest: +SKIP

The model runs once under ``dynagrad.compile``'s tracer (no grad, in its current train/eval mode); the
recorded graph is cleaned by the compiler's passes (dead code, common subexpressions and, with
``do_constant_folding``, everything computable from the parameters), and each primitive becomes ONNX
nodes (``_ops.py``): linear layers Gemm/MatMul, convolutions Conv, normalisations BatchNormalization and
LayerNormalization, recurrent layers unrolled into MatMul/Add/Tanh/Sigmoid steps, attention
MatMul/Softmax. Parameters become initializers named as in ``state_dict``. Python values the program read
(``if x.sum() > 0``) are fixed to the traced path, as in PyTorch's exporter (a warning names them).
``dynamic_axes`` marks input/output dimensions as named symbols; reshapes whose sizes follow a dynamic
dimension compute them from the input's shape (found by tracing again with that dimension changed).
The file has IR version 10 and the requested opset (default 17), so onnxruntime loads it.
"""
from __future__ import annotations

import logging

__all__ = ["export", "is_in_onnx_export", "OnnxExporterError"]

log = logging.getLogger("dynagrad.onnx")
_exporting = [False]


class OnnxExporterError(RuntimeError):
    pass


def is_in_onnx_export() -> bool:
    return _exporting[0]


def export(model, args, f, export_params: bool = True, verbose: bool = False, training=None,
           input_names=None, output_names=None, dynamic_axes=None, opset_version: int | None = 17,
           do_constant_folding: bool = True, keep_initializers_as_inputs=None, custom_opsets=None,
           export_modules_as_functions=False, dynamo: bool = False, **kwargs):
    """Export ``model(*args)`` to ONNX at ``f`` (a path or a binary file object). Returns the ModelProto."""
    try:
        import onnx  # noqa: F401
    except ImportError as e:
        raise ImportError("dynagrad.onnx.export needs the onnx package: pip install onnx (or "
                          "pip install 'dynagrad[onnx]')") from e
    from ._export import export_model
    if not isinstance(args, tuple):
        args = (args,)
    kw = {}
    if args and isinstance(args[-1], dict):
        kw = args[-1]
        args = args[:-1]
    _exporting[0] = True
    try:
        proto = export_model(model, args, kw, input_names=input_names, output_names=output_names,
                             dynamic_axes=dynamic_axes, opset=opset_version or 17,
                             fold=do_constant_folding, verbose=verbose)
    finally:
        _exporting[0] = False
    import onnx
    if isinstance(f, (str, bytes)) or hasattr(f, "__fspath__"):
        onnx.save(proto, f)
    else:
        f.write(proto.SerializeToString())
    return proto
