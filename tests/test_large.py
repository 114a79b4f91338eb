"""64-bit sizes: inputs of more than 2**31 elements, checked in full against NumPy.

Slow and memory-hungry: marked `slow` and skipped unless /proc/meminfo reports at least
MIN_AVAILABLE_GIB available. Each test holds its input (uint8), the values, the int64 indices
(8 bytes per output) and one chunk of NumPy intermediates at a time; nothing is copied whole.

Non-overlapping 2x2 (or 1x8) windows are checked with the reshape trick, chunk by chunk:
values by max, indices by the first argmax in row-major window order turned into flat
positions, averages by the exact integer sum rounded half to even (API.md).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import poolkit as pk

MIN_AVAILABLE_GIB = 12


def mem_available_gib() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(mem_available_gib() < MIN_AVAILABLE_GIB,
                       reason=f"needs MemAvailable >= {MIN_AVAILABLE_GIB} GiB"),
]

CHUNK_BYTES = 64 * 2**20


def random_uint8(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Random bytes filled along the first non-unit axis in chunks (no full-size temporary)."""
    x = np.empty(shape, dtype=np.uint8)
    flat = x.reshape(-1)
    rng = np.random.default_rng(seed)
    for start in range(0, flat.size, CHUNK_BYTES):
        stop = min(start + CHUNK_BYTES, flat.size)
        flat[start:stop] = np.frombuffer(rng.bytes(stop - start), dtype=np.uint8)
    return x


def round_half_even(total: np.ndarray, shift: int) -> np.ndarray:
    """total / 2**shift rounded to nearest, ties to even, in integers."""
    q = total >> shift
    r = total & ((1 << shift) - 1)
    half = 1 << (shift - 1)
    return q + ((r > half) | ((r == half) & ((q & 1) == 1)))


def check_windows(x: np.ndarray, ky: int, kx: int, values: np.ndarray | None = None,
                  indices: np.ndarray | None = None, average: np.ndarray | None = None) -> None:
    """Results of non-overlapping ky x kx windows (stride = kernel) over x of shape (H, W, C),
    H and W multiples of the kernel, against NumPy, one block of outputs at a time."""
    h, w, c = x.shape
    oh, ow = h // ky, w // kx
    taps = ky * kx
    per_block = max(1, CHUNK_BYTES // (taps * c))  # output sites per block
    rows = max(1, per_block // ow)
    cols = ow if rows > 1 else min(ow, per_block)
    for r0 in range(0, oh, rows):
        r1 = min(oh, r0 + rows)
        for c0 in range(0, ow, cols):
            c1 = min(ow, c0 + cols)
            block = (slice(r0, r1), slice(c0, c1))
            win = x[r0 * ky:r1 * ky, c0 * kx:c1 * kx].reshape(r1 - r0, ky, c1 - c0, kx, c)
            win = win.transpose(0, 2, 4, 1, 3).reshape(r1 - r0, c1 - c0, c, taps)
            where = f"output rows {r0}:{r1}, columns {c0}:{c1}"
            if values is not None:
                np.testing.assert_array_equal(values[block], win.max(axis=-1), err_msg=where)
            if indices is not None:
                tap = win.argmax(axis=-1)  # the first maximum in row-major window order
                oy = np.arange(r0, r1).reshape(-1, 1, 1)
                ox = np.arange(c0, c1).reshape(1, -1, 1)
                want = (oy * ky + tap // kx) * w + ox * kx + tap % kx
                np.testing.assert_array_equal(indices[block], want, err_msg=where)
                del tap, want
            if average is not None:
                total = win.sum(axis=-1, dtype=np.int64)
                want = round_half_even(total, int(np.log2(taps))).astype(np.uint8)
                np.testing.assert_array_equal(average[block], want, err_msg=where)
                del total, want
            del win


def check_gather(x_flat_plane: np.ndarray, values: np.ndarray, indices: np.ndarray,
                 beyond_2_31: bool = True) -> None:
    """Indices are flat positions of their values in the plane (beyond 2**31 if said)."""
    if beyond_2_31:
        assert int(indices.min()) >= 2**31
    np.testing.assert_array_equal(x_flat_plane[indices], values)


def test_square_image_over_2_31_elements():
    """46342 x 46342 uint8 (2**31 + 97316 elements), 2x2 stride 2: max with indices, avg."""
    n = 46342
    x = random_uint8((n, n), seed=1)
    assert x.size > 2**31
    v, idx = pk.max_pool2d(x, 2, 2, return_indices=True)
    assert v.shape == idx.shape == (n // 2, n // 2) and idx.dtype == np.int64
    check_gather(x.reshape(-1), v[-1], idx[-1])  # input rows from 46340: past 2**31
    check_windows(x[:, :, None], 2, 2, values=v[:, :, None], indices=idx[:, :, None])
    del v, idx
    a = pk.avg_pool2d(x, 2, 2)
    assert a.shape == (n // 2, n // 2) and a.dtype == np.uint8
    check_windows(x[:, :, None], 2, 2, average=a[:, :, None])


def test_nhwc_image_over_2_31_elements():
    """One NHWC image of 11586 x 11586 x 17 uint8 (2.28e9 elements), 2x2 stride 2."""
    h = w = 11586
    c = 17
    x = random_uint8((1, h, w, c), seed=2)
    assert x.size > 2**31
    v, idx = pk.max_pool2d(x, 2, return_indices=True, layout="NHWC")
    assert v.shape == idx.shape == (1, h // 2, w // 2, c)
    # the last output row of the last channel: plane positions only, but input offsets > 2**31
    check_gather(x[0, :, :, -1].reshape(-1), v[0, -1, :, -1], idx[0, -1, :, -1],
                 beyond_2_31=False)
    check_windows(x[0], 2, 2, values=v[0], indices=idx[0])
    del v, idx
    a = pk.avg_pool2d(x, 2, layout="NHWC")
    check_windows(x[0], 2, 2, average=a[0])


def test_one_long_row():
    """(1, 2**31 + 2**20 + 7) uint8, 1x8 windows with ceil_mode: the last window holds 7
    elements, the last 2**17 windows start beyond 2**31."""
    length = 2**31 + 2**20 + 7
    x = random_uint8((1, length), seed=3)
    full = (length // 8) * 8
    last = x[0, full:]
    assert last.size == 7

    v, idx = pk.max_pool2d(x, (1, 8), (1, 8), ceil_mode=True, return_indices=True)
    assert v.shape == idx.shape == (1, length // 8 + 1)
    assert int(v[0, -1]) == int(last.max())
    assert int(idx[0, -1]) == full + int(last.argmax())
    check_gather(x.reshape(-1), v[0, -1000:], idx[0, -1000:])
    body = x[:, :full, None]  # (H=1, W=full, C=1)
    check_windows(body, 1, 8, values=v[:, :-1, None], indices=idx[:, :-1, None])
    del v, idx

    a = pk.avg_pool2d(x, (1, 8), (1, 8), ceil_mode=True)
    # the overhanging last window counts only its taps inside the input (API.md)
    total = int(last.sum(dtype=np.int64))
    q, r = divmod(total, 7)
    assert int(a[0, -1]) == q + (2 * r > 7 or (2 * r == 7 and q % 2 == 1))
    check_windows(body, 1, 8, average=a[:, :-1, None])


def test_output_shape_and_cost_of_large_inputs():
    shape = (1, 2**31 + 7)
    assert pk.output_shape(shape, (1, 8), (1, 8), ceil_mode=True) == (1, shape[1] // 8 + 1)
    cost = pk.pool_cost(shape, (1, 8), (1, 8), ceil_mode=True, dtype="uint8")
    assert cost["outputs"] == shape[1] // 8 + 1
    assert cost["window_reads"] == shape[1]
    assert cost["bytes_min"] == shape[1] + shape[1] // 8 + 1
