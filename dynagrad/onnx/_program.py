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

    def optimize(self) -> None:
        """PyTorch runs onnxscript's optimizer here; dynagrad's export already folds constants, removes dead
        and duplicate nodes and cancels reshapes and transposes, so the graph is left as it is."""

    def release(self) -> None:
        """Drop the onnxruntime session made by calling the program."""
        self._session = None

    def verify(self, model, args, kwargs=None, rtol: float = 1e-4, atol: float = 1e-5) -> None:
        """Run the program with onnxruntime on ``args`` and compare with ``model``'s outputs (``verify=True``
        of ``torch.onnx.export``); raises OnnxExporterError naming the first output that differs."""
        import numpy as np

        from ..autograd.grad_mode import no_grad
        from ..tensor import Tensor
        from .errors import OnnxExporterError
        kwargs = kwargs or {}
        got = self(*_leaves(args), *_leaves(kwargs))
        with no_grad():
            want = [t for t in _leaves(model(*args, **kwargs)) if isinstance(t, Tensor)]
        if len(got) != len(want):
            raise OnnxExporterError(f"verify: the ONNX program has {len(got)} outputs, the model {len(want)}")
        for k, (g, w) in enumerate(zip(got, want)):
            g, w = g.numpy(), w.detach().numpy()
            if g.shape != w.shape or not np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True):
                err = np.abs(g.astype(np.float64) - w).max() if g.shape == w.shape else f"shape {g.shape} vs {w.shape}"
                raise OnnxExporterError(f"verify: output {k} differs from the model's (max abs error {err})")

    def __call__(self, *args, **kwargs):
        """Run with onnxruntime on CPU; returns a list of tensors, as PyTorch's ONNXProgram does."""
        import numpy as np
        import onnxruntime as ort

        from ..tensor import Tensor
        if self._session is None:
            self._session = ort.InferenceSession(self.model_proto.SerializeToString(),
                                                 providers=["CPUExecutionProvider"])
        values = _leaves(list(args) + list(kwargs.values()))
        feed = {i.name: np.asarray(v.detach().numpy()) for i, v in zip(self._session.get_inputs(), values)}
        return [Tensor._wrap(np.asarray(o)) for o in self._session.run(None, feed)]


def _leaves(x) -> list:
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [z for y in x for z in _leaves(y)]
    if isinstance(x, dict):
        return [z for y in x.values() for z in _leaves(y)]
    return []
