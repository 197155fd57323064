"""``ONNXProgram``: what ``torch.onnx.export(..., dynamo=True)`` returns."""
from __future__ import annotations

import os


class ONNXProgram:
    """An exported model: ``model_proto`` (an ``onnx.ModelProto``), ``save(path)``, and calling it runs the
    model with onnxruntime (tensors in, tensors out)."""

    def __init__(self, model_proto, exported_program=None) -> None:
        self.model_proto = model_proto
        self.exported_program = exported_program
        self._session = None

    def __repr__(self) -> str:
        g = self.model_proto.graph
        return (f"ONNXProgram({g.name}: {len(g.node)} nodes, inputs {[i.name for i in g.input]}, "
                f"outputs {[o.name for o in g.output]})")

    def save(self, destination, *, include_initializers: bool = True, keep_initializers_as_inputs: bool = False,
             external_data: bool | None = None) -> None:
        """Write the model to a path or a binary file object."""
        import onnx

        proto = self.model_proto
        if not include_initializers:
            proto = type(proto)()
            proto.CopyFrom(self.model_proto)
            del proto.graph.initializer[:]
        if keep_initializers_as_inputs:
            from ._export import initializers_as_inputs
            proto = initializers_as_inputs(proto)
        if isinstance(destination, (str, bytes)) or hasattr(destination, "__fspath__"):
            onnx.save(proto, os.fspath(destination))
        else:
            destination.write(proto.SerializeToString())

    def __call__(self, *args, **kwargs):
        """Run with onnxruntime on CPU; returns a list of tensors, as PyTorch's ONNXProgram does."""
        import numpy as np
        import onnxruntime as ort

        from ..tensor import Tensor
        if self._session is None:
            self._session = ort.InferenceSession(self.model_proto.SerializeToString(),
                                                 providers=["CPUExecutionProvider"])
        values = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        feed = {i.name: np.asarray(v.detach().numpy()) for i, v in zip(self._session.get_inputs(), values)}
        return [Tensor._wrap(np.asarray(o)) for o in self._session.run(None, feed)]
