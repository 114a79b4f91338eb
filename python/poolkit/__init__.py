"""poolkit: fast, exact pooling for NumPy arrays.

Max and average pooling in templated C++17 kernels with OpenMP, following
``torch.nn.functional``'s semantics except where poolkit's contract says otherwise.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict

from . import _core
from ._threads import get_num_threads, set_num_threads, threads
from .functional import avg_pool2d, max_pool2d, output_shape, pool2d, pool_cost
from .layers import AvgPool2d, MaxPool2d

__version__: str = _core.build_info()["version"]

_SIMD_NAMES = ("scalar", "sse", "sse2", "avx2", "avx512")
if os.environ.get("POOLKIT_SIMD", "avx512") not in _SIMD_NAMES:
    warnings.warn(f"POOLKIT_SIMD must be one of {', '.join(_SIMD_NAMES)}, got "
                  f"{os.environ['POOLKIT_SIMD']!r}; it is ignored", RuntimeWarning, stacklevel=2)

__all__ = [
    "__version__",
    "max_pool2d",
    "avg_pool2d",
    "pool2d",
    "output_shape",
    "pool_cost",
    "MaxPool2d",
    "AvgPool2d",
    "set_num_threads",
    "get_num_threads",
    "threads",
    "build_info",
]


def build_info() -> Dict[str, Any]:
    """How this poolkit was built: ``version``, ``compiler``, ``openmp`` (bool),
    ``openmp_version`` (str or None), ``simd`` (instruction-set levels compiled in, lowest
    first), ``simd_supported`` (the highest this CPU runs), ``simd_active`` (the one in use:
    the supported one, or the lower one the environment variable ``POOLKIT_SIMD`` names) and
    ``max_threads``."""
    info: Dict[str, Any] = dict(_core.build_info())
    info["simd"] = list(info["simd"])
    return info
