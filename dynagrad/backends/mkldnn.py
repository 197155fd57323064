"""``torch.backends.mkldnn``: oneDNN's switches. dynagrad does not use oneDNN (its convolutions are im2col and
NumPy's BLAS), so ``is_available()`` is False, where PyTorch's CPU wheel, which bundles oneDNN, says True; the
flags keep PyTorch's defaults and change nothing.

>>> import dynagrad.backends.mkldnn as mkldnn
>>> mkldnn.is_available(), mkldnn.enabled
(False, True)
"""
from __future__ import annotations

from . import FlagModule, install, set_flags


def is_available() -> bool:
    return False


VERBOSE_OFF, VERBOSE_ON, VERBOSE_ON_CREATION = 0, 1, 2


class verbose:  # noqa: N801 - PyTorch's name
    """``with torch.backends.mkldnn.verbose(level):`` - oneDNN's logging; there is nothing to log here."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False


def flags(enabled: bool = False, deterministic: bool = False, allow_tf32: bool = True,
          fp32_precision: str = "none"):
    import sys
    return set_flags(sys.modules[__name__], enabled=enabled, deterministic=deterministic)


class MkldnnModule(FlagModule):
    _flags = {"enabled": (bool, True), "deterministic": (bool, False), "allow_tf32": (bool, None),
              "fp32_precision": (str, "none")}
    _setter_names = {"enabled": "set_enabled_mkldnn", "deterministic": "set_deterministic_mkldnn",
                     "allow_tf32": "_set_onednn_allow_tf32"}

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name == "allow_tf32":  # PyTorch warns and keeps None: oneDNN TF32 is for Intel GPUs only
            import warnings
            warnings.warn("TF32 acceleration on top of oneDNN is available for Intel GPUs. The current Torch "
                          "version does not have Intel GPU Support.", UserWarning, stacklevel=2)
            super().__setattr__(name, None)


install(__name__, MkldnnModule)
