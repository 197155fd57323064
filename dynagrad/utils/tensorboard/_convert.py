"""Anything the writer is given (dynagrad tensors, NumPy arrays, lists, Python numbers) as a NumPy array."""
from __future__ import annotations

import numpy as np


def make_np(x) -> np.ndarray:
    """``x`` as a NumPy array (a dynagrad tensor is detached; bfloat16 becomes float32).

    >>> import dynagrad
    >>> make_np(dynagrad.tensor([1.0, 2.0], requires_grad=True)).tolist()
    [1.0, 2.0]
    """
    from ...tensor import Tensor
    if isinstance(x, Tensor):
        a = x.detach().numpy()
        if a.dtype.kind == "V" or a.dtype.name == "bfloat16":  # ml_dtypes' bfloat16: NumPy math needs float32
            a = a.astype(np.float32)
        return a
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        return np.array([make_np(v) if not np.isscalar(v) else v for v in x])
    if np.isscalar(x) or isinstance(x, np.generic):
        return np.array(x)
    if hasattr(x, "__array__"):
        return np.asarray(x)
    if hasattr(x, "numpy"):  # another framework's tensor
        return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x.numpy())
    raise NotImplementedError(f"Got {type(x)}, but numpy array or torch tensor are expected.")
