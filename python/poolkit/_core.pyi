from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

def plan(
    in_sizes: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
    pad_before: Sequence[int], pad_after: Sequence[int], dilation: Sequence[int],
    ceil_mode: bool, same: bool,
) -> List[Tuple[int, int, int, int]]: ...
def max_pool(
    x: np.ndarray, out: np.ndarray, indices: Optional[np.ndarray], kernel: Sequence[int],
    stride: Sequence[int], pad_before: Sequence[int], pad_after: Sequence[int],
    dilation: Sequence[int], ceil_mode: bool, channels_last: bool,
) -> None: ...
def avg_pool(
    x: np.ndarray, out: np.ndarray, kernel: Sequence[int], stride: Sequence[int],
    pad_before: Sequence[int], pad_after: Sequence[int], dilation: Sequence[int],
    ceil_mode: bool, count_include_pad: bool, divisor_override: int, channels_last: bool,
) -> None: ...
def cost(
    in_sizes: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
    pad_before: Sequence[int], pad_after: Sequence[int], dilation: Sequence[int],
    ceil_mode: bool, channels: int,
) -> Tuple[List[int], str]: ...
def build_info() -> Dict[str, Any]: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
