"""Pretrained-weight handles and the model registry (``torchvision.models._api``), offline.

A ``WeightsEnum`` member (``ResNet18_Weights.IMAGENET1K_V1``, ``.DEFAULT``) names a checkpoint by its
published URL, but dynagrad never downloads: ``get_state_dict`` reads the file from the hub cache where
torch puts it (``$TORCH_HOME/hub/checkpoints/<file>``, by default ``~/.cache/torch/hub/checkpoints``) and
raises, naming the file and that folder, when it is not there.

>>> from dynagrad.vision import models
>>> models.ResNet18_Weights.DEFAULT
ResNet18_Weights.IMAGENET1K_V1
>>> models.ResNet18_Weights.DEFAULT.meta["num_params"]
11689512
>>> "resnet18" in models.list_models()
True
"""
from __future__ import annotations

import fnmatch
import functools
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["Weights", "WeightsEnum", "register_model", "get_model", "get_model_builder", "get_model_weights",
           "get_weight", "list_models", "hub_checkpoint_dir"]


def hub_checkpoint_dir() -> str:
    """Where torch's hub caches checkpoints: ``$TORCH_HOME/hub/checkpoints`` (``TORCH_HOME`` defaulting to
    ``$XDG_CACHE_HOME/torch``, then ``~/.cache/torch``)."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "torch")
    return os.path.join(os.path.expanduser(home), "hub", "checkpoints")


def load_local_checkpoint(url: str, what: str = "these weights") -> dict:
    """The state dict published at ``url``, read from the hub cache; a clear error when it is absent."""
    import dynagrad
    fname = os.path.basename(url.split("?", 1)[0])
    path = os.path.join(hub_checkpoint_dir(), fname)
    if not os.path.isfile(path):
        raise RuntimeError(
            f"{what} need the checkpoint file {fname}, which is not in {hub_checkpoint_dir()}. dynagrad never "
            f"downloads: fetch {url} yourself and put it in that folder (or set TORCH_HOME), or build the model "
            f"with weights=None and load a checkpoint you have (model.load_state_dict(torch.load(path))).")
    return dynagrad.load(path, map_location="cpu", weights_only=True)


@dataclass(eq=False)
class Weights:
    """One published checkpoint: where it lives, the preprocessing it was trained with, and facts about it."""

    url: str
    transforms: Callable
    meta: dict[str, Any] = field(default_factory=dict)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Weights):
            return NotImplemented
        return self.url == other.url and self.meta == other.meta


class WeightsEnum(Enum):
    """The checkpoints one model builder accepts; ``verify`` turns a name (``"DEFAULT"``,
    ``"IMAGENET1K_V1"``, ``"ResNet18_Weights.IMAGENET1K_V1"``) into a member."""

    @classmethod
    def verify(cls, obj: Any) -> Any:
        if obj is not None:
            if type(obj) is str:
                try:
                    obj = cls[obj.replace(cls.__name__ + ".", "")]
                except KeyError:
                    raise ValueError(f"Failed to find Weights {obj} in {cls.__name__}. Try one of "
                                     f"{[e.name for e in cls]}") from None
            elif not isinstance(obj, cls):
                raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but received "
                                f"{obj.__class__.__name__}.")
        return obj

    def get_state_dict(self, *args: Any, **kwargs: Any) -> dict:
        return load_local_checkpoint(self.url, f"{type(self).__name__}.{self._name_}")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}.{self._name_}"

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self) -> Callable:
        return self.value.transforms

    @property
    def meta(self) -> dict:
        return self.value.meta


BUILTIN_MODELS: dict[str, Callable] = {}


def register_model(name: str | None = None) -> Callable:
    def wrapper(fn: Callable) -> Callable:
        key = name if name is not None else fn.__name__
        if key in BUILTIN_MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        BUILTIN_MODELS[key] = fn
        return fn
    return wrapper


def list_models(module: Any = None, include: Any = None, exclude: Any = None) -> list[str]:
    """Sorted names of the registered model builders, optionally filtered by fnmatch patterns."""
    models = [k for k, v in BUILTIN_MODELS.items()
              if module is None or v.__module__.rsplit(".", 1)[0] == module.__name__]
    if include:
        pats = [include] if isinstance(include, str) else include
        models = [m for m in models if any(fnmatch.fnmatch(m, p) for p in pats)]
    if exclude:
        pats = [exclude] if isinstance(exclude, str) else exclude
        models = [m for m in models if not any(fnmatch.fnmatch(m, p) for p in pats)]
    return sorted(models)


def get_model_builder(name: str) -> Callable:
    name = name.lower()
    try:
        return BUILTIN_MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config: Any):
    """Build a registered model by name: ``get_model("resnet18", num_classes=10)``."""
    return get_model_builder(name)(**config)


def get_model_weights(name: Any) -> type:
    """The ``WeightsEnum`` class of a model builder (or its name)."""
    fn = get_model_builder(name) if isinstance(name, str) else name
    cls = getattr(fn, "_weights_enum", None)
    if cls is None:
        raise ValueError(f"The weight enum for the model {getattr(fn, '__name__', name)} was not found")
    return cls


def get_weight(name: str) -> WeightsEnum:
    """A weights member from its full name, ``"ResNet18_Weights.IMAGENET1K_V1"``."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    pkg = sys.modules[__name__.rsplit(".", 1)[0]]  # the package namespace holds every *_Weights class
    cls = getattr(pkg, enum_name, None)
    if not (isinstance(cls, type) and issubclass(cls, WeightsEnum)):
        raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be retrieved.")
    return cls[value_name]


# -- builders' shared argument handling ---------------------------------------------------------------------

def _ovewrite_named_param(kwargs: dict, param: str, new_value: Any) -> None:
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(f"The parameter '{param}' expected value {new_value} but got {kwargs[param]} "
                             f"instead.")
    else:
        kwargs[param] = new_value


def handle_legacy_interface(default: Callable[[dict], Any]) -> Callable:
    """Accept the pre-0.13 ``pretrained=True`` (keyword or first positional) as torchvision does, with its
    warnings, mapping it to ``default(kwargs)`` weights; and a checkpoint file path as ``weights``, which
    builds the model with ``weights=None`` and loads that file (a dynagrad convenience)."""
    def outer(builder: Callable) -> Callable:
        @functools.wraps(builder)
        def inner(*args: Any, **kwargs: Any):
            if args:
                kwargs["pretrained"], args = args[0], args[1:]
                warnings.warn("Using 'weights' as positional parameter(s) is deprecated since 0.13 and may be "
                              "removed in the future. Please use keyword parameter(s) instead.", stacklevel=2)
            if "pretrained" in kwargs:
                pretrained = kwargs.pop("pretrained")
                if "weights" in kwargs:
                    raise ValueError("The parameter 'pretrained' is deprecated, please use 'weights' instead.")
                weights = default(kwargs) if pretrained else None
                warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed in the "
                              "future, please use 'weights' instead.", stacklevel=2)
                if pretrained:
                    warnings.warn(f"Arguments other than a weight enum or `None` for 'weights' are deprecated "
                                  f"since 0.13 and may be removed in the future. The current behavior is "
                                  f"equivalent to passing `weights={weights}`. You can also use "
                                  f"`weights={type(weights).__name__}.DEFAULT` to get the most up-to-date "
                                  f"weights.", stacklevel=2)
                kwargs["weights"] = weights
            w = kwargs.get("weights")
            if isinstance(w, os.PathLike) or (isinstance(w, str) and os.path.sep in w or
                                                isinstance(w, str) and w.endswith((".pth", ".pt", ".bin"))):
                import dynagrad
                path = os.fspath(w)
                if not os.path.isfile(path):
                    raise FileNotFoundError(f"{builder.__name__}(weights={path!r}): no such checkpoint file")
                kwargs["weights"] = None
                model = builder(*args, **kwargs)
                state = dynagrad.load(path, map_location="cpu", weights_only=True)
                if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
                    state = state["state_dict"]
                model.load_state_dict(state)
                return model
            return builder(*args, **kwargs)
        return inner
    return outer


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor``, never more than 10% below ``v`` (MobileNet's rule)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def make_builder(name: str, module: str, weights_cls: type, construct: Callable, doc: str = "") -> Callable:
    """A registered model builder ``name(*, weights=None, progress=True, **kwargs)`` calling
    ``construct(weights, progress, **kwargs)`` with ``weights`` verified against ``weights_cls``."""
    def build(*, weights: Any = None, progress: bool = True, **kwargs: Any):
        return construct(weights_cls.verify(weights), progress, **kwargs)
    build.__name__ = build.__qualname__ = name
    build.__module__ = module
    build.__doc__ = doc or (f"``{name}`` with torchvision's architecture, names and initialisation "
                            f"({weights_cls.DEFAULT.meta['num_params']:,} parameters at 1000 classes). "
                            f"``weights`` load from a local file or the hub cache only (see "
                            f"``{weights_cls.__name__}``).")
    fn = handle_legacy_interface(lambda kw: weights_cls.DEFAULT)(build)
    fn._weights_enum = weights_cls
    return register_model(name)(fn)
