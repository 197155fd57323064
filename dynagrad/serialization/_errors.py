"""The two exceptions every reader here raises, and nothing else."""
from __future__ import annotations

import pickle


class CheckpointError(ValueError):
    """A file that cannot be read: truncated, corrupted, of an unknown or newer format, or too costly.

    The message names the file and the problem; nothing half-loaded is ever returned."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint naming a Python global dynagrad will not rebuild (``os.system``, or a model class when
    ``weights_only=True``).

    Also a ``pickle.UnpicklingError``, like the error of ``torch.load(weights_only=True)``."""


class SourceChangeWarning(Warning):
    """``torch.serialization.SourceChangeWarning``: PyTorch warns with it when a saved module's source
    changed since saving. dynagrad records no source, so it never issues it; scripts filter it by name."""
