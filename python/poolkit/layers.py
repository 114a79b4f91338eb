"""Layer objects: the functional forms with their arguments bound, as ``torch.nn``."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _args
from ._args import IntOrTuple, Padding
from .functional import avg_pool2d, max_pool2d

__all__ = ["MaxPool2d", "AvgPool2d"]


def _check_window(n: int, kernel_size: object, stride: object, padding: object,
                  dilation: object, layout: object) -> None:
    """Reject bad arguments at construction rather than at the first call."""
    _args.int_tuple(kernel_size, "kernel_size", n, minimum=1)
    if stride is not None:
        _args.int_tuple(stride, "stride", n, minimum=1)
    _args.padding_pairs(padding, n)
    _args.int_tuple(dilation, "dilation", n, minimum=1)
    _args.channels_last(layout, n)


class MaxPool2d:
    """2-d max pooling layer; see :func:`poolkit.max_pool2d`."""

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: Optional[IntOrTuple] = None,
        padding: Padding = 0,
        dilation: IntOrTuple = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        *,
        layout: str = "NCHW",
    ) -> None:
        _check_window(2, kernel_size, stride, padding, dilation, layout)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = _args.flag(return_indices, "return_indices")
        self.ceil_mode = _args.flag(ceil_mode, "ceil_mode")
        self.layout = layout

    def __call__(self, x: Any) -> Any:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices, layout=self.layout)

    def __repr__(self) -> str:
        text = (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding!r}, dilation={self.dilation}, "
                f"ceil_mode={self.ceil_mode}")
        if self.layout != "NCHW":
            text += f", layout={self.layout!r}"
        return f"{type(self).__name__}({text})"


class AvgPool2d:
    """2-d average pooling layer; see :func:`poolkit.avg_pool2d`."""

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: Optional[IntOrTuple] = None,
        padding: Padding = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: Optional[int] = None,
        *,
        dilation: IntOrTuple = 1,
        layout: str = "NCHW",
    ) -> None:
        _check_window(2, kernel_size, stride, padding, dilation, layout)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = _args.flag(ceil_mode, "ceil_mode")
        self.count_include_pad = _args.flag(count_include_pad, "count_include_pad")
        self.divisor_override = _args.optional_positive(divisor_override, "divisor_override")
        self.dilation = dilation
        self.layout = layout

    def __call__(self, x: Any) -> np.ndarray:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override,
                          dilation=self.dilation, layout=self.layout)

    def __repr__(self) -> str:
        text = (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding!r}")
        if self.dilation != 1:
            text += f", dilation={self.dilation}"
        if self.layout != "NCHW":
            text += f", layout={self.layout!r}"
        return f"{type(self).__name__}({text})"
