"""Hypothesis properties of max_pool2d and avg_pool2d against the oracle.

Random shapes, windows (kernel, stride, symmetric, asymmetric, "same" and "valid" padding,
dilation, ceil_mode, count_include_pad, divisor_override), every dtype, both layouts and
strided views (steps, transposes, negative strides) of a storage array whose other elements
hold their own random data. For each case:

- where the oracle rejects the geometry, poolkit raises ValueError too (pools, output_shape,
  pool_cost);
- otherwise max values and indices equal the oracle's, and the average is within the tolerance
  table (exact for integers);
- output_shape() is the real shape and pool_cost()["outputs"] its size;
- every max value is, bit for bit, the input element its index points at (so it is an element
  of the input, NaN included);
- out= is filled and returned;
- the storage (and so the input) is bit for bit unchanged;
- 1 and 3 kernel threads give bitwise identical results.

The default run checks a fixed (derandomized) set of examples; `pytest -m slow` runs thousands.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import poolkit as pk
from conftest import (
    BFLOAT16,
    SUPPORTED_DTYPES,
    assert_avg_close,
    assert_avg_within,
    oracle_avg,
    oracle_max,
    to_nchw,
)

# On a failure Hypothesis's pytest plugin imports libcst to suggest an @example patch; some
# libcst versions then trip mypy_extensions' DeprecationWarning, which the warnings-as-errors
# setting would turn into an INTERNALERROR hiding the failure itself.
pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

DTYPES = SUPPORTED_DTYPES + ((BFLOAT16,) if BFLOAT16 is not None else ())


class Case(NamedTuple):
    dtype: Any
    layout: str
    shape: tuple[int, ...]
    perm: tuple[int, ...]  # storage axis order: x == storage-view.transpose(argsort(perm))
    steps: tuple[int, ...]  # step of each storage axis (negative: reversed)
    data: str
    kernel_size: Any
    stride: Any
    padding: Any
    dilation: Any
    ceil_mode: bool
    count_include_pad: bool
    divisor_override: Any
    use_out: bool
    seed: int


def _per_axis(values: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    """An int, or a tuple of two (both forms are API)."""
    return st.one_of(values, st.tuples(values, values))


_PAD = st.integers(0, 3)
_PADDING = st.one_of(
    _PAD,
    st.tuples(_PAD, _PAD),
    st.tuples(st.tuples(_PAD, _PAD), st.tuples(_PAD, _PAD)),  # asymmetric (before, after)
    st.tuples(_PAD, st.tuples(_PAD, _PAD)),  # one axis symmetric, one asymmetric
    st.sampled_from(["same", "valid"]),
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    dtype = draw(st.sampled_from(DTYPES))
    layout = draw(st.sampled_from(["NCHW", "NHWC"]))
    n_lead = draw(st.integers(1 if layout == "NHWC" else 0, 2))
    # mostly non-empty; a leading axis of size 0 is an empty batch (API.md)
    leading = tuple(draw(st.sampled_from([1, 2, 3, 1, 2, 3, 1, 2, 3, 0])) for _ in range(n_lead))
    h, w = draw(st.integers(1, 13)), draw(st.integers(1, 13))
    if layout == "NCHW":
        shape = leading + (h, w)
    else:
        shape = leading[:-1] + (h, w, leading[-1])
    ndim = len(shape)
    identity = tuple(range(ndim))
    perm = draw(st.one_of(st.just(identity), st.permutations(identity).map(tuple)))
    steps = tuple(draw(st.sampled_from([1, 1, 2, -1, -3])) for _ in range(ndim))
    data = draw(st.sampled_from(["normal", "ties", "special"]))
    stride = draw(st.one_of(st.none(), _per_axis(st.integers(1, 4))))
    return Case(
        dtype=dtype,
        layout=layout,
        shape=shape,
        perm=perm,
        steps=steps,
        data=data,
        kernel_size=draw(_per_axis(st.integers(1, 5))),
        stride=stride,
        padding=draw(_PADDING),
        dilation=draw(st.one_of(st.just(1), _per_axis(st.integers(1, 3)))),
        ceil_mode=draw(st.booleans()),
        count_include_pad=draw(st.booleans()),
        divisor_override=draw(st.one_of(st.none(), st.integers(1, 12))),
        use_out=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def _values(shape: tuple[int, ...], dtype: Any, data: str, rng: np.random.Generator) -> np.ndarray:
    """Random values of `dtype`: normal, with ties, or with the dtype's special values."""
    dtype = np.dtype(dtype)
    floating = dtype.kind == "f" or dtype == BFLOAT16
    if floating:
        if data == "ties":
            v = rng.integers(-4, 5, size=shape) / 2
        else:
            v = rng.standard_normal(shape) * 10
        if data == "special":
            tiny = 2.0**-140 if dtype == np.float32 else 2.0**-20  # subnormal in the dtype
            specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, tiny, -tiny])
            pick = rng.random(shape) < 0.15
            v = np.where(pick, rng.choice(specials, size=shape), v)
        return v.astype(np.float32).astype(dtype)
    info = np.iinfo(dtype)
    if data == "ties":
        low = 0 if dtype.kind == "u" else -3
        return rng.integers(low, low + 7, size=shape).astype(dtype)
    if data == "special":  # the extremes: exact wide sums, rounding and saturation
        ends = [info.min, info.min + 1, info.max - 1, info.max, 0, 1]
        return rng.choice(np.array(ends, dtype=dtype), size=shape)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


def _build(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """(x, storage): x is a strided view of `storage` holding random values of the case."""
    rng = np.random.default_rng(case.seed)
    stored_shape = tuple(case.shape[p] * abs(s) for p, s in zip(case.perm, case.steps))
    storage = _values(stored_shape, case.dtype, case.data, rng)
    view = storage[tuple(slice(None, None, s) for s in case.steps)]
    view[...] = _values(case.shape, case.dtype, case.data, rng).transpose(case.perm)
    x = view.transpose(np.argsort(case.perm))
    assert x.shape == case.shape
    return x, storage


def _window(case: Case) -> dict[str, Any]:
    return dict(kernel_size=case.kernel_size, stride=case.stride, padding=case.padding,
                dilation=case.dilation, ceil_mode=case.ceil_mode)


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(f"u{a.dtype.itemsize}")


def _run(x: np.ndarray, case: Case, n_threads: int) -> tuple[np.ndarray, ...]:
    with pk.threads(n_threads):
        v, i = pk.max_pool2d(x, return_indices=True, layout=case.layout, **_window(case))
        a = pk.avg_pool2d(x, case.kernel_size, case.stride, case.padding, case.ceil_mode,
                          case.count_include_pad, case.divisor_override,
                          dilation=case.dilation, layout=case.layout)
    return v, i, a


def check_case(case: Case) -> None:
    x, storage = _build(case)
    snapshot = storage.copy()
    ref = np.ascontiguousarray(x)
    bf16 = ref.dtype == BFLOAT16
    ref_oracle = ref.astype(np.float32) if bf16 else ref  # bfloat16 -> float32 is exact
    window = _window(case)
    # "same" ignores ceil_mode (API.md); the oracle takes the padding it implies as given
    oracle_window = dict(window, ceil_mode=case.ceil_mode and case.padding != "same")
    cost_args = (case.shape, case.kernel_size, case.stride, case.padding, case.dilation,
                 case.ceil_mode)
    try:
        want_v, want_i = oracle_max(ref_oracle, layout=case.layout, **oracle_window)
    except ValueError:
        event("geometry rejected")
        with pytest.raises(ValueError):
            pk.max_pool2d(x, return_indices=True, layout=case.layout, **window)
        with pytest.raises(ValueError):
            pk.avg_pool2d(x, case.kernel_size, case.stride, case.padding, case.ceil_mode,
                          dilation=case.dilation, layout=case.layout)
        with pytest.raises(ValueError):
            pk.output_shape(*cost_args, layout=case.layout)
        with pytest.raises(ValueError):
            pk.pool_cost(*cost_args, layout=case.layout, mode="avg", dtype=ref.dtype)
        assert _bits(storage).tobytes() == _bits(snapshot).tobytes()
        return

    event("compared" if want_v.size else "compared (empty)")
    shape = pk.output_shape(*cost_args, layout=case.layout)
    assert isinstance(shape, tuple) and shape == want_v.shape
    cost = pk.pool_cost(*cost_args, layout=case.layout, mode="max", dtype=ref.dtype)
    assert cost["outputs"] == want_v.size

    v, i, a = _run(x, case, 1)
    assert v.shape == i.shape == a.shape == shape
    assert v.dtype == a.dtype == ref.dtype and i.dtype == np.int64

    # oracle equality
    np.testing.assert_array_equal(v.astype(np.float32) if bf16 else v, want_v)
    np.testing.assert_array_equal(i, want_i)
    avg_args = (case.kernel_size, case.stride, case.padding, oracle_window["ceil_mode"],
                case.count_include_pad, case.divisor_override)
    if bf16:
        wide = ref.astype(np.float64)
        want_a = oracle_avg(wide, *avg_args, dilation=case.dilation, layout=case.layout)
        scale = oracle_avg(np.abs(wide), *avg_args, dilation=case.dilation, layout=case.layout)
        taps = int(np.prod(np.broadcast_to(case.kernel_size, (2,))))
        assert_avg_within(a, want_a.astype(BFLOAT16), scale, taps)
    else:
        want_a = oracle_avg(ref, *avg_args, dilation=case.dilation, layout=case.layout)
        assert_avg_close(a, want_a, ref, *avg_args, dilation=case.dilation, layout=case.layout)

    # every max value is bit for bit the input element its index points at
    planes = to_nchw(ref, case.layout)
    flat = planes.reshape(planes.shape[:-2] + (planes.shape[-2] * planes.shape[-1],))
    idx = to_nchw(i, case.layout)
    idx = idx.reshape(idx.shape[:-2] + (idx.shape[-2] * idx.shape[-1],))
    assert ((0 <= idx) & (idx < flat.shape[-1])).all()
    gathered = np.take_along_axis(flat, idx, axis=-1)
    got = to_nchw(v, case.layout)
    np.testing.assert_array_equal(_bits(got.reshape(gathered.shape)), _bits(gathered))

    # out= is written in full and returned
    if case.use_out:
        fill = np.array(np.nan if ref.dtype.kind == "f" else 7).astype(ref.dtype)
        out_v = np.full(shape, fill, dtype=ref.dtype)
        out_a = np.full(shape, fill, dtype=ref.dtype)
        got_v = pk.max_pool2d(x, layout=case.layout, out=out_v, **window)
        got_a = pk.avg_pool2d(x, case.kernel_size, case.stride, case.padding, case.ceil_mode,
                              case.count_include_pad, case.divisor_override,
                              dilation=case.dilation, layout=case.layout, out=out_a)
        assert got_v is out_v and got_a is out_a
        assert _bits(out_v).tobytes() == _bits(v).tobytes()
        assert _bits(out_a).tobytes() == _bits(a).tobytes()

    # bitwise identical for 1 and 3 threads
    v3, i3, a3 = _run(x, case, 3)
    assert _bits(v3).tobytes() == _bits(v).tobytes()
    assert i3.tobytes() == i.tobytes()
    assert _bits(a3).tobytes() == _bits(a).tobytes()

    # the input (and everything around it in its storage) is unchanged
    assert _bits(storage).tobytes() == _bits(snapshot).tobytes()


_COMMON = dict(deadline=None, database=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=1500, **_COMMON)
@given(case=cases())
def test_against_oracle(case: Case) -> None:
    check_case(case)


@pytest.mark.slow
@settings(max_examples=20000, **_COMMON)
@given(case=cases())
def test_against_oracle_many(case: Case) -> None:
    check_case(case)
