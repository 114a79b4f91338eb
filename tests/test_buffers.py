"""Outputs of 64 KiB to 64 MiB are views of cached blocks (poolkit._buffers): a block is reused only
once nothing refers to it, so live results never share memory, and the cache stays bounded."""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest

import poolkit as pk
from poolkit import _buffers
import reference

SHAPE = (2, 16, 96, 96)  # a 2.25 MiB float32 output at 3 x 3 stride 1 padding 1: cached


def reference_pool(x, k, s, p, mode):
    args = (x, (k, k), (s, s), ((p, p), (p, p)), (1, 1), False)
    if mode == "max":
        return reference.max_pool(*args)[0]
    return reference.avg_pool(*args, True, None)


@pytest.fixture
def x(rng):
    return rng.standard_normal(SHAPE).astype(np.float32)


def test_live_results_never_share_memory(x):
    results = [pk.max_pool2d(x, 3, 1, 1) for _ in range(4)]
    for i, a in enumerate(results):
        for b in results[i + 1:]:
            assert not np.shares_memory(a, b)
    want = reference_pool(x, 3, 1, 1, "max")
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_freed_result_is_reused_and_views_keep_theirs(x):
    first = pk.avg_pool2d(x, 3, 1, 1)
    address = first.__array_interface__["data"][0]
    del first
    second = pk.avg_pool2d(x, 3, 1, 1)
    assert second.__array_interface__["data"][0] == address  # the freed block, pages warm
    view = second[1:, ::2]  # keeps the block alive after `second` goes
    kept = view.copy()
    del second
    third = pk.avg_pool2d(x * 2, 3, 1, 1)
    assert not np.shares_memory(third, view)
    np.testing.assert_array_equal(view, kept)
    np.testing.assert_allclose(third, reference_pool(x * 2, 3, 1, 1, "avg"), rtol=1e-5,
                               atol=1e-5)


def test_indices_and_values_come_from_different_blocks(x):
    values, indices = pk.max_pool2d(x, 3, 2, 1, return_indices=True)
    assert indices.dtype == np.int64 and indices.flags.c_contiguous
    assert not np.shares_memory(values, indices)
    np.testing.assert_array_equal(values, reference_pool(x, 3, 2, 1, "max"))


def test_small_and_large_outputs_own_their_memory(rng):
    small = pk.max_pool2d(rng.standard_normal((1, 1, 8, 8)).astype(np.float32), 2)
    assert small.flags.owndata
    big = np.zeros((1, 1, 4200, 4200), np.float32)  # a 67 MiB output, above the largest
    assert pk.max_pool2d(big, 1).flags.owndata


def test_cache_stays_within_its_budget(rng):
    for side in range(400, 2400, 100):  # outputs of 0.6 to 22 MiB, each a new size
        y = pk.max_pool2d(np.ones((1, 1, side, side), np.float32), 1)
        assert y.shape == (1, 1, side, side) and y.flags.c_contiguous
    assert sum(b.nbytes for b in _buffers._blocks) <= _buffers._CACHED
    for side in range(130, 200):  # 66 to 156 KiB: more sizes than blocks kept
        assert pk.max_pool2d(np.ones((1, 1, side, side), np.float32), 1).shape[-1] == side
    assert len(_buffers._blocks) <= _buffers._COUNT


def test_threads_get_distinct_blocks(x):
    want = reference_pool(x, 3, 1, 1, "max")

    def call(_):
        y = pk.max_pool2d(x, 3, 1, 1)
        return y, y.__array_interface__["data"][0]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            results = list(pool.map(call, range(8)))
            assert len({address for _, address in results}) == len(results)
            for y, _ in results:
                np.testing.assert_array_equal(y, want)
