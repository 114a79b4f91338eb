"""Every invalid input raises ValueError or TypeError naming the argument (API.md), never a
raw pybind11 error, and never modifies the input."""

from __future__ import annotations

import re

import numpy as np
import pytest

import poolkit as pk

RAW_BINDING_WORDS = ("incompatible function arguments", "pybind11", "_core", "std::", "C++")


def _x(shape=(1, 2, 5, 5), dtype=np.float32):
    return np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)


def check_raises(exc, match, fn, *args, **kwargs):
    """`fn` raises `exc` matching `match`; the message is ours, and array arguments survive."""
    arrays = [a for a in (*args, *kwargs.values()) if isinstance(a, np.ndarray)]
    copies = [a.copy() for a in arrays]
    with pytest.raises(exc, match=match) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert not any(word in message for word in RAW_BINDING_WORDS), message
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)
    return info


# --- window arguments ------------------------------------------------------------------------

# (id, keyword arguments for max_pool2d on a (1, 2, 5, 5) input, the argument named)
WINDOW_ERRORS = [
    ("k0", dict(kernel_size=0), "kernel_size"),
    ("k-neg", dict(kernel_size=-1), "kernel_size"),
    ("k-tuple-zero", dict(kernel_size=(2, 0)), "kernel_size"),
    ("s0", dict(kernel_size=2, stride=0), "stride"),
    ("s-tuple-neg", dict(kernel_size=2, stride=(1, -2)), "stride"),
    ("d0", dict(kernel_size=2, dilation=0), "dilation"),
    ("d-tuple-zero", dict(kernel_size=2, dilation=(1, 0)), "dilation"),
    ("p-neg", dict(kernel_size=2, padding=-1), "padding"),
    ("p-tuple-neg", dict(kernel_size=2, padding=(0, -1)), "padding"),
    ("p-pair-neg", dict(kernel_size=2, padding=((0, -1), (0, 0))), "padding"),
    ("k-2e63", dict(kernel_size=2**63), "kernel_size"),
    ("k-1e20", dict(kernel_size=10**20), "kernel_size"),
    ("k-tuple-1e20", dict(kernel_size=(2, 10**20)), "kernel_size"),
    ("s-2e63", dict(kernel_size=2, stride=2**63), "stride"),
    ("s-1e20", dict(kernel_size=2, stride=10**20), "stride"),
    ("p-2e63", dict(kernel_size=2, padding=2**63), "padding"),
    ("p-1e20", dict(kernel_size=2, padding=(0, 10**20)), "padding"),
    ("d-2e63", dict(kernel_size=2, dilation=2**63), "dilation"),
    ("d-1e20", dict(kernel_size=2, dilation=10**20), "dilation"),
    ("k-len3", dict(kernel_size=(2, 2, 2)), "kernel_size"),
    ("k-len1", dict(kernel_size=(2,)), "kernel_size"),
    ("k-empty", dict(kernel_size=()), "kernel_size"),
    ("s-len3", dict(kernel_size=2, stride=(1, 1, 1)), "stride"),
    ("p-len1", dict(kernel_size=2, padding=(1,)), "padding"),
    ("p-pairs-len1", dict(kernel_size=2, padding=((1, 1),)), "padding"),
    ("p-triple", dict(kernel_size=2, padding=((1, 1, 1), (0, 0))), "padding"),
    ("d-len3", dict(kernel_size=2, dilation=(1, 1, 1)), "dilation"),
    ("k-float", dict(kernel_size=2.0), "kernel_size"),
    ("k-np-float", dict(kernel_size=np.float64(2.0)), "kernel_size"),
    ("k-bool", dict(kernel_size=True), "kernel_size"),
    ("k-np-bool", dict(kernel_size=np.True_), "kernel_size"),
    ("k-None", dict(kernel_size=None), "kernel_size"),
    ("k-str", dict(kernel_size="2"), "kernel_size"),
    ("k-tuple-float", dict(kernel_size=(2, 2.0)), "kernel_size"),
    ("k-tuple-bool", dict(kernel_size=(2, True)), "kernel_size"),
    ("s-float", dict(kernel_size=2, stride=1.5), "stride"),
    ("s-bool", dict(kernel_size=2, stride=True), "stride"),
    ("s-str", dict(kernel_size=2, stride="1"), "stride"),
    ("p-float", dict(kernel_size=2, padding=0.5), "padding"),
    ("p-bool", dict(kernel_size=2, padding=True), "padding"),
    ("p-None", dict(kernel_size=2, padding=None), "padding"),
    ("p-tuple-None", dict(kernel_size=2, padding=(0, None)), "padding"),
    ("d-float", dict(kernel_size=2, dilation=1.0), "dilation"),
    ("d-bool", dict(kernel_size=2, dilation=False), "dilation"),
    ("d-None", dict(kernel_size=2, dilation=None), "dilation"),
    ("p-SAME", dict(kernel_size=2, padding="SAME"), "padding"),
    ("p-Same", dict(kernel_size=2, padding="Same"), "padding"),
    ("p-full", dict(kernel_size=2, padding="full"), "padding"),
    ("p-emptystr", dict(kernel_size=2, padding=""), "padding"),
    ("layout-nchw", dict(kernel_size=2, layout="nchw"), "layout"),
    ("layout-NCL", dict(kernel_size=2, layout="NCL"), "layout"),
    ("layout-NLC", dict(kernel_size=2, layout="NLC"), "layout"),
    ("layout-NCDHW", dict(kernel_size=2, layout="NCDHW"), "layout"),
    ("layout-NDHWC", dict(kernel_size=2, layout="NDHWC"), "layout"),
    ("layout-CHW", dict(kernel_size=2, layout="CHW"), "layout"),
    ("layout-nhwc", dict(kernel_size=2, layout="nhwc"), "layout"),
    ("layout-empty", dict(kernel_size=2, layout=""), "layout"),
    # Output size < 1: the kernel is larger than the (padded) input.
    ("k-too-big", dict(kernel_size=6), "kernel_size|output"),
    ("k-dilated-too-big", dict(kernel_size=3, dilation=3), "kernel_size|dilation|output"),
    # The first window would be all padding.
    ("p-whole-window", dict(kernel_size=2, padding=2), "padding|window"),
    ("p-pair-whole-window", dict(kernel_size=3, padding=((3, 0), (0, 0))), "padding|window"),
    # Sizes that fit in int64 but whose arithmetic does not.
    ("k-dilation-overflow", dict(kernel_size=2**62, dilation=2**62), "kernel_size|dilation"),
    ("p-sum-overflow", dict(kernel_size=2, padding=2**62 + 2**61), "padding|window"),
]


@pytest.mark.parametrize("kwargs, name", [pytest.param(kw, n, id=i) for i, kw, n in WINDOW_ERRORS])
def test_max_pool2d_window_errors(kwargs, name):
    check_raises(ValueError, name, pk.max_pool2d, _x(), **kwargs)


@pytest.mark.parametrize("kwargs, name", [pytest.param(kw, n, id=i) for i, kw, n in WINDOW_ERRORS])
def test_avg_pool2d_window_errors(kwargs, name):
    check_raises(ValueError, name, pk.avg_pool2d, _x(), **kwargs)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        pytest.param(kw, n, id=i)
        for i, kw, n in WINDOW_ERRORS
        if kw.get("layout") not in ("NCL", "NLC", "NCDHW", "NDHWC")
    ],
)
def test_output_shape_window_errors(kwargs, name):
    # output_shape accepts the 1-d and 3-d layout names, which change the number of axes
    check_raises(ValueError, name, pk.output_shape, (1, 2, 5, 5), **kwargs)


@pytest.mark.parametrize(
    "kwargs, name", [pytest.param(kw, n, id=i) for i, kw, n in WINDOW_ERRORS[:30]]
)
def test_layer_window_errors(kwargs, name):
    """Layers raise the same errors, at construction or at the first call."""
    kwargs = dict(kwargs)
    k = kwargs.pop("kernel_size")
    with pytest.raises(ValueError, match=name):
        pk.MaxPool2d(k, **kwargs)(_x())
    with pytest.raises(ValueError, match=name):
        pk.AvgPool2d(k, **kwargs)(_x())


def test_message_names_the_value_given():
    info = check_raises(ValueError, "stride", pk.max_pool2d, _x(), 2, stride=-3)
    assert "-3" in str(info.value)
    info = check_raises(ValueError, "kernel_size", pk.max_pool2d, _x(), (2, 17))
    assert "17" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        pytest.param(dict(ceil_mode="yes"), "ceil_mode", id="ceil_mode-str"),
        pytest.param(dict(ceil_mode=[True]), "ceil_mode", id="ceil_mode-list"),
        pytest.param(dict(ceil_mode=None), "ceil_mode", id="ceil_mode-None"),
        pytest.param(dict(return_indices="no"), "return_indices", id="return_indices-str"),
        pytest.param(dict(return_indices=(1,)), "return_indices", id="return_indices-tuple"),
    ],
)
def test_max_pool2d_flag_types(kwargs, name):
    check_raises((TypeError, ValueError), name, pk.max_pool2d, _x(), 2, **kwargs)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        pytest.param(dict(ceil_mode="yes"), "ceil_mode", id="ceil_mode-str"),
        pytest.param(dict(count_include_pad="no"), "count_include_pad", id="count_include_pad-str"),
        pytest.param(
            dict(count_include_pad=None), "count_include_pad", id="count_include_pad-None"
        ),
    ],
)
def test_avg_pool2d_flag_types(kwargs, name):
    check_raises((TypeError, ValueError), name, pk.avg_pool2d, _x(), 2, **kwargs)


@pytest.mark.parametrize(
    "value",
    [0, -1, -4, 2.0, 1.5, True, False, np.True_, "2", 2**63, (2, 2)],
    ids=lambda v: f"{type(v).__name__}-{v!r}",
)
def test_divisor_override(value):
    check_raises(ValueError, "divisor_override", pk.avg_pool2d, _x(), 2, divisor_override=value)


# --- the input array ----------------------------------------------------------------------------

INPUT_ERRORS = [
    ("1d", np.zeros(5, np.float32), {}, r"\bx\b|input"),
    ("0d", np.float32(3.0), {}, r"\bx\b|input"),
    ("0d-array", np.zeros((), np.float32), {}, r"\bx\b|input"),
    ("nhwc-2d", np.zeros((5, 5), np.float32), {"layout": "NHWC"}, r"\bx\b|input"),
    ("nhwc-1d", np.zeros(5, np.float32), {"layout": "NHWC"}, r"\bx\b|input"),
    ("empty-H", np.zeros((1, 1, 0, 5), np.float32), {}, r"\bx\b|input|spatial|axis"),
    ("empty-W", np.zeros((1, 1, 5, 0), np.float32), {}, r"\bx\b|input|spatial|axis"),
    ("empty-HW", np.zeros((0, 0), np.float32), {}, r"\bx\b|input|spatial|axis"),
    ("nhwc-empty-H", np.zeros((2, 0, 5, 3), np.float32), {"layout": "NHWC"},
     r"\bx\b|input|spatial|axis"),
    ("nhwc-empty-W", np.zeros((5, 0, 3), np.float32), {"layout": "NHWC"},
     r"\bx\b|input|spatial|axis"),
    # A dilated window stepping over a short axis holds no input element (H=1, k=2, d=2, p=1).
    ("empty-window", np.zeros((1, 1, 1, 5), np.float32), {"dilation": 2, "padding": 1},
     r"window|axis|\bH\b|height"),
    ("empty-window-nhwc", np.zeros((1, 1, 5, 2), np.float32),
     {"dilation": 2, "padding": 1, "layout": "NHWC"}, r"window|axis|\bH\b|height"),
]


@pytest.mark.parametrize(
    "x, kwargs, match", [pytest.param(x, kw, m, id=i) for i, x, kw, m in INPUT_ERRORS]
)
@pytest.mark.parametrize("fn", [pk.max_pool2d, pk.avg_pool2d], ids=["max", "avg"])
def test_bad_input_shapes(fn, x, kwargs, match):
    check_raises(ValueError, match, fn, x, 2, **kwargs)


def test_empty_window_with_output_shape():
    check_raises(ValueError, r"window|axis|\bH\b|height", pk.output_shape, (1, 1, 1, 5), 2,
                 dilation=2, padding=1)


UNSUPPORTED = [
    np.bool_, np.complex64, np.complex128, np.object_, np.uint32, np.uint64,
    "U3", "S3", "datetime64[s]", "timedelta64[s]",
]
if np.dtype(np.longdouble) != np.dtype(np.float64):
    UNSUPPORTED.append(np.longdouble)


def _dtype_pattern(dtype):
    dtype = np.dtype(dtype)
    words = {dtype.name, str(dtype), dtype.str}
    if dtype.kind == "O":
        words.add("object")
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


@pytest.mark.parametrize("dtype", UNSUPPORTED, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("fn", [pk.max_pool2d, pk.avg_pool2d], ids=["max", "avg"])
def test_unsupported_dtype(fn, dtype):
    x = np.zeros((1, 1, 4, 4), dtype=dtype)
    info = check_raises(TypeError, _dtype_pattern(dtype), fn, x, 2)
    message = str(info.value)
    for supported in ("float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "int64"):
        assert supported in message, message


@pytest.mark.parametrize("dtype", UNSUPPORTED[:4], ids=lambda t: np.dtype(t).name)
def test_unsupported_dtype_pool_cost(dtype):
    check_raises(TypeError, _dtype_pattern(dtype), pk.pool_cost, (1, 1, 4, 4), 2,
                 dtype=np.dtype(dtype).name)


@pytest.mark.parametrize(
    "x", [None, object(), "abc", b"abc", {"a": 1}],
    ids=["None", "object", "str", "bytes", "dict"],
)
def test_non_arrays_get_a_clean_error(x):
    with pytest.raises((TypeError, ValueError)) as info:
        pk.max_pool2d(x, 2)
    assert not any(word in str(info.value) for word in RAW_BINDING_WORDS), str(info.value)


# --- out= -------------------------------------------------------------------------------------


def _bad_outs():
    x = _x()  # (1, 2, 5, 5), kernel 2 -> (1, 2, 2, 2)
    buf = np.zeros(64, dtype=np.float32)
    read_only = np.zeros((1, 2, 2, 2), np.float32)
    read_only.flags.writeable = False
    return [
        ("wrong-shape", x, np.zeros((1, 2, 3, 3), np.float32)),
        ("wrong-ndim", x, np.zeros((2, 2, 2), np.float32)),
        ("wrong-dtype", x, np.zeros((1, 2, 2, 2), np.float64)),
        ("wrong-int-dtype", x.astype(np.int32), np.zeros((1, 2, 2, 2), np.int64)),
        ("non-contiguous", x, np.zeros((1, 2, 2, 4), np.float32)[..., ::2]),
        ("fortran", x, np.asfortranarray(np.zeros((1, 2, 2, 2), np.float32))),
        ("transposed", x, np.zeros((1, 2, 2, 2), np.float32).transpose(0, 1, 3, 2)),
        ("read-only", x, read_only),
        ("same-as-input", x, None),  # filled below: out is x itself with kernel 1
        ("overlap", buf[:50].reshape(1, 2, 5, 5), buf[44:52].reshape(1, 2, 2, 2)),
        ("list", x, [[[[0.0] * 2] * 2] * 2]),
        ("tuple", x, ((0.0,),)),
        ("memoryview", x, memoryview(np.zeros((1, 2, 2, 2), np.float32))),
    ]


@pytest.mark.parametrize("case", range(len(_bad_outs())), ids=[c[0] for c in _bad_outs()])
@pytest.mark.parametrize("fn", [pk.max_pool2d, pk.avg_pool2d], ids=["max", "avg"])
def test_bad_out(fn, case):
    name, x, out = _bad_outs()[case]
    kernel = 2
    if name == "same-as-input":
        out, kernel = x, 1
    # API.md: anything but an exact, writeable, C-contiguous, non-overlapping array is a
    # ValueError; a non-array may also be a TypeError.
    exc = ValueError if isinstance(out, np.ndarray) else (TypeError, ValueError)
    check_raises(exc, r"\bout\b", fn, x, kernel, out=out)


def test_bad_out_nhwc_needs_nhwc_shape():
    x = np.zeros((1, 5, 5, 2), np.float32)
    check_raises(ValueError, r"\bout\b", pk.max_pool2d, x, 2, layout="NHWC",
                 out=np.zeros((1, 2, 2, 2 + 1), np.float32))
    nchw_view = np.zeros((1, 2, 2, 2), np.float32).transpose(0, 2, 3, 1)
    check_raises(ValueError, r"\bout\b", pk.max_pool2d, x, 2, layout="NHWC", out=nchw_view)


def test_bad_out_with_return_indices():
    check_raises(ValueError, r"\bout\b", pk.max_pool2d, _x(), 2, return_indices=True,
                 out=np.zeros((1, 2, 2, 2), np.float64))


# --- pool2d, pool_cost ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["MAX", "mean", "sum", "min", "", None, 1], ids=repr)
def test_pool2d_mode(mode):
    exc = ValueError if isinstance(mode, str) else (TypeError, ValueError)
    check_raises(exc, "mode", pk.pool2d, np.zeros((3, 3), np.float32), (2, 2), mode)


@pytest.mark.parametrize("mode", ["MAX", "mean", "lp", None], ids=repr)
def test_pool_cost_mode(mode):
    exc = ValueError if isinstance(mode, str) else (TypeError, ValueError)
    check_raises(exc, "mode", pk.pool_cost, (1, 1, 4, 4), 2, mode=mode)


def test_output_shape_input_shape_errors():
    check_raises(ValueError, "input_shape", pk.output_shape, (5,), 2)
    check_raises(ValueError, "input_shape", pk.output_shape, (1, 1, 0, 5), 2)
    check_raises(ValueError, "input_shape", pk.output_shape, (1, 1, -3, 5), 2)
    check_raises(ValueError, "input_shape", pk.output_shape, (5, 5), 2, layout="NHWC")


# --- the input is never modified ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.uint16, np.int64],
                         ids=lambda t: np.dtype(t).name)
def test_input_never_modified(dtype):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((2, 3, 9, 8)) * 50).astype(dtype)
    if x.dtype.kind == "f":
        x[0, 0, 0, 0] = np.nan
        x[1, 2, 3, 4] = -np.inf
    before = x.copy()
    for args in [(2,), (3, 2, 1), (3, 1, "same", 2), ((2, 3), (2, 1), ((0, 1), (1, 0)))]:
        pk.max_pool2d(x, *args)
        pk.max_pool2d(x, *args, return_indices=True)
        pk.avg_pool2d(x, *args[:3])
        pk.avg_pool2d(x, *args[:3], ceil_mode=True, count_include_pad=False, divisor_override=3)
        pk.max_pool2d(x[:, :, ::-1], *args)
    pk.pool2d(x[0, 0], (2, 2), "avg")
    pk.MaxPool2d(3, 2, 1)(x)
    np.testing.assert_array_equal(x, before)
    assert x.flags.writeable
