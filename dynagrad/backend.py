"""The one seam to the array library.

Every array call in dynagrad goes through ``xp``, chosen here once, so that another NumPy-compatible array
library (CuPy, say) could slot in later without touching the ops.
"""
import numpy as xp

__all__ = ["xp"]

# PyTorch computes inf/nan silently (anomaly mode is the tool for finding them); NumPy would warn on every
# such op. Matching PyTorch means silencing NumPy's floating-point warnings in this process.
xp.seterr(divide="ignore", invalid="ignore", over="ignore", under="ignore")
