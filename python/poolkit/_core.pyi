from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

def plan(
    in_sizes: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
    pad_before: Sequence[int], pad_after: Sequence[int], dilation: Sequence[int],
    ceil_mode: bool, same: bool,
) -> List[Tuple[int, int, int, int]]: ...
class Prepared:
    def __init__(
        self, x: np.ndarray, kernel: Sequence[int], stride: Sequence[int],
        pad_before: Sequence[int], pad_after: Sequence[int], dilation: Sequence[int],
        ceil_mode: bool, channels_last: bool,
    ) -> None: ...
    @property
    def out_shape(self) -> Tuple[int, ...]: ...
    def max_pool(self, x: np.ndarray, out: np.ndarray, indices: Optional[np.ndarray]) -> bool: ...
    def avg_pool(
        self, x: np.ndarray, out: np.ndarray, count_include_pad: bool, divisor_override: int,
    ) -> bool: ...

def cost(
    in_sizes: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
    pad_before: Sequence[int], pad_after: Sequence[int], dilation: Sequence[int],
    ceil_mode: bool, channels: int,
) -> Tuple[List[int], str]: ...
def build_info() -> Dict[str, Any]: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
