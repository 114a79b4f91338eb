"""Hostile and awkward inputs, one table row each.

ERRORS: each call raises a clean ValueError or TypeError whose message names the argument
(and is poolkit's own, not a raw binding error). WORKS: each input is pooled by max (with
indices) and average and equals the oracle on a plain NumPy copy of the same values. In every
row the caller's objects are checked against a snapshot afterwards: nothing is modified, even
when the call fails.
"""

from __future__ import annotations

import array
import copy
import ctypes
import re
import subprocess
import sys
import tempfile
from typing import Any, Callable

import numpy as np
import pytest

import poolkit as pk
from conftest import assert_avg_close, oracle_avg, oracle_max

RAW_BINDING_WORDS = ("incompatible function arguments", "pybind11", "_core", "std::", "C++")


def _is_torch(obj: Any) -> bool:
    return type(obj).__module__.startswith("torch")


class Kept:
    """Snapshots of the caller's objects, checked after the call."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, Any]] = []

    def __call__(self, obj: Any) -> Any:
        if _is_torch(obj):
            snap = obj.detach().clone()
        elif isinstance(obj, (list, tuple)):
            snap = copy.deepcopy(obj)
        else:
            snap = np.array(obj, copy=True)
        self.items.append((obj, snap))
        return obj

    def check(self) -> None:
        for obj, snap in self.items:
            if _is_torch(obj):
                import torch

                now = obj.detach()
                if now.is_sparse:
                    now, snap = now.to_dense(), snap.to_dense()
                assert torch.equal(now, snap), "a torch tensor argument was modified"
            elif isinstance(obj, (list, tuple)):
                assert obj == snap, "a list argument was modified"
            else:
                now = np.asarray(obj)
                assert now.shape == snap.shape and now.tobytes() == snap.tobytes(), (
                    "an array argument was modified")


def _x() -> np.ndarray:
    """The usual input: (1, 2, 5, 5) float32; kernel 2 gives (1, 2, 2, 2)."""
    return np.arange(50, dtype=np.float32).reshape(1, 2, 5, 5)


def _torch() -> Any:
    return pytest.importorskip("torch")


# --- arrays whose conversion copies, for out= overlap rows -------------------------------------


def _nhwc_strided_channels(keep: Kept) -> tuple[np.ndarray, np.ndarray]:
    """(x, out): x an NHWC view with every other channel (poolkit copies it to read the
    channels contiguously), out a C-contiguous run of the same buffer."""
    buf = keep(np.arange(1 * 4 * 4 * 4, dtype=np.float32))
    return buf.reshape(1, 4, 4, 4)[..., ::2], buf[:8].reshape(1, 2, 2, 2)


def _unaligned_with_overlap(keep: Kept) -> tuple[np.ndarray, np.ndarray]:
    raw = keep(np.zeros(4 * 16 + 4, dtype=np.uint8))
    x = raw[1:65].view(np.float32).reshape(1, 1, 4, 4)
    x[...] = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    keep.items[-1] = (raw, raw.copy())  # the snapshot holds the values just written
    out = raw[4:20].view(np.float32).reshape(1, 1, 2, 2)
    assert not x.flags.aligned and out.flags.aligned
    return x, out


def _big_endian_with_overlap(keep: Kept) -> tuple[np.ndarray, np.ndarray]:
    native = keep(np.arange(16, dtype="<f4").reshape(1, 1, 4, 4))
    return native.view(">f4"), native.reshape(-1)[:4].reshape(1, 1, 2, 2)


def _dtype_error(dtype: Any) -> str:
    name = re.escape(np.dtype(dtype).name)
    return rf"\bx\b.*{name}|{name}.*\bx\b"


# (id, exception, match, call(x, keep)); x is a fresh _x() already kept
ERRORS: list[tuple[str, Any, str, Callable[[np.ndarray, Kept], Any]]] = [
    # window values of the wrong type
    ("kernel_size-True", ValueError, "kernel_size", lambda x, k: pk.max_pool2d(x, True)),
    ("kernel_size-np-bool-in-tuple", ValueError, "kernel_size",
     lambda x, k: pk.max_pool2d(x, (np.True_, 2))),
    ("kernel_size-float", ValueError, "kernel_size", lambda x, k: pk.avg_pool2d(x, 2.0)),
    ("kernel_size-nan", ValueError, "kernel_size", lambda x, k: pk.max_pool2d(x, float("nan"))),
    ("kernel_size-inf", ValueError, "kernel_size", lambda x, k: pk.avg_pool2d(x, float("inf"))),
    ("kernel_size-complex", ValueError, "kernel_size", lambda x, k: pk.max_pool2d(x, 2j)),
    ("kernel_size-str", ValueError, "kernel_size", lambda x, k: pk.max_pool2d(x, "2")),
    ("kernel_size-ndarray", ValueError, "kernel_size",
     lambda x, k: pk.max_pool2d(x, np.array([2, 2]))),
    ("kernel_size-0d-array", ValueError, "kernel_size", lambda x, k: pk.max_pool2d(x, np.array(2))),
    ("kernel_size-generator", ValueError, "kernel_size",
     lambda x, k: pk.max_pool2d(x, (v for v in (2, 2)))),
    ("kernel_size-set", ValueError, "kernel_size", lambda x, k: pk.max_pool2d(x, {2})),
    ("kernel_size-nested", ValueError, "kernel_size",
     lambda x, k: pk.max_pool2d(x, ((2, 2), (2, 2)))),
    ("stride-nan", ValueError, "stride", lambda x, k: pk.max_pool2d(x, 2, float("nan"))),
    ("stride-str", ValueError, "stride", lambda x, k: pk.avg_pool2d(x, 2, "2")),
    ("stride-np-float", ValueError, "stride", lambda x, k: pk.avg_pool2d(x, 2, np.float32(2))),
    ("padding-nan", ValueError, "padding", lambda x, k: pk.max_pool2d(x, 2, padding=float("nan"))),
    ("padding-pair-float", ValueError, "padding",
     lambda x, k: pk.max_pool2d(x, 3, padding=((0, 1.0), (1, 1)))),
    ("padding-short-pair", ValueError, "padding",
     lambda x, k: pk.max_pool2d(x, 3, padding=((1, 1), (1,)))),
    ("dilation-float", ValueError, "dilation", lambda x, k: pk.max_pool2d(x, 2, dilation=2.0)),
    ("dilation-True", ValueError, "dilation", lambda x, k: pk.avg_pool2d(x, 2, dilation=True)),
    # astronomically large window values
    ("kernel_size-1e20", ValueError, "kernel_size", lambda x, k: pk.avg_pool2d(x, 10**20)),
    ("kernel_size-2**63", ValueError, "kernel_size", lambda x, k: pk.max_pool2d(x, 2**63)),
    ("kernel_size--2**63", ValueError, "kernel_size", lambda x, k: pk.max_pool2d(x, -(2**63))),
    ("kernel_size-np-uint64-2**63", ValueError, "kernel_size",
     lambda x, k: pk.max_pool2d(x, np.uint64(2**63))),
    ("kernel_size-tuple-2**63", ValueError, "kernel_size",
     lambda x, k: pk.avg_pool2d(x, (2, 2**63))),
    ("stride-1e20", ValueError, "stride", lambda x, k: pk.avg_pool2d(x, 2, 10**20)),
    ("stride-2**63", ValueError, "stride", lambda x, k: pk.avg_pool2d(x, 2, (1, 2**63))),
    ("stride--2**63", ValueError, "stride", lambda x, k: pk.max_pool2d(x, 2, -(2**63))),
    ("padding-1e20", ValueError, "padding", lambda x, k: pk.avg_pool2d(x, 2, 1, 10**20)),
    ("padding-2**63", ValueError, "padding",
     lambda x, k: pk.max_pool2d(x, 2, 1, ((0, 2**63), (0, 0)))),
    ("padding--2**63", ValueError, "padding", lambda x, k: pk.max_pool2d(x, 2, 1, -(2**63))),
    ("dilation-1e20", ValueError, "dilation", lambda x, k: pk.max_pool2d(x, 2, dilation=10**20)),
    ("dilation-2**63", ValueError, "dilation", lambda x, k: pk.avg_pool2d(x, 2, dilation=2**63)),
    ("dilation--2**63", ValueError, "dilation",
     lambda x, k: pk.max_pool2d(x, 2, dilation=-(2**63))),
    # unknown and wrong-case strings
    ("padding-SAME", ValueError, "padding", lambda x, k: pk.max_pool2d(x, 2, padding="SAME")),
    ("padding-Valid", ValueError, "padding", lambda x, k: pk.avg_pool2d(x, 2, padding="Valid")),
    ("padding-space-same", ValueError, "padding",
     lambda x, k: pk.max_pool2d(x, 2, padding=" same")),
    ("padding-bytes-same", ValueError, "padding",
     lambda x, k: pk.max_pool2d(x, 2, padding=b"same")),
    ("padding-same-per-axis", ValueError, "padding",
     lambda x, k: pk.max_pool2d(x, 2, padding=("same", "same"))),
    ("layout-Nchw", ValueError, "layout", lambda x, k: pk.max_pool2d(x, 2, layout="Nchw")),
    ("layout-nhwc", ValueError, "layout", lambda x, k: pk.avg_pool2d(x, 2, layout="nhwc")),
    ("layout-trailing-space", ValueError, "layout",
     lambda x, k: pk.max_pool2d(x, 2, layout="NCHW ")),
    ("layout-bytes", ValueError, "layout", lambda x, k: pk.max_pool2d(x, 2, layout=b"NCHW")),
    ("layout-None", ValueError, "layout", lambda x, k: pk.avg_pool2d(x, 2, layout=None)),
    ("layout-NCDHW-for-2d", ValueError, "layout", lambda x, k: pk.max_pool2d(x, 2, layout="NCDHW")),
    ("pool2d-mode-Max", ValueError, "mode", lambda x, k: pk.pool2d(x[0, 0], 2, "Max")),
    ("pool2d-mode-bytes", ValueError, "mode", lambda x, k: pk.pool2d(x[0, 0], 2, b"max")),
    ("pool_cost-mode-AVG", ValueError, "mode", lambda x, k: pk.pool_cost(x.shape, 2, mode="AVG")),
    # flags
    ("ceil_mode-2", ValueError, "ceil_mode", lambda x, k: pk.max_pool2d(x, 2, ceil_mode=2)),
    ("ceil_mode-str-True", ValueError, "ceil_mode",
     lambda x, k: pk.avg_pool2d(x, 2, ceil_mode="True")),
    ("count_include_pad-nan", ValueError, "count_include_pad",
     lambda x, k: pk.avg_pool2d(x, 2, count_include_pad=float("nan"))),
    ("return_indices-list", ValueError, "return_indices",
     lambda x, k: pk.max_pool2d(x, 2, return_indices=[True])),
    # divisor_override
    ("divisor_override-0", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override=0)),
    ("divisor_override--1", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override=-1)),
    ("divisor_override--2**63", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override=-(2**63))),
    ("divisor_override-2**63", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override=2**63)),
    ("divisor_override-1e20", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override=10**20)),
    ("divisor_override-np-int-0", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override=np.int8(0))),
    ("divisor_override-nan", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override=float("nan"))),
    ("divisor_override-float", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override=4.0)),
    ("divisor_override-True", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override=True)),
    ("divisor_override-str", ValueError, "divisor_override",
     lambda x, k: pk.avg_pool2d(x, 2, divisor_override="4")),
    # inputs that are not arrays of a supported dtype
    ("x-ragged-list", TypeError, r"\bx\b",
     lambda x, k: pk.max_pool2d(k([[1.0, 2.0], [3.0]]), 1)),
    ("x-ragged-nested-list", TypeError, r"\bx\b",
     lambda x, k: pk.avg_pool2d(k([[[1, 2], [3, 4]], [[1, 2]]]), 1)),
    ("x-list-with-None", TypeError, _dtype_error(object),
     lambda x, k: pk.max_pool2d(k([[None, 1.0], [2.0, 3.0]]), 1)),
    ("x-list-of-str", TypeError, r"\bx\b.*dtype", lambda x, k: pk.max_pool2d(k([["a", "b"]]), 1)),
    ("x-list-of-bool", TypeError, _dtype_error(bool),
     lambda x, k: pk.avg_pool2d(k([[True, False], [False, True]]), 1)),
    ("x-list-of-huge-ints", TypeError, _dtype_error(object),
     lambda x, k: pk.max_pool2d(k([[2**70, 1], [1, 1]]), 1)),
    ("x-bool-array", TypeError, _dtype_error(bool),
     lambda x, k: pk.max_pool2d(k(np.ones((3, 3), bool)), 2)),
    ("x-complex-array", TypeError, _dtype_error(np.complex128),
     lambda x, k: pk.avg_pool2d(k(x.astype(np.complex128)), 2)),
    ("x-object-array", TypeError, _dtype_error(object),
     lambda x, k: pk.max_pool2d(k(x.astype(object)), 2)),
    ("x-str-array", TypeError, r"\bx\b.*dtype", lambda x, k: pk.avg_pool2d(k(x.astype(str)), 2)),
    ("x-bytes-array", TypeError, r"\bx\b.*dtype", lambda x, k: pk.max_pool2d(k(x.astype("S4")), 2)),
    ("x-datetime-array", TypeError, _dtype_error("datetime64[s]"),
     lambda x, k: pk.max_pool2d(k(np.zeros((4, 4), "datetime64[s]")), 2)),
    ("x-timedelta-array", TypeError, _dtype_error("timedelta64[ms]"),
     lambda x, k: pk.avg_pool2d(k(np.zeros((4, 4), "timedelta64[ms]")), 2)),
    ("x-structured-array", TypeError, r"\bx\b.*dtype",
     lambda x, k: pk.max_pool2d(k(np.zeros((4, 4), [("a", "f4")])), 2)),
    ("x-uint64-array", TypeError, _dtype_error(np.uint64),
     lambda x, k: pk.max_pool2d(k(np.zeros((4, 4), np.uint64)), 2)),
    ("x-bytes", TypeError, r"\bx\b", lambda x, k: pk.max_pool2d(b"abcd", 1)),
    ("x-dict", TypeError, r"\bx\b", lambda x, k: pk.max_pool2d({1: 2}, 1)),
    ("x-None", TypeError, r"\bx\b", lambda x, k: pk.avg_pool2d(None, 1)),
    ("x-raising-__array__", TypeError, r"\bx\b",
     lambda x, k: pk.max_pool2d(type("Bad", (), {"__array__": _raise_runtime})(), 1)),
    # out= that aliases the input
    ("out-is-input", ValueError, r"\bout\b", lambda x, k: pk.avg_pool2d(x, 1, out=x)),
    ("out-view-of-input", ValueError, r"\bout\b",
     lambda x, k: pk.max_pool2d(x, 2, out=x.reshape(-1)[:8].reshape(1, 2, 2, 2))),
    ("out-is-base-of-negative-view", ValueError, r"\bout\b",
     lambda x, k: pk.max_pool2d(x[:, :, ::-1], 1, out=x)),
    ("out-is-base-of-transposed-input", ValueError, r"\bout\b",
     lambda x, k: pk.avg_pool2d(x.transpose(0, 1, 3, 2), 1, out=x)),
    ("out-overlaps-nhwc-strided-channels", ValueError, r"\bout\b",
     lambda x, k: (lambda xo: pk.max_pool2d(xo[0], 2, layout="NHWC", out=xo[1]))(
         _nhwc_strided_channels(k))),
    ("out-overlaps-unaligned-input", ValueError, r"\bout\b",
     lambda x, k: (lambda xo: pk.max_pool2d(xo[0], 2, out=xo[1]))(_unaligned_with_overlap(k))),
    ("out-overlaps-big-endian-input", ValueError, r"\bout\b",
     lambda x, k: (lambda xo: pk.avg_pool2d(xo[0], 2, out=xo[1]))(_big_endian_with_overlap(k))),
    ("out-list", (TypeError, ValueError), r"\bout\b",
     lambda x, k: pk.max_pool2d(x, 2, out=[[0.0] * 2] * 2)),
    # input_shape and dtype of output_shape / pool_cost, set_num_threads
    ("input_shape-2**63", ValueError, "input_shape",
     lambda x, k: pk.output_shape((1, 1, 2**63, 5), 2)),
    ("input_shape-1e20", ValueError, "input_shape",
     lambda x, k: pk.output_shape((1, 1, 5, 10**20), 2)),
    ("input_shape--2**63", ValueError, "input_shape",
     lambda x, k: pk.output_shape((1, 1, -(2**63), 5), 2)),
    ("input_shape-float", ValueError, "input_shape",
     lambda x, k: pk.output_shape((1, 1, 5.0, 5), 2)),
    ("input_shape-bool", ValueError, "input_shape",
     lambda x, k: pk.output_shape((1, 1, True, 5), 2)),
    ("input_shape-None", ValueError, "input_shape", lambda x, k: pk.output_shape(None, 2)),
    ("input_shape-str", ValueError, "input_shape", lambda x, k: pk.output_shape("1155", 2)),
    ("pool_cost-input_shape-2**63", ValueError, "input_shape",
     lambda x, k: pk.pool_cost((1, 1, 5, 2**63), 2)),
    ("pool_cost-dtype-bool", TypeError, "dtype",
     lambda x, k: pk.pool_cost(x.shape, 2, dtype="bool")),
    ("pool_cost-dtype-complex", TypeError, "dtype",
     lambda x, k: pk.pool_cost(x.shape, 2, dtype=np.complex64)),
    ("pool_cost-dtype-unknown", TypeError, "dtype",
     lambda x, k: pk.pool_cost(x.shape, 2, dtype="float99")),
    ("set_num_threads-2**63", ValueError, r"\bn\b", lambda x, k: pk.set_num_threads(2**63)),
    ("threads-True", ValueError, r"\bn\b", lambda x, k: pk.threads(True).__enter__()),
]


def _raise_runtime(self: Any, dtype: Any = None, copy: Any = None) -> Any:
    raise RuntimeError("no array here")


def _torch_errors() -> list[tuple[str, Any, str, Callable[[Any], Any]]]:
    """(id, exception, match, make tensor(torch)); each tensor is pooled by max_pool2d."""
    return [
        ("torch-bool", TypeError, _dtype_error(bool), lambda t: t.zeros(4, 4, dtype=t.bool)),
        ("torch-complex", TypeError, _dtype_error(np.complex64),
         lambda t: t.zeros(4, 4, dtype=t.complex64)),
        ("torch-requires-grad", TypeError, r"\bx\b", lambda t: t.zeros(4, 4, requires_grad=True)),
        ("torch-bfloat16", TypeError, r"\bx\b", lambda t: t.zeros(4, 4, dtype=t.bfloat16)),
        ("torch-sparse", TypeError, r"\bx\b", lambda t: t.zeros(4, 4).to_sparse()),
    ]


def _check_raises(exc: Any, match: str, call: Callable[[], Any]) -> None:
    with pytest.raises(exc, match=match) as info:
        call()
    message = str(info.value)
    assert not any(word in message for word in RAW_BINDING_WORDS), message


@pytest.fixture(autouse=True)
def restore_threads():
    before = pk.get_num_threads()
    yield
    pk.set_num_threads(before)


@pytest.mark.parametrize("exc, match, call", [pytest.param(e, m, c, id=i) for i, e, m, c in ERRORS])
def test_errors(exc, match, call):
    keep = Kept()
    x = keep(_x())
    _check_raises(exc, match, lambda: call(x, keep))
    keep.check()


@pytest.mark.parametrize("case", [c[0] for c in _torch_errors()])
def test_torch_errors(case):
    torch = _torch()
    _, exc, match, make = next(c for c in _torch_errors() if c[0] == case)
    keep = Kept()
    t = keep(make(torch))
    _check_raises(exc, match, lambda: pk.max_pool2d(t, 1))
    keep.check()


def test_huge_input_shape_answers_promptly():
    """output_shape and pool_cost of a huge (but int64-sized) input are arithmetic: run in a
    child process so that a call looping over the outputs fails here instead of hanging."""
    code = (
        "import poolkit as pk\n"
        "print(pk.output_shape((1, 1, 2**62, 5), 2))\n"
        "print(pk.pool_cost((3, 1, 5, 2**62), 2, mode='avg')['outputs'])\n"
    )
    try:
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("output_shape/pool_cost of a (.., 2**62, ..) input took over 10 s")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == [str((1, 1, 2**61, 2)), str(3 * 2 * 2**61)]


# --- inputs that must work ------------------------------------------------------------------


def _data(shape: tuple[int, ...], dtype: Any = np.float32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 50).astype(dtype)


W3 = dict(kernel_size=3, stride=2, padding=1)  # the default window of the rows


def _unaligned(ref: np.ndarray) -> np.ndarray:
    raw = np.zeros(ref.nbytes + 1, dtype=np.uint8)
    x = raw[1:].view(ref.dtype).reshape(ref.shape)
    x[...] = ref
    assert not x.flags.aligned
    return x


class OnlyArrayInterface:
    def __init__(self, a: np.ndarray) -> None:
        self._a = a  # keeps the memory alive
        self.__array_interface__ = a.__array_interface__


class OnlyDlpack:
    def __init__(self, a: Any, device: bool) -> None:
        self._a = a
        if device:
            self.__dlpack_device__ = a.__dlpack_device__

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._a.__dlpack__(**kwargs)


def _read_only(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def _memmap(ref: np.ndarray) -> np.ndarray:
    with tempfile.TemporaryFile() as f:  # the mapping outlives the file object
        f.write(ref.tobytes())
        f.flush()
        return np.memmap(f, dtype=ref.dtype, mode="r", shape=ref.shape)


def _mv_from_array_module() -> tuple[Any, np.ndarray]:
    ref = _data((6, 7), np.float32, 4)
    buf = array.array("f", ref.ravel().tolist())
    return memoryview(buf).cast("B").cast("f", ref.shape), ref


def _ctypes_2d() -> tuple[Any, np.ndarray]:
    ref = _data((5, 6), np.float64, 5)
    c = (ctypes.c_double * 6 * 5)()
    for i in range(5):
        for j in range(6):
            c[i][j] = float(ref[i, j])
    return c, ref


# (id, make(keep) -> (x as passed, reference values as a plain array, window))
WORKS: list[tuple[str, Callable[[Kept], tuple[Any, np.ndarray, dict[str, Any]]]]] = [
    ("np-int-scalar-window", lambda k: (k(_data((2, 3, 9, 8))), _data((2, 3, 9, 8)), dict(
        kernel_size=np.int64(3), stride=np.int32(2), padding=np.uint8(1),
        dilation=np.int16(1)))),
    ("np-int-scalar-tuples-and-pairs", lambda k: (k(_data((2, 3, 9, 8))), _data((2, 3, 9, 8)), dict(
        kernel_size=(np.int8(2), np.uint16(3)), stride=(np.intp(1), np.int64(2)),
        padding=((np.int32(0), np.uint8(1)), (np.int64(1), np.int8(0))),
        dilation=(np.uint32(2), np.int64(1)), count_include_pad=np.False_,
        divisor_override=np.int64(5)))),
    ("list-window-values", lambda k: (k(_data((1, 2, 8, 9))), _data((1, 2, 8, 9)), dict(
        kernel_size=[2, 3], stride=[2, 1], padding=[(1, 0), [0, 2]], dilation=[1, 2]))),
    ("big-endian-f4", lambda k: (k(_data((2, 3, 9, 8)).astype(">f4")), _data((2, 3, 9, 8)), W3)),
    ("big-endian-i2-nhwc", lambda k: (
        k(_data((2, 9, 8, 3), np.int16).astype(">i2")), _data((2, 9, 8, 3), np.int16),
        dict(W3, layout="NHWC"))),
    ("big-endian-f8-negative-view", lambda k: (
        k(_data((2, 3, 9, 8), np.float64).astype(">f8"))[:, :, ::-1],
        _data((2, 3, 9, 8), np.float64)[:, :, ::-1].copy(), W3)),
    ("unaligned-f8", lambda k: (k(_unaligned(_data((2, 3, 9, 8), np.float64))),
                                _data((2, 3, 9, 8), np.float64), W3)),
    ("unaligned-i4-nhwc", lambda k: (k(_unaligned(_data((2, 9, 8, 3), np.int32))),
                                     _data((2, 9, 8, 3), np.int32), dict(W3, layout="NHWC"))),
    ("negative-strides-all", lambda k: (k(_data((2, 3, 9, 8)))[::-1, ::-1, ::-1, ::-1],
                                        _data((2, 3, 9, 8))[::-1, ::-1, ::-1, ::-1].copy(), W3)),
    ("negative-step-nhwc", lambda k: (k(_data((2, 9, 8, 3), np.uint8))[:, ::-2, :, ::-1],
                                      _data((2, 9, 8, 3), np.uint8)[:, ::-2, :, ::-1].copy(),
                                      dict(W3, layout="NHWC"))),
    ("read-only", lambda k: (k(_read_only(_data((2, 3, 9, 8)))), _data((2, 3, 9, 8)), W3)),
    ("read-only-negative-view", lambda k: (
        k(_read_only(_data((2, 3, 9, 8), np.int64)))[..., ::-1],
        _data((2, 3, 9, 8), np.int64)[..., ::-1].copy(), W3)),
    ("read-only-memmap", lambda k: (_memmap(_data((2, 3, 9, 8))), _data((2, 3, 9, 8)), W3)),
    ("nested-list-float", lambda k: (k(_data((2, 7, 6), np.float64).tolist()),
                                     _data((2, 7, 6), np.float64), W3)),
    ("nested-list-int", lambda k: (k(_data((3, 5, 6), np.int64).tolist()),
                                   _data((3, 5, 6), np.int64), dict(kernel_size=2))),
    ("nested-list-mixed-int-float", lambda k: (k([[1, 2.5, -3], [4, 5, 6.25]]),
                                               np.array([[1, 2.5, -3], [4, 5, 6.25]]),
                                               dict(kernel_size=2, stride=1))),
    ("scalar-as-1x1-list", lambda k: (k([[7.5]]), np.array([[7.5]]), dict(kernel_size=1))),
    ("scalar-as-1x1-list-padded", lambda k: (k([[-3]]), np.array([[-3]]),
                                             dict(kernel_size=3, stride=1, padding=1))),
    ("scalar-as-1x1x1x1-list", lambda k: (k([[[[2]]]]), np.array([[[[2]]]]),
                                          dict(kernel_size=(1, 1)))),
    ("array-interface-only", lambda k: (OnlyArrayInterface(k(_data((2, 3, 9, 8)))),
                                        _data((2, 3, 9, 8)), W3)),
    ("array-interface-only-strided", lambda k: (
        OnlyArrayInterface(k(_data((2, 3, 9, 8), np.int16))[:, :, ::2, ::-1]),
        _data((2, 3, 9, 8), np.int16)[:, :, ::2, ::-1].copy(), dict(kernel_size=2))),
    ("array-interface-only-read-only", lambda k: (
        OnlyArrayInterface(k(_read_only(_data((2, 3, 9, 8))))), _data((2, 3, 9, 8)), W3)),
    ("memoryview-2d", lambda k: (memoryview(k(_data((9, 8), np.float64))),
                                 _data((9, 8), np.float64), W3)),
    ("memoryview-4d-int8", lambda k: (memoryview(k(_data((2, 3, 9, 8), np.int8))),
                                      _data((2, 3, 9, 8), np.int8), W3)),
    ("memoryview-of-array.array-cast-2d", lambda k: _mv_from_array_module() + (W3,)),
    ("ctypes-2d-array", lambda k: _ctypes_2d() + (W3,)),
    ("dlpack-only", lambda k: (OnlyDlpack(k(_data((2, 3, 9, 8))), False), _data((2, 3, 9, 8)), W3)),
    ("dlpack-and-device", lambda k: (OnlyDlpack(k(_data((2, 3, 9, 8), np.uint16)), True),
                                     _data((2, 3, 9, 8), np.uint16), W3)),
    ("dlpack-negative-view", lambda k: (OnlyDlpack(k(_data((2, 3, 9, 8)))[:, :, ::-1], True),
                                        _data((2, 3, 9, 8))[:, :, ::-1].copy(), W3)),
]


def _torch_works() -> list[tuple[str, Callable[[Any, Kept], tuple[Any, np.ndarray,
                                                                  dict[str, Any]]]]]:
    """(id, make(torch, keep) -> (tensor, reference values, window))."""
    base = _data((2, 3, 9, 8))
    return [
        ("torch-contiguous", lambda t, k: (k(t.from_numpy(base.copy())), base, W3)),
        ("torch-non-contiguous-transpose", lambda t, k: (
            k(t.from_numpy(base.copy())).transpose(2, 3), base.transpose(0, 1, 3, 2).copy(), W3)),
        ("torch-non-contiguous-step", lambda t, k: (
            k(t.from_numpy(base.copy()))[:, :, ::2, 1::3], base[:, :, ::2, 1::3].copy(),
            dict(kernel_size=2, stride=1))),
        ("torch-channels-last", lambda t, k: (
            k(t.from_numpy(base.copy()).contiguous(memory_format=t.channels_last)), base, W3)),
        ("torch-channels-last-as-nhwc", lambda t, k: (
            k(t.from_numpy(base.copy()).contiguous(memory_format=t.channels_last)).permute(
                0, 2, 3, 1), base.transpose(0, 2, 3, 1).copy(), dict(W3, layout="NHWC"))),
        ("torch-int16", lambda t, k: (k(t.from_numpy(base.astype(np.int16))),
                                      base.astype(np.int16), W3)),
        ("torch-float16", lambda t, k: (k(t.from_numpy(base.astype(np.float16))),
                                        base.astype(np.float16), W3)),
        ("torch-uint8-2d", lambda t, k: (k(t.from_numpy(base[0, 0].astype(np.uint8))),
                                         base[0, 0].astype(np.uint8), W3)),
        ("torch-via-dlpack-only", lambda t, k: (OnlyDlpack(k(t.from_numpy(base.copy())), True),
                                                base, W3)),
    ]


def _check_works(x: Any, ref: np.ndarray, window: dict[str, Any]) -> None:
    window = dict(window)
    avg_only = {k: window.pop(k) for k in ("count_include_pad", "divisor_override")
                if k in window}
    ref = np.ascontiguousarray(ref)
    v, i = pk.max_pool2d(x, return_indices=True, **window)
    want_v, want_i = oracle_max(ref, **window)
    assert type(v) is np.ndarray and type(i) is np.ndarray
    assert v.dtype == ref.dtype
    np.testing.assert_array_equal(v, want_v)
    np.testing.assert_array_equal(i, want_i)
    a = pk.avg_pool2d(x, **window, **avg_only)
    assert type(a) is np.ndarray and a.dtype == ref.dtype
    w = dict(window)
    args = [w.pop("kernel_size"), w.pop("stride", None), w.pop("padding", 0),
            w.pop("ceil_mode", False), avg_only.get("count_include_pad", True),
            avg_only.get("divisor_override")]
    want_a = oracle_avg(ref, *args, **w)
    assert_avg_close(a, want_a, ref, *args, **w)


@pytest.mark.parametrize("make", [pytest.param(m, id=i) for i, m in WORKS])
def test_works(make):
    keep = Kept()
    x, ref, window = make(keep)
    _check_works(x, ref, window)
    keep.check()


@pytest.mark.parametrize("case", [c[0] for c in _torch_works()])
def test_torch_works(case):
    torch = _torch()
    make = dict(_torch_works())[case]
    keep = Kept()
    x, ref, window = make(torch, keep)
    _check_works(x, ref, window)
    keep.check()
