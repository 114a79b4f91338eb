"""Geometry: `output_shape`, `"same"`/`"valid"`, and `pool_cost` against brute force."""

from __future__ import annotations

import numpy as np
import pytest

import poolkit as pk
from conftest import (
    axis_length,
    axis_windows,
    geometry_valid,
    layout_shape,
    normalise,
    window_id,
)
from reference import output_length


def random_config(rng: np.random.Generator):
    """One random 2-d pooling call: (input shape, layout, keyword arguments)."""
    layout = str(rng.choice(["NCHW", "NHWC"]))
    n_leading = int(rng.integers(0 if layout == "NCHW" else 1, 4))
    leading = tuple(int(v) for v in rng.integers(1, 4, size=n_leading))
    h, w = (int(v) for v in rng.integers(1, 13, size=2))
    k = tuple(int(v) for v in rng.integers(1, 6, size=2))
    kwargs = {
        "kernel_size": k if rng.random() < 0.5 else k[0],
        "stride": None if rng.random() < 0.2 else tuple(int(v) for v in rng.integers(1, 5, size=2)),
        "dilation": 1 if rng.random() < 0.4 else tuple(int(v) for v in rng.integers(1, 4, size=2)),
        "ceil_mode": bool(rng.random() < 0.5),
    }
    choice = rng.integers(0, 5)
    if choice == 0:
        kwargs["padding"] = int(rng.integers(0, 3))
    elif choice == 1:
        kwargs["padding"] = tuple(int(v) for v in rng.integers(0, 4, size=2))
    elif choice == 2:
        kwargs["padding"] = tuple(
            (int(a), int(b)) for a, b in rng.integers(0, 4, size=(2, 2))
        )
    else:
        kwargs["padding"] = "same" if choice == 3 else "valid"
    return layout_shape(leading, h, w, layout), layout, kwargs


def expected_shape(shape, layout, kwargs):
    """Output shape from the brute-force geometry, or None where the call must fail."""
    hw = (shape[-2], shape[-1]) if layout == "NCHW" else (shape[-3], shape[-2])
    k, s, pads, d = normalise(hw, kwargs["kernel_size"], kwargs["stride"], kwargs["padding"],
                              kwargs["dilation"])
    ceil_mode = kwargs["ceil_mode"] and kwargs["padding"] != "same"
    if not geometry_valid(hw, k, s, pads, d, ceil_mode):
        return None
    out = [axis_length(hw[i], k[i], s[i], pads[i][0], pads[i][1], d[i], ceil_mode) for i in (0, 1)]
    for i in (0, 1):
        assert output_length(hw[i], k[i], s[i], pads[i][0], pads[i][1], d[i], ceil_mode) == out[i]
    if layout == "NCHW":
        return tuple(shape[:-2]) + tuple(out)
    return tuple(shape[:-3]) + tuple(out) + (shape[-1],)


def check_config(shape, layout, kwargs):
    x = np.zeros(shape, dtype=np.float32)
    want = expected_shape(shape, layout, kwargs)
    avg_kwargs = dict(kwargs)
    if want is None:
        with pytest.raises(ValueError):
            pk.output_shape(shape, layout=layout, **kwargs)
        with pytest.raises(ValueError):
            pk.max_pool2d(x, layout=layout, **kwargs)
        with pytest.raises(ValueError):
            pk.avg_pool2d(x, layout=layout, **avg_kwargs)
        return False
    got = pk.output_shape(shape, layout=layout, **kwargs)
    assert isinstance(got, tuple) and all(isinstance(v, int) for v in got), got
    assert got == want, (shape, layout, kwargs)
    assert pk.max_pool2d(x, layout=layout, **kwargs).shape == want
    values, indices = pk.max_pool2d(x, layout=layout, return_indices=True, **kwargs)
    assert values.shape == indices.shape == want
    assert pk.avg_pool2d(x, layout=layout, **avg_kwargs).shape == want
    return True


def sweep(seed, count):
    rng = np.random.default_rng(seed)
    valid = sum(check_config(*random_config(rng)) for _ in range(count))
    # The sweep must exercise both outcomes to mean anything.
    assert 0.3 * count < valid < count


def test_output_shape_random_sweep():
    sweep(20240601, 250)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_output_shape_random_sweep_long(seed):
    sweep(seed, 1000)


SHAPE_CASES = [
    ((1, 1, 4, 4), "NCHW", dict(kernel_size=3)),
    ((1, 1, 4, 4), "NCHW", dict(kernel_size=3, stride=2, padding=1)),
    ((1, 1, 4, 4), "NCHW", dict(kernel_size=(2, 3), stride=(2, 3), padding=(0, 1))),
    ((5, 7), "NCHW", dict(kernel_size=2, stride=1)),
    ((3, 5, 7), "NCHW", dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((2, 3, 4, 10, 11), "NCHW", dict(kernel_size=(3, 2), stride=(2, 3), padding=((1, 0), (0, 1)))),
    ((0, 3, 8, 8), "NCHW", dict(kernel_size=2)),
    ((8, 9, 3), "NHWC", dict(kernel_size=3, padding="same", stride=2)),
    ((2, 8, 9, 4), "NHWC", dict(kernel_size=2, dilation=2, padding="valid")),
    ((2, 2, 8, 9, 4), "NHWC", dict(kernel_size=3, padding=2, stride=1)),
    ((1, 6, 6, 0), "NHWC", dict(kernel_size=2)),
]


@pytest.mark.parametrize(
    "shape, layout, kwargs",
    SHAPE_CASES,
    ids=[
        f"{'x'.join(map(str, s))}-{lay}-" + window_id(kw["kernel_size"], kw.get("stride"),
                                                     kw.get("padding", 0), kw.get("dilation", 1),
                                                     "ceil" if kw.get("ceil_mode") else "")
        for s, lay, kw in SHAPE_CASES
    ],
)
def test_output_shape_matches_output(shape, layout, kwargs):
    kwargs = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, **kwargs}
    assert check_config(shape, layout, kwargs)


def test_output_shape_defaults_and_list_input():
    assert pk.output_shape([2, 3, 9, 9], 3) == (2, 3, 3, 3)
    assert pk.output_shape((2, 3, 9, 9), 3, None, 0, 1, False) == (2, 3, 3, 3)
    assert pk.output_shape((2, 9, 9, 3), 3, layout="NHWC") == (2, 3, 3, 3)


SAME_CASES = [
    (length, k, s, d)
    for length in (1, 2, 5, 8, 13)
    for k in (1, 2, 3, 4, 7)
    for s in (1, 2, 3)
    for d in (1, 2)
]


@pytest.mark.parametrize(
    "length, k, s, d", SAME_CASES, ids=[f"L{a}-k{b}-s{c}-d{e}" for a, b, c, e in SAME_CASES]
)
def test_same_gives_ceil_length_over_stride(length, k, s, d):
    shape = (2, length, 6)
    pads = normalise((length, 6), (k, 1), (s, 1), "same", (d, 1))[2]
    if not geometry_valid((length, 6), (k, 1), (s, 1), pads, (d, 1), False):
        # Dilation stepped over the short axis: API.md's error, never a wrong length.
        with pytest.raises(ValueError):
            pk.output_shape(shape, (k, 1), stride=(s, 1), padding="same", dilation=(d, 1))
        return
    want = (2, -(-length // s), 6)
    for ceil_mode in (False, True):  # ceil_mode has no effect with "same"
        assert pk.output_shape(shape, (k, 1), stride=(s, 1), padding="same", dilation=(d, 1),
                               ceil_mode=ceil_mode) == want
    x = np.zeros(shape, dtype=np.float64)
    assert pk.max_pool2d(x, (k, 1), stride=(s, 1), padding="same", dilation=(d, 1)).shape == want


def test_valid_is_zero_padding():
    for shape, k, s in [((7, 9), 3, 2), ((4, 4), 2, 1), ((10, 3), (4, 3), (3, 1))]:
        assert pk.output_shape(shape, k, s, "valid") == pk.output_shape(shape, k, s, 0)


# --- pool_cost ---------------------------------------------------------------------------


def brute_window_reads(shape, layout, kernel_size, stride, padding, dilation, ceil_mode):
    hw = (shape[-2], shape[-1]) if layout == "NCHW" else (shape[-3], shape[-2])
    k, s, pads, d = normalise(hw, kernel_size, stride, padding, dilation)
    if padding == "same":
        ceil_mode = False
    rows = axis_windows(hw[0], k[0], s[0], pads[0][0], pads[0][1], d[0], ceil_mode)
    cols = axis_windows(hw[1], k[1], s[1], pads[1][0], pads[1][1], d[1], ceil_mode)
    per_plane = sum(len(ys) * len(xs) for ys in rows for xs in cols)
    n_planes = int(np.prod(shape)) // (hw[0] * hw[1])
    return per_plane * n_planes, n_planes * len(rows) * len(cols)


COST_CASES = [
    ((1, 1, 4, 4), "NCHW", 3, None, 0, 1, False),
    ((1, 1, 4, 4), "NCHW", 3, 2, 1, 1, False),
    ((2, 3, 9, 10), "NCHW", (2, 3), (2, 3), (0, 1), 1, False),
    ((2, 3, 9, 10), "NCHW", 3, 2, 0, 1, True),
    ((4, 11, 12), "NCHW", 3, 1, 2, 2, False),
    ((11, 12), "NCHW", (3, 2), (2, 1), ((1, 0), (0, 1)), (1, 2), True),
    ((2, 9, 10, 3), "NHWC", 3, 2, "same", 1, False),
    ((9, 10, 5), "NHWC", 2, 1, "valid", 2, False),
    ((2, 2, 3, 17, 5), "NCHW", (5, 1), (3, 1), (2, 0), 1, True),
]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "uint16", "int64"])
@pytest.mark.parametrize(
    "shape, layout, k, s, p, d, ceil_mode",
    COST_CASES,
    ids=[
        f"{'x'.join(map(str, c[0]))}-{c[1]}-" + window_id(*c[2:6], "ceil" if c[6] else "")
        for c in COST_CASES
    ],
)
def test_pool_cost(shape, layout, k, s, p, d, ceil_mode, dtype, mode):
    cost = pk.pool_cost(shape, k, s, p, d, ceil_mode, mode=mode, dtype=dtype, layout=layout)
    assert {"outputs", "window_reads", "bytes_min", "algorithm", "flops"} <= set(cost)
    reads, outputs = brute_window_reads(shape, layout, k, s, p, d, ceil_mode)
    out_shape = pk.output_shape(shape, k, s, p, d, ceil_mode, layout=layout)
    assert cost["outputs"] == outputs == int(np.prod(out_shape))
    assert cost["window_reads"] == reads
    itemsize = np.dtype(dtype).itemsize
    assert cost["bytes_min"] == (int(np.prod(shape)) + outputs) * itemsize
    assert isinstance(cost["algorithm"], str) and cost["algorithm"]
    assert isinstance(cost["flops"], (int, float)) and not isinstance(cost["flops"], bool)
    assert cost["flops"] >= 0


def test_pool_cost_defaults():
    shape = (2, 3, 8, 8)
    assert pk.pool_cost(shape, 2) == pk.pool_cost(shape, 2, None, 0, 1, False, mode="max",
                                                  dtype="float32", layout="NCHW")
    cost = pk.pool_cost(shape, 2)
    assert cost["bytes_min"] == (2 * 3 * 64 + 2 * 3 * 16) * 4
    assert cost["window_reads"] == 2 * 3 * 16 * 4


@pytest.mark.parametrize(
    "k, s, want",
    [(4, 1, "separable"), (5, 1, "separable"), (7, 1, "separable"), ((3, 7), (1, 2), "separable"),
     (3, 1, "direct"), (2, 2, "direct"), (3, 2, "direct"), (2, 1, "direct"), ((1, 5), 1, "direct"),
     ((5, 1), 1, "direct")],
    ids=lambda v: str(v).replace(" ", ""),
)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_cost_algorithm(k, s, want, mode):
    """Separable where overlapping windows make it read at most 60% of the direct taps; its
    flops count each input row's W windows once plus each output's column of row results."""
    shape = (2, 3, 20, 24)
    cost = pk.pool_cost(shape, k, s, mode=mode)
    assert cost["algorithm"] == want
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (s, s) if isinstance(s, int) else s
    rows = axis_windows(20, kh, sh, 0, 0, 1, False)
    cols = axis_windows(24, kw, sw, 0, 0, 1, False)
    planes = 6
    outputs = planes * len(rows) * len(cols)
    direct = planes * sum(len(ys) * len(xs) for ys in rows for xs in cols)
    if want == "direct":
        ops = direct
    else:
        ops = planes * (20 * sum(map(len, cols)) + len(cols) * sum(map(len, rows)))
        assert ops < direct
    assert cost["flops"] == ops + (outputs if mode == "avg" else 0)


@pytest.mark.parametrize("channels, want", [(1, "separable"), (3, "direct"), (15, "direct"),
                                            (16, "separable"), (64, "separable")])
def test_pool_cost_algorithm_channels_last(channels, want):
    """Channels-last sites of 2 to 15 channels stay direct: the separable second pass would run
    on lanes of a few channels each."""
    cost = pk.pool_cost((2, 20, 24, channels), 7, 1, 3, layout="NHWC")
    assert cost["algorithm"] == want
    assert pk.pool_cost((2, channels, 20, 24), 7, 1, 3)["algorithm"] == "separable"
