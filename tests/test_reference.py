"""The oracle in reference.py checked on worked examples, every expected value written by hand.

The first group comes from API.md and the textbook chapter (d2l "pooling"); the rest are small
cases worked out from the definitions: ties, NaN, -inf, padding, ceil_mode, dilation, divisors,
integer rounding and saturation, invalid geometry.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference as R

inf, nan = np.inf, np.nan


def window(n, kernel_size, stride=None, padding=0, dilation=1):
    """Normalise window arguments the way the oracle expects them (n-tuples, padding pairs)."""

    def as_tuple(v):
        return (v,) * n if isinstance(v, int) else tuple(v)

    k = as_tuple(kernel_size)
    s = k if stride is None else as_tuple(stride)
    if isinstance(padding, int):
        p = ((padding, padding),) * n
    else:
        p = tuple((q, q) if isinstance(q, int) else tuple(q) for q in padding)
    return k, s, p, as_tuple(dilation)


def maxp(
    x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, channels_last=False, n=2
):
    k, s, p, d = window(n, kernel_size, stride, padding, dilation)
    return R.max_pool(x, k, s, p, d, ceil_mode, channels_last=channels_last)


def avgp(
    x,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
    channels_last=False,
    n=2,
):
    k, s, p, d = window(n, kernel_size, stride, padding, dilation)
    return R.avg_pool(
        x, k, s, p, d, ceil_mode, count_include_pad, divisor_override, channels_last=channels_last
    )


def check(got, expected, dtype):
    """Exact comparison including dtype; NaN equals NaN."""
    expected = np.asarray(expected, dtype=dtype)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


X16 = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
X3 = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]], dtype=np.float32)


# --- worked examples from API.md and the chapter -------------------------------------------


def test_api_example_k3_s2_p1():
    values, indices = maxp(X16, 3, 2, 1)
    check(values, [[[[5, 7], [13, 15]]]], np.float32)
    check(indices, [[[[5, 7], [13, 15]]]], np.int64)


def test_chapter_stride_defaults_to_kernel():
    values, indices = maxp(X16, 3)
    check(values, [[[[10]]]], np.float32)
    check(indices, [[[[10]]]], np.int64)


def test_chapter_rectangular_window():
    # Columns: windows start at -1 (taps -1, 0, 1) and 2 (taps 2, 3 and padding at 4).
    values, indices = maxp(X16, (2, 3), (2, 3), (0, 1))
    check(values, [[[[5, 7], [13, 15]]]], np.float32)
    check(indices, [[[[5, 7], [13, 15]]]], np.int64)


def test_chapter_two_channels():
    x = np.concatenate([X16, X16 + 1], axis=1)
    values, indices = maxp(x, 3, 2, 1)
    check(values, [[[[5, 7], [13, 15]], [[6, 8], [14, 16]]]], np.float32)
    check(indices, [[[[5, 7], [13, 15]], [[5, 7], [13, 15]]]], np.int64)


def test_chapter_textbook_pool2d_no_leading_axes():
    values, indices = maxp(X3, 2, 1)
    check(values, [[4, 5], [7, 8]], np.float32)
    check(indices, [[4, 5], [7, 8]], np.int64)
    check(avgp(X3, 2, 1), [[2, 3], [5, 6]], np.float32)


# --- output length ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "L, k, s, pb, pa, d, ceil_mode, expected",
    [
        (4, 3, 2, 1, 1, 1, False, 2),  # (4 + 2 - 3) // 2 + 1
        (4, 3, 3, 0, 0, 1, False, 1),
        (5, 2, 2, 0, 0, 1, False, 2),
        (5, 2, 2, 0, 0, 1, True, 3),  # ceil(3 / 2) + 1; last start 4 < 5
        (5, 2, 2, 1, 1, 1, True, 3),  # ceil(5 / 2) + 1 = 4, but start 6 >= 5 + 1: dropped
        (4, 2, 2, 0, 0, 1, True, 2),  # exact fit: ceil changes nothing
        (2, 3, 2, 0, 0, 1, True, 1),  # ceil(-1 / 2) + 1: one overhanging window
        (7, 3, 1, 0, 0, 2, False, 3),  # effective kernel 5
        (3, 2, 2, 1, 0, 1, False, 2),  # asymmetric padding
    ],
    ids=lambda v: str(v),
)
def test_output_length(L, k, s, pb, pa, d, ceil_mode, expected):
    assert R.output_length(L, k, s, pb, pa, d, ceil_mode) == expected


@pytest.mark.parametrize(
    "L, k, s, pb, pa, d, ceil_mode",
    [(2, 3, 2, 0, 0, 1, False), (1, 2, 1, 0, 0, 1, False), (3, 2, 1, 0, 0, 3, True)],
)
def test_output_length_below_one_raises(L, k, s, pb, pa, d, ceil_mode):
    with pytest.raises(ValueError, match="output length"):
        R.output_length(L, k, s, pb, pa, d, ceil_mode)


def test_tap_counts():
    # L=4, k=3, s=2, padding (1, 1), ceil_mode: windows start at -1, 1, 3.
    # Taps -1,0,1 | 1,2,3 | 3,4,5: inside 2, 3, 1; inside [-1, 5): 3, 3, 2 (5 is overhang).
    inside, padded = R.tap_counts(4, 3, 2, 1, 1, 1, True)
    np.testing.assert_array_equal(inside, [2, 3, 1])
    np.testing.assert_array_equal(padded, [3, 3, 2])


@pytest.mark.parametrize(
    "L, k, s, d, expected",
    [
        (5, 3, 2, 1, (1, 1)),  # out 3: total (3-1)*2 + 3 - 5 = 2
        (4, 3, 2, 1, (0, 1)),  # out 2: total 1, the odd element goes after
        (5, 1, 3, 1, (0, 0)),  # out 2: total 3 + 1 - 5 < 0 -> 0
        (4, 2, 1, 1, (0, 1)),
        (1, 2, 1, 2, (1, 1)),  # out 1: effective kernel 3 -> total 2
    ],
    ids=lambda v: str(v),
)
def test_same_padding(L, k, s, d, expected):
    assert R.same_padding(L, k, s, d) == expected


# --- max: ties, NaN, -inf, padding ------------------------------------------------------


def test_max_ties_pick_first_in_row_major_order():
    x = np.array([[2, 7, 7, 1]], dtype=np.float64)
    values, indices = maxp(x, (1, 3), 1)
    check(values, [[7, 7]], np.float64)
    check(indices, [[1, 1]], np.int64)
    # 2-d window: (0, 1) comes before (1, 0) and (1, 1).
    values, indices = maxp(np.array([[1, 5], [5, 5]], dtype=np.int32), 2)
    check(values, [[5]], np.int32)
    check(indices, [[1]], np.int64)


def test_max_nan_propagates_with_first_nan_index():
    values, indices = maxp(np.array([[1, nan], [nan, 9]], dtype=np.float32), 2)
    check(values, [[nan]], np.float32)
    check(indices, [[1]], np.int64)
    # PyTorch answers 3 here (the last NaN); the contract says the first.
    values, indices = maxp(np.array([[1, nan, 3, nan]], dtype=np.float64), (1, 4))
    check(values, [[nan]], np.float64)
    check(indices, [[1]], np.int64)
    # A NaN beats +inf and a later larger value.
    values, indices = maxp(np.array([[inf, 5, nan, 9]], dtype=np.float64), (1, 2), 1)
    check(values, [[inf, nan, nan]], np.float64)
    check(indices, [[0, 2, 2]], np.int64)


def test_max_all_minus_inf_window_indexes_first_valid_tap():
    # Padding (0, 1) on W: windows start at -1, 0, 1, 2; the padding tap never wins.
    x = np.full((1, 4), -inf, dtype=np.float32)
    values, indices = maxp(x, (1, 3), 1, (0, 1))
    check(values, [[-inf, -inf, -inf, -inf]], np.float32)
    check(indices, [[0, 0, 1, 2]], np.int64)


def test_max_padding_never_wins():
    x = np.array([[-inf, 2]], dtype=np.float64)
    values, indices = maxp(x, (1, 2), 1, (0, 1))
    check(values, [[-inf, 2, 2]], np.float64)
    check(indices, [[0, 1, 1]], np.int64)
    x = np.array([[-128, -128, -128]], dtype=np.int8)
    values, indices = maxp(x, (1, 3), 1, (0, 1))
    check(values, [[-128, -128, -128]], np.int8)
    check(indices, [[0, 0, 1]], np.int64)


def test_max_asymmetric_padding_and_layouts():
    # 1-d, L=3, k=2, s=2, padding (1, 0): windows {pad, 0} and {1, 2}.
    x = np.array([[4, 1, 3]], dtype=np.uint8)
    values, indices = maxp(x, 2, 2, [(1, 0)], n=1)
    check(values, [[4, 3]], np.uint8)
    check(indices, [[0, 2]], np.int64)
    # Channels last: same numbers, channel axis last, indices still flat into H*W.
    x = np.concatenate([X16, X16 + 1], axis=1).transpose(0, 2, 3, 1)
    values, indices = maxp(x, 3, 2, 1, channels_last=True)
    check(
        values,
        np.array([[[[5, 7], [13, 15]], [[6, 8], [14, 16]]]]).transpose(0, 2, 3, 1),
        np.float32,
    )
    check(
        indices,
        np.array([[[[5, 7], [13, 15]], [[5, 7], [13, 15]]]]).transpose(0, 2, 3, 1),
        np.int64,
    )


def test_dilation_steps_the_taps():
    # k=3, d=2: taps {0,2,4}, {1,3,5}, {2,4,6}.
    x = np.arange(7, dtype=np.float32).reshape(1, 7)
    values, indices = maxp(x, (1, 3), 1, 0, (1, 2))
    check(values, [[4, 5, 6]], np.float32)
    check(indices, [[4, 5, 6]], np.int64)
    check(avgp(x, (1, 3), 1, 0, (1, 2)), [[2, 3, 4]], np.float32)
    # L=3, k=2, d=2, padding 1: taps {-1, 1}, {0, 2}, {1, 3}; padded extent [-1, 4).
    x = np.array([[1, 2, 3]], dtype=np.float64)
    values, indices = maxp(x, (1, 2), 1, (0, 1), (1, 2))
    check(values, [[2, 3, 2]], np.float64)
    check(indices, [[1, 2, 1]], np.int64)
    check(avgp(x, (1, 2), 1, (0, 1), (1, 2)), [[1, 2, 1]], np.float64)
    check(avgp(x, (1, 2), 1, (0, 1), (1, 2), count_include_pad=False), [[2, 2, 2]], np.float64)


def test_one_and_three_spatial_axes():
    x = np.array([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]], dtype=np.int16)
    values, indices = maxp(x, 2, n=1)
    check(values, [[3, 4], [9, 6]], np.int16)
    check(indices, [[0, 2], [0, 2]], np.int64)
    x = np.arange(8, dtype=np.float64).reshape(1, 2, 2, 2)
    values, indices = maxp(x, 2, n=3)
    check(values, [[[[7]]]], np.float64)
    check(indices, [[[[7]]]], np.int64)
    check(avgp(x, 2, n=3), [[[[3.5]]]], np.float64)


def test_empty_batch():
    values, indices = maxp(np.zeros((0, 3, 4, 4), dtype=np.float32), 2)
    assert values.shape == indices.shape == (0, 3, 2, 2)
    assert avgp(np.zeros((0, 3, 4, 4), dtype=np.int8), 2).shape == (0, 3, 2, 2)


# --- average: divisors -------------------------------------------------------------------


def test_avg_count_include_pad():
    x = np.array([[1, 2], [3, 4]], dtype=np.float64)
    # k2 s1 p1: nine windows, each holds 4 taps of the padded extent.
    check(avgp(x, 2, 1, 1), np.array([[1, 3, 2], [4, 10, 6], [3, 7, 4]]) / 4, np.float64)
    check(
        avgp(x, 2, 1, 1, count_include_pad=False),
        [[1, 3 / 2, 2], [4 / 2, 10 / 4, 6 / 2], [3, 7 / 2, 4]],
        np.float64,
    )


def test_avg_ceil_mode_overhang_is_not_counted():
    # L=5, k=2, s=2, ceil_mode: the third window holds 5 and the overhang at 5.
    x = np.array([[1, 2, 3, 4, 5]], dtype=np.float32)
    check(avgp(x, (1, 2), (1, 2), ceil_mode=True), [[1.5, 3.5, 5]], np.float32)
    # L=4, k=3, s=2, padding 1, ceil_mode: taps -1,0,1 | 1,2,3 | 3,4,5 (4 padding, 5 overhang).
    x = np.array([[1, 2, 3, 4]], dtype=np.float64)
    check(avgp(x, (1, 3), (1, 2), (0, 1), ceil_mode=True), [[3 / 3, 9 / 3, 4 / 2]], np.float64)
    check(
        avgp(x, (1, 3), (1, 2), (0, 1), ceil_mode=True, count_include_pad=False),
        [[3 / 2, 9 / 3, 4 / 1]],
        np.float64,
    )


def test_avg_asymmetric_padding():
    x = np.array([[1, 2, 3]], dtype=np.float64)
    check(avgp(x, 2, 2, [(1, 0)], n=1), [[0.5, 2.5]], np.float64)
    check(avgp(x, 2, 2, [(1, 0)], n=1, count_include_pad=False), [[1, 2.5]], np.float64)


def test_avg_divisor_override():
    x = np.array([[1, 2, 3, 4]], dtype=np.float64)
    check(avgp(x, (1, 2), divisor_override=3), [[1, 7 / 3]], np.float64)
    # The override also replaces the padded count.
    check(avgp(x, (1, 2), 1, (0, 1), divisor_override=1), [[1, 3, 5, 7, 4]], np.float64)


def test_avg_float16_and_float32_round_once():
    # 0.1 + 0.2 + 0.3 summed in float64, then one rounding to the dtype.
    x = np.array([[0.1, 0.2, 0.3]])
    for dtype in (np.float16, np.float32):
        expected = np.float64(x.astype(dtype).astype(np.float64).sum() / 3).astype(dtype)
        check(avgp(x.astype(dtype), (1, 3)), [[expected]], dtype)


# --- average: integers ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_avg_integer_rounds_half_to_even(dtype):
    x = np.array([[2, 3, 3, 4, -2, -3, -3, -4]], dtype=dtype)
    # Sums 5, 7, -5, -7 over 2: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, -3.5 -> -4.
    check(avgp(x, (1, 2)), [[2, 4, -2, -4]], dtype)
    x = np.array([[0, 0, 1, 0, 1, 1, -1, -1, 0, -1, -1, -1]], dtype=dtype)
    # 1/3 -> 0, 2/3 -> 1, -2/3 -> -1, -3/3 -> -1.
    check(avgp(x, (1, 3)), [[0, 1, -1, -1]], dtype)


def test_avg_integer_unsigned_rounding():
    x = np.array([[1, 2, 2, 3, 254, 255]], dtype=np.uint8)
    # 1.5 -> 2, 2.5 -> 2, 254.5 -> 254.
    check(avgp(x, (1, 2)), [[2, 2, 254]], np.uint8)


def test_avg_int64_is_exact():
    # float64 cannot hold 2**62 + 1; the oracle must not go through floats.
    x = np.array([[2**62, 2**62 + 1, 2**62 + 1, 2**62 + 2, 2**62 + 1, 2**62 + 4]], dtype=np.int64)
    # 2**62 + 0.5 -> 2**62 (even); 2**62 + 1.5 -> 2**62 + 2; 2**62 + 2.5 -> 2**62 + 2.
    check(avgp(x, (1, 2)), [[2**62, 2**62 + 2, 2**62 + 2]], np.int64)
    x = np.array([[2**63 - 1, 2**63 - 1, 2**63 - 1]], dtype=np.int64)
    check(avgp(x, (1, 3)), [[2**63 - 1]], np.int64)


def test_avg_integer_saturates_with_divisor_override():
    x = np.array([[100, 100, -100, -100, 60, 60]], dtype=np.int8)
    check(avgp(x, (1, 2), divisor_override=1), [[127, -128, 120]], np.int8)
    check(
        avgp(np.array([[200, 200, 0, 1]], dtype=np.uint8), (1, 2), divisor_override=1),
        [[255, 1]],
        np.uint8,
    )
    big = 2**63 - 1
    check(
        avgp(np.array([[big, big]], dtype=np.int64), (1, 2), divisor_override=1), [[big]], np.int64
    )


def test_avg_integer_count_include_pad_false():
    # Window {pad, 5}: 5 / 2 -> 2 with the padding counted, 5 / 1 without.
    x = np.array([[5, 1, 2]], dtype=np.int32)
    check(avgp(x, (1, 2), (1, 2), (0, 1)), [[2, 2]], np.int32)
    check(avgp(x, (1, 2), (1, 2), (0, 1), count_include_pad=False), [[5, 2]], np.int32)


# --- invalid geometry ------------------------------------------------------------------


@pytest.mark.parametrize(
    "L, k, s, pb, pa, d",
    [
        (1, 2, 1, 1, 1, 2),  # taps -1 and 1 around a single element
        (3, 2, 1, 2, 0, 1),  # first window -2, -1: all leading padding
        (2, 2, 1, 0, 3, 1),  # last windows lie in the trailing padding
    ],
    ids=["H1-k2-d2-p1", "k2-p2-before", "k2-p3-after"],
)
def test_window_without_input_raises(L, k, s, pb, pa, d):
    with pytest.raises(ValueError, match="no input element"):
        R.tap_counts(L, k, s, pb, pa, d, False)
    x = np.zeros((2, L, 3), dtype=np.float32)
    pads = ((pb, pa), (0, 0))
    with pytest.raises(ValueError, match="no input element"):
        R.max_pool(x, (k, 1), (s, 1), pads, (d, 1), False)
    with pytest.raises(ValueError, match="no input element"):
        R.avg_pool(x, (k, 1), (s, 1), pads, (d, 1), False, True, None)


def test_output_below_one_raises_in_pools():
    with pytest.raises(ValueError, match="output length"):
        maxp(np.zeros((2, 2), dtype=np.float32), 3)
    with pytest.raises(ValueError, match="output length"):
        avgp(np.zeros((2, 2), dtype=np.float32), 3)


def test_input_untouched():
    x = np.array([[nan, 1], [-inf, 2]], dtype=np.float32)
    before = x.copy()
    maxp(x, 2, 1, 1)
    avgp(x, 2, 1, 1)
    np.testing.assert_array_equal(x, before)
