"""The one seam to the array library.

Every array call in dynagrad goes through ``xp``, chosen here once, so that another NumPy-compatible array
library (CuPy, say) could slot in later without touching the ops.
"""
import numpy as xp

__all__ = ["xp"]
