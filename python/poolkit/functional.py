"""The pooling functions: validate through `_args`, then call the kernels in `_core`."""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _args, _buffers, _core
from ._args import IntOrTuple, Padding

__all__ = [
    "max_pool2d",
    "avg_pool2d",
    "pool2d",
    "output_shape",
    "pool_cost",
]

_LAYOUT_RANK = {name: n for n, names in _args.LAYOUTS.items() for name in names}


def _max_pool(
    n: int, x: Any, kernel_size: object, stride: object, padding: object, dilation: object,
    ceil_mode: object, return_indices: object, layout: object, out: object,
) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    key = _args.signature(x, n, kernel_size, stride, padding, dilation, ceil_mode, layout)
    hit = None if key is None else _args.PREPARED.get(key)
    if hit is not None and out is None and type(return_indices) is bool:
        # A call like one already validated, on an input laid out the same way.
        native, shape = hit
        result = _buffers.empty(shape, x.dtype)
        indices = _buffers.empty(shape, np.dtype(np.int64)) if return_indices else None
        if native.max_pool(x, result, indices):
            return (result, indices) if indices is not None else result
    call = _args.prepare(x, n, kernel_size, stride, padding, dilation, ceil_mode, layout,
                         key)
    want_indices = _args.flag(return_indices, "return_indices")
    result = _args.output_array(out, call)
    indices = _buffers.empty(call.out_shape, np.dtype(np.int64)) if want_indices else None
    if not _args.compile_call(call, key).max_pool(call.x, result, indices):
        raise RuntimeError("poolkit internal error: the kernels refused a prepared input")
    return (result, indices) if indices is not None else result


def _avg_pool(
    n: int, x: Any, kernel_size: object, stride: object, padding: object, ceil_mode: object,
    count_include_pad: object, divisor_override: object, dilation: object, layout: object,
    out: object,
) -> np.ndarray:
    key = _args.signature(x, n, kernel_size, stride, padding, dilation, ceil_mode, layout)
    hit = None if key is None else _args.PREPARED.get(key)
    if (hit is not None and out is None and type(count_include_pad) is bool
            and (divisor_override is None or (type(divisor_override) is int
                                              and 1 <= divisor_override <= _args.INT64_MAX))):
        native, shape = hit
        result = _buffers.empty(shape, x.dtype)
        if native.avg_pool(x, result, count_include_pad, divisor_override or 0):
            return result
    call = _args.prepare(x, n, kernel_size, stride, padding, dilation, ceil_mode, layout,
                         key)
    include_pad = _args.flag(count_include_pad, "count_include_pad")
    divisor = _args.optional_positive(divisor_override, "divisor_override")
    if divisor is None and math.prod(call.kernel) > _args.INT64_MAX:
        raise ValueError(f"kernel_size must hold at most 2**63 - 1 taps per window for average "
                         f"pooling without divisor_override, got {call.kernel}")
    result = _args.output_array(out, call)
    if not _args.compile_call(call, key).avg_pool(call.x, result, include_pad, divisor or 0):
        raise RuntimeError("poolkit internal error: the kernels refused a prepared input")
    return result


def max_pool2d(
    x: Any,
    kernel_size: IntOrTuple,
    stride: Optional[IntOrTuple] = None,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    layout: str = "NCHW",
    out: Optional[np.ndarray] = None,
) -> Any:
    """2-d max pooling, as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    x : array_like
        Input of shape ``(..., H, W)`` (``layout="NCHW"``) or ``(..., H, W, C)``
        (``layout="NHWC"``), any number of leading axes.
    kernel_size, stride, dilation : int or tuple of 2 ints
        Window size, step (default: ``kernel_size``) and spacing of the taps.
    padding : int, tuple, ``"same"`` or ``"valid"``
        Implicit -inf padding; per axis an int or a ``(before, after)`` pair.
    ceil_mode : bool
        Round the output length up (the last window must start inside the input or the
        leading padding).
    return_indices : bool
        Also return int64 argmax positions, flat in each channel's spatial plane.
    layout : {"NCHW", "NHWC"}
    out : ndarray, optional
        C-contiguous output of the exact shape and dtype, not overlapping ``x``.

    Returns
    -------
    ndarray, or (ndarray, ndarray) with ``return_indices``.
        NaN propagates (the first NaN wins); ties keep the first maximum in window order.
    """
    return _max_pool(2, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     layout, out)


def avg_pool2d(
    x: Any,
    kernel_size: IntOrTuple,
    stride: Optional[IntOrTuple] = None,
    padding: Padding = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
    *,
    dilation: IntOrTuple = 1,
    layout: str = "NCHW",
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """2-d average pooling, as ``torch.nn.functional.avg_pool2d`` plus ``dilation``.

    Parameters are those of :func:`max_pool2d`, and

    count_include_pad : bool
        Divide by the taps inside the padded extent (ceil_mode overhang excluded) rather than
        the taps inside the input.
    divisor_override : int, optional
        Divide every window sum by this instead (>= 1).

    Returns
    -------
    ndarray
        Same dtype as ``x``; integers are summed exactly and rounded once to the nearest
        value (ties to even), saturating to the dtype's range.
    """
    return _avg_pool(2, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, dilation, layout, out)


def pool2d(x: Any, pool_size: IntOrTuple, mode: str = "max", stride: IntOrTuple = 1,
           padding: Padding = 0) -> np.ndarray:
    """The textbook pooling function: a ``pool_size`` window with stride 1 by default.

    ``mode`` is ``"max"`` or ``"avg"``; ``x`` is ``(H, W)`` or any channels-first array.
    """
    if mode == "max":
        return max_pool2d(x, pool_size, stride, padding)  # type: ignore[no-any-return]
    if mode == "avg":
        return avg_pool2d(x, pool_size, stride, padding)
    raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")


def _rank_of(layout: object) -> int:
    if not isinstance(layout, str) or layout not in _LAYOUT_RANK:
        raise ValueError(f"layout must be one of {', '.join(map(repr, _LAYOUT_RANK))}, "
                         f"got {layout!r}")
    return _LAYOUT_RANK[layout]


def _shape_tuple(input_shape: object) -> Tuple[int, ...]:
    if not isinstance(input_shape, (tuple, list)) or not all(map(_args.is_int, input_shape)):
        raise ValueError(f"input_shape must be a tuple of ints, got {input_shape!r}")
    shape = tuple(int(v) for v in input_shape)
    if shape and min(shape) < 0:
        raise ValueError(f"input_shape must not hold negative sizes, got {input_shape!r}")
    if shape and max(shape) > _args.INT64_MAX:
        raise ValueError(f"input_shape must hold sizes that fit in int64 (< 2**63), got "
                         f"{input_shape!r}")
    return shape


def output_shape(
    input_shape: Tuple[int, ...],
    kernel_size: IntOrTuple,
    stride: Optional[IntOrTuple] = None,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    *,
    layout: str = "NCHW",
) -> Tuple[int, ...]:
    """The output shape of a pool over ``input_shape``, without computing anything.

    The layout name sets the number of spatial axes (``"NCL"`` 1, ``"NCHW"`` 2,
    ``"NCDHW"`` 3, likewise channels-last).
    """
    n = _rank_of(layout)
    shape = _shape_tuple(input_shape)
    return _args.plan(shape, n, kernel_size, stride, padding, dilation, ceil_mode, layout,
                      name="input_shape")[-1]


def pool_cost(
    input_shape: Tuple[int, ...],
    kernel_size: IntOrTuple,
    stride: Optional[IntOrTuple] = None,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    *,
    mode: str = "max",
    dtype: Any = "float32",
    layout: str = "NCHW",
) -> Dict[str, Any]:
    """What a pool over ``input_shape`` costs.

    Returns a dict: ``outputs`` (elements written), ``window_reads`` (taps of the direct
    algorithm that read an input element), ``bytes_min`` (input plus output bytes),
    ``algorithm`` (the one poolkit runs: ``"direct"``, every tap of every window, or
    ``"separable"``, rows reduced along W first, then the row results along the other axes,
    chosen where windows overlap enough to read fewer taps) and ``flops`` of that algorithm
    (comparisons for max; additions plus one division per output for avg).
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    n = _rank_of(layout)
    item = _args.dtype_of(dtype, "dtype").itemsize
    shape = _shape_tuple(input_shape)
    last, kernel, steps, before, after, dil, ceil, out = _args.plan(
        shape, n, kernel_size, stride, padding, dilation, ceil_mode, layout,
        name="input_shape")
    axes = _args.spatial_axes(len(shape), n, last)
    sizes = [shape[a] for a in axes]
    channels = shape[-1] if last else 1
    per_axis, algorithm = _core.cost(sizes, list(kernel), list(steps), list(before),
                                     list(after), list(dil), ceil, channels)
    planes = math.prod(shape) // math.prod(sizes)
    reads = planes * math.prod(per_axis)
    outputs = math.prod(out)
    if algorithm == "separable":
        # Each input row is reduced along W once (reading its in-bounds taps), then every
        # output reduces its window's row results along the other axes.
        rows = math.prod(sizes[:-1])
        ops = planes * (rows * per_axis[-1] + out[axes[-1]] * math.prod(per_axis[:-1]))
    else:
        ops = reads
    return {
        "outputs": outputs,
        "window_reads": reads,
        "bytes_min": (math.prod(shape) + outputs) * item,
        "algorithm": algorithm,
        "flops": ops if mode == "max" else ops + outputs,
    }
