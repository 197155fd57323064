"""``torch.nn.utils.stateless.functional_call``: run a module with some parameters and buffers swapped."""
from __future__ import annotations

__all__ = ["functional_call"]


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Call ``module`` with the tensors of ``parameters_and_buffers`` (by dotted name) in place of its own."""
    from ...func import functional_call as _call
    return _call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
