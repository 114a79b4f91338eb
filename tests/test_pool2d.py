"""max_pool2d and avg_pool2d against the oracle: dtype x layout x shape x window tables."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import poolkit as pk
from conftest import (
    FLOAT_DTYPES,
    INT_DTYPES,
    LAYOUTS,
    SUPPORTED_DTYPES,
    assert_avg_close,
    brute_avg_plane,
    brute_max_plane,
    dtype_id,
    geometry_valid,
    layout_shape,
    normalise,
    oracle_avg,
    oracle_max,
    planes,
    random_input,
    round_to_int_dtype,
    window_id,
)

# (kernel_size, stride, padding, dilation, ceil_mode, (H, W))
WINDOWS = [
    (2, None, 0, 1, False, (6, 8)),
    (3, 1, 1, 1, False, (7, 6)),
    (3, 2, 1, 1, False, (9, 8)),
    ((2, 3), (1, 2), (1, 0), 1, False, (6, 9)),
    (3, 2, 1, 2, False, (9, 10)),
    (2, 1, 0, (2, 1), False, (7, 5)),
    (3, 2, 0, 1, True, (8, 7)),
    (2, 2, 1, 1, True, (7, 6)),
    ((3, 2), (2, 3), (1, 1), (2, 1), True, (10, 9)),
    (3, 2, ((0, 1), (1, 2)), 1, False, (7, 8)),
    ((2, 4), (3, 1), ((1, 0), (0, 3)), 1, True, (8, 7)),
    (3, 2, "same", 1, False, (7, 8)),
    (4, 3, "same", 1, False, (10, 11)),
    (3, 1, "same", 2, False, (6, 7)),
    (2, 2, "same", 1, True, (5, 5)),
    (3, 2, "valid", 1, False, (9, 8)),
    # padding larger than half the kernel: every window still holds an input element
    (3, 1, 2, 1, False, (5, 6)),
    ((3, 5), 2, ((2, 0), (0, 4)), 1, False, (7, 9)),
    (2, 3, 1, 3, False, (8, 8)),
    (5, 1, 4, 1, True, (4, 4)),
    # the window covers the whole plane, and a 1x1 window
    ((6, 8), None, 0, 1, False, (6, 8)),
    (1, 1, 0, 1, False, (3, 4)),
    (1, 2, 0, 1, True, (5, 4)),
]


def _wid(w):
    k, s, p, d, ceil, hw = w
    return window_id(k, s, p, d, "ceil" if ceil else "", f"{hw[0]}x{hw[1]}")


WINDOW_IDS = [_wid(w) for w in WINDOWS]


def test_window_table_is_valid():
    """Every row of the table is a configuration API.md accepts (guards the table itself)."""
    for k, s, p, d, ceil, hw in WINDOWS:
        kk, ss, pads, dd = normalise(hw, k, s, p, d)
        assert geometry_valid(hw, kk, ss, pads, dd, ceil and p != "same"), (k, s, p, d, ceil, hw)


LEADING = [(), (3,), (2, 3), (2, 1, 3)]
# Every (layout, leading shape) pair; NHWC needs at least the channel axis.
LAYOUT_LEADING = [
    pytest.param(layout, leading, id=f"{layout}-lead{'x'.join(map(str, leading)) or 'none'}")
    for layout in LAYOUTS
    for leading in LEADING
    if layout == "NCHW" or leading
]


def _leading_for(layout, index):
    """A leading shape for the default run: rotate through the table, NHWC needs a channel."""
    choices = LEADING if layout == "NCHW" else LEADING[1:]
    return choices[index % len(choices)]


# --- max ---------------------------------------------------------------------------------


def check_max(x, layout, k, s, p, d, ceil):
    values = pk.max_pool2d(x, k, stride=s, padding=p, dilation=d, ceil_mode=ceil, layout=layout)
    v2, idx = pk.max_pool2d(x, k, s, p, d, ceil, True, layout=layout)
    want_v, want_i = oracle_max(x, k, s, p, d, ceil, layout)
    assert isinstance(values, np.ndarray) and values.dtype == x.dtype
    assert values.shape == want_v.shape
    np.testing.assert_array_equal(values, want_v)
    np.testing.assert_array_equal(v2, want_v)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, want_i)


def random_ties_or_not(shape, dtype, rng):
    """Half of the inputs draw from a few values, so that windows hold ties."""
    return random_input(shape, dtype, rng, ties=bool(rng.random() < 0.5))


@pytest.mark.parametrize("window", WINDOWS, ids=WINDOW_IDS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_max_pool2d(dtype, layout, window, rng):
    k, s, p, d, ceil, (h, w) = window
    leading = _leading_for(layout, WINDOWS.index(window) + SUPPORTED_DTYPES.index(np.dtype(dtype)))
    x = random_ties_or_not(layout_shape(leading, h, w, layout), dtype, rng)
    check_max(x, layout, k, s, p, d, ceil)


@pytest.mark.slow
@pytest.mark.parametrize("window", WINDOWS, ids=WINDOW_IDS)
@pytest.mark.parametrize("layout, leading", LAYOUT_LEADING)
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_max_pool2d_full_table(dtype, layout, leading, window, rng):
    k, s, p, d, ceil, (h, w) = window
    for ties in (False, True):
        check_max(random_input(layout_shape(leading, h, w, layout), dtype, rng, ties=ties),
                  layout, k, s, p, d, ceil)


# Tall channels-first planes wide enough to be read in place (not staged): the vector steps
# take the inner columns of several rows in one run (at most 8 KiB of input rows), then the
# edge columns of those rows go one by one; with 2 threads a plane's rows split mid-run.
TALL_WINDOWS = [
    (3, 2, 1, 1, False, (301, 80)),
    ((3, 2), (1, 2), (1, 0), 1, True, (150, 70)),
    (3, 2, 2, 2, False, (260, 96)),
    (2, (1, 2), (1, 1), 1, True, (200, 66)),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("window", TALL_WINDOWS, ids=[_wid(w) for w in TALL_WINDOWS])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8], ids=dtype_id)
def test_tall_planes_run_rows_then_edges(dtype, window, threads, rng):
    k, s, p, d, ceil, (h, w) = window
    x = random_ties_or_not((1, 2, h, w), dtype, rng)
    if np.dtype(dtype).kind == "f":
        x[0, 1, h // 2, [0, w // 2, w - 1]] = np.nan  # edge and inner columns mid-plane
    with pk.threads(threads):
        check_max(x, "NCHW", k, s, p, d, ceil)
        if np.dtype(dtype).kind == "f":
            check_avg(x, "NCHW", k, s, p, d, ceil, False, None)


@pytest.mark.parametrize("layout, leading", LAYOUT_LEADING)
def test_leading_axes_and_layouts_agree(layout, leading, rng):
    """Every leading shape in both layouts; NHWC equals NCHW moved around."""
    x = rng.standard_normal(leading + (9, 10)).astype(np.float32)
    xl = x if layout == "NCHW" else np.ascontiguousarray(np.moveaxis(x, -3, -1))
    for args in [(3, 2, 1, 1, False), ((2, 3), (1, 2), ((0, 1), (1, 1)), (2, 1), True)]:
        v, i = pk.max_pool2d(xl, *args, return_indices=True, layout=layout)
        v_ref, i_ref = pk.max_pool2d(x, *args, return_indices=True)
        if layout == "NHWC":
            v, i = np.moveaxis(v, -1, -3), np.moveaxis(i, -1, -3)
        np.testing.assert_array_equal(v, v_ref)
        np.testing.assert_array_equal(i, i_ref)
        check_max(xl, layout, *args)
        a = pk.avg_pool2d(xl, args[0], args[1], args[2], args[4], dilation=args[3], layout=layout)
        want = oracle_avg(xl, args[0], args[1], args[2], args[4], True, None, args[3], layout)
        assert_avg_close(a, want, xl, args[0], args[1], args[2], args[4], True, None, args[3],
                         layout)


# --- NaN, ties, -inf ----------------------------------------------------------------------


def check_against_brute_force(x, layout, k, s, p, d, ceil):
    """Max values and indices per plane from the brute-force loop, independent of the oracle."""
    values, indices = pk.max_pool2d(x, k, s, p, d, ceil, True, layout=layout)
    if layout == "NHWC":
        values, indices = np.moveaxis(values, -1, -3), np.moveaxis(indices, -1, -3)
    for idx, plane in planes(x, layout):
        kk, ss, pads, dd = normalise(plane.shape, k, s, p, d)
        bv, bi = brute_max_plane(plane, kk, ss, pads, dd, ceil and p != "same")
        np.testing.assert_array_equal(values[idx], np.array(bv, dtype=x.dtype))
        np.testing.assert_array_equal(indices[idx], bi)


NAN_WINDOWS = [WINDOWS[i] for i in (0, 2, 4, 8, 9, 13, 17, 20)]


@pytest.mark.parametrize("window", NAN_WINDOWS, ids=[_wid(w) for w in NAN_WINDOWS])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=dtype_id)
def test_nan_propagates_first_nan_index(dtype, layout, window, rng):
    k, s, p, d, ceil, (h, w) = window
    x = rng.standard_normal(layout_shape((2, 3), h, w, layout)).astype(dtype)
    x[rng.random(x.shape) < 0.2] = np.nan
    x[rng.random(x.shape) < 0.1] = np.inf
    assert np.isnan(x).any()
    check_against_brute_force(x, layout, k, s, p, d, ceil)
    check_max(x, layout, k, s, p, d, ceil)


# Channels-first planes whose windows are clipped pool staged copies, checked for NaN as their
# rows are copied (rows of 16 elements or more in blocks read from the input, the last moved
# back to end with the row, each block as registers of the level's width); a copy without NaN
# is pooled without the NaN test. (kernel, stride, padding, (H, W)): one NaN at a row's first
# column, one at its last, one at each column of a third plane in turn.
STAGED_NAN = [(3, 1, 1, (28, 28)), (3, 2, 1, (17, 40)), (5, 1, 2, (20, 33)), (7, 1, 3, (9, 56)),
              (3, 1, 1, (6, 12))]


@pytest.mark.parametrize("window", STAGED_NAN, ids=[str(w) for w in STAGED_NAN])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_staged_copies_find_nan(dtype, window, rng):
    k, s, p, (h, w) = window
    x = rng.standard_normal((2, 3, h, w)).astype(dtype)
    x[0, 1, rng.integers(h), 0] = np.nan
    x[1, 2, rng.integers(h), w - 1] = np.nan
    got = pk.max_pool2d(x, k, s, p)
    want, _ = oracle_max(x, k, s, p, 1, False, "NCHW")
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[0, 1]).any() and np.isnan(got[1, 2]).any()
    assert not np.isnan(got[0, 0]).any()
    for col in range(w):
        y = x[:1, :1].copy()
        y[0, 0, h // 2, col] = np.nan
        got = pk.max_pool2d(y, k, s, p)
        np.testing.assert_array_equal(got, oracle_max(y, k, s, p, 1, False, "NCHW")[0])
        assert np.isnan(got).any(), col


# A thread's staged copy keeps its padding columns from one copy to the next where their
# layout is the same (same width and padding, same fill, no more rows): calls in turn that
# change the fill (max then average), the element size, the padding or the rows, each checked.
STAGED_SEQUENCE = [("max", np.float32, 3, 1, (28, 28)), ("avg", np.float32, 3, 1, (28, 28)),
                   ("max", np.float32, 3, 1, (28, 28)), ("max", np.float64, 3, 1, (28, 28)),
                   ("avg", np.int32, 3, 1, (28, 28)), ("max", np.int32, 3, 1, (28, 28)),
                   ("max", np.float32, 5, 2, (28, 28)), ("max", np.float32, 3, 1, (28, 28)),
                   ("avg", np.float32, 3, 1, (60, 28)), ("avg", np.float32, 3, 1, (4, 28)),
                   ("avg", np.float32, 3, 1, (90, 28)), ("max", np.uint8, 3, 1, (28, 40))]


def test_staged_copies_from_call_to_call(rng):
    with pk.threads(1):
        for op, dtype, k, p, (h, w) in STAGED_SEQUENCE:
            x = random_input((2, 3, h, w), dtype, rng)
            if op == "max":
                want, _ = oracle_max(x, k, 1, p)
                np.testing.assert_array_equal(pk.max_pool2d(x, k, 1, p), want)
            else:
                assert_avg_close(pk.avg_pool2d(x, k, 1, p), oracle_avg(x, k, 1, p), x, k, 1, p)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=dtype_id)
def test_nan_after_the_maximum_still_wins(dtype):
    """A NaN behind a larger value and a NaN in front of one both give NaN, at the NaN."""
    planes_2x2 = (
        [[5.0, np.nan], [1.0, 2.0]],
        [[np.nan, 5.0], [np.inf, np.nan]],
        [[1.0, 2.0], [3.0, np.nan]],
    )
    for plane in planes_2x2:
        x = np.array(plane, dtype=dtype)
        v, i = pk.max_pool2d(x, 2, return_indices=True)
        assert np.isnan(v[0, 0])
        assert i[0, 0] == np.flatnonzero(np.isnan(x))[0]


# The stride-2 max over rows of 2 or 3 taps (split from 2 or 3 loads per row; over integers
# taken down the window's rows first): a NaN at every position of a plane in turn (rows of
# several registers, the last moved back), each found where it lies; and +0 / -0 ties, where
# the first in window order wins (the window's columns first would pick the other).
STRIDE2_NAN = [(3, 2, 1), (2, 2, 0), (3, 2, 0), ((3, 2), 2, (1, 0))]


@pytest.mark.parametrize("window", STRIDE2_NAN, ids=[str(w) for w in STRIDE2_NAN])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_stride2_rows_find_nan_everywhere(dtype, window, rng):
    k, s, p = window
    x = rng.standard_normal((1, 1, 5, 71)).astype(dtype)
    clean = pk.max_pool2d(x, k, s, p)
    np.testing.assert_array_equal(clean, oracle_max(x, k, s, p, 1, False, "NCHW")[0])
    for y in range(x.shape[2]):
        for col in range(x.shape[3]):
            z = x.copy()
            z[0, 0, y, col] = np.nan
            want = oracle_max(z, k, s, p, 1, False, "NCHW")[0]
            np.testing.assert_array_equal(pk.max_pool2d(z, k, s, p), want, err_msg=f"{y}, {col}")
    ties = -np.ones((1, 1, 5, 71), dtype)
    ties[0, 0, 1, 3::2] = -0.0  # the first row of the windows at (1, ox), their last column
    ties[0, 0, 2, 2::2] = 0.0   # their second row, middle column
    # The first maximum in window order: the tap at the oracle's index (its values come from
    # np.max, which may return either zero).
    want = ties[0, 0].ravel()[oracle_max(ties, k, s, p, 1, False, "NCHW")[1]]
    got = pk.max_pool2d(ties, k, s, p)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    np.testing.assert_array_equal(got, want)


# Stride-2 rows of 2 or 3 taps whose first windows start in the padding: the vector steps
# take those columns with the rest of the row, the row's first element standing in for the
# padding. (kernel, padding), padding 2 beyond PyTorch's limit; widths around registers of 4
# to 64 lanes; ceil_mode adds clipped windows at the right edge.
LEFT_EDGE = [(2, 1), (3, 1), (3, 2)]


@pytest.mark.parametrize("width", [5, 9, 15, 16, 17, 31, 33, 34, 63, 66, 130, 131])
@pytest.mark.parametrize("window", LEFT_EDGE, ids=[str(w) for w in LEFT_EDGE])
@pytest.mark.parametrize(
    "dtype", [np.float32, np.float64, np.uint8, np.int16, np.int32], ids=dtype_id
)
def test_stride2_rows_take_their_left_edge(dtype, window, width, rng):
    k, p = window
    x = random_input((2, 3, 7, width), dtype, rng, ties=width % 2 == 1)
    for ceil_mode in (False, True):
        want = oracle_max(x, k, 2, p, 1, ceil_mode, "NCHW")[0]
        got = pk.max_pool2d(x, k, 2, p, ceil_mode=ceil_mode)
        np.testing.assert_array_equal(got, want, err_msg=f"ceil_mode={ceil_mode}")
    if np.dtype(dtype).kind != "f":
        return
    # The first columns' windows: -0 before +0 in the row (the first maximum is -0), and a NaN
    # in the first or second element of a row (the first NaN in window order wins).
    z = -np.ones((1, 2, 5, width), dtype)
    z[0, :, :, 0] = -0.0
    z[0, :, :, 1] = 0.0
    z[0, 1, 2, 0] = np.nan
    z[0, 1, 3, 1] = -np.nan
    values, index = oracle_max(z, k, 2, p, 1, False, "NCHW")
    want = np.take_along_axis(z.reshape(1, 2, -1), index.reshape(1, 2, -1), 2)
    got = pk.max_pool2d(z, k, 2, p)
    np.testing.assert_array_equal(got, values)
    np.testing.assert_array_equal(np.signbit(got).ravel(), np.signbit(want).ravel())


# Max without indices over float input read in place (not staged) takes the larger tap
# untested in its vector steps and held windows, sums those taps, and pools a job again
# testing every tap where the sums hold a NaN. (kernel, stride, padding, N, C, H, W): sizes
# that reach those steps, channels-last sites of few channels and of many.
GUARDED = [
    (3, 2, 1, 2, 24, 40, 40),
    (3, 1, 0, 2, 40, 30, 41),
    (2, 2, 0, 1, 24, 32, 48),
    # Separable: channels-last input rows checked for NaN before the row pass (W windows
    # overlap), or the row pass guarded (they do not).
    (7, 1, 3, 2, 32, 30, 33),
    ((5, 4), (1, 4), 2, 1, 48, 26, 37),
]


@pytest.mark.parametrize("case", ["clean", "nan_in_one_plane", "both_infinities"])
@pytest.mark.parametrize("window", GUARDED, ids=[str(g) for g in GUARDED])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=dtype_id)
def test_max_with_nan_checked_afterwards(dtype, layout, window, case, rng):
    k, s, p, n, c, h, w = window
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    if case == "nan_in_one_plane":
        for _ in range(3):
            x[n - 1, c // 2, rng.integers(h), rng.integers(w)] = np.nan
    elif case == "both_infinities":  # sums meet inf - inf: pooled again, the same results
        x[rng.random(x.shape) < 0.05] = np.inf
        x[rng.random(x.shape) < 0.05] = -np.inf
    if layout == "NHWC":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    before = x.copy()
    got = pk.max_pool2d(x, k, s, p, layout=layout)
    want, _ = oracle_max(x, k, s, p, 1, False, layout)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(x, before)
    assert np.isnan(got).any() == (case == "nan_in_one_plane")


@pytest.mark.parametrize("window", NAN_WINDOWS, ids=[_wid(w) for w in NAN_WINDOWS])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_ties_pick_the_first_maximum(dtype, layout, window, rng):
    k, s, p, d, ceil, (h, w) = window
    x = rng.integers(0, 2, size=layout_shape((2, 2), h, w, layout)).astype(dtype)
    check_against_brute_force(x, layout, k, s, p, d, ceil)
    check_max(x, layout, k, s, p, d, ceil)


@pytest.mark.parametrize("window", NAN_WINDOWS, ids=[_wid(w) for w in NAN_WINDOWS])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_lowest_values_beat_the_padding(dtype, layout, window, rng):
    """All -inf (integers: the dtype's minimum) inputs: the result is an input element."""
    k, s, p, d, ceil, (h, w) = window
    lowest = -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min
    x = np.full(layout_shape((2, 2), h, w, layout), lowest, dtype=dtype)
    # some planes mix in a few larger values
    mask = rng.random(x.shape) < 0.05
    x[mask] = 0
    check_against_brute_force(x, layout, k, s, p, d, ceil)
    check_max(x, layout, k, s, p, d, ceil)


def test_all_minus_inf_window_index_is_its_first_tap():
    x = np.full((1, 1, 3, 3), -np.inf, dtype=np.float32)
    v, i = pk.max_pool2d(x, 2, stride=1, padding=1, return_indices=True)
    kk, ss, pads, dd = normalise((3, 3), 2, 1, 1, 1)
    _, bi = brute_max_plane(x[0, 0], kk, ss, pads, dd, False)
    assert np.all(v == -np.inf)
    np.testing.assert_array_equal(i[0, 0], bi)


# --- average ------------------------------------------------------------------------------

AVG_VARIANTS = [
    # (count_include_pad, divisor_override)
    (True, None),
    (False, None),
    (True, 3),
    (False, 7),
]


def _avg_id(v):
    return ("cip" if v[0] else "nocip") + ("" if v[1] is None else f"-div{v[1]}")


def check_avg(x, layout, k, s, p, d, ceil, cip, div):
    got = pk.avg_pool2d(x, k, s, p, ceil, cip, div, dilation=d, layout=layout)
    want = oracle_avg(x, k, s, p, ceil, cip, div, d, layout)
    assert_avg_close(got, want, x, k, s, p, ceil, cip, div, d, layout)


# The default run covers every (layout, window, variant) once, rotating through the dtypes,
# and every (dtype, variant) on a few windows; the slow run is the full product.
def _avg_case(layout_index, window_index, variant_index):
    rotation = window_index + variant_index + 3 * layout_index
    dtype = SUPPORTED_DTYPES[rotation % len(SUPPORTED_DTYPES)]
    layout, variant = LAYOUTS[layout_index], AVG_VARIANTS[variant_index]
    case_id = f"{dtype_id(dtype)}-{layout}-{WINDOW_IDS[window_index]}-{_avg_id(variant)}"
    return pytest.param(dtype, layout, WINDOWS[window_index], variant, id=case_id)


AVG_CASES = [
    _avg_case(l, i, j)
    for l in range(len(LAYOUTS))
    for i in range(len(WINDOWS))
    for j in range(len(AVG_VARIANTS))
]


@pytest.mark.parametrize("dtype, layout, window, variant", AVG_CASES)
def test_avg_pool2d(dtype, layout, window, variant, rng):
    k, s, p, d, ceil, (h, w) = window
    leading = _leading_for(layout, WINDOWS.index(window) + AVG_VARIANTS.index(variant))
    x = random_input(layout_shape(leading, h, w, layout), dtype, rng)
    check_avg(x, layout, k, s, p, d, ceil, *variant)


AVG_DTYPE_WINDOWS = [WINDOWS[i] for i in (2, 7, 9, 11, 17)]


@pytest.mark.parametrize("window", AVG_DTYPE_WINDOWS, ids=[_wid(w) for w in AVG_DTYPE_WINDOWS])
@pytest.mark.parametrize("variant", AVG_VARIANTS, ids=_avg_id)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_avg_pool2d_every_dtype(dtype, layout, variant, window, rng):
    k, s, p, d, ceil, (h, w) = window
    x = random_input(layout_shape((2, 3), h, w, layout), dtype, rng)
    check_avg(x, layout, k, s, p, d, ceil, *variant)


@pytest.mark.slow
@pytest.mark.parametrize("variant", AVG_VARIANTS, ids=_avg_id)
@pytest.mark.parametrize("window", WINDOWS, ids=WINDOW_IDS)
@pytest.mark.parametrize("layout, leading", LAYOUT_LEADING)
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
def test_avg_pool2d_full_table(dtype, layout, leading, window, variant, rng):
    k, s, p, d, ceil, (h, w) = window
    for ties in (False, True):
        x = random_input(layout_shape(leading, h, w, layout), dtype, rng, ties=ties)
        check_avg(x, layout, k, s, p, d, ceil, *variant)


# Windows of one row over adjacent channels-first columns (the separable algorithm's row
# pass, and windows one row tall) take their max as a running max: registers of windows of
# 1, 2, 4, ... taps combined with registers shifted across lanes, up to 5 levels. (kernel,
# stride, padding, dilation, algorithm): widths of 2 to 5 levels, the last level's shift short
# of a power of two, dilated taps, and a direct pool of one row.
RUNNING = [
    ((5, 4), 1, (2, 1), 1, "separable"),
    (7, 1, 3, 1, "separable"),
    ((5, 9), 1, (2, 4), 1, "separable"),
    ((3, 17), 1, (1, 8), 1, "separable"),
    ((3, 25), 1, (1, 12), 1, "separable"),
    (5, 1, (2, 4), (1, 2), "separable"),
    ((7, 3), 1, 3, (1, 3), "separable"),
    ((1, 7), 1, (0, 3), 1, "direct"),
]


@pytest.mark.parametrize("case", ["clean", "nan", "infinities"])
@pytest.mark.parametrize("window", RUNNING, ids=[str(w) for w in RUNNING])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64], ids=dtype_id)
def test_running_max_along_rows(dtype, window, case, rng):
    k, s, p, d, algorithm = window
    x = random_input((2, 3, 11, 150), dtype, rng)
    if np.dtype(dtype).kind == "f" and case == "nan":
        x[rng.random(x.shape) < 0.01] = np.nan
    elif np.dtype(dtype).kind == "f" and case == "infinities":
        x[rng.random(x.shape) < 0.05] = np.inf
        x[rng.random(x.shape) < 0.05] = -np.inf
    cost = pk.pool_cost(x.shape, k, s, p, d, dtype=dtype)
    assert cost["algorithm"] == algorithm
    check_max(x, "NCHW", k, s, p, d, False)


# The same rows averaged: each register's taps shuffled from two loaded registers (AVX-512)
# where they span at most a register (16 floats, 8 doubles or int64), loaded tap by tap
# otherwise; summed in window order either way. Over channels-first rows and channels-last
# sites of 2 channels (lanes 2 elements a site), rows long enough for an even and an odd
# count of shuffled registers, and one too short for any.
@pytest.mark.parametrize("width", [150, 40, 23])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("window", RUNNING, ids=[str(w) for w in RUNNING])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64], ids=dtype_id)
def test_shifted_sums_along_rows(dtype, window, layout, width, rng):
    k, s, p, d, algorithm = window
    shape = (2, 3, 11, width) if layout == "NCHW" else (2, 11, width, 2)
    x = random_input(shape, dtype, rng)
    if layout == "NCHW":
        cost = pk.pool_cost(x.shape, k, s, p, d, mode="avg", dtype=dtype)
        assert cost["algorithm"] == algorithm
    for count_include_pad, divisor_override in ((True, None), (False, None), (True, 3)):
        check_avg(x, layout, k, s, p, d, False, count_include_pad, divisor_override)


# Over channels-last sites of 64 channels or more, the separable max's row pass takes W as its
# H axis (a site per row, its channels the lanes) where windows overlap site by site (W
# stride = W dilation), so neighbouring sites' windows share their taps' loads. (kernel,
# stride, padding, dilation, channels): channels a whole number of registers and not.
SITES_AS_ROWS = [(7, 1, 3, 1, 64), (5, 1, 2, 1, 80), (5, (1, 2), (2, 4), (1, 2), 72),
                 ((3, 6), 1, (1, 2), 1, 96)]


@pytest.mark.parametrize("window", SITES_AS_ROWS, ids=[str(w) for w in SITES_AS_ROWS])
@pytest.mark.parametrize("dtype, nan", [(np.float32, False), (np.float32, True),
                                        (np.uint8, False), (np.int64, False)],
                         ids=["float32", "float32-nan", "uint8", "int64"])
def test_separable_max_sites_as_rows(dtype, nan, window, rng):
    k, s, p, d, c = window
    x = random_input((2, 13, 23, c), dtype, rng)
    if nan:
        x[rng.random(x.shape) < 0.002] = np.nan
    cost = pk.pool_cost(x.shape, k, s, p, d, dtype=dtype, layout="NHWC")
    assert cost["algorithm"] == "separable"
    check_max(x, "NHWC", k, s, p, d, False)


# Channels-last sites of 16 channels or more pool overlapping windows separably; the second
# pass runs registers of lanes over several sites, divided by one divisor where every column
# of the output shares W's divisor factor (count_include_pad or an override, and no ceil_mode
# overhang), else by a divisor per lane. (kernel, stride, padding, ceil_mode, channels)
SEPARABLE_SITES = [(7, 1, 3, False, 40), (7, 2, 3, True, 16), ((5, 7), 1, (0, 3), True, 24),
                   ((7, 5), (1, 2), 2, True, 17)]


@pytest.mark.parametrize("variant", AVG_VARIANTS, ids=_avg_id)
@pytest.mark.parametrize("window", SEPARABLE_SITES, ids=[str(w) for w in SEPARABLE_SITES])
@pytest.mark.parametrize("dtype", [np.float32, np.int16], ids=dtype_id)
def test_separable_avg_over_sites(dtype, window, variant, rng):
    k, s, p, ceil, c = window
    x = random_input((2, 21, 30, c), dtype, rng)
    cost = pk.pool_cost(x.shape, k, s, p, ceil_mode=ceil, mode="avg", dtype=dtype, layout="NHWC")
    assert cost["algorithm"] == "separable"
    check_avg(x, "NHWC", k, s, p, 1, ceil, *variant)


@pytest.mark.parametrize("window", NAN_WINDOWS, ids=[_wid(w) for w in NAN_WINDOWS])
@pytest.mark.parametrize("variant", AVG_VARIANTS, ids=_avg_id)
@pytest.mark.parametrize("dtype", INT_DTYPES, ids=dtype_id)
def test_integer_avg_rounds_ties_to_even(dtype, variant, window, rng):
    """Exact integer mean, rounded half to even, against Fractions (not the oracle)."""
    k, s, p, d, ceil, (h, w) = window
    info = np.iinfo(dtype)
    # small values make exact .5 means common; the extremes test the wide accumulator
    x = rng.integers(max(int(info.min), -4), 5, size=(3, h, w)).astype(dtype)
    x[0] = rng.choice([info.min, info.max], size=(h, w))
    got = pk.avg_pool2d(x, k, s, p, ceil, *variant, dilation=d)
    for c in range(3):
        kk, ss, pads, dd = normalise((h, w), k, s, p, d)
        exact = brute_avg_plane(x[c], kk, ss, pads, dd, ceil and p != "same", *variant)
        np.testing.assert_array_equal(got[c], round_to_int_dtype(exact, dtype))
    assert got.dtype == dtype


@pytest.mark.parametrize(
    "values, expected_mean",
    [
        ([1, 2], 2), ([2, 3], 2), ([-1, -2], -2), ([-2, -3], -2),
        ([0, 1], 0), ([5, 6], 6), ([1, 1], 1), ([1, 4], 2),
    ],
    ids=lambda v: "+".join(map(str, v)) if isinstance(v, list) else f"mean{v}",
)
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64], ids=dtype_id)
def test_integer_avg_half_cases(values, expected_mean, dtype):
    # expected_mean is round-half-even of the pair's mean, e.g. 1.5 -> 2 and 2.5 -> 2
    assert round(Fraction(sum(values), 2)) == expected_mean
    y = pk.avg_pool2d(np.array([values], dtype=dtype), (1, 2))
    assert y.dtype == dtype
    assert y[0, 0] == expected_mean


@pytest.mark.parametrize("divisor", [1, 2, 3])
@pytest.mark.parametrize("dtype", INT_DTYPES, ids=dtype_id)
def test_integer_divisor_override_saturates(dtype, divisor):
    info = np.iinfo(dtype)
    x = np.empty((2, 4, 4), dtype=dtype)
    x[0] = info.max
    x[1] = info.min
    got = pk.avg_pool2d(x, 2, divisor_override=divisor)
    for c in range(2):
        kk, ss, pads, dd = normalise((4, 4), 2, None, 0, 1)
        exact = brute_avg_plane(x[c], kk, ss, pads, dd, False, True, divisor)
        np.testing.assert_array_equal(got[c], round_to_int_dtype(exact, dtype))
    if divisor < 4:
        assert np.all(got[0] == info.max)
        if info.min < 0:
            assert np.all(got[1] == info.min)


# 8- and 16-bit averages sum in int32 where a whole window of the type's largest magnitude
# fits in it, in int64 beyond that: windows of extreme and of random values either side of
# the bound, divided by their taps and by 1 (the sum itself, saturated).
@pytest.mark.parametrize("dtype, kernel", [
    (np.uint8, (8, 16)),      # 128 taps: 255 * 128 < 2**15, int16
    (np.uint8, (3, 43)),      # 129 taps: int32
    (np.int8, (15, 17)),      # 255 taps: 128 * 255 < 2**15, int16
    (np.int8, (16, 16)),      # 256 taps: int32
    (np.uint16, (128, 256)),  # 32768 taps: 65535 * 32768 < 2**31, int32
    (np.uint16, (9, 3641)),   # 32769 taps: int64
    (np.int16, (255, 257)),   # 65535 taps: 32768 * 65535 < 2**31, int32
    (np.int16, (256, 256)),   # 65536 taps: int64
], ids=lambda v: dtype_id(v) if isinstance(v, type) else "x".join(map(str, v)))
def test_small_int_sums_either_side_of_int16_and_int32(dtype, kernel, rng):
    info = np.iinfo(dtype)
    h, w = kernel
    taps = h * w
    for fill in (info.max, info.min):
        x = np.full((1, 1, h + 1, w + 2), fill, dtype)  # 2 x 3 windows at stride 1
        np.testing.assert_array_equal(pk.avg_pool2d(x, kernel, 1), np.full((1, 1, 2, 3), fill))
        summed = pk.avg_pool2d(x, kernel, 1, divisor_override=1)
        assert np.all(summed == (info.max if fill > 0 else info.min)), fill
    x = random_input((1, 1, h + 1, w + 2), dtype, rng)
    for divisor in (None, 1, taps - 1):
        check_avg(x, "NCHW", kernel, 1, 0, 1, False, True, divisor)


# 8- and 16-bit averages whose sums fit int16 (8-bit) or int32 run vector steps in lanes of
# those (the taps widened as they load, the sums divided in float lanes where that is exact):
# rows wide enough to fill registers, channels-first and channels-last (sites of 3 and 4
# channels picked from two loads at stride 2, 16 at stride 2, 64 contiguous), clipped and whole
# windows, 81-tap uint16 windows (divided in double) and the separable algorithm's row sums.
SMALL_INT_WINDOWS = [
    (2, 2, 0, 1, False, (9, 70)),
    (3, 1, 1, 1, False, (8, 53)),
    (3, 2, 1, 1, True, (9, 61)),
    ((2, 3), (1, 2), (1, 0), 1, False, (7, 66)),
    (3, 1, 2, 2, False, (9, 47)),
    (7, 1, 3, 1, False, (12, 50)),
    (9, 1, 4, 1, False, (12, 40)),
]


@pytest.mark.parametrize("window", SMALL_INT_WINDOWS, ids=[_wid(w) for w in SMALL_INT_WINDOWS])
@pytest.mark.parametrize("layout, channels", [("NCHW", 2), ("NHWC", 3), ("NHWC", 4),
                                              ("NHWC", 16), ("NHWC", 64)])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16], ids=dtype_id)
def test_small_int_avg_in_vector_lanes(dtype, layout, channels, window, rng):
    k, s, p, d, ceil, (h, w) = window
    info = np.iinfo(dtype)
    shape = layout_shape((2, channels), h, w, layout)
    x = random_input(shape, dtype, rng)
    # One image of the extremes: the widening keeps the sign (int8 -128, not 128) and the
    # quotient saturates nowhere but at the type's bounds.
    x[1] = rng.choice(np.array([info.min, info.max], dtype), size=x[1].shape)
    for cip, div in ((True, None), (False, None), (True, 3)):
        check_avg(x, layout, k, s, p, d, ceil, cip, div)


# Integer sums sharing a power-of-two divisor divide by a shift in their own lanes, rounding
# half to even (ties are a quarter of the random 2 x 2 sums): the windows' own counts and
# overrides up to the largest shift a lane takes (2**13 for int16 sums, 2**29 for int32) and
# just past it (divided in float or double instead), 1 (a shift of 0) saturating.
POWER_OF_TWO_WINDOWS = [
    (2, 2, 0, 1, False, (9, 70)),
    ((1, 2), (1, 2), 0, 1, False, (5, 70)),
    ((2, 4), (2, 4), 0, 1, False, (8, 132)),
    (4, 1, 0, 1, False, (12, 50)),
]


@pytest.mark.parametrize("window", POWER_OF_TWO_WINDOWS,
                         ids=[_wid(w) for w in POWER_OF_TWO_WINDOWS])
@pytest.mark.parametrize("layout, channels", [("NCHW", 2), ("NHWC", 3), ("NHWC", 64)])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16], ids=dtype_id)
def test_small_int_avg_power_of_two_divisors(dtype, layout, channels, window, rng):
    k, s, p, d, ceil, (h, w) = window
    info = np.iinfo(dtype)
    x = random_input(layout_shape((2, channels), h, w, layout), dtype, rng)
    x[1] = rng.choice(np.array([info.min, info.max], dtype), size=x[1].shape)
    for div in (None, 1, 2, 2**13, 2**14, 2**29, 2**30):
        check_avg(x, layout, k, s, p, d, ceil, True, div)


# 16-bit maxima over channels-last sites of a few channels: whole sites picked into registers
# of 16-bit lanes (two loads and a permute per tap), clipped windows at the edges.
@pytest.mark.parametrize("window", SMALL_INT_WINDOWS, ids=[_wid(w) for w in SMALL_INT_WINDOWS])
@pytest.mark.parametrize("channels", [2, 3, 4, 5])
@pytest.mark.parametrize("dtype", [np.int16, np.uint16], ids=dtype_id)
def test_16bit_max_over_small_sites(dtype, channels, window, rng):
    k, s, p, d, ceil, (h, w) = window
    x = random_input(layout_shape((2, channels), h, w, "NHWC"), dtype, rng)
    check_max(x, "NHWC", k, s, p, d, ceil)


# Channels-last sites of a few channels at W stride 2 or 3: a window row's taps (up to 3,
# spanning less than two registers) picked from one pair of loads, and for max and integer
# sums the rows' loads taken down the window first, then picked once. (kernel, stride,
# padding, dilation): H stride 1 pairs output rows; 4 taps a row load per tap. Widths around
# registers of 1 to 16 sites; for floats, -0 / +0 ties and NaNs of both signs, where the
# first in window order must win (the taps' columns first would pick another).
SHARED_PICKS = [
    ((2, 2), 2, 0, 1),
    ((3, 3), 2, 1, 1),
    ((1, 3), 2, 0, 1),
    ((3, 2), (1, 2), 0, 1),
    ((2, 2), 3, 0, 1),
    ((2, 2), 2, 0, (1, 2)),
    ((2, 4), 2, 0, 1),
]


@pytest.mark.parametrize("channels", [2, 3, 4, 5])
@pytest.mark.parametrize("window", SHARED_PICKS, ids=[str(w) for w in SHARED_PICKS])
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.int16, np.float32, np.float64], ids=dtype_id
)
def test_sites_pick_a_rows_taps_from_shared_loads(dtype, window, channels, rng):
    k, s, p, d = window
    for width in (9, 23, 70):
        x = random_input((2, 5, width, channels), dtype, rng, ties=width == 23)
        check_max(x, "NHWC", k, s, p, d, False)
        for cip in (True, False):
            check_avg(x, "NHWC", k, s, p, d, False, cip, None)
        if np.dtype(dtype).kind != "f":
            continue
        z = rng.choice(np.array([-1.0, -0.0, 0.0, np.nan, -np.nan], dtype), size=x.shape,
                       p=[0.5, 0.2, 0.2, 0.05, 0.05])
        values, index = oracle_max(z, k, s, p, d, False, "NHWC")
        n, oh, ow, c = values.shape
        want = np.take_along_axis(z.reshape(n, -1, c), index.reshape(n, -1, c), 1)
        got = pk.max_pool2d(z, k, s, p, d, layout="NHWC")
        np.testing.assert_array_equal(got, values)
        np.testing.assert_array_equal(np.signbit(got).ravel(), np.signbit(want).ravel())


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=dtype_id)
def test_float_avg_with_nan_and_inf(dtype, rng):
    x = rng.standard_normal((2, 7, 8)).astype(dtype)
    x[0, 1, 2] = np.nan
    x[1, 4, 4] = np.inf
    x[1, 0, 0] = -np.inf
    got = pk.avg_pool2d(x, 3, 2, 1)
    want = oracle_avg(x, 3, 2, 1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    assert_avg_close(got, want, x, 3, 2, 1)


# --- empty batch ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, layout, out_shape",
    [
        ((0, 3, 8, 8), "NCHW", (0, 3, 4, 4)),
        ((2, 0, 8, 8), "NCHW", (2, 0, 4, 4)),
        ((0, 8, 8), "NCHW", (0, 4, 4)),
        ((0, 8, 8, 3), "NHWC", (0, 4, 4, 3)),
        ((2, 8, 8, 0), "NHWC", (2, 4, 4, 0)),
        ((8, 8, 0), "NHWC", (4, 4, 0)),
        ((3, 0, 2, 8, 8), "NCHW", (3, 0, 2, 4, 4)),
    ],
    ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else v,
)
@pytest.mark.parametrize("dtype", [np.float32, np.int16], ids=dtype_id)
def test_empty_batch(shape, layout, out_shape, dtype):
    x = np.zeros(shape, dtype=dtype)
    # out_shape is the leading shape kept with 8 -> 4 per spatial axis (kernel 2)
    assert pk.output_shape(shape, 2, layout=layout) == out_shape
    v, i = pk.max_pool2d(x, 2, return_indices=True, layout=layout)
    assert v.shape == i.shape == out_shape
    assert v.dtype == dtype and i.dtype == np.int64
    a = pk.avg_pool2d(x, 2, layout=layout)
    assert a.shape == out_shape and a.dtype == dtype
    want = pk.output_shape(shape, 3, 2, 1, layout=layout)
    assert pk.max_pool2d(x, 3, 2, 1, layout=layout).shape == want
