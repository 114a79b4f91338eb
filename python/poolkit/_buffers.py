"""Fresh output arrays, the large ones carved from a few blocks that are reused once free.

Memory the operating system hands out fresh is zeroed page by page on first touch: an output
of a few MiB then costs as much again as the pooling itself (0.5 ms of a 1.5 ms ResNet-sized
call here), and glibc gives such sizes fresh pages on every call whenever its mmap threshold
is set or has not grown (a 0.8 MB output: 0.35 ms of a 0.8 ms call). So outputs of 64 KiB
to 64 MiB are views of cached blocks: a block whose only references are the cache's is free
(every view of a view keeps the block as its base), and the next output that fits in it
reuses its pages. At most 32 blocks and 256 MiB stay cached; smaller and larger outputs come
from np.empty.
"""

from __future__ import annotations

import math
import sys
import threading
from typing import List, Sequence

import numpy as np

_SMALLEST = 64 << 10     # below: np.empty (glibc's heap reuses those)
_LARGEST = 64 << 20      # above: np.empty (not worth holding after use)
_CACHED = 256 << 20      # bytes of blocks kept
_COUNT = 32              # blocks kept (each call looks through them)
_lock = threading.Lock()
_blocks: List[np.ndarray] = []  # uint8 blocks, the most recently used last
# References to a free block while _take looks at it: the list, the local `block` and
# getrefcount's own argument.
_FREE_REFS = 3


def empty(shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of `shape` and `dtype`, like np.empty."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < _SMALLEST or nbytes > _LARGEST:
        return np.empty(shape, dtype)
    with _lock:
        block = _take(nbytes)
        return block[:nbytes].view(dtype).reshape(shape)


def _take(nbytes: int) -> np.ndarray:
    """The most recently used free cached block of nbytes to 2 * nbytes (its pages the most
    likely still in cache), or a new one; the lock held."""
    for i in range(len(_blocks) - 1, -1, -1):  # not enumerate: its tuple holds a reference
        block = _blocks[i]
        if nbytes <= block.nbytes <= 2 * nbytes and sys.getrefcount(block) == _FREE_REFS:
            _blocks.append(_blocks.pop(i))
            return block
    block = np.empty(nbytes, np.uint8)
    _blocks.append(block)
    # Drop the least recently used blocks past the budget (a block still in use lives on in
    # its arrays and is freed with them).
    total = sum(b.nbytes for b in _blocks)
    while (total > _CACHED or len(_blocks) > _COUNT) and len(_blocks) > 1:
        total -= _blocks.pop(0).nbytes
    return block
