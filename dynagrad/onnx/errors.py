"""Exceptions of ``dynagrad.onnx`` (``torch.onnx.errors``).

>>> from dynagrad.onnx.errors import OnnxExporterError, UnsupportedOperatorError
>>> issubclass(UnsupportedOperatorError, OnnxExporterError) and issubclass(OnnxExporterError, RuntimeError)
True
"""
from __future__ import annotations

__all__ = ["OnnxExporterError", "UnsupportedOperatorError", "SymbolicValueError"]


class OnnxExporterError(RuntimeError):
    """The model cannot be exported as asked (an op without an ONNX form, a dynamic axis it cannot follow)."""


class UnsupportedOperatorError(OnnxExporterError):
    """An operator has no ONNX conversion."""


class SymbolicValueError(OnnxExporterError):
    """A value of the traced graph cannot be expressed in ONNX."""
