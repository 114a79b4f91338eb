"""`out=`: written in full, returned as the result (the same object), input untouched."""

from __future__ import annotations

import numpy as np
import pytest

import poolkit as pk
from conftest import SUPPORTED_DTYPES, dtype_id, layout_shape, random_input

# (kernel_size, stride, padding, dilation, ceil_mode)
CALLS = [
    pytest.param((2, None, 0, 1, False), id="k2-sdef-p0-d1"),
    pytest.param((3, 2, 1, 1, True), id="k3-s2-p1-d1-ceil"),
    pytest.param(((2, 3), (1, 2), ((0, 1), (2, 0)), (2, 1), False), id="k2x3-s1x2-p0:1x2:0-d2x1"),
    pytest.param((3, 1, "same", 1, False), id="k3-s1-psame-d1"),
]


def sentinels(dtype):
    """Two fill values; an element left unwritten differs from the result under one of them."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return [np.nan, 12345.0]
    info = np.iinfo(dtype)
    return [info.min, info.max]


def _input(dtype, layout, rng):
    return random_input(layout_shape((2, 3), 9, 10, layout), dtype, rng)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_max_pool2d_out(dtype, layout, call, rng):
    k, s, p, d, ceil = call
    x = _input(dtype, layout, rng)
    before = x.copy()
    want = pk.max_pool2d(x, k, s, p, d, ceil, layout=layout)
    want_v, want_i = pk.max_pool2d(x, k, s, p, d, ceil, True, layout=layout)
    for fill in sentinels(dtype):
        out = np.full(want.shape, fill, dtype=dtype)
        result = pk.max_pool2d(x, k, s, p, d, ceil, layout=layout, out=out)
        assert result is out
        np.testing.assert_array_equal(out, want)

        out = np.full(want.shape, fill, dtype=dtype)
        result = pk.max_pool2d(x, k, s, p, d, ceil, True, layout=layout, out=out)
        assert isinstance(result, tuple) and len(result) == 2
        assert result[0] is out
        np.testing.assert_array_equal(out, want_v)
        np.testing.assert_array_equal(result[1], want_i)
        assert result[1].dtype == np.int64
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_avg_pool2d_out(dtype, layout, call, rng):
    k, s, p, d, ceil = call
    x = _input(dtype, layout, rng)
    before = x.copy()
    for cip, div in [(True, None), (False, None), (True, 3)]:
        want = pk.avg_pool2d(x, k, s, p, ceil, cip, div, dilation=d, layout=layout)
        for fill in sentinels(dtype):
            out = np.full(want.shape, fill, dtype=dtype)
            result = pk.avg_pool2d(x, k, s, p, ceil, cip, div, dilation=d, layout=layout, out=out)
            assert result is out
            # bitwise: writing into out must not change the computation
            np.testing.assert_array_equal(out.view(np.uint8), want.view(np.uint8))
    np.testing.assert_array_equal(x, before)


def test_out_of_an_empty_batch():
    x = np.zeros((0, 3, 8, 8), np.float32)
    out = np.empty((0, 3, 4, 4), np.float32)
    assert pk.max_pool2d(x, 2, out=out) is out
    assert pk.avg_pool2d(x, 2, out=out) is out


def test_out_is_a_view_into_a_larger_buffer(rng):
    """A C-contiguous slice of a bigger buffer is a valid out; nothing outside it is touched."""
    x = _input(np.float64, "NCHW", rng)
    buf = np.full(200, -7.0)
    out = buf[10:10 + 2 * 3 * 4 * 5].reshape(2, 3, 4, 5)  # 9x10 pooled 2x2
    assert out.flags.c_contiguous and not out.flags.owndata
    assert pk.max_pool2d(x, 2, out=out) is out
    np.testing.assert_array_equal(out, pk.max_pool2d(x, 2))
    assert np.all(buf[:10] == -7.0) and np.all(buf[10 + out.size:] == -7.0)


def test_out_reused_across_calls(rng):
    x1 = _input(np.float32, "NCHW", rng)
    x2 = _input(np.float32, "NCHW", rng)
    out = np.empty((2, 3, 4, 5), np.float32)  # 9x10 pooled 2x2
    pk.max_pool2d(x1, 2, out=out)
    np.testing.assert_array_equal(out, pk.max_pool2d(x1, 2))
    pk.avg_pool2d(x2, 2, out=out)
    np.testing.assert_array_equal(out, pk.avg_pool2d(x2, 2))
