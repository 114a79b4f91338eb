"""Any memory layout of the input gives the oracle's answer on its contiguous copy."""

from __future__ import annotations

import numpy as np
import pytest

import poolkit as pk
from conftest import assert_avg_close, dtype_id, oracle_avg, oracle_max

# (kernel_size, stride, padding, dilation, ceil_mode)
CALLS = [
    (2, None, 0, 1, False),
    (3, 2, 1, 1, True),
    ((2, 3), (1, 2), ((0, 1), (1, 1)), (2, 1), False),
    (3, 1, "same", 1, False),
]
CALL_IDS = ["k2-sdef-p0-d1", "k3-s2-p1-d1-ceil", "k2x3-s1x2-p0:1x1:1-d2x1", "k3-s1-psame-d1"]


def _base(rng, shape=(3, 4, 11, 12), dtype=np.float32):
    return (rng.standard_normal(shape) * 10).astype(dtype)


def check(x, layout="NCHW", calls=CALLS):
    """poolkit on `x` equals the oracle on a C-contiguous, native-order copy of it."""
    ref = np.ascontiguousarray(np.asarray(x))
    ref = ref.astype(ref.dtype.newbyteorder("="))
    snapshot = ref.copy()
    for k, s, p, d, ceil in calls:
        v, i = pk.max_pool2d(x, k, s, p, d, ceil, True, layout=layout)
        want_v, want_i = oracle_max(ref, k, s, p, d, ceil, layout)
        assert isinstance(v, np.ndarray) and isinstance(i, np.ndarray)
        assert v.dtype.kind == ref.dtype.kind and v.dtype.itemsize == ref.dtype.itemsize
        np.testing.assert_array_equal(v, want_v)
        np.testing.assert_array_equal(i, want_i)
        # Without indices, channels-first planes a constant stride apart (step-channels,
        # negative-all, broadcast) are pooled as the slices of one plane.
        np.testing.assert_array_equal(pk.max_pool2d(x, k, s, p, d, ceil, layout=layout), want_v)
        a = pk.avg_pool2d(x, k, s, p, ceil, dilation=d, layout=layout)
        want_a = oracle_avg(ref, k, s, p, ceil, dilation=d, layout=layout)
        assert_avg_close(a.astype(ref.dtype), want_a, ref, k, s, p, ceil, dilation=d,
                         layout=layout)
    np.testing.assert_array_equal(np.asarray(x), snapshot)


VIEWS = {
    "step-h": lambda b: b[:, :, ::2, :],
    "step-hw": lambda b: b[:, :, 1::2, ::3],
    "step-channels": lambda b: b[:, ::2],
    "step-batch-and-w": lambda b: b[::2, :, :, 1:-1:2],
    "transpose-hw": lambda b: b.transpose(0, 1, 3, 2),
    "transpose-all": lambda b: b.transpose(3, 2, 1, 0),
    "negative-h": lambda b: b[:, :, ::-1, :],
    "negative-hw": lambda b: b[:, :, ::-1, ::-1],
    "negative-all": lambda b: b[::-1, ::-1, ::-1, ::-1],
    "negative-step-w": lambda b: b[..., ::-2],
    "fortran": np.asfortranarray,
    "sliced-window": lambda b: b[1:, 1:3, 2:9, 3:11],
    "broadcast": lambda b: np.broadcast_to(b[:1, :1], (2, 3) + b.shape[2:]),
    "broadcast-row": lambda b: np.broadcast_to(b[0, 0, :1, :], (2, 2, 5, b.shape[3])),
}


@pytest.mark.parametrize("view", list(VIEWS.values()), ids=list(VIEWS))
def test_nchw_views(view, rng):
    x = view(_base(rng))
    assert not x.flags.c_contiguous
    check(x)


NHWC_VIEWS = {
    "from-nchw-transpose": lambda b: b.transpose(0, 2, 3, 1),
    "step-channels": lambda b: np.ascontiguousarray(b.transpose(0, 2, 3, 1))[..., ::2],
    "step-hw": lambda b: np.ascontiguousarray(b.transpose(0, 2, 3, 1))[:, ::2, 1::2, :],
    "negative-channels": lambda b: np.ascontiguousarray(b.transpose(0, 2, 3, 1))[..., ::-1],
    "negative-w": lambda b: np.ascontiguousarray(b.transpose(0, 2, 3, 1))[:, :, ::-1, :],
    "fortran": lambda b: np.asfortranarray(b.transpose(0, 2, 3, 1)),
    "single-channel-view": lambda b: np.ascontiguousarray(b.transpose(0, 2, 3, 1))[..., 1:2],
}


@pytest.mark.parametrize("view", list(NHWC_VIEWS.values()), ids=list(NHWC_VIEWS))
def test_nhwc_views(view, rng):
    x = view(_base(rng))
    assert not x.flags.c_contiguous
    check(x, "NHWC")


@pytest.mark.parametrize("dtype", [">f2", ">f4", ">f8", ">i2", ">u2", ">i4", ">i8"])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_big_endian(dtype, layout, rng):
    x = (rng.standard_normal((2, 3, 7, 8)) * 100).astype(dtype)
    assert x.dtype.byteorder == ">"
    check(x, layout)


@pytest.mark.parametrize(
    "dtype", [np.float16, np.float32, np.float64, np.int16, np.int32, np.int64], ids=dtype_id
)
def test_unaligned(dtype, rng):
    dtype = np.dtype(dtype)
    shape = (2, 3, 7, 8)
    n = int(np.prod(shape))
    raw = np.zeros(n * dtype.itemsize + 1, dtype=np.uint8)
    x = raw[1:].view(dtype).reshape(shape)
    x[...] = (rng.standard_normal(shape) * 100).astype(dtype)
    assert not x.flags.aligned
    check(x)
    check(x.reshape(2, 3, 7, 8).transpose(0, 2, 3, 1), "NHWC")


def test_read_only_input(rng):
    x = _base(rng)
    x.flags.writeable = False
    check(x)
    check(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), "NHWC")


@pytest.mark.parametrize("dtype", [np.float64, np.int64], ids=lambda t: np.dtype(t).name)
def test_nested_lists(dtype, rng):
    x = (rng.standard_normal((2, 5, 6)) * 10).astype(dtype)
    nested = x.tolist()
    v = pk.max_pool2d(nested, 2)
    assert isinstance(v, np.ndarray)
    assert v.dtype == np.asarray(nested).dtype
    check(nested)
    check(x[0].tolist(), calls=CALLS[:2])


def test_buffer_protocol_and_array_interface(rng):
    x = _base(rng, (2, 3, 6, 7))

    class WithArray:
        def __array__(self, dtype=None, copy=None):
            return x

    class WithInterface:
        __array_interface__ = x.__array_interface__

    check(memoryview(x))
    check(WithArray())
    check(WithInterface())


INT_SCALARS = [np.int64, np.int32, np.int16, np.uint8, np.intp]


@pytest.mark.parametrize("scalar", INT_SCALARS, ids=lambda t: np.dtype(t).name)
def test_numpy_integer_window_arguments(scalar, rng):
    x = _base(rng)
    s = scalar
    got = pk.max_pool2d(x, s(3), stride=s(2), padding=s(1), dilation=s(1))
    np.testing.assert_array_equal(got, pk.max_pool2d(x, 3, stride=2, padding=1, dilation=1))
    got = pk.max_pool2d(x, (s(2), s(3)), stride=(s(1), s(2)), padding=((s(0), s(1)), (s(1), s(0))),
                        dilation=(s(2), s(1)))
    want, _ = oracle_max(x, (2, 3), (1, 2), ((0, 1), (1, 0)), (2, 1))
    np.testing.assert_array_equal(got, want)
    got = pk.avg_pool2d(x, s(3), s(2), s(1), divisor_override=s(4))
    assert_avg_close(got, oracle_avg(x, 3, 2, 1, divisor_override=4), x, 3, 2, 1,
                     divisor_override=4)
    assert pk.output_shape(x.shape, s(3), s(2), s(1)) == got.shape
    assert pk.MaxPool2d(s(3), s(2), s(1))(x).shape == got.shape


def test_torch_tensor_input(rng):
    torch = pytest.importorskip("torch")
    base = _base(rng)
    t = torch.from_numpy(base.copy())
    check(t)
    check(t.transpose(2, 3))
    check(t.permute(0, 2, 3, 1), "NHWC")
    check(t.flip(2))
    v = pk.max_pool2d(t, 2)
    assert type(v) is np.ndarray
    assert type(pk.avg_pool2d(t, 2)) is np.ndarray
    torch.testing.assert_close(t, torch.from_numpy(base))
