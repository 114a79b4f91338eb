"""Argument normalisation and validation: every user-facing rule and message lives here."""

from __future__ import annotations

import operator
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _buffers, _core

IntOrTuple = Union[int, Sequence[int]]
Padding = Union[int, str, Sequence[Union[int, Sequence[int]]]]

INT64_MAX = 2**63 - 1

#: Supported dtypes, in the order the messages list them.
SUPPORTED_DTYPES: Tuple[np.dtype[Any], ...] = tuple(
    np.dtype(name)
    for name in ("float16", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32",
                 "int64")
)
_SUPPORTED_NAMES = ", ".join(str(dt) for dt in SUPPORTED_DTYPES) + ", bfloat16 (ml_dtypes)"


_NATIVE_SUPPORTED = frozenset(SUPPORTED_DTYPES)


def supported(dtype: np.dtype[Any]) -> bool:
    """Whether poolkit pools `dtype` (in any byte order: non-native data is converted)."""
    if dtype in _NATIVE_SUPPORTED:  # the common case, without building a swapped dtype
        return True
    if dtype.kind == "V":  # ml_dtypes.bfloat16 registers as a 2-byte void kind
        return dtype.name == "bfloat16" and dtype.itemsize == 2 and dtype.fields is None
    return dtype.fields is None and dtype.newbyteorder("=") in SUPPORTED_DTYPES

#: Layout names per number of spatial axes: (channels-first, channels-last).
LAYOUTS = {1: ("NCL", "NLC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
_AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def is_int(value: object) -> bool:
    """True for Python and NumPy integers, False for bool (a bool is not a window size)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def int_tuple(value: object, name: str, n: int, *, minimum: int) -> Tuple[int, ...]:
    """Return `value` as an n-tuple of ints, or raise a ValueError naming `name`."""
    items = (value,) * n if is_int(value) else value
    if not isinstance(items, (tuple, list)) or len(items) != n or not all(map(is_int, items)):
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    result = tuple(operator.index(v) for v in items)
    if min(result) < minimum:
        raise ValueError(f"{name} must be >= {minimum} in every axis, got {value!r}")
    if max(result) > INT64_MAX:
        raise ValueError(f"{name} must fit in int64 (< 2**63) in every axis, got {value!r}")
    return result


def flag(value: object, name: str) -> bool:
    """A boolean option: bool, numpy bool, or the ints 0 and 1 (as PyTorch accepts)."""
    if isinstance(value, (bool, np.bool_)) or (is_int(value) and value in (0, 1)):
        return bool(value)
    raise ValueError(f"{name} must be a bool, got {value!r}")


def padding_pairs(value: object, n: int) -> Union[str, Tuple[Tuple[int, int], ...]]:
    """Normalise `padding` to n (before, after) pairs, or the string 'same'."""
    if isinstance(value, str):
        if value == "valid":
            return ((0, 0),) * n
        if value == "same":
            return "same"
        raise ValueError(f"padding must be an int, a tuple, 'same' or 'valid', got {value!r}")
    rule = (
        f"padding must be an int, 'same', 'valid', or a tuple of {n} entries each an int or "
        f"a (before, after) pair of ints, got {value!r}"
    )
    items = (value,) * n if is_int(value) else value
    if not isinstance(items, (tuple, list)) or len(items) != n:
        raise ValueError(rule)
    pairs = []
    for item in items:
        if is_int(item):
            pairs.append((operator.index(item), operator.index(item)))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and all(map(is_int, item)):
            pairs.append((operator.index(item[0]), operator.index(item[1])))
        else:
            raise ValueError(rule)
    flat = [p for pair in pairs for p in pair]
    if min(flat) < 0:
        raise ValueError(f"padding must be >= 0 on every side, got {value!r}")
    if max(flat) > INT64_MAX:
        raise ValueError(f"padding must fit in int64 (< 2**63) on every side, got {value!r}")
    return tuple(pairs)


def channels_last(layout: object, n: int) -> bool:
    """Whether `layout` is the channels-last name for an n-d pool; ValueError if unknown."""
    names = LAYOUTS[n]
    if not isinstance(layout, str) or layout not in names:
        raise ValueError(
            f"layout must be {names[0]!r} or {names[1]!r} for a {n}-d pool, got {layout!r}"
        )
    return layout == names[1]


def dtype_of(value: object, name: str) -> np.dtype[Any]:
    """The supported NumPy dtype named by `value`, or a TypeError listing the supported ones."""
    try:
        dtype = np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{name} must be a NumPy dtype, got {value!r}") from None
    if not supported(dtype):
        raise TypeError(f"{name} {dtype} is not supported; poolkit supports {_SUPPORTED_NAMES}")
    native: np.dtype[Any] = dtype.newbyteorder("=")
    return native


def as_array(x: object, name: str = "x") -> np.ndarray:
    """`x` as a NumPy array of a supported dtype, without copying where NumPy can avoid it."""
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            if hasattr(x, "__dlpack__") and not hasattr(x, "__array__"):
                arr = np.from_dlpack(x)
            else:
                arr = np.asarray(x)
        except (TypeError, ValueError, RuntimeError, BufferError) as exc:
            raise TypeError(
                f"{name} must be an array or array-like of numbers, got {type(x).__name__}: {exc}"
            ) from None
    if not supported(arr.dtype):
        raise TypeError(f"{name} has dtype {arr.dtype}, which is not supported; "
                        f"poolkit supports {_SUPPORTED_NAMES}")
    return arr


def kernel_ready(arr: np.ndarray, channels_last: bool) -> np.ndarray:
    """`arr` as the kernels read it: aligned, native byte order and, channels-last, with the
    channels of a site contiguous. Copies only what breaks one of these."""
    if not arr.dtype.isnative:
        return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
    if not arr.flags.aligned:
        return arr.copy()
    if channels_last and arr.ndim and arr.shape[-1] > 1 and arr.strides[-1] != arr.itemsize:
        return np.ascontiguousarray(arr)
    return arr


class Call(NamedTuple):
    """A validated pooling call, ready for the kernels."""

    source: np.ndarray  # the caller's data, which `out=` must not overlap
    x: np.ndarray  # the same values as the kernels read them (a copy only where needed)
    channels_last: bool
    kernel: Tuple[int, ...]
    stride: Tuple[int, ...]
    pad_before: Tuple[int, ...]
    pad_after: Tuple[int, ...]
    dilation: Tuple[int, ...]
    ceil_mode: bool
    out_shape: Tuple[int, ...]


def spatial_axes(ndim: int, n: int, last: bool) -> range:
    """Positions of the n spatial axes in an array of rank ndim."""
    first = ndim - n - (1 if last else 0)
    return range(first, first + n)


def check_rank(shape: Tuple[int, ...], n: int, layout: str, last: bool, name: str) -> None:
    need = n + (1 if last else 0)
    if len(shape) < need:
        axes = "".join(_AXIS_NAMES[n]) + ("C" if last else "")
        raise ValueError(
            f"{name} must have at least {need} dimensions ({', '.join(axes)}) for layout "
            f"{layout!r}, got shape {tuple(shape)}"
        )
    for axis in spatial_axes(len(shape), n, last):
        if shape[axis] < 1:
            raise ValueError(
                f"{name} must have non-empty spatial axes for layout {layout!r}, got shape "
                f"{tuple(shape)}"
            )


def plan(
    shape: Tuple[int, ...],
    n: int,
    kernel_size: object,
    stride: object,
    padding: object,
    dilation: object,
    ceil_mode: object,
    layout: object,
    name: str = "x",
) -> Tuple[bool, Tuple[int, ...], Tuple[int, ...], Tuple[int, ...], Tuple[int, ...],
           Tuple[int, ...], bool, Tuple[int, ...]]:
    """Validate the window arguments for an input of `shape`; return the planned geometry:
    (channels_last, kernel, stride, pad_before, pad_after, dilation, ceil_mode, out_shape)."""
    last = channels_last(layout, n)
    kernel = int_tuple(kernel_size, "kernel_size", n, minimum=1)
    steps = kernel if stride is None else int_tuple(stride, "stride", n, minimum=1)
    pads = padding_pairs(padding, n)
    dil = int_tuple(dilation, "dilation", n, minimum=1)
    ceil = flag(ceil_mode, "ceil_mode")
    assert isinstance(layout, str)
    check_rank(shape, n, layout, last, name)
    axes = spatial_axes(len(shape), n, last)
    sizes = [shape[a] for a in axes]
    same = isinstance(pads, str)
    pairs = ((0, 0),) * n if isinstance(pads, str) else pads
    before = [p[0] for p in pairs]
    after = [p[1] for p in pairs]
    planned = _core.plan(sizes, list(kernel), list(steps), before, after, list(dil), ceil, same)
    out_shape = list(shape)
    for i, (status, length, pb, pa) in enumerate(planned):
        if status != 0:
            _raise_axis(status, _AXIS_NAMES[n][i], sizes[i], kernel[i], steps[i],
                        (pb, pa) if same else (before[i], after[i]), dil[i])
        before[i], after[i] = pb, pa
        out_shape[axes[i]] = length
    return (last, kernel, steps, tuple(before), tuple(after), dil, ceil and not same,
            tuple(out_shape))


def _raise_axis(status: int, axis: str, length: int, k: int, s: int, pads: Tuple[int, int],
                d: int) -> None:
    what = (f"axis {axis} (input length {length}, kernel_size {k}, stride {s}, "
            f"padding {pads}, dilation {d})")
    if status == 1:
        raise ValueError(f"kernel_size, stride, padding and dilation must keep the size "
                         f"arithmetic within int64, got {what}")
    if status == 2:
        raise ValueError(f"kernel_size with dilation must fit in the padded input, so that the "
                         f"output is not empty, got {what}")
    raise ValueError(f"padding and dilation must leave at least one input element in every "
                     f"window, but a window holds none on {what}")


_CACHE_MAX = 512


def _int_tuple(value: object) -> bool:
    """A tuple of ints of exactly that type (so that 2.0 never matches 2 in a cache)."""
    return type(value) is tuple and all(type(v) is int for v in value)


def signature(
    x: object, n: int, kernel_size: object, stride: object, padding: object,
    dilation: object, ceil_mode: object, layout: object,
) -> Optional[Tuple[Any, ...]]:
    """The cache key of a call on an ndarray whose window arguments are plain ints (or tuples
    of them, or a padding name), a bool and a str; None for any other call."""
    if (type(x) is np.ndarray and type(ceil_mode) is bool and type(layout) is str
            and (type(kernel_size) is int or _int_tuple(kernel_size))
            and (stride is None or type(stride) is int or _int_tuple(stride))
            and (type(padding) is int or type(padding) is str or _int_tuple(padding))
            and (type(dilation) is int or _int_tuple(dilation))):
        return (x.shape, x.strides, x.dtype, n, kernel_size, stride, padding, dilation,
                ceil_mode, layout)
    return None


#: Planned geometry by call signature, cached once the call's arguments passed validation.
_PLANS: Dict[Tuple[Any, ...], Any] = {}
#: Compiled plans and output shapes by call signature. A signature is cached only after its
#: call passed validation with an input the kernels read as is.
PREPARED: Dict[Tuple[Any, ...], Tuple[Any, Tuple[int, ...]]] = {}


def prepare(
    x: object, n: int, kernel_size: object, stride: object, padding: object,
    dilation: object, ceil_mode: object, layout: object, key: Optional[Tuple[Any, ...]],
) -> Call:
    """Validate and normalise one pooling call on array-like `x` with n spatial axes. The
    planned geometry is cached under the call's signature `key` (None: not cached), so that
    calls the kernels cannot take as they are (`out=`, a copied input) skip the planning."""
    arr = as_array(x)
    planned = None if key is None else _PLANS.get(key)
    if planned is None:
        planned = plan(arr.shape, n, kernel_size, stride, padding, dilation, ceil_mode, layout)
        if key is not None:
            if len(_PLANS) >= _CACHE_MAX:
                _PLANS.clear()
            _PLANS[key] = planned
    last, kernel, steps, before, after, dil, ceil, out_shape = planned
    return Call(arr, kernel_ready(arr, last), last, kernel, steps, before, after, dil, ceil,
                out_shape)


def compile_call(call: Call, key: Optional[Tuple[Any, ...]]) -> Any:
    """The compiled plan of a validated call, cached under its signature `key` when the
    kernels read the caller's array as is (so that later calls may skip validation)."""
    native = _core.Prepared(call.x, call.kernel, call.stride, call.pad_before, call.pad_after,
                            call.dilation, call.ceil_mode, call.channels_last)
    if key is not None and call.x is call.source:
        if len(PREPARED) >= _CACHE_MAX:
            PREPARED.clear()
        PREPARED[key] = (native, call.out_shape)
    return native


def output_array(out: object, call: Call) -> np.ndarray:
    """A fresh output for `call`, or the caller's `out=` after checking it."""
    if out is None:
        return _buffers.empty(call.out_shape, call.x.dtype)
    if not isinstance(out, np.ndarray):
        raise ValueError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != call.out_shape:
        raise ValueError(f"out must have shape {call.out_shape}, got {out.shape}")
    if out.dtype != call.x.dtype or not out.dtype.isnative:
        raise ValueError(f"out must have dtype {call.x.dtype}, got {out.dtype}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous in the output layout, got a "
                         f"non-contiguous array with strides {out.strides}")
    if not out.flags.writeable:
        raise ValueError("out must be writeable, got a read-only array")
    if np.may_share_memory(out, call.source) or np.may_share_memory(out, call.x):
        raise ValueError("out must not overlap the input x, got an array sharing its memory")
    return out


def optional_positive(value: object, name: str) -> Optional[int]:
    """None, or an int >= 1 fitting in int64."""
    if value is None:
        return None
    if not is_int(value):
        raise ValueError(f"{name} must be None or an int, got {value!r}")
    v = operator.index(value)  # type: ignore[arg-type]
    if not 1 <= v <= INT64_MAX:
        raise ValueError(f"{name} must be >= 1 and fit in int64, got {value!r}")
    return v
