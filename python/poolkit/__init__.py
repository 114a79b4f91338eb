"""poolkit: fast, exact pooling for NumPy arrays.

Max and average pooling in templated C++17 kernels with OpenMP, following
``torch.nn.functional``'s semantics except where poolkit's contract says otherwise.
"""

from __future__ import annotations

from typing import Any, Dict

from . import _core
from ._threads import get_num_threads, set_num_threads, threads
from .functional import avg_pool2d, max_pool2d, output_shape, pool2d, pool_cost
from .layers import AvgPool2d, MaxPool2d

__version__: str = _core.build_info()["version"]

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
    ``openmp_version`` (str or None), ``simd`` (instruction sets compiled in),
    ``simd_active`` (the one in use on this CPU) and ``max_threads``."""
    info: Dict[str, Any] = dict(_core.build_info())
    info["simd"] = list(info["simd"])
    return info
