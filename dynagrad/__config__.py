"""``torch.__config__``: how this build was made, in PyTorch's format, describing what dynagrad really uses.

>>> import dynagrad as torch
>>> torch.__config__.show().splitlines()[0]
'PyTorch built with:'
>>> "USE_CUDA=0" in torch.__config__.show()
True
"""
from __future__ import annotations

import os
import platform


def _blas() -> str:
    import numpy
    try:
        blas = numpy.__config__.CONFIG["Build Dependencies"]["blas"]
        return f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()
    except (AttributeError, KeyError, TypeError):
        return "unknown"


def show() -> str:
    """A human-readable description of the build (``print(torch.__config__.show())``)."""
    import numpy

    from . import version
    from .backends.cpu import get_cpu_capability
    return ("PyTorch built with:\n"
            f"  - dynagrad {version.dynagrad_version} (PyTorch {version.torch_api_version} API, pure Python on "
            f"NumPy {numpy.__version__})\n"
            f"  - Python {platform.python_version()}\n"
            f"  - BLAS: {_blas()} (through NumPy)\n"
            "  - LAPACK is enabled (through NumPy)\n"
            f"  - CPU capability usage: {get_cpu_capability()}\n"
            f"  - Build settings: BLAS_INFO={_blas().split()[0]}, TORCH_VERSION={version.torch_api_version}, "
            "USE_CUDA=0, USE_CUDNN=OFF, USE_MKLDNN=OFF, USE_MPI=ON (mpi4py, when installed), USE_NCCL=OFF, "
            "USE_OPENMP=OFF, USE_ROCM=OFF, USE_XPU=OFF, \n")


def parallel_info() -> str:
    """Thread settings, as PyTorch prints them."""
    from . import get_num_interop_threads, get_num_threads
    env = "".join(f"\t{k} : {os.environ.get(k, '[not set]')}\n"
                  for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    return (f"ATen/Parallel:\n\tat::get_num_threads() : {get_num_threads()}\n"
            f"\tat::get_num_interop_threads() : {get_num_interop_threads()}\n"
            f"BLAS: {_blas()} (NumPy's; its thread pool is what get_num_threads() sizes)\n"
            f"std::thread::hardware_concurrency() : {os.cpu_count()}\n"
            f"Environment variables:\n{env}"
            "ATen parallel backend: native thread pool (NumPy's BLAS)\n")


def _cxx_flags() -> str:
    return ""
