"""Repeated calls, successful or raising, do not grow the process's memory.

Each case runs a call WARMUP times (caches, allocator arenas and lazily created objects settle),
then CALLS more times, and compares before and after:

- the resident set size (/proc/self/statm) must grow by less than RSS_MARGIN. Any leaked
  heap allocation costs at least 32 bytes (glibc's smallest chunk on 64-bit), so a leak of one
  allocation per call adds >= 32 * CALLS = 960 KiB, well above the margin; the margin itself
  covers the allocator touching a few new pages (the noise measured here is 0-8 KiB).
- the number of blocks Python's allocator holds (sys.getallocatedblocks) must grow by less
  than BLOCK_MARGIN: a Python object leaked per call (a result, an exception, a traceback)
  adds >= CALLS blocks, while the noise is a handful.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any, Callable

import numpy as np
import pytest

import poolkit as pk

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.path.exists("/proc/self/statm"),
    reason="reads the resident set size from Linux's /proc/self/statm",
)

WARMUP = 3_000
CALLS = 30_000
RSS_MARGIN = 512 * 1024  # bytes; < 32 * CALLS
BLOCK_MARGIN = CALLS // 30  # blocks; < CALLS


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


_X = np.random.default_rng(3).standard_normal((2, 3, 8, 8)).astype(np.float32)
_X_INT = (_X * 100).astype(np.int16)
_X_NHWC = np.ascontiguousarray(_X.transpose(0, 2, 3, 1))
_X_BIG_ENDIAN = _X.astype(">f4")
_X_COMPLEX = _X.astype(np.complex64)
_X_SHORT = np.zeros((1, 1, 1, 5), np.float32)
_OUT = np.empty((2, 3, 4, 4), np.float32)
_OUT_WRONG = np.empty((2, 3, 5, 5), np.float32)

# (id, call, the exception it raises or None)
CASES: list[tuple[str, Callable[[], Any], Any]] = [
    ("max-indices", lambda: pk.max_pool2d(_X, 3, 2, 1, return_indices=True), None),
    ("avg", lambda: pk.avg_pool2d(_X, 3, 2, 1, count_include_pad=False), None),
    ("avg-int-divisor", lambda: pk.avg_pool2d(_X_INT, 2, 1, "same", divisor_override=3), None),
    ("max-nhwc", lambda: pk.max_pool2d(_X_NHWC, 2, 1, ((0, 1), (1, 0)), layout="NHWC"), None),
    ("avg-big-endian-copy", lambda: pk.avg_pool2d(_X_BIG_ENDIAN[:, :, ::-1], 2), None),
    ("max-out", lambda: pk.max_pool2d(_X, 2, out=_OUT), None),
    ("list-input", lambda: pk.max_pool2d([[1.0, 2.0], [3.0, 4.0]], 1), None),
    ("output-shape-and-cost", lambda: (pk.output_shape(_X.shape, 3, 2, 1),
                                       pk.pool_cost(_X.shape, 3, 2, 1, mode="avg")), None),
    ("bad-kernel-size-0", lambda: pk.max_pool2d(_X, 0), ValueError),
    ("bad-kernel-size-float", lambda: pk.avg_pool2d(_X, 2.5), ValueError),
    ("bad-kernel-size-huge", lambda: pk.max_pool2d(_X, 10**20), ValueError),
    ("bad-dtype", lambda: pk.max_pool2d(_X_COMPLEX, 2), TypeError),
    ("bad-input-ragged", lambda: pk.avg_pool2d([[1.0, 2.0], [3.0]], 1), TypeError),
    ("bad-out-shape", lambda: pk.max_pool2d(_X, 2, out=_OUT_WRONG), ValueError),
    ("bad-out-aliases-input", lambda: pk.avg_pool2d(_X, 1, out=_X), ValueError),
    ("empty-window", lambda: pk.max_pool2d(_X_SHORT, 2, dilation=2, padding=1), ValueError),
    ("empty-window-avg", lambda: pk.avg_pool2d(_X_SHORT, 2, padding=1, dilation=2), ValueError),
]


def _repeat(call: Callable[[], Any], exc: Any, n: int) -> None:
    if exc is None:
        for _ in range(n):
            call()
        return
    for _ in range(n):
        try:
            call()
        except exc:
            pass
        else:
            raise AssertionError(f"expected {exc.__name__}")


@pytest.mark.parametrize("call, exc", [pytest.param(c, e, id=i) for i, c, e in CASES])
def test_no_growth(call, exc):
    _repeat(call, exc, WARMUP)
    gc.collect()
    rss, blocks = rss_bytes(), sys.getallocatedblocks()
    _repeat(call, exc, CALLS)
    gc.collect()
    grown_rss = rss_bytes() - rss
    grown_blocks = sys.getallocatedblocks() - blocks
    assert grown_rss < RSS_MARGIN, f"RSS grew by {grown_rss} bytes over {CALLS} calls"
    assert grown_blocks < BLOCK_MARGIN, f"{grown_blocks} more blocks after {CALLS} calls"
