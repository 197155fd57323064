"""Utilities that mirror ``torch.utils``: data loading in :mod:`dynagrad.utils.data`, activation
checkpointing in :mod:`dynagrad.utils.checkpoint`."""
from . import checkpoint, data
