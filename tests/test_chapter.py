"""The textbook chapter on pooling (seed-pooling-chapter.md) and API.md's worked examples.

The printed results of the chapter are the only hard-coded outputs of the test suite; its two
exercises are checked against independent computations (a convolution, and the chapter's
cost formula).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

import poolkit as pk
from conftest import (
    SUPPORTED_DTYPES,
    assert_avg_close,
    assert_avg_within,
    dtype_id,
    oracle_avg,
    oracle_max,
    window_id,
)

X3 = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]


def chapter_x(dtype=np.float32):
    """`torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))`."""
    return np.arange(16, dtype=dtype).reshape(1, 1, 4, 4)


def textbook_pool2d(x, pool_size, mode="max"):
    """The chapter's own `pool2d`, translated line by line to NumPy."""
    p_h, p_w = pool_size
    y = np.zeros((x.shape[0] - p_h + 1, x.shape[1] - p_w + 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            if mode == "max":
                y[i, j] = x[i : i + p_h, j : j + p_w].max()
            elif mode == "avg":
                y[i, j] = x[i : i + p_h, j : j + p_w].mean()
    return y


# --- Section "max and average pooling" ---------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_pool2d_max_of_the_figure(dtype):
    y = pk.pool2d(np.array(X3, dtype=dtype), (2, 2))
    assert isinstance(y, np.ndarray)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, [[4.0, 5.0], [7.0, 8.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_pool2d_avg_of_the_figure(dtype):
    y = pk.pool2d(np.array(X3, dtype=dtype), (2, 2), "avg")
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, [[2.0, 3.0], [5.0, 6.0]])


def test_pool2d_mode_keyword_and_default():
    x = np.array(X3, dtype=np.float32)
    np.testing.assert_array_equal(pk.pool2d(x, (2, 2), mode="max"), pk.pool2d(x, (2, 2)))
    np.testing.assert_array_equal(pk.pool2d(x, (2, 2), mode="avg"), pk.pool2d(x, (2, 2), "avg"))


def test_pool2d_api_example():
    """API.md: `pk.pool2d(x[0, 0, :3, :3], (2, 2))`, stride 1 and no padding."""
    x = chapter_x()
    y = pk.pool2d(x[0, 0, :3, :3], (2, 2))
    expected, _ = oracle_max(np.ascontiguousarray(x[0, 0, :3, :3]), (2, 2), 1, 0)
    assert y.shape == (2, 2)
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    "shape, pool_size",
    [((3, 3), (2, 2)), ((5, 7), (3, 2)), ((6, 4), (1, 4)), ((8, 8), (8, 8)), ((4, 9), (2, 5))],
    ids=lambda v: "x".join(map(str, v)),
)
def test_pool2d_equals_the_chapters_loop(shape, pool_size, mode, rng):
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(
        pk.pool2d(x, pool_size, mode), textbook_pool2d(x, pool_size, mode), rtol=1e-12, atol=1e-12
    )


POOL2D_WINDOWS = [
    # (shape, pool_size, stride, padding)
    ((7, 8), (2, 2), 2, 0),
    ((7, 8), (3, 2), (2, 1), 1),
    ((2, 3, 9, 6), (3, 3), 1, (1, 0)),
    ((5, 5), (2, 3), (1, 2), ((0, 1), (1, 1))),
]


@pytest.mark.parametrize(
    "shape, pool_size, stride, padding",
    POOL2D_WINDOWS,
    ids=[f"{'x'.join(map(str, w[0]))}-" + window_id(w[1], w[2], w[3]) for w in POOL2D_WINDOWS],
)
def test_pool2d_stride_and_padding_max(shape, pool_size, stride, padding, rng):
    """pool2d takes stride and padding too: max pooling with stride 1 by default."""
    x = rng.standard_normal(shape)
    want, _ = oracle_max(x, pool_size, stride, padding)
    np.testing.assert_array_equal(pk.pool2d(x, pool_size, "max", stride, padding), want)
    got = pk.pool2d(x, pool_size, "max", stride=stride, padding=padding)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "shape, pool_size, stride",
    [(w[0], w[1], w[2]) for w in POOL2D_WINDOWS],
    ids=[f"{'x'.join(map(str, w[0]))}-" + window_id(w[1], w[2]) for w in POOL2D_WINDOWS],
)
def test_pool2d_stride_avg(shape, pool_size, stride, rng):
    x = rng.standard_normal(shape)
    want = oracle_avg(x, pool_size, stride, 0)
    assert_avg_close(pk.pool2d(x, pool_size, "avg", stride), want, x, pool_size, stride, 0)


# --- Section "padding and stride" ------------------------------------------------------


def test_maxpool2d_default_stride_is_the_kernel():
    y = pk.MaxPool2d(3)(chapter_x())
    assert y.shape == (1, 1, 1, 1)
    np.testing.assert_array_equal(y, [[[[10.0]]]])


def test_maxpool2d_padding_and_stride():
    y = pk.MaxPool2d(3, padding=1, stride=2)(chapter_x())
    np.testing.assert_array_equal(y, [[[[5.0, 7.0], [13.0, 15.0]]]])


def test_maxpool2d_rectangular_window():
    y = pk.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(chapter_x())
    np.testing.assert_array_equal(y, [[[[5.0, 7.0], [13.0, 15.0]]]])


def test_api_functional_example():
    y = pk.max_pool2d(chapter_x(), 3, stride=2, padding=1)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[[[5.0, 7.0], [13.0, 15.0]]]])


# --- Section "multiple channels" ---------------------------------------------------------


def test_two_channels_pool_independently():
    x = chapter_x()
    x = np.concatenate((x, x + 1), axis=1)
    y = pk.MaxPool2d(3, padding=1, stride=2)(x)
    assert y.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(
        y, [[[[5.0, 7.0], [13.0, 15.0]], [[6.0, 8.0], [14.0, 16.0]]]]
    )


def test_two_channels_channels_last():
    x = chapter_x()
    x = np.concatenate((x, x + 1), axis=1).transpose(0, 2, 3, 1).copy()
    y = pk.max_pool2d(x, 3, stride=2, padding=1, layout="NHWC")
    assert y.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(y[..., 0], [[[5.0, 7.0], [13.0, 15.0]]])
    np.testing.assert_array_equal(y[..., 1], [[[6.0, 8.0], [14.0, 16.0]]])


@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_chapter_examples_in_every_dtype(dtype):
    x = chapter_x(dtype)
    np.testing.assert_array_equal(pk.MaxPool2d(3)(x), [[[[10]]]])
    np.testing.assert_array_equal(pk.MaxPool2d(3, padding=1, stride=2)(x), [[[[5, 7], [13, 15]]]])
    assert pk.MaxPool2d(3)(x).dtype == dtype


# --- Exercise 1: average pooling is a convolution with a constant 1/(p*q) kernel ----------

EXERCISE1 = [
    # (H, W, kernel, stride, padding)
    (6, 6, (2, 2), (1, 1), (0, 0)),
    (7, 9, (3, 3), (1, 1), (1, 1)),
    (8, 8, (3, 3), (2, 2), (1, 1)),
    (9, 7, (2, 3), (2, 1), (1, 1)),
    (10, 11, (5, 5), (3, 2), (2, 2)),
    (5, 12, (1, 4), (1, 4), (0, 2)),
    (12, 5, (4, 1), (3, 1), (2, 0)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
@pytest.mark.parametrize(
    "h, w, k, s, p",
    EXERCISE1,
    ids=[f"{h}x{w}-k{k[0]}x{k[1]}-s{s[0]}x{s[1]}-p{p[0]}x{p[1]}" for h, w, k, s, p in EXERCISE1],
)
def test_exercise1_avg_pool_is_a_convolution(h, w, k, s, p, dtype, rng):
    x = rng.standard_normal((2, 3, h, w)).astype(dtype)
    y = pk.avg_pool2d(x, k, stride=s, padding=p, count_include_pad=True)
    kernel = np.full(k, 1.0 / (k[0] * k[1]))
    expected = np.empty(y.shape)
    for n in range(2):
        for c in range(3):
            plane = np.pad(x[n, c].astype(np.float64), ((p[0], p[0]), (p[1], p[1])))
            expected[n, c] = signal.correlate2d(plane, kernel, mode="valid")[:: s[0], :: s[1]]
    assert y.dtype == dtype
    scale = oracle_avg(np.abs(x.astype(np.float64)), k, s, p)
    assert_avg_within(y, expected.astype(y.dtype), scale, k[0] * k[1])


# --- Exercise 2: the cost is c * floor((h-p_h+s_h)/s_h) * floor((w-p_w+s_w)/s_w) windows ---

EXERCISE2 = [
    # (c, h, w, p_h, p_w, s_h, s_w)
    (1, 4, 4, 2, 2, 2, 2),
    (3, 32, 32, 3, 3, 2, 2),
    (64, 112, 112, 3, 3, 2, 2),
    (16, 7, 9, 2, 3, 1, 2),
    (5, 10, 3, 10, 3, 1, 1),
    (2, 100, 50, 7, 1, 5, 3),
    (8, 224, 224, 2, 2, 2, 2),
    (1, 1, 1, 1, 1, 1, 1),
    (7, 13, 17, 4, 5, 3, 4),
]


@pytest.mark.parametrize(
    "c, h, w, p_h, p_w, s_h, s_w", EXERCISE2, ids=["-".join(map(str, t)) for t in EXERCISE2]
)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_exercise2_cost(c, h, w, p_h, p_w, s_h, s_w, mode):
    expected = c * ((h - p_h + s_h) // s_h) * ((w - p_w + s_w) // s_w)
    cost = pk.pool_cost((c, h, w), (p_h, p_w), stride=(s_h, s_w), mode=mode)
    assert cost["outputs"] == expected
    shape = pk.output_shape((c, h, w), (p_h, p_w), stride=(s_h, s_w))
    assert int(np.prod(shape)) == expected
