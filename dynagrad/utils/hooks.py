"""``torch.utils.hooks``: the handle every ``register_*_hook`` method returns, and the hook-pickling helpers.

Libraries import ``RemovableHandle`` from here to annotate or keep the handles of the hooks they add
(torchinfo's ``summary`` does).

>>> import dynagrad as torch
>>> from dynagrad.utils.hooks import RemovableHandle
>>> m = torch.nn.Linear(2, 2)
>>> h = m.register_forward_hook(lambda mod, args, out: None)
>>> isinstance(h, RemovableHandle), len(m._forward_hooks)
(True, 1)
>>> h.remove(); len(m._forward_hooks)
0
"""
from __future__ import annotations

import warnings

from ..nn.modules.module import RemovableHandle

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks"]


def unserializable_hook(f):
    """Mark a tensor hook as one that is not pickled with the tensor (so ``warn_if_has_hooks`` stays quiet)."""
    f.__torch_unserializable__ = True
    return f


def _tensor_hooks(tensor) -> list:
    if tensor.grad_fn is None:
        return list(tensor._hooks or [])
    node_hooks = tensor.grad_fn._tensor_hooks or {}
    return list(node_hooks.get(tensor._output_nr, []))


def warn_if_has_hooks(tensor) -> None:
    """Warn, as PyTorch does when pickling, about backward hooks on ``tensor`` that will not be saved."""
    for hook in _tensor_hooks(tensor) if tensor.requires_grad else []:
        if not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(f"backward hook {hook!r} on tensor will not be serialized.  If this is expected, you "
                          "can decorate the function with @torch.utils.hooks.unserializable_hook to suppress "
                          "this warning", stacklevel=2)
