"""``dynagrad.nn.utils``: gradient clipping and flattening parameters to one vector; ``rnn`` (packing) and
other submodules load on first use."""
from . import clip_grad, convert_parameters
from .clip_grad import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .weight_norm import remove_weight_norm, weight_norm


def skip_init(module_cls, *args, **kwargs):
    """Build ``module_cls(*args, **kwargs)``; dynagrad has no meta device, so the initialisation runs."""
    kwargs.pop("device", None)
    return module_cls(*args, **kwargs)


def __getattr__(name: str):
    import importlib

    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
