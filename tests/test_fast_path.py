"""The call cache: a repeated call skips validation only when it is the same call on an input
laid out the same way; every other call is validated (and answered) as if it came first."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import poolkit as pk
from poolkit import _args
from conftest import assert_avg_close, oracle_avg, oracle_max


@pytest.fixture(autouse=True)
def empty_cache():
    _args.PREPARED.clear()
    yield
    _args.PREPARED.clear()


def _data(shape: tuple[int, ...], dtype: Any = np.float32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-50, 50, size=shape).astype(dtype)


def _check(x: np.ndarray, **window: Any) -> None:
    """Max with and without indices, and average, twice each (a miss, then a hit)."""
    ref = np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("="))
    want_v, want_i = oracle_max(ref, **window)
    want_a = oracle_avg(ref, **window)
    for _ in range(2):
        np.testing.assert_array_equal(pk.max_pool2d(x, **window), want_v)
        v, i = pk.max_pool2d(x, return_indices=True, **window)
        np.testing.assert_array_equal(v, want_v)
        np.testing.assert_array_equal(i, want_i)
        assert_avg_close(pk.avg_pool2d(x, **window), want_a, ref, window["kernel_size"],
                         window.get("stride"), window.get("padding", 0))


def test_repeated_calls_are_cached_and_exact():
    x = _data((2, 3, 9, 8))
    _check(x, kernel_size=3, stride=2, padding=1)
    assert len(_args.PREPARED) == 1  # max and avg share the plan of one signature
    _check(x, kernel_size=(2, 3), stride=(1, 2), padding=(1, 0))
    assert len(_args.PREPARED) == 2


def test_new_data_of_the_same_layout_hits_and_is_pooled():
    for seed in range(3):
        _check(_data((1, 2, 7, 7), seed=seed), kernel_size=3)
    assert len(_args.PREPARED) == 1


@pytest.mark.parametrize("make", [
    pytest.param(lambda a: a.transpose(0, 1, 3, 2), id="transposed"),
    pytest.param(lambda a: a[:, :, ::2, ::-1], id="strided-reversed"),
    pytest.param(lambda a: a.astype(a.dtype.newbyteorder(">")), id="big-endian"),
    pytest.param(lambda a: a.astype(np.float64), id="other-dtype"),
])
def test_other_layouts_of_the_same_shape_are_not_confused(make):
    base = _data((2, 2, 8, 8))
    x = make(_data((2, 2, 8, 8), seed=1))
    for a in (base, x, base, x):
        _check(a, kernel_size=2, stride=1)


def test_unaligned_input_with_a_cached_signature_takes_the_general_path():
    x = _data((1, 2, 6, 6))
    _check(x, kernel_size=2)
    raw = np.zeros(x.nbytes + 1, dtype=np.uint8)
    unaligned = raw[1:].view(x.dtype).reshape(x.shape)
    unaligned[...] = x[..., ::-1]
    assert not unaligned.flags.aligned and unaligned.strides == x.strides
    _check(unaligned, kernel_size=2)


@pytest.mark.parametrize("call, match", [
    (lambda x: pk.max_pool2d(x, 2.0), "kernel_size"),
    (lambda x: pk.max_pool2d(x, (2.0, 2)), "kernel_size"),
    (lambda x: pk.max_pool2d(x, True), "kernel_size"),
    (lambda x: pk.max_pool2d(x, 2, 2.0), "stride"),
    (lambda x: pk.max_pool2d(x, 2, padding=0.0), "padding"),
    (lambda x: pk.max_pool2d(x, 2, dilation=1.0), "dilation"),
    (lambda x: pk.max_pool2d(x, 2, ceil_mode="no"), "ceil_mode"),
    (lambda x: pk.max_pool2d(x, 2, return_indices="yes"), "return_indices"),
    (lambda x: pk.avg_pool2d(x, 2, count_include_pad=2), "count_include_pad"),
    (lambda x: pk.avg_pool2d(x, 2, divisor_override=0), "divisor_override"),
    (lambda x: pk.avg_pool2d(x, 2, divisor_override=2**63), "divisor_override"),
    (lambda x: pk.avg_pool2d(x, 2, divisor_override=2.0), "divisor_override"),
    (lambda x: pk.max_pool2d(x, 2, out=np.empty((1, 2, 2, 2), np.float32)), "out"),
])
def test_bad_arguments_raise_even_after_the_good_call_is_cached(call, match):
    x = _data((1, 2, 6, 6))
    pk.max_pool2d(x, 2, 2, 0, 1, False, False)
    pk.avg_pool2d(x, 2, 2, 0, False, True, None)
    assert _args.PREPARED
    with pytest.raises((ValueError, TypeError), match=match):
        call(x)


def test_equal_arguments_of_other_accepted_types_give_the_same_result():
    x = _data((1, 2, 6, 6))
    want = pk.max_pool2d(x, 2)
    np.testing.assert_array_equal(pk.max_pool2d(x, [2, 2]), want)
    np.testing.assert_array_equal(pk.max_pool2d(x, np.int64(2)), want)
    np.testing.assert_array_equal(pk.max_pool2d(x, 2, return_indices=0), want)
    assert_avg_close(pk.avg_pool2d(x, 2, divisor_override=3), oracle_avg(x, 2, divisor_override=3),
                     x, 2, divisor_override=3)
    assert_avg_close(pk.avg_pool2d(x, 2, divisor_override=3), oracle_avg(x, 2, divisor_override=3),
                     x, 2, divisor_override=3)


def test_cache_stays_bounded():
    x = _data((1, 1, 4, 4))
    for k in range(1, 5):
        for s in range(1, 200):
            pk.max_pool2d(x, k, s)
    assert 0 < len(_args.PREPARED) <= 512


def test_out_and_channels_last_still_work_after_a_hit():
    x = _data((2, 6, 5, 3))
    want = oracle_max(x, 2, layout="NHWC")[0]
    np.testing.assert_array_equal(pk.max_pool2d(x, 2, layout="NHWC"), want)
    out = np.empty(want.shape, np.float32)
    assert pk.max_pool2d(x, 2, layout="NHWC", out=out) is out
    np.testing.assert_array_equal(out, want)
