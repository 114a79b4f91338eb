"""Every supported dtype: output dtype = input dtype, max exact at the extremes, integer
average exact where float64 arithmetic would not be."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import poolkit as pk
from conftest import (
    BFLOAT16,
    INT_DTYPES,
    SUPPORTED_DTYPES,
    brute_avg_plane,
    brute_max_plane,
    dtype_id,
    assert_avg_within,
    normalise,
    oracle_avg,
    oracle_max,
    random_input,
    round_to_int_dtype,
)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_output_dtype_is_input_dtype(dtype, layout, rng):
    x = random_input((2, 6, 7, 3), dtype, rng)
    assert pk.max_pool2d(x, 2, layout=layout).dtype == dtype
    v, i = pk.max_pool2d(x, 2, return_indices=True, layout=layout)
    assert v.dtype == dtype and i.dtype == np.int64
    assert pk.avg_pool2d(x, 2, layout=layout).dtype == dtype
    assert pk.avg_pool2d(x, 2, divisor_override=3, layout=layout).dtype == dtype
    assert pk.pool2d(x[0, :, :, 0], (2, 2)).dtype == dtype
    assert pk.pool2d(x[0, :, :, 0], (2, 2), "avg").dtype == dtype
    assert pk.MaxPool2d(2, layout=layout)(x).dtype == dtype
    assert pk.AvgPool2d(2, layout=layout)(x).dtype == dtype


def _extremes(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        info = np.finfo(dtype)
        return [info.max, info.min, info.tiny, -info.tiny, info.smallest_subnormal,
                -info.smallest_subnormal, np.inf, -np.inf, 0.0, -0.0, info.eps, 1 + info.eps, 1.0]
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    return [lo, lo + 1, lo + 2, hi, hi - 1, hi - 2, 0, 1, hi // 2, hi // 2 + 1]


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_max_exact_at_the_extremes(dtype, layout, rng):
    values = np.array(_extremes(dtype), dtype=dtype)
    x = rng.choice(values, size=(3, 8, 9))
    if layout == "NHWC":
        x = np.ascontiguousarray(np.moveaxis(x, 0, -1))
    for k, s, p in [(2, 1, 0), (3, 2, 1), (2, 2, "same")]:
        v, i = pk.max_pool2d(x, k, s, p, return_indices=True, layout=layout)
        want_v, want_i = oracle_max(x, k, s, p, layout=layout)
        assert v.dtype == dtype
        np.testing.assert_array_equal(v, want_v)
        np.testing.assert_array_equal(i, want_i)
        # and against the plain Python loop, for the values that only differ in the last bit
        vn = np.moveaxis(v, -1, 0) if layout == "NHWC" else v
        xn = np.moveaxis(x, -1, 0) if layout == "NHWC" else x
        kk, ss, pads, dd = normalise(xn.shape[-2:], k, s, p, 1)
        for c in range(3):
            bv, _ = brute_max_plane(xn[c], kk, ss, pads, dd, False)
            np.testing.assert_array_equal(vn[c], np.array(bv, dtype=dtype))


def test_int64_max_near_2_pow_63():
    hi = 2**63 - 1
    x = np.array([[hi - 1, hi], [hi - 2, hi - 3]], dtype=np.int64)
    v, i = pk.max_pool2d(x, 2, return_indices=True)
    assert int(v[0, 0]) == hi and int(i[0, 0]) == 1
    x = np.array([[-(2**63) + 1, -(2**63)], [-(2**63), -(2**63) + 1]], dtype=np.int64)
    v, i = pk.max_pool2d(x, 2, return_indices=True)
    assert int(v[0, 0]) == -(2**63) + 1 and int(i[0, 0]) == 0
    # float64 cannot tell these apart: max must compare the integers, not their doubles
    x = np.array([[2**62 + 1, 2**62 + 3], [2**62 + 2, 2**62]], dtype=np.int64)
    assert float(x[0, 0]) == float(x[0, 1])
    v, i = pk.max_pool2d(x, 2, return_indices=True)
    assert int(v[0, 0]) == 2**62 + 3 and int(i[0, 0]) == 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16], ids=dtype_id)
def test_unsigned_max_at_the_top(dtype):
    hi = int(np.iinfo(dtype).max)
    x = np.array([[hi - 1, 0], [hi, hi]], dtype=dtype)
    v, i = pk.max_pool2d(x, 2, return_indices=True)
    assert int(v[0, 0]) == hi and int(i[0, 0]) == 2
    assert int(pk.avg_pool2d(np.full((4, 4), hi, dtype), 2)[0, 0]) == hi
    assert int(pk.avg_pool2d(np.full((4, 4), hi, dtype), 2, divisor_override=1)[0, 0]) == hi


def _exact_avg(x, k, s, p, ceil=False, cip=True, div=None):
    kk, ss, pads, dd = normalise(x.shape[-2:], k, s, p, 1)
    return round_to_int_dtype(brute_avg_plane(x, kk, ss, pads, dd, ceil, cip, div), x.dtype)


def test_int64_avg_where_float64_is_wrong():
    base = 2**62
    x = np.array([[base + 3, base + 3], [base + 3, base + 2]], dtype=np.int64)
    mean = Fraction(sum(int(v) for v in x.ravel()), 4)  # base + 2.75 -> base + 3
    assert round(mean) == base + 3
    # the float64 computation loses the low bits (and int64 sums overflow)
    assert int(np.round(x.astype(np.float64).mean())) != base + 3
    got = pk.avg_pool2d(x, 2)
    assert got.dtype == np.int64 and int(got[0, 0]) == base + 3


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([-(2**63), -(2**63), -(2**63) + 1, -(2**63) + 1], id="bottom-tie-to-even"),
        pytest.param([-(2**63), -(2**63) + 1, -(2**63) + 1, -(2**63) + 1], id="bottom-0.75"),
        pytest.param([2**63 - 1, 2**63 - 1, 2**63 - 2, 2**63 - 2], id="top-tie-to-even"),
        pytest.param([2**63 - 1, 2**63 - 1, 2**63 - 1, 2**63 - 1], id="top-all"),
        pytest.param([2**62 + 1, 2**62 + 2, 2**62 + 2, 2**62 + 2], id="2e62-plus-1.75"),
        pytest.param([2**63 - 1, -(2**63), 2**63 - 1, -(2**63)], id="cancel"),
        pytest.param([3 * 2**61 + 5, 3 * 2**61 + 6, 3 * 2**61 + 6, 3 * 2**61 + 7], id="mid-exact"),
    ],
)
def test_int64_avg_exact(values):
    x = np.array(values, dtype=np.int64).reshape(2, 2)
    want = _exact_avg(x, 2, 2, 0)
    exact = Fraction(sum(values), 4)
    assert int(want[0, 0]) == round(exact)
    got = pk.avg_pool2d(x, 2)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    # the same in a padded window with count_include_pad: divisor 9 over the padded extent
    got = pk.avg_pool2d(x, 3, 1, 1)
    np.testing.assert_array_equal(got, _exact_avg(x, 3, 1, 1))


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=dtype_id)
def test_integer_avg_at_the_extremes(dtype, rng):
    values = np.array(_extremes(dtype), dtype=dtype)
    x = rng.choice(values, size=(7, 9))
    for k, s, p, ceil, cip, div in [
        (2, 1, 0, False, True, None),
        (3, 2, 1, True, True, None),
        (3, 2, 1, True, False, None),
        (3, 1, 2, False, True, None),
        (2, 1, 1, False, True, 1),
        (3, 2, 0, False, True, 2),
        (2, 1, 0, False, True, 9),
    ]:
        got = pk.avg_pool2d(x, k, s, p, ceil, cip, div)
        kk, ss, pads, dd = normalise(x.shape, k, s, p, 1)
        want = round_to_int_dtype(brute_avg_plane(x, kk, ss, pads, dd, ceil, cip, div), dtype)
        case = f"k{k}-s{s}-p{p}-ceil{ceil}-cip{cip}-div{div}"
        np.testing.assert_array_equal(got, want, err_msg=case)


needs_bfloat16 = pytest.mark.skipif(BFLOAT16 is None, reason="ml_dtypes is not installed")

BF16_WINDOWS = [  # (kernel_size, stride, padding, dilation, ceil_mode)
    (2, None, 0, 1, False),
    (3, 2, 1, 1, True),
    ((3, 2), 1, ((0, 2), (1, 0)), (2, 1), False),
]


def _bf16_input(rng):
    x = rng.integers(-4, 5, size=(2, 3, 9, 8)).astype(np.float32) / 4  # ties, exact in bf16
    x[0, 0, 2, 3] = np.nan
    x[1, 2, 0, 0] = -np.inf
    x[1, 1] += rng.standard_normal((9, 8)).astype(np.float32)
    return x.astype(BFLOAT16)


@needs_bfloat16
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("window", BF16_WINDOWS, ids=str)
def test_bfloat16_against_oracle(window, layout, rng):
    k, s, p, d, ceil = window
    x = _bf16_input(rng)
    if layout == "NHWC":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    v, i = pk.max_pool2d(x, k, s, p, d, ceil, True, layout=layout)
    want_v, want_i = oracle_max(x.astype(np.float32), k, s, p, d, ceil, layout)
    assert v.dtype == BFLOAT16
    np.testing.assert_array_equal(v.astype(np.float32), want_v)  # bfloat16 -> float32 is exact
    np.testing.assert_array_equal(i, want_i)
    x64 = x.astype(np.float64)
    a = pk.avg_pool2d(x, k, s, p, ceil, dilation=d, layout=layout)
    want_a = oracle_avg(x64, k, s, p, ceil, dilation=d, layout=layout).astype(BFLOAT16)
    scale = oracle_avg(np.abs(x64), k, s, p, ceil, dilation=d, layout=layout)
    assert_avg_within(a, want_a, scale, int(np.prod(np.broadcast_to(k, (2,)))))


@needs_bfloat16
def test_bfloat16_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = _bf16_input(rng)
    t = torch.from_numpy(x.astype(np.float32)).to(torch.bfloat16)
    v, i = pk.max_pool2d(x, 3, 2, 1, return_indices=True)
    tv, ti = torch.nn.functional.max_pool2d(t, 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(v.astype(np.float32), tv.float().numpy())
    finite = ~np.isnan(v.astype(np.float32))  # NaN windows: first NaN (poolkit), last (torch)
    np.testing.assert_array_equal(i[finite], ti.numpy()[finite])
    a = pk.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    ta = torch.nn.functional.avg_pool2d(t, 3, 1, 1, count_include_pad=False)
    scale = oracle_avg(np.abs(x.astype(np.float64)), 3, 1, 1, count_include_pad=False)
    assert_avg_within(a, ta.float().numpy().astype(BFLOAT16), scale, 9)
