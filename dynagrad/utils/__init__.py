"""Utilities that mirror ``torch.utils``: data loading lives in :mod:`dynagrad.utils.data`."""
from . import data
