"""Shared tables and helpers of poolkit's tests.

Everything here is plain Python and NumPy, written from API.md alone: dtype and tolerance
tables, window-argument normalisation (for `reference.py`, which takes normalised tuples),
a brute-force window enumerator used as an independent check of the geometry, and wrappers
that run the oracle in either layout.
"""

from __future__ import annotations

import pathlib
import sys
from fractions import Fraction
from typing import Any, Iterator, Sequence

import numpy as np
import pytest

# `import reference` and `from conftest import ...` must work under every pytest import mode.
_HERE = str(pathlib.Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
INT_DTYPES = tuple(
    np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64)
)
SUPPORTED_DTYPES = FLOAT_DTYPES + INT_DTYPES

# The one tolerance table for floating average pooling (max and integer average are exact).
# Per dtype: (eps of the accumulation, relative size of the final rounding, atol). Summing n
# taps errs by at most (n - 1) * u * sum|x| (u = eps / 2), the division and the final rounding
# add u each; poolkit and the expected value may both err so: rtol = (n + 1) * eps, relative to
# scale = the window's sum of |x| over the divisor. float16 and bfloat16 accumulate in float32
# (API.md) and round once at the end, so two correct results may still be one ulp of the
# result apart. atol is the dtype's smallest subnormal (one ulp of a subnormal result).
_EPS32 = float(np.finfo(np.float32).eps)
AVG_TOLERANCE = {
    np.dtype(np.float16): (_EPS32, 2.0**-10, float(np.finfo(np.float16).smallest_subnormal)),
    np.dtype(np.float32): (_EPS32, 0.0, float(np.finfo(np.float32).smallest_subnormal)),
    np.dtype(np.float64): (
        float(np.finfo(np.float64).eps), 0.0, float(np.finfo(np.float64).smallest_subnormal)),
}
try:
    import ml_dtypes

    BFLOAT16: Any = np.dtype(ml_dtypes.bfloat16)
    _BF16_TINY = float(ml_dtypes.finfo(BFLOAT16).smallest_subnormal)
    AVG_TOLERANCE[BFLOAT16] = (_EPS32, 2.0**-7, _BF16_TINY)
except ImportError:  # bfloat16 is tested where ml_dtypes is installed (the `test` extra)
    BFLOAT16 = None


def avg_tolerance(dtype: Any, taps: int) -> tuple[float, float]:
    """(rtol, atol) of a float average over windows of at most `taps` taps: the error bound is
    rtol * scale + atol, scale being the window's sum of |x| over the divisor."""
    eps, ulp, atol = AVG_TOLERANCE[np.dtype(dtype)]
    return (taps + 1) * eps + ulp, atol


def assert_avg_within(actual: np.ndarray, expected: np.ndarray, scale: np.ndarray,
                      taps: int, what: str = "") -> None:
    """Float average: NaN and infinities exactly, finite values within avg_tolerance."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, what
    got, want = actual.astype(np.float64), expected.astype(np.float64)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite], err_msg=what)
    rtol, atol = avg_tolerance(actual.dtype, taps)
    with np.errstate(invalid="ignore"):  # inf - inf where non-finite values were compared
        err = np.abs(got - want)
    bad = finite & ~(err <= rtol * np.abs(scale) + atol)
    assert not bad.any(), (
        f"{int(bad.sum())} elements beyond rtol={rtol:.3g}*scale+atol: got "
        f"{got[bad][:5]}, want {want[bad][:5]} {what}")


LAYOUTS = ("NCHW", "NHWC")


def dtype_id(dtype: Any) -> str:
    return np.dtype(dtype).name


def assert_avg_close(actual: np.ndarray, expected: np.ndarray, x: Any, kernel_size: Any,
                     *args: Any, **kwargs: Any) -> None:
    """poolkit's average `actual` against the oracle's `expected` for input `x` pooled with
    `kernel_size, *args, **kwargs` (oracle_avg's arguments): integers exactly, floats within
    the tolerance table, scaled by the oracle's average of |x| with the same arguments."""
    x = np.asarray(x)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if actual.dtype.kind in "iu":
        np.testing.assert_array_equal(actual, expected)
        return
    magnitude = np.abs(x.astype(np.float64))
    scale = oracle_avg(magnitude, kernel_size, *args, **kwargs)
    taps = int(np.prod(np.broadcast_to(kernel_size, (2,))))
    assert_avg_within(actual, expected, scale, taps)


# ----------------------------------------------------------------------------------------
# Window arguments
# ----------------------------------------------------------------------------------------


def as_tuple(value: Any, n: int = 2) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        assert len(value) == n
        return tuple(int(v) for v in value)
    return (int(value),) * n


def same_pads(length: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow/ONNX SAME_UPPER: ceil(L / s) outputs, the odd padding element after."""
    out = -(-length // s)
    total = max(0, (out - 1) * s + d * (k - 1) + 1 - length)
    return total // 2, total - total // 2


def normalise(
    spatial: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[tuple[int, int], ...], tuple[int, ...]]:
    """(kernel, stride, ((before, after), ...), dilation) as the oracle takes them."""
    n = len(spatial)
    k = as_tuple(kernel_size, n)
    s = k if stride is None else as_tuple(stride, n)
    d = as_tuple(dilation, n)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * n
        else:
            assert padding == "same"
            pads = tuple(same_pads(spatial[i], k[i], s[i], d[i]) for i in range(n))
    elif isinstance(padding, (tuple, list)):
        assert len(padding) == n
        pads = tuple(
            (int(p[0]), int(p[1])) if isinstance(p, (tuple, list)) else (int(p), int(p))
            for p in padding
        )
    else:
        pads = ((int(padding), int(padding)),) * n
    return k, s, pads, d


def window_id(
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    *extra: str,
) -> str:
    """Readable test id such as `k3-s2-p1-d1` (tuples joined by `x`, pairs by `:`)."""

    def part(v: Any) -> str:
        if isinstance(v, (tuple, list)):
            return "x".join(
                ":".join(map(str, p)) if isinstance(p, (tuple, list)) else str(p) for p in v
            )
        return str(v)

    s = "def" if stride is None else part(stride)
    words = [f"k{part(kernel_size)}", f"s{s}", f"p{part(padding)}", f"d{part(dilation)}"]
    return "-".join(words + [e for e in extra if e])


# ----------------------------------------------------------------------------------------
# Brute-force geometry, straight from API.md
# ----------------------------------------------------------------------------------------


def axis_length(length: int, k: int, s: int, pb: int, pa: int, d: int, ceil_mode: bool) -> int:
    """Output length per API.md, with PyTorch's ceil_mode rule (may be < 1).

    With ceil_mode a window longer than the padded input still gives one output when
    ceil(room / s) rounds up to 0, as in PyTorch.
    """
    room = length + pb + pa - d * (k - 1) - 1
    out = (-(-room // s) if ceil_mode else room // s) + 1
    if ceil_mode and (out - 1) * s >= length + pb:
        out -= 1
    return max(out, 0)


def axis_windows(
    length: int, k: int, s: int, pb: int, pa: int, d: int, ceil_mode: bool
) -> list[list[int]]:
    """For every output index, the in-bounds input positions of its window, in order."""
    out = axis_length(length, k, s, pb, pa, d, ceil_mode)
    return [
        [p for p in (o * s - pb + j * d for j in range(k)) if 0 <= p < length]
        for o in range(out)
    ]


def axis_padded_taps(length: int, k: int, s: int, pb: int, pa: int, d: int, o: int) -> int:
    """Taps of window `o` inside the padded extent [-pb, length + pa)."""
    return sum(1 for j in range(k) if -pb <= o * s - pb + j * d < length + pa)


def geometry_valid(
    spatial: Sequence[int],
    k: Sequence[int],
    s: Sequence[int],
    pads: Sequence[tuple[int, int]],
    d: Sequence[int],
    ceil_mode: bool,
) -> bool:
    """Every axis has output length >= 1 and every window holds an input element."""
    for i, length in enumerate(spatial):
        if length < 1:
            return False
        wins = axis_windows(length, k[i], s[i], pads[i][0], pads[i][1], d[i], ceil_mode)
        if not wins or not all(wins):
            return False
    return True


def spatial_axes(ndim: int, layout: str) -> tuple[int, int]:
    return (ndim - 2, ndim - 1) if layout == "NCHW" else (ndim - 3, ndim - 2)


def to_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    return x if layout == "NCHW" else np.moveaxis(x, -1, -3)


def from_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    return x if layout == "NCHW" else np.moveaxis(x, -3, -1)


def planes(x: np.ndarray, layout: str) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """(index of the plane in the NCHW view, 2-d plane) for every channel plane."""
    v = to_nchw(x, layout)
    for idx in np.ndindex(*v.shape[:-2]):
        yield idx, v[idx]


def brute_max_plane(
    plane: np.ndarray, k: Sequence[int], s: Sequence[int], pads: Sequence[tuple[int, int]],
    d: Sequence[int], ceil_mode: bool,
) -> tuple[list[list[Any]], list[list[int]]]:
    """Max and flat argmax of every window: first NaN wins, else the first maximum."""
    h, w = plane.shape
    rows = axis_windows(h, k[0], s[0], pads[0][0], pads[0][1], d[0], ceil_mode)
    cols = axis_windows(w, k[1], s[1], pads[1][0], pads[1][1], d[1], ceil_mode)
    values, indices = [], []
    for ys in rows:
        vrow, irow = [], []
        for xs in cols:
            best = None
            for y, x in ((y, x) for y in ys for x in xs):
                v = plane[y, x]
                if v != v:  # NaN: the first one wins
                    best = (y, x)
                    break
                if best is None or v > plane[best]:
                    best = (y, x)
            assert best is not None, "window without an input element"
            vrow.append(plane[best])
            irow.append(best[0] * w + best[1])
        values.append(vrow)
        indices.append(irow)
    return values, indices


def brute_avg_plane(
    plane: np.ndarray, k: Sequence[int], s: Sequence[int], pads: Sequence[tuple[int, int]],
    d: Sequence[int], ceil_mode: bool, count_include_pad: bool, divisor_override: Any,
) -> list[list[Fraction]]:
    """Exact mean of every window as a Fraction, with PyTorch's divisor rules."""
    h, w = plane.shape
    rows = axis_windows(h, k[0], s[0], pads[0][0], pads[0][1], d[0], ceil_mode)
    cols = axis_windows(w, k[1], s[1], pads[1][0], pads[1][1], d[1], ceil_mode)
    result = []
    for oy, ys in enumerate(rows):
        row = []
        for ox, xs in enumerate(cols):
            exact = int if plane.dtype.kind in "iu" else (lambda v: Fraction(float(v)))
            total = sum(exact(plane[y, x]) for y in ys for x in xs)
            if divisor_override is not None:
                divisor = divisor_override
            elif count_include_pad:
                divisor = axis_padded_taps(h, k[0], s[0], *pads[0], d[0], oy) * axis_padded_taps(
                    w, k[1], s[1], *pads[1], d[1], ox)
            else:
                divisor = len(ys) * len(xs)
            row.append(Fraction(total) / divisor)
        result.append(row)
    return result


def round_to_int_dtype(values: Any, dtype: Any) -> np.ndarray:
    """Fractions rounded to the nearest integer (ties to even), saturated to `dtype`."""
    info = np.iinfo(dtype)
    flat = [
        min(max(round(Fraction(v)), int(info.min)), int(info.max))
        for v in np.ravel(np.asarray(values, dtype=object))
    ]
    return np.array(flat, dtype=dtype).reshape(np.shape(values))


# ----------------------------------------------------------------------------------------
# The oracle in either layout
# ----------------------------------------------------------------------------------------


def oracle_max(
    x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
    ceil_mode: bool = False, layout: str = "NCHW",
) -> tuple[np.ndarray, np.ndarray]:
    """reference.max_pool on the NCHW view of `x` (indices are per plane, so layout-free)."""
    from reference import max_pool

    v = np.ascontiguousarray(to_nchw(np.asarray(x), layout))
    k, s, pads, d = normalise(v.shape[-2:], kernel_size, stride, padding, dilation)
    values, indices = max_pool(v, k, s, pads, d, bool(ceil_mode))
    return from_nchw(np.asarray(values), layout), from_nchw(np.asarray(indices), layout)


def oracle_avg(
    x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0,
    ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Any = None,
    dilation: Any = 1, layout: str = "NCHW",
) -> np.ndarray:
    from reference import avg_pool

    v = np.ascontiguousarray(to_nchw(np.asarray(x), layout))
    k, s, pads, d = normalise(v.shape[-2:], kernel_size, stride, padding, dilation)
    values = avg_pool(v, k, s, pads, d, bool(ceil_mode), bool(count_include_pad), divisor_override)
    return from_nchw(np.asarray(values), layout)


# ----------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------


def layout_shape(leading: Sequence[int], h: int, w: int, layout: str) -> tuple[int, ...]:
    """Shape for `leading` batch/channel axes (NCHW order); NHWC moves the last one to the end."""
    leading = tuple(leading)
    if layout == "NCHW":
        return leading + (h, w)
    assert leading, "NHWC needs a channel axis"
    return leading[:-1] + (h, w, leading[-1])


def random_input(
    shape: Sequence[int], dtype: Any, rng: np.random.Generator, *, ties: bool = False
) -> np.ndarray:
    """Random data of `dtype`; `ties=True` draws from a few values so windows hold ties.

    int64 stays within +-2**40 here so that any window sum is exact in float64 as well; the
    dtype extremes have their own tests.
    """
    dtype = np.dtype(dtype)
    shape = tuple(shape)
    if ties:
        if dtype.kind == "f":
            return (rng.integers(-4, 5, size=shape) / 2).astype(dtype)
        low = 0 if dtype.kind == "u" else -3
        return rng.integers(low, low + 7, size=shape).astype(dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    low, high = int(info.min), int(info.max)
    if dtype == np.int64:
        low, high = -(2**40), 2**40
    return rng.integers(low, high, size=shape, endpoint=True, dtype=dtype)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's id, so every test is reproducible on its own."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(request.node.nodeid)) % (2**32)
    return np.random.default_rng(seed)
