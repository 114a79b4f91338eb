"""The thread count of poolkit's kernels."""

from __future__ import annotations

import contextlib
from typing import Iterator

from . import _args, _core

__all__ = ["set_num_threads", "get_num_threads", "threads"]


def set_num_threads(n: int) -> None:
    """Use `n` threads (>= 1) in every later kernel call, process-wide."""
    if not _args.is_int(n) or n < 1 or n > 2**31 - 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    """The threads later kernel calls use (default: OpenMP's, e.g. ``OMP_NUM_THREADS``)."""
    return int(_core.get_num_threads())


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Use `n` threads inside the ``with`` block, then restore the previous count."""
    previous = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        _core.set_num_threads(previous)
