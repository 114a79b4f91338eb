"""Plain NumPy oracle for poolkit's max and average pooling.

Slow and obviously correct on purpose: the input is padded explicitly, windows are cut with
`numpy.lib.stride_tricks.sliding_window_view`, and a validity mask (not a sentinel value)
decides which taps hold input elements, because real -inf values exist. Generic over the
number of spatial axes n (1, 2 or 3). Independent of the implementation: poolkit is never
imported here.

Every window argument is already normalised: `kernel_size`, `stride`, `dilation` are
n-tuples of ints, `padding` is an n-tuple of `(before, after)` pairs.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Pairs = Sequence[Tuple[int, int]]


def output_length(
    L: int, k: int, s: int, pad_before: int, pad_after: int, d: int, ceil_mode: bool
) -> int:
    """Number of windows along one axis (PyTorch's rule, including its ceil_mode rule).

    Raises ValueError when fewer than one window fits.
    """
    span = L + pad_before + pad_after - d * (k - 1) - 1
    if ceil_mode:
        out = -(-span // s) + 1
        # The last window must start inside the input or the leading padding.
        if (out - 1) * s >= L + pad_before:
            out -= 1
    else:
        out = span // s + 1
    if out < 1:
        raise ValueError(
            f"output length must be >= 1, got {out} (L={L}, k={k}, s={s}, "
            f"padding=({pad_before}, {pad_after}), d={d}, ceil_mode={ceil_mode})"
        )
    return out


def tap_counts(
    L: int, k: int, s: int, pad_before: int, pad_after: int, d: int, ceil_mode: bool
) -> Tuple[np.ndarray, np.ndarray]:
    """Per output index along one axis: (taps inside the input, taps inside the padded extent).

    Tap t of window o sits at o*s - pad_before + t*d. The padded extent is
    [-pad_before, L + pad_after); ceil_mode overhang beyond it counts in neither.
    Raises ValueError when some window holds no input element.
    """
    out = output_length(L, k, s, pad_before, pad_after, d, ceil_mode)
    inside = np.zeros(out, dtype=np.int64)
    padded = np.zeros(out, dtype=np.int64)
    for o in range(out):
        for t in range(k):
            pos = o * s - pad_before + t * d
            inside[o] += 0 <= pos < L
            padded[o] += -pad_before <= pos < L + pad_after
    if inside.min() == 0:
        o = int(np.argmin(inside))
        raise ValueError(
            f"window {o} holds no input element (L={L}, k={k}, s={s}, "
            f"padding=({pad_before}, {pad_after}), d={d}, ceil_mode={ceil_mode})"
        )
    return inside, padded


def same_padding(L: int, k: int, s: int, d: int) -> Tuple[int, int]:
    """TensorFlow/ONNX SAME_UPPER padding of one axis: output ceil(L/s), odd element after."""
    out = -(-L // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - L, 0)
    return total // 2, total - total // 2


def _check(x: np.ndarray, kernel_size, stride, padding, dilation, channels_last: bool) -> int:
    n = len(kernel_size)
    if not 1 <= n <= 3:
        raise ValueError(f"kernel_size must have 1 to 3 entries, got {kernel_size!r}")
    if len(stride) != n or len(padding) != n or len(dilation) != n:
        raise ValueError("kernel_size, stride, padding and dilation must have the same length")
    if x.ndim < n + int(channels_last):
        raise ValueError(f"x must have at least {n + int(channels_last)} axes, got shape {x.shape}")
    for name, values in (("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)):
        if min(values) < 1:
            raise ValueError(f"{name} must be >= 1, got {values!r}")
    if min(min(p) for p in padding) < 0:
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    return n


def _channels_first(x: np.ndarray, n: int, channels_last: bool) -> np.ndarray:
    return np.moveaxis(x, -1, -(n + 1)) if channels_last else x


def _back_to_layout(y: np.ndarray, n: int, channels_last: bool) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(y, -(n + 1), -1) if channels_last else y)


def _windows(a: np.ndarray, n: int, outs, kernel_size, stride, dilation) -> np.ndarray:
    """Windows of the (already padded) last n axes of `a`: shape (*lead, *outs, *kernel_size)."""
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    lead = a.ndim - n
    view = sliding_window_view(a, eff, axis=tuple(range(lead, a.ndim)))
    picks = (
        (slice(None),) * lead
        + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(outs, stride))
        + tuple(slice(None, None, d) for d in dilation)
    )
    return view[picks]


def _pad_spatial(
    a: np.ndarray, n: int, padding: Pairs, outs, kernel_size, stride, dilation, fill
) -> np.ndarray:
    """Copy of `a` padded with `fill` on its last n axes: `before` in front, and behind enough
    for the last window (ceil_mode overhang included). Position p of the input is at p + before."""
    lead = a.shape[: a.ndim - n]
    shape = list(lead)
    for L, (pb, pa), o, k, s, d in zip(a.shape[-n:], padding, outs, kernel_size, stride, dilation):
        shape.append(max(pb + L + pa, (o - 1) * s + d * (k - 1) + 1))
    padded = np.full(shape, fill, dtype=a.dtype)
    inner = (slice(None),) * len(lead) + tuple(
        slice(pb, pb + L) for (pb, _), L in zip(padding, a.shape[-n:])
    )
    padded[inner] = a
    return padded


def _geometry(x_cf: np.ndarray, n: int, kernel_size, stride, padding, dilation, ceil_mode):
    spatial = x_cf.shape[-n:]
    if min(spatial) < 1:
        raise ValueError(f"spatial axes must have size >= 1, got {spatial}")
    counts = [
        tap_counts(L, k, s, pb, pa, d, ceil_mode)
        for L, k, s, (pb, pa), d in zip(spatial, kernel_size, stride, padding, dilation)
    ]
    outs = tuple(len(inside) for inside, _ in counts)
    return spatial, outs, counts


def max_pool(
    x: np.ndarray,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Pairs,
    dilation: Sequence[int],
    ceil_mode: bool,
    channels_last: bool = False,
) -> Tuple[np.ndarray, np.ndarray]:
    """Max pooling: (values, int64 indices flat into each channel's un-padded spatial plane).

    Padding never wins. NaN propagates and its index is the first NaN in row-major window
    order; otherwise the index is the first occurrence of the maximum.
    """
    x = np.asarray(x)
    n = _check(x, kernel_size, stride, padding, dilation, channels_last)
    xc = _channels_first(x, n, channels_last)
    spatial, outs, _ = _geometry(xc, n, kernel_size, stride, padding, dilation, ceil_mode)

    values = _windows(
        _pad_spatial(xc, n, padding, outs, kernel_size, stride, dilation, 0),
        n,
        outs,
        kernel_size,
        stride,
        dilation,
    )
    valid_plane = _pad_spatial(
        np.ones(spatial, dtype=bool), n, padding, outs, kernel_size, stride, dilation, False
    )
    valid = _windows(valid_plane, n, outs, kernel_size, stride, dilation)

    taps = math.prod(kernel_size)
    values = values.reshape(values.shape[: values.ndim - n] + (taps,))
    valid = np.broadcast_to(valid.reshape(outs + (taps,)), values.shape)

    if x.dtype.kind == "f":
        nan = np.isnan(values) & valid
        lowest = -np.inf
    else:
        nan = np.zeros(values.shape, dtype=bool)
        lowest = np.iinfo(x.dtype).min
    has_nan = nan.any(axis=-1)
    best = np.where(valid & ~nan, values, np.array(lowest, dtype=x.dtype)).max(axis=-1)
    # If every valid tap equals the lowest value, the first valid tap is the first hit.
    hit = valid & (values == best[..., None])
    tap = np.where(has_nan, np.argmax(nan, axis=-1), np.argmax(hit, axis=-1))
    best = np.where(has_nan, np.array(np.nan if x.dtype.kind == "f" else 0, dtype=x.dtype), best)

    # Tap number -> input position per axis -> flat index into the un-padded plane.
    tap_coords = np.unravel_index(tap, kernel_size)
    out_coords = np.indices(outs, sparse=True)
    flat = np.zeros(tap.shape, dtype=np.int64)
    for axis in range(n):
        pos = out_coords[axis] * stride[axis] - padding[axis][0] + tap_coords[axis] * dilation[axis]
        assert ((0 <= pos) & (pos < spatial[axis])).all()
        flat = flat * spatial[axis] + pos
    return _back_to_layout(best.astype(x.dtype), n, channels_last), _back_to_layout(
        flat, n, channels_last
    )


def _round_half_even(num: int, den: int) -> int:
    """num / den rounded to the nearest integer, ties to even, in exact integer arithmetic."""
    if den < 0:
        num, den = -num, -den
    q, r = divmod(num, den)  # floor quotient, 0 <= r < den
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def avg_pool(
    x: np.ndarray,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Pairs,
    dilation: Sequence[int],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Optional[int],
    channels_last: bool = False,
) -> np.ndarray:
    """Average pooling: exact sum of the window's input elements over PyTorch's divisor.

    Floats are summed in float64, integers exactly (Python ints); integer results are rounded
    to nearest, ties to even, then saturated to the dtype's range.
    """
    x = np.asarray(x)
    n = _check(x, kernel_size, stride, padding, dilation, channels_last)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError("divisor_override must be nonzero, got 0")
    xc = _channels_first(x, n, channels_last)
    _, outs, counts = _geometry(xc, n, kernel_size, stride, padding, dilation, ceil_mode)

    is_float = x.dtype.kind == "f"
    wide = xc.astype(np.float64) if is_float else xc.astype(object)
    fill = 0.0 if is_float else 0
    windows = _windows(
        _pad_spatial(wide, n, padding, outs, kernel_size, stride, dilation, fill),
        n,
        outs,
        kernel_size,
        stride,
        dilation,
    )
    # inf + -inf is NaN and a float16 result may overflow to inf: intended, not warned about.
    with np.errstate(invalid="ignore", over="ignore"):
        sums = windows.sum(axis=tuple(range(windows.ndim - n, windows.ndim)))

    if divisor_override is not None:
        divisor = np.full(outs, int(divisor_override), dtype=object)
    else:
        divisor = np.ones((), dtype=object)
        for axis, (inside, padded) in enumerate(counts):
            per_axis = (padded if count_include_pad else inside).astype(object)
            divisor = np.multiply.outer(divisor, per_axis)
    divisor = np.broadcast_to(divisor, sums.shape)

    if is_float:
        with np.errstate(invalid="ignore", over="ignore"):
            result = (sums / divisor.astype(np.float64)).astype(x.dtype)
    else:
        info = np.iinfo(x.dtype)
        flat = [
            min(max(_round_half_even(int(s), int(d)), int(info.min)), int(info.max))
            for s, d in zip(sums.ravel().tolist(), divisor.ravel().tolist())
        ]
        result = np.array(flat, dtype=x.dtype).reshape(sums.shape)
    return _back_to_layout(result, n, channels_last)
