"""``python -m poolkit bench``: poolkit side by side with NumPy and other libraries' pooling.

Every implementation runs the same named cases (pooling layers of real networks, image
downscaling, and a 4x4 call that measures overhead). Before anything is timed, poolkit is
checked against a plain NumPy reference on a shrunk copy of the case, and every other
implementation against poolkit on the case itself; one that disagrees is reported as
"wrong" and not timed. Peers (PyTorch, ONNX Runtime, OpenCV, SciPy, scikit-image, JAX) are
optional: each one that imports takes part in the cases it supports, each one that does not
is named in the notes. Timings are medians of rounds that interleave the implementations
round-robin, and each case's poolkit time is set against the machine's copy bandwidth,
measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import importlib
import json
import math
import os
import platform
import statistics
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import (
    Any,
    Callable,
    ContextManager,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    TextIO,
    Tuple,
)

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

import poolkit as pk

Array = NDArray[Any]

EPILOG = """\
correctness: before timing, poolkit is checked against the NumPy reference on a shrunk copy
of each case, and every implementation against poolkit on the case itself: max pooling bit
for bit, float average within rtol 1e-5 (float32) or 1e-12 (float64) of the largest |value|,
integer average within 1 (peers round differently: truncation, half up). An implementation
that disagrees is reported as "wrong" and not timed.

timing: rounds interleave the implementations round-robin; in each, every implementation
makes untimed warm-up calls for 5 ms (at least one), then one timed sample (time.perf_counter;
a call faster than 1 ms is repeated within its sample). In rows with more than one thread,
each implementation's turn starts after a pause (--settle): idle OpenMP and ONNX Runtime
workers spin for milliseconds after a call and would otherwise slow down the next library. A
row stops after --rounds rounds, or once 3 rounds are done and --budget seconds have passed;
the median sample is reported. Peers whose thread count cannot be set (NumPy, SciPy,
scikit-image, JAX) run the same way in every thread row.

memory: glibc's malloc raises its mmap threshold (up to 32 MiB) after the first large
buffer is freed, so whether a large output is served by fresh mmap'd pages (page faults) or by
recycled heap memory depends on what ran before, which distorts comparisons. Running with
MALLOC_MMAP_THRESHOLD_=65536 in the environment fixes the threshold (every large output is
fresh pages, for every implementation) and steadies the timings.

threads: OpenMP runtimes (poolkit's, PyTorch's) spin-wait at their barriers, so when other
processes keep a core busy, or a worker is queued on the calling thread's CPU, a multi-threaded
call can stall for whole scheduler ticks (milliseconds); the report says how busy the cores
were before and after the run. OMP_WAIT_POLICY=passive (set before the run) shows how much of a
slow row is that stall.

bandwidth: the share of the limit is (input + output bytes) / time / copy bandwidth, where
the copy bandwidth is np.copyto of a large buffer (256 MiB; 64 MiB with --quick) split over as
many Python threads as the row uses, counting bytes read plus bytes written.
"""

_RTOL = {"float32": 1e-5, "float64": 1e-12}
# The NumPy reference is timed only where a call stays well under a second.
_REFERENCE_READS = 2**24
# A timed sample lasts at least this long; faster calls are repeated within it.
_SAMPLE_S = 1e-3
_MIN_ROUNDS = 3
_WARM_UP = 5e-3  # seconds of untimed calls before each timed sample


# ----------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One pooling call to benchmark: window, input shape, layout and dtype.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"resnet50-stem"``; ``--cases`` matches on it.
    mode : {"max", "avg"}
        Max or average pooling (average counts the padding in its divisor, PyTorch's default).
    kernel, stride, padding : int
        The square window.
    batch : tuple of int
        The axes before channels and space: ``(N,)``, or ``()`` for a single image.
    channels, size : int
        Number of channels and the (square) spatial size.
    layout : {"NCHW", "NHWC"}
        Channels first or last.
    dtype : str
        NumPy dtype name.
    large : bool
        Run only with ``--large``.
    """

    name: str
    mode: str
    kernel: int
    stride: int
    padding: int
    batch: Tuple[int, ...]
    channels: int
    size: int
    layout: str
    dtype: str
    large: bool = False

    @property
    def channels_last(self) -> bool:
        """Whether the channel axis is the last one."""
        return self.layout == "NHWC"

    @property
    def label(self) -> str:
        """The layout name for this rank: ``NCHW``, ``NHWC``, ``CHW`` or ``HWC``."""
        return self.layout[-len(self.shape):]

    @property
    def shape(self) -> Tuple[int, ...]:
        """The input's shape in its layout."""
        c, s = self.channels, self.size
        return self.batch + ((s, s, c) if self.channels_last else (c, s, s))

    @property
    def spatial_axes(self) -> Tuple[int, int]:
        """The axes of H and W."""
        first = len(self.batch) + (0 if self.channels_last else 1)
        return first, first + 1

    @property
    def out_size(self) -> int:
        """Output H (= W): ``floor((size + 2 * padding - kernel) / stride) + 1``."""
        return (self.size + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def out_shape(self) -> Tuple[int, ...]:
        """The output's shape in the input's layout."""
        c, o = self.channels, self.out_size
        return self.batch + ((o, o, c) if self.channels_last else (c, o, o))

    @property
    def nbytes(self) -> int:
        """Bytes of input plus output: the least a pooling call must move."""
        item = np.dtype(self.dtype).itemsize
        return (math.prod(self.shape) + math.prod(self.out_shape)) * item

    @property
    def window(self) -> str:
        """E.g. ``max 3x3 s2 p1``."""
        k = self.kernel
        return f"{self.mode} {k}x{k} s{self.stride} p{self.padding}"

    def quick(self) -> Case:
        """This case shrunk for ``--quick``: batch 1, at most 32 channels, spatial size / 4
        (/ 8 for images of 1024 pixels and more)."""
        divisor = 8 if self.size >= 1024 else 4 if self.size >= 16 else 1
        return dataclasses.replace(self, batch=(1,) * len(self.batch),
                                   channels=min(self.channels, 32), size=self.size // divisor)

    def shrunk(self) -> Case:
        """A small copy of this case (same window, dtype and layout) for the reference."""
        return dataclasses.replace(self, batch=(1,) * len(self.batch),
                                   channels=min(self.channels, 3), size=min(self.size, 24))


def _both_layouts(name: str, mode: str, kernel: int, stride: int, padding: int,
                  nchw: Tuple[int, int, int], dtype: str = "float32",
                  large: bool = False) -> Tuple[Case, Case]:
    n, c, size = nchw
    return (Case(name, mode, kernel, stride, padding, (n,), c, size, "NCHW", dtype, large),
            Case(name, mode, kernel, stride, padding, (n,), c, size, "NHWC", dtype, large))


CASES: Tuple[Case, ...] = (
    *_both_layouts("vgg16-pool2", "max", 2, 2, 0, (8, 128, 112)),
    *_both_layouts("resnet50-stem", "max", 3, 2, 1, (16, 64, 112)),
    *_both_layouts("resnet50-stem-b1", "max", 3, 2, 1, (1, 64, 112)),
    *_both_layouts("yolov5-sppf", "max", 5, 1, 2, (8, 256, 40)),
    *_both_layouts("max7x7-s1", "max", 7, 1, 3, (8, 64, 56)),
    *_both_layouts("inception-pool", "max", 3, 1, 1, (8, 192, 28)),
    *_both_layouts("avg2x2-s2", "avg", 2, 2, 0, (8, 128, 112)),
    *_both_layouts("inception-avg", "avg", 3, 1, 1, (8, 192, 28)),
    *_both_layouts("avg7x7-s1", "avg", 7, 1, 3, (8, 64, 56)),
    *_both_layouts("resnet50-stem-f64", "max", 3, 2, 1, (8, 64, 112), "float64"),
    *_both_layouts("vgg16-pool1-large", "max", 2, 2, 0, (32, 64, 224), large=True),
    Case("image-avg2x2-u8", "avg", 2, 2, 0, (), 3, 4096, "NCHW", "uint8"),
    Case("image-avg2x2-u8", "avg", 2, 2, 0, (), 3, 4096, "NHWC", "uint8"),
    Case("image-avg2x2-f32", "avg", 2, 2, 0, (), 3, 4096, "NHWC", "float32"),
    Case("image-max2x2-f32", "max", 2, 2, 0, (), 3, 4096, "NHWC", "float32"),
    Case("image-max3x3-u8", "max", 3, 1, 1, (), 3, 4096, "NHWC", "uint8"),
    Case("overhead-4x4", "max", 3, 2, 1, (1,), 1, 4, "NCHW", "float32"),
)


def select_cases(patterns: str, *, large: bool, quick: bool) -> List[Case]:
    """The cases whose ``name/layout`` contains one of the comma-separated `patterns`
    (case-insensitive; empty: all), large ones only if `large`, shrunk if `quick`."""
    wanted = [p.strip().lower() for p in patterns.split(",") if p.strip()]
    chosen = [
        case for case in CASES
        if (large or not case.large)
        and (not wanted or any(p in f"{case.name}/{case.label}".lower() for p in wanted))
    ]
    return [case.quick() for case in chosen] if quick else chosen


def random_input(case: Case, rng: np.random.Generator) -> Array:
    """Standard normal floats or uniformly drawn integers of the case's shape and dtype."""
    dtype = np.dtype(case.dtype)
    if dtype.kind == "f":
        return rng.standard_normal(case.shape, dtype=dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=case.shape, endpoint=True, dtype=dtype)


# ----------------------------------------------------------------------------------------
# The NumPy reference and the comparison
# ----------------------------------------------------------------------------------------


def reference_pool(x: Array, mode: str, kernel: int, stride: int, padding: int,
                   channels_last: bool = False) -> Array:
    """Pool `x` the slow, obvious way: explicit padding, then every window's max or mean.

    Parameters
    ----------
    x : ndarray
        Input whose last two axes (``channels_last``: the two before the last) are H and W.
    mode : {"max", "avg"}
        Max, or the mean over all ``kernel**2`` taps (padding counts, PyTorch's default).
    kernel, stride, padding : int
        The square window; the output length is ``floor((L + 2p - k) / s) + 1``.
    channels_last : bool
        Whether the channel axis is the last one.

    Returns
    -------
    ndarray
        The pooled array, of `x`'s dtype. Averages are summed in float64 (integers: int64)
        and rounded once; integers to nearest, ties to even.
    """
    axes = (x.ndim - 3, x.ndim - 2) if channels_last else (x.ndim - 2, x.ndim - 1)
    integer = x.dtype.kind in "iu"
    if mode == "max":
        wide, fill = x, (np.iinfo(x.dtype).min if integer else -np.inf)
    else:
        wide, fill = x.astype(np.int64 if integer else np.float64), 0
    pads = [(padding, padding) if axis in axes else (0, 0) for axis in range(x.ndim)]
    windows = sliding_window_view(np.pad(wide, pads, constant_values=fill), (kernel, kernel),
                                  axis=axes)
    every = tuple(slice(None, None, stride) if axis in axes else slice(None)
                  for axis in range(x.ndim))
    windows = windows[every]
    if mode == "max":
        return np.asarray(windows.max(axis=(-2, -1)))
    mean = windows.sum(axis=(-2, -1)) / kernel**2
    return np.asarray((np.rint(mean) if integer else mean).astype(x.dtype))


def compare(got: Array, want: Array, mode: str, int_atol: int = 0) -> Optional[str]:
    """None when `got` agrees with `want`, else what differs.

    Max pooling must match bit for bit; float averages within ``rtol`` (1e-5 for float32,
    1e-12 for float64) times the largest ``|want|``; integer averages within `int_atol`.
    Shapes and dtypes must be equal.
    """
    if got.shape != want.shape or got.dtype != want.dtype:
        return (f"returned {got.dtype} of shape {got.shape}, expected {want.dtype} of shape "
                f"{want.shape}")
    g, w = got.astype(np.float64), want.astype(np.float64)
    if mode == "max":
        tol = 0.0
    elif want.dtype.kind in "iu":
        tol = float(int_atol)
    else:
        tol = _RTOL[want.dtype.name] * float(np.max(np.abs(w), initial=0.0))
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf: equal, caught first
        diff = np.abs(g - w)
        ok = (g == w) | (diff <= tol) | (np.isnan(g) & np.isnan(w))
    if ok.all():
        return None
    bad = ~ok
    return (f"{int(bad.sum())} of {bad.size} values differ (largest difference "
            f"{float(np.nanmax(np.where(bad, diff, 0.0))):.3g})")


# ----------------------------------------------------------------------------------------
# Implementations
# ----------------------------------------------------------------------------------------


def _as_array(value: Any) -> Array:
    return np.asarray(value)


@dataclasses.dataclass(frozen=True)
class Runner:
    """A call prepared for one case: ``call()`` is what gets timed; ``result(call())`` turns
    its return value into a NumPy array in the case's layout (untimed)."""

    call: Callable[[], Any]
    result: Callable[[Any], Array] = _as_array


def _always(case: Case) -> Optional[str]:
    return None


def _fixed_threads(n: int) -> ContextManager[None]:
    return contextlib.nullcontext()


@dataclasses.dataclass(frozen=True)
class Impl:
    """One implementation taking part in the benchmark.

    Attributes
    ----------
    name : str
        Column name in the table.
    version : str
        Library and version, for the report.
    prepare : callable
        ``prepare(case, x, threads) -> Runner``: everything that is not the call itself
        (conversions that users do once, sessions, compilation).
    supports : callable
        ``supports(case)``: None, or why the case is not run.
    threads : callable
        ``threads(n)``: a context manager that sets the thread count and restores it.
    note : str
        How it is called and what the timing includes.
    """

    name: str
    version: str
    prepare: Callable[[Case, Array, int], Runner]
    supports: Callable[[Case], Optional[str]] = _always
    threads: Callable[[int], ContextManager[None]] = _fixed_threads
    note: str = ""


def _thread_setting(get: Callable[[], int],
                    set_: Callable[[int], None]) -> Callable[[int], ContextManager[None]]:
    @contextlib.contextmanager
    def scoped(n: int) -> Iterator[None]:
        previous = get()
        set_(n)
        try:
            yield
        finally:
            set_(previous)

    return scoped


def _poolkit_call(case: Case, x: Array) -> Callable[[], Array]:
    pool: Callable[..., Array] = pk.max_pool2d if case.mode == "max" else pk.avg_pool2d
    k, s, p, layout = case.kernel, case.stride, case.padding, case.layout
    return lambda: pool(x, k, s, p, layout=layout)


def _poolkit_impl() -> Impl:
    return Impl("poolkit", f"poolkit {pk.__version__}",
                lambda case, x, threads: Runner(_poolkit_call(case, x)), threads=pk.threads)


def _numpy_impl() -> Impl:
    def supports(case: Case) -> Optional[str]:
        reads = math.prod(case.out_shape) * case.kernel**2
        return None if reads <= _REFERENCE_READS else "timed only up to 2**24 window reads"

    def prepare(case: Case, x: Array, threads: int) -> Runner:
        return Runner(lambda: reference_pool(x, case.mode, case.kernel, case.stride,
                                             case.padding, case.channels_last))

    return Impl("numpy", f"numpy {np.__version__}", prepare, supports,
                note="the sliding-window reference reference_pool (poolkit._bench), "
                     "single-threaded")


def _torch_impls() -> List[Impl]:
    torch: Any = importlib.import_module("torch")
    functional = torch.nn.functional
    threads = _thread_setting(torch.get_num_threads, torch.set_num_threads)

    def as_tensor(case: Case, x: Array) -> Any:
        # A 4-d NCHW-shaped view: contiguous for NCHW, channels_last strides for NHWC.
        t = torch.from_numpy(x).reshape((-1,) + x.shape[-3:])
        return t.permute(0, 3, 1, 2) if case.channels_last else t

    def to_array(case: Case) -> Callable[[Any], Array]:
        def convert(y: Any) -> Array:
            dense = y.permute(0, 2, 3, 1) if case.channels_last else y
            return np.asarray(dense.numpy()).reshape(case.out_shape)

        return convert

    def pool(case: Case) -> Any:
        return functional.max_pool2d if case.mode == "max" else functional.avg_pool2d

    def supports(case: Case) -> Optional[str]:
        ok = case.dtype in (("float32", "float64", "uint8") if case.mode == "max"
                            else ("float32", "float64"))
        return None if ok else f"no {case.mode} pooling for {case.dtype} on the CPU"

    def prepare(case: Case, x: Array, n: int) -> Runner:
        t, f, k, s, p = as_tensor(case, x), pool(case), case.kernel, case.stride, case.padding
        return Runner(lambda: f(t, k, s, p), to_array(case))

    def prepare_mkldnn(case: Case, x: Array, n: int) -> Runner:
        t, f, k, s, p = as_tensor(case, x), pool(case), case.kernel, case.stride, case.padding
        return Runner(lambda: f(t.to_mkldnn(), k, s, p).to_dense(), to_array(case))

    version = f"torch {torch.__version__}"
    impls = [Impl("torch", version, prepare, supports, threads,
                  "torch.nn.functional on torch.from_numpy views (no copy): NCHW rows pool "
                  "contiguous tensors, NHWC rows channels_last tensors")]
    if torch.backends.mkldnn.is_available():
        impls.append(Impl(
            "mkldnn", version, prepare_mkldnn,
            lambda case: None if case.dtype == "float32" else "float32 only", threads,
            "x.to_mkldnn(), pool, .to_dense(): both conversions inside the timed call"))
    return impls


def _onnxruntime_impls() -> List[Impl]:
    onnx: Any = importlib.import_module("onnx")
    ort: Any = importlib.import_module("onnxruntime")
    helper = onnx.helper

    def supports(case: Case) -> Optional[str]:
        ok = case.dtype in (("float32", "float64", "uint8") if case.mode == "max"
                            else ("float32",))
        return None if ok else f"no CPU kernel for {case.mode} pooling of {case.dtype}"

    def session(case: Case, threads: int) -> Any:
        n, c, o = math.prod(case.batch), case.channels, case.out_size
        elem = helper.np_dtype_to_tensor_dtype(np.dtype(case.dtype))
        k, s, p = case.kernel, case.stride, case.padding
        attributes: Dict[str, Any] = {"kernel_shape": [k, k], "strides": [s, s],
                                      "pads": [p, p, p, p]}
        if case.mode == "avg":
            attributes["count_include_pad"] = 1
        node = helper.make_node("MaxPool" if case.mode == "max" else "AveragePool", ["x"],
                                ["y"], **attributes)
        graph = helper.make_graph(
            [node], "pool", [helper.make_tensor_value_info("x", elem, [n, c, case.size,
                                                                       case.size])],
            [helper.make_tensor_value_info("y", elem, [n, c, o, o])])
        # Opset 17 and IR version 8 load in every ONNX Runtime since 1.13.
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(model.SerializeToString(), sess_options=options,
                                    providers=["CPUExecutionProvider"])

    def prepare(case: Case, x: Array, threads: int) -> Runner:
        run = session(case, threads).run
        n, c, size = math.prod(case.batch), case.channels, case.size

        def result(y: Any) -> Array:
            return np.asarray(y).reshape(case.out_shape)

        if not case.channels_last:
            nchw = x.reshape(n, c, size, size)
            return Runner(lambda: run(None, {"x": nchw})[0], result)
        nhwc = x.reshape(n, size, size, c)

        def call() -> Array:
            y: Array = run(None, {"x": np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))})[0]
            return y.transpose(0, 2, 3, 1)

        return Runner(call, result)

    return [Impl("onnxrt", f"onnxruntime {ort.__version__} (onnx {onnx.__version__})",
                 prepare, supports,
                 note="a one-node MaxPool/AveragePool model with static shapes, "
                      "intra_op_num_threads = threads; NHWC rows transpose the input to NCHW "
                      "(a copy) inside the timed call and return an NHWC view of the output")]


def _opencv_impls() -> List[Impl]:
    cv2: Any = importlib.import_module("cv2")

    def halving(case: Case) -> bool:
        return (case.kernel, case.stride, case.padding) == (2, 2, 0) and case.size % 2 == 0

    def supports(case: Case) -> Optional[str]:
        if not case.channels_last or case.batch:
            return "3-d HWC images only"
        if case.channels > 512:
            return "at most 512 channels"
        if case.mode == "avg" and not (halving(case) or (
                case.stride == 1 and 2 * case.padding == case.kernel - 1)):
            return "average pooling only as 2x2 s2 (resize) or stride 1 with centred padding"
        return None

    def prepare(case: Case, x: Array, threads: int) -> Runner:
        k, s, p = case.kernel, case.stride, case.padding
        if case.mode == "max":
            kernel = np.ones((k, k), np.uint8)
            last = (case.out_size - 1) * s + 1
            # dilate's default border never wins; anchor p puts window y at rows y-p..y-p+k-1.
            return Runner(lambda: cv2.dilate(x, kernel, anchor=(p, p))[:last:s, :last:s])
        if halving(case):
            half = (case.size // 2, case.size // 2)
            return Runner(lambda: cv2.resize(x, half, interpolation=cv2.INTER_AREA))
        return Runner(lambda: cv2.blur(x, (k, k), borderType=cv2.BORDER_CONSTANT))

    return [Impl("opencv", f"opencv {cv2.__version__}", prepare, supports,
                 _thread_setting(cv2.getNumThreads, cv2.setNumThreads),
                 "cv2.dilate with a k x k rectangle then slicing for the stride (max), "
                 "cv2.resize INTER_AREA (2x2 s2 average), cv2.blur (stride-1 average)")]


def _window_picks(case: Case, ndim: int) -> Tuple[List[int], List[int], Tuple[slice, ...]]:
    """Filter size and origin per axis for a stride-1 filter whose output `i` covers the
    window starting at ``i - padding``, and the slices that keep every stride-th output."""
    size, origin, keep = [1] * ndim, [0] * ndim, [slice(None)] * ndim
    last = (case.out_size - 1) * case.stride + 1
    for axis in case.spatial_axes:
        size[axis] = case.kernel
        # ndimage's window starts at i - k // 2 - origin.
        origin[axis] = case.padding - case.kernel // 2
        keep[axis] = slice(0, last, case.stride)
    return size, origin, tuple(keep)


def _scipy_impls() -> List[Impl]:
    scipy: Any = importlib.import_module("scipy")
    ndimage: Any = importlib.import_module("scipy.ndimage")

    def prepare(case: Case, x: Array, threads: int) -> Runner:
        size, origin, keep = _window_picks(case, x.ndim)
        if case.mode == "max":
            lowest = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
            return Runner(lambda: ndimage.maximum_filter(
                x, size=size, mode="constant", cval=lowest, origin=origin)[keep])
        return Runner(lambda: ndimage.uniform_filter(
            x, size=size, mode="constant", cval=0.0, origin=origin)[keep])

    return [Impl("scipy", f"scipy {scipy.__version__}", prepare,
                 note="ndimage.maximum_filter / uniform_filter at stride 1, then slicing for "
                      "the stride; single-threaded (no thread setting)")]


def _skimage_impls() -> List[Impl]:
    skimage: Any = importlib.import_module("skimage")
    block_reduce: Any = importlib.import_module("skimage.measure").block_reduce

    def supports(case: Case) -> Optional[str]:
        if case.kernel != case.stride or case.padding or case.size % case.kernel:
            return "non-overlapping windows only (kernel = stride, no padding, exact fit)"
        if case.mode == "avg" and case.dtype == "uint8":
            return "np.mean returns float64 for integer input"
        return None

    def prepare(case: Case, x: Array, threads: int) -> Runner:
        block = [1] * x.ndim
        for axis in case.spatial_axes:
            block[axis] = case.kernel
        reduce = np.max if case.mode == "max" else np.mean
        return Runner(lambda: block_reduce(x, tuple(block), reduce))

    return [Impl("skimage", f"scikit-image {skimage.__version__}", prepare, supports,
                 note="measure.block_reduce with np.max / np.mean; single-threaded "
                      "(no thread setting)")]


def _jax_impls() -> List[Impl]:
    jax: Any = importlib.import_module("jax")
    jnp: Any = importlib.import_module("jax.numpy")
    lax = jax.lax

    def supports(case: Case) -> Optional[str]:
        if case.dtype == "float64" and not jax.config.jax_enable_x64:
            return "float64 needs JAX_ENABLE_X64=1"
        return None

    def prepare(case: Case, x: Array, threads: int) -> Runner:
        dims, strides, pads = [1] * x.ndim, [1] * x.ndim, [(0, 0)] * x.ndim
        for axis in case.spatial_axes:
            dims[axis], strides[axis] = case.kernel, case.stride
            pads[axis] = (case.padding, case.padding)
        integer = x.dtype.kind in "iu"

        def pool(a: Any) -> Any:
            if case.mode == "max":
                lowest = np.iinfo(x.dtype).min if integer else -np.inf
                return lax.reduce_window(a, np.array(lowest, x.dtype), lax.max, dims, strides,
                                         pads)
            acc = np.dtype(np.int32) if integer else x.dtype
            total = lax.reduce_window(a.astype(acc), np.array(0, acc), lax.add, dims, strides,
                                      pads)
            mean = total / case.kernel**2
            return (jnp.round(mean) if integer else mean).astype(x.dtype)

        jitted = jax.jit(pool)
        on_device = jax.device_put(x)
        return Runner(lambda: jitted(on_device).block_until_ready())

    return [Impl("jax", f"jax {jax.__version__}", prepare, supports,
                 note="jax.jit(lax.reduce_window), the input put on the device before timing, "
                      "block_until_ready inside; threads cannot be set at run time (XLA's CPU "
                      "client picks its own)")]


# Optional peers in column order: (library, factory). A factory imports its library and
# returns its implementations; an exception from it skips the library with a note.
PEERS: List[Tuple[str, Callable[[], List[Impl]]]] = [
    ("PyTorch", _torch_impls),
    ("ONNX Runtime", _onnxruntime_impls),
    ("OpenCV", _opencv_impls),
    ("SciPy", _scipy_impls),
    ("scikit-image", _skimage_impls),
    ("JAX", _jax_impls),
]


def _libraries() -> List[Tuple[str, Callable[[], List[Impl]]]]:
    """The NumPy reference and every peer library, by the names --skip takes."""
    return [("NumPy", lambda: [_numpy_impl()]), *PEERS]


def load_impls(skip: Sequence[str] = ()) -> Tuple[List[Impl], Dict[str, str]]:
    """poolkit, the NumPy reference and every peer that loads, less the libraries named in
    `skip` (as ``skippable()`` names them, any case); and why the others are missing."""
    wanted = {name.lower() for name in skip}
    impls = [_poolkit_impl()]
    skipped: Dict[str, str] = {}
    for library, factory in _libraries():
        if library.lower() in wanted:
            skipped[library] = "--skip"
            continue
        try:
            impls.extend(factory())
        except Exception as exc:  # a missing or broken peer is skipped, not fatal
            skipped[library] = f"{type(exc).__name__}: {exc}"
    return impls, skipped


def skippable() -> List[str]:
    """The names --skip takes: the NumPy reference's and every peer library's."""
    return [library for library, _ in _libraries()]


# ----------------------------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    """One implementation on one case at one thread count.

    ``status`` is ``"ok"`` (timed), ``"wrong"``, ``"error"`` or ``"unsupported"``;
    ``detail`` says why when it is not ok. ``samples`` hold seconds per call, one per round.
    """

    case: Case
    threads: int
    impl: str
    status: str
    detail: str = ""
    samples: List[float] = dataclasses.field(default_factory=list)
    calls_per_sample: int = 1

    @property
    def median(self) -> Optional[float]:
        """Median seconds per call, or None when not timed."""
        return statistics.median(self.samples) if self.samples else None


class Progress:
    """A plain-text progress bar, ``[#####.....] 12/40 case step``, on one line of `stream`
    (one line per row where `stream` is not a terminal)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = stream.isatty()
        self.width = 0

    def show(self, text: str, transient: bool = False) -> None:
        """Show `text` beside the bar; `transient` text is shown on terminals only."""
        if transient and not self.tty:
            return
        filled = 20 * self.done // max(self.total, 1)
        line = f"[{'#' * filled}{'.' * (20 - filled)}] {self.done}/{self.total} {text}"
        if self.tty:
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def step(self) -> None:
        """Count one row as done."""
        self.done += 1

    def close(self) -> None:
        """Show the full bar and end the line."""
        self.show("done")
        if self.tty:
            self.stream.write("\n")


def copy_bandwidth(nbytes: int, threads: int, repeats: int = 5) -> float:
    """Bytes per second (read plus written) that ``np.copyto`` moves over `nbytes`, split
    into `threads` slices copied by as many Python threads (NumPy releases the GIL while it
    copies); the median of `repeats` copies after one warm-up copy."""
    src = np.ones(nbytes, dtype=np.uint8)
    dst = np.empty_like(src)
    bounds = [nbytes * i // threads for i in range(threads + 1)]
    pieces = [(dst[a:b], src[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]

    def copy(piece: Tuple[Array, Array]) -> None:
        np.copyto(piece[0], piece[1])

    times = []
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats + 1):
            begin = time.perf_counter()
            list(pool.map(copy, pieces))
            times.append(time.perf_counter() - begin)
    return 2 * nbytes / statistics.median(times[1:])


def busy_cores(seconds: float = 0.25) -> Optional[float]:
    """How many cores other processes kept busy over the next `seconds`, from ``/proc/stat``
    less this process's own CPU time (None where ``/proc/stat`` cannot be read)."""

    def ticks() -> Tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    try:
        busy0, total0 = ticks()
        own0, wall0 = time.process_time(), time.perf_counter()
        time.sleep(seconds)
        busy1, total1 = ticks()
        own1, wall1 = time.process_time(), time.perf_counter()
    except (OSError, ValueError, IndexError):
        return None
    cores = os.cpu_count() or 1
    busy = cores * (busy1 - busy0) / max(total1 - total0, 1)
    return max(0.0, busy - (own1 - own0) / (wall1 - wall0))


def _calls_per_sample(call: Callable[[], Any]) -> int:
    begin = time.perf_counter()
    call()
    elapsed = time.perf_counter() - begin
    return max(1, min(10_000, math.ceil(_SAMPLE_S / max(elapsed, 1e-9))))


def _check(impl: Impl, case: Case, x: Array, expected: Array, threads: int
           ) -> Tuple[Result, Optional[Runner]]:
    result = Result(case, threads, impl.name, "unsupported")
    reason = impl.supports(case)
    if reason is not None:
        result.detail = reason
        return result, None
    try:
        runner = impl.prepare(case, x, threads)
        problem = compare(runner.result(runner.call()), expected, case.mode, int_atol=1)
        if problem is None:
            result.calls_per_sample = _calls_per_sample(runner.call)
    except Exception as exc:  # a peer that fails is reported in its cell, not fatal
        text = (str(exc).splitlines() or [""])[0]
        text = text if len(text) <= 160 else text[:157] + "..."
        result.status, result.detail = "error", f"{type(exc).__name__}: {text}"
        return result, None
    if problem is not None:
        result.status, result.detail = "wrong", problem
        return result, None
    result.status = "ok"
    return result, runner


@dataclasses.dataclass(frozen=True)
class Timing:
    """How each row is timed.

    Attributes
    ----------
    rounds : int
        Most rounds per row.
    budget : float
        Seconds after which a row stops once 3 rounds are done.
    settle : float
        Seconds to sleep before each implementation's turn in rows with more than one
        thread, so that the previous library's worker threads have stopped spinning.
    """

    rounds: int
    budget: float
    settle: float


def _time_rounds(timed: List[Tuple[Result, Runner]], timing: Timing, threads: int,
                 progress: Progress, label: str) -> None:
    # Idle workers of OpenMP and ONNX Runtime spin for milliseconds after a call: on a
    # machine with few cores they would slow down whichever library runs next.
    settle = timing.settle if threads > 1 else 0.0
    start = time.perf_counter()
    collect = gc.isenabled()
    gc.disable()
    try:
        for r in range(timing.rounds):
            progress.show(f"{label} round {r + 1}/{timing.rounds}", transient=True)
            turn = r % max(len(timed), 1)
            for result, runner in timed[turn:] + timed[:turn]:
                call, calls = runner.call, result.calls_per_sample
                time.sleep(settle)
                # Untimed warm-up: caches, allocator and thread pools as in steady use. More
                # than one call: after the pause, thread pools are asleep, and here (a VM) a
                # sleeping worker took from 0.3 to over 1.3 ms to run again once woken, so
                # after a single call some libraries' workers were still waking up.
                warm_until = time.perf_counter() + _WARM_UP
                call()
                while time.perf_counter() < warm_until:
                    call()
                begin = time.perf_counter()
                for _ in range(calls):
                    call()
                result.samples.append((time.perf_counter() - begin) / calls)
            if r + 1 >= _MIN_ROUNDS and time.perf_counter() - start > timing.budget:
                break
    finally:
        if collect:
            gc.enable()


def run_case(case: Case, impls: Sequence[Impl], thread_counts: Sequence[int], timing: Timing,
             progress: Progress) -> List[Result]:
    """Check and time every implementation on `case` at each thread count.

    poolkit is first checked against the NumPy reference on ``case.shrunk()``; if it
    disagrees, poolkit is reported wrong and nothing is timed.
    """
    rng = np.random.default_rng(zlib.crc32(f"{case.name}/{case.layout}".encode()))
    small = case.shrunk()
    xs = random_input(small, rng)
    problem = compare(_poolkit_call(small, xs)(), reference_pool(
        xs, case.mode, case.kernel, case.stride, case.padding, case.channels_last), case.mode)
    if problem is not None:
        for _ in thread_counts:
            progress.step()
        return [Result(case, n, "poolkit", "wrong", f"disagrees with the NumPy reference: "
                                                    f"{problem}") for n in thread_counts]
    x = random_input(case, rng)
    expected = _poolkit_call(case, x)()
    results: List[Result] = []
    for n in thread_counts:
        label = f"{case.name}/{case.label} t{n}"
        progress.show(label)
        with contextlib.ExitStack() as stack:
            for impl in impls:
                stack.enter_context(impl.threads(n))
            timed = []
            for impl in impls:
                progress.show(f"{label} check {impl.name}", transient=True)
                result, runner = _check(impl, case, x, expected, n)
                results.append(result)
                if runner is not None:
                    timed.append((result, runner))
            _time_rounds(timed, timing, n, progress, label)
        progress.step()
    return results


# ----------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g}us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g}ms"
    return f"{seconds:.3g}s"


def _size(nbytes: int) -> str:
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes} B"


def _rows(results: Sequence[Result]) -> Dict[Tuple[Case, int], Dict[str, Result]]:
    rows: Dict[Tuple[Case, int], Dict[str, Result]] = {}
    for r in results:
        rows.setdefault((r.case, r.threads), {})[r.impl] = r
    return rows


def _share(result: Result, bandwidth: Dict[int, float]) -> Optional[float]:
    median = result.median
    return None if median is None else result.case.nbytes / median / bandwidth[result.threads]


def _ratio(result: Result, poolkit: Optional[Result]) -> Optional[float]:
    if result.median is None or poolkit is None or poolkit.median is None:
        return None
    return result.median / poolkit.median


def _cell(result: Optional[Result], poolkit: Optional[Result],
          bandwidth: Dict[int, float]) -> str:
    if result is None or result.status == "unsupported":
        return "-"
    median = result.median
    if median is None:
        return result.status
    if result.impl == "poolkit":
        share = _share(result, bandwidth)
        return f"{_duration(median)} {share:.0%}" if share is not None else _duration(median)
    ratio = _ratio(result, poolkit)
    return f"{_duration(median)} {ratio:.2f}x" if ratio is not None else _duration(median)


def format_table(results: Sequence[Result], columns: Sequence[str],
                 bandwidth: Dict[int, float]) -> str:
    """The results as a text table: one line per case, layout and thread count."""
    lines = [["case", "layout", "threads", *columns]]
    for (case, threads), by_impl in _rows(results).items():
        poolkit = by_impl.get("poolkit")
        lines.append([case.name, case.label, str(threads),
                      *(_cell(by_impl.get(name), poolkit, bandwidth) for name in columns)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(text.ljust(w) for text, w in zip(line, widths)).rstrip()
                     for line in lines)


def _case_legend(cases: Sequence[Case]) -> List[str]:
    labels: Dict[str, List[str]] = {}
    first: Dict[str, Case] = {}
    for case in cases:
        labels.setdefault(case.name, []).append(case.label)
        first.setdefault(case.name, case)
    width = max(len(name) for name in first)
    lines = []
    for name, case in first.items():
        n = f"N={case.batch[0]} " if case.batch else ""
        lines.append(f"  {name.ljust(width)}  {case.window:<13} {n}C={case.channels} "
                     f"H=W={case.size} {case.dtype} ({', '.join(labels[name])}; "
                     f"{_size(case.nbytes)} in+out)")
    return lines


def _notes(results: Sequence[Result], impls: Sequence[Impl], columns: Sequence[str],
           skipped: Dict[str, str]) -> List[str]:
    lines = [f"  {impl.name}: {impl.note}" for impl in impls if impl.name in columns and impl.note]
    lines += [f"  {library}: skipped ({why})" for library, why in skipped.items()]
    not_run: Dict[Tuple[str, str], int] = {}
    for r in results:
        if r.status == "unsupported":
            not_run[(r.impl, r.detail)] = not_run.get((r.impl, r.detail), 0) + 1
        elif r.status in ("wrong", "error"):
            lines.append(f"  {r.impl} on {r.case.name}/{r.case.label} t{r.threads}: "
                         f"{r.status}: {r.detail}")
    lines += [f"  {impl} not run on {count} row(s): {why}"
              for (impl, why), count in not_run.items()]
    return lines


@dataclasses.dataclass(frozen=True)
class Setting:
    """How a run went, besides its results: what took part and what the machine did.

    Attributes
    ----------
    impls : list of Impl
        The implementations, in column order.
    skipped : dict
        Peer library -> why it did not load.
    bandwidth : dict
        Thread count -> copy bandwidth in bytes per second (read plus written).
    busy_before, busy_after : float or None
        Cores that other processes kept busy just before and just after the run.
    timing : Timing
        How the rows were timed.
    """

    impls: Sequence[Impl]
    skipped: Dict[str, str]
    bandwidth: Dict[int, float]
    busy_before: Optional[float]
    busy_after: Optional[float]
    timing: Timing


def _columns(results: Sequence[Result], impls: Sequence[Impl]) -> List[str]:
    """The implementations that ran (or failed) on some row, in load order."""
    ran = {r.impl for r in results if r.status != "unsupported"}
    return [impl.name for impl in impls if impl.name in ran]


def _busy(cores: Optional[float]) -> str:
    return "unknown" if cores is None else f"{cores:.2f}"


def report(results: Sequence[Result], cases: Sequence[Case], setting: Setting) -> str:
    """The full text report: environment, cases, the table and the notes."""
    columns = _columns(results, setting.impls)
    info = pk.build_info()
    threshold = os.environ.get("MALLOC_MMAP_THRESHOLD_")
    lines = [
        f"poolkit {info['version']} ({info['compiler']}, simd {info['simd_active']}, "
        f"openmp {info['openmp_version']}); Python {platform.python_version()}; "
        f"{os.cpu_count()} cores",
        "implementations: " + ", ".join(dict.fromkeys(impl.version for impl in setting.impls)),
        "copy bandwidth (np.copyto, read + write): " + ", ".join(
            f"{n} thread{'s' if n > 1 else ''} {bw / 1e9:.1f} GB/s"
            for n, bw in setting.bandwidth.items()),
        f"cores kept busy by other processes: {_busy(setting.busy_before)} before the run, "
        f"{_busy(setting.busy_after)} after",
        f"MALLOC_MMAP_THRESHOLD_={threshold}" if threshold is not None else
        "MALLOC_MMAP_THRESHOLD_ unset: glibc adapts it as the run goes (see --help)",
        f"median of up to {setting.timing.rounds} rounds per row ({setting.timing.budget:g} s "
        f"budget per row; {setting.timing.settle * 1e3:g} ms pause before each implementation's "
        "turn in rows with more than one thread)",
        "",
        "cases:",
        *_case_legend(cases),
        "",
        format_table(results, columns, setting.bandwidth),
        "",
        "poolkit: median time per call and share of the copy-bandwidth limit, (input + output "
        "bytes) / time / copy bandwidth;",
        "peers: median time per call and peer time / poolkit time (> 1: poolkit is faster); "
        "'-': not supported.",
        "",
        "notes:",
        *_notes(results, setting.impls, columns, setting.skipped),
    ]
    return "\n".join(lines)


def to_json(results: Sequence[Result], setting: Setting) -> Dict[str, Any]:
    """Everything measured, as plain JSON values (times in seconds)."""
    rows = _rows(results)
    records = []
    for r in results:
        record: Dict[str, Any] = {
            "case": r.case.name, "layout": r.case.label, "threads": r.threads,
            "impl": r.impl, "status": r.status, "detail": r.detail, "median_s": r.median,
            "samples_s": r.samples, "calls_per_sample": r.calls_per_sample,
            "bytes": r.case.nbytes,
        }
        if r.impl == "poolkit":
            record["bandwidth_share"] = _share(r, setting.bandwidth)
        else:
            record["ratio_to_poolkit"] = _ratio(r, rows[(r.case, r.threads)].get("poolkit"))
        records.append(record)
    cases = list(dict.fromkeys(r.case for r in results))
    return {
        "poolkit": pk.build_info(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "implementations": {impl.name: impl.version for impl in setting.impls},
        "skipped": setting.skipped,
        "copy_bandwidth_bytes_per_s": {str(n): bw for n, bw in setting.bandwidth.items()},
        "busy_cores_before": setting.busy_before,
        "busy_cores_after": setting.busy_after,
        "rounds": setting.timing.rounds,
        "budget_s": setting.timing.budget,
        "settle_s": setting.timing.settle,
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
        "cases": [{**dataclasses.asdict(c), "shape": list(c.shape),
                   "out_shape": list(c.out_shape), "bytes": c.nbytes} for c in cases],
        "results": records,
    }


def plot(path: str, results: Sequence[Result], columns: Sequence[str]) -> None:
    """Save a chart of each row's fastest peer (the NumPy reference left out): its time over
    poolkit's on a log scale, one horizontal bar per row, named after that peer."""
    figure: Any = importlib.import_module("matplotlib.figure")
    ticker: Any = importlib.import_module("matplotlib.ticker")
    peers = [name for name in columns if name not in ("poolkit", "numpy")]
    bars = []
    for (case, threads), by_impl in _rows(results).items():
        timed = [(ratio, name) for name in peers if name in by_impl
                 for ratio in [_ratio(by_impl[name], by_impl.get("poolkit"))]
                 if ratio is not None]
        if timed:
            ratio, name = min(timed)
            bars.append((f"{case.name}/{case.label} t{threads}", ratio, name))
    fig = figure.Figure(figsize=(8.0, 1.2 + 0.22 * max(len(bars), 1)), layout="constrained")
    ax = fig.add_subplot()
    y = list(range(len(bars)))[::-1]
    ratios = [ratio for _, ratio, _ in bars]
    ax.barh(y, ratios, color=["tab:green" if r >= 1 else "tab:red" for r in ratios])
    for row, (_, ratio, name) in zip(y, bars):
        ax.text(ratio, row, f" {name} {ratio:.2f}x", va="center", fontsize=7)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.FixedLocator([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlim(min(ratios + [1.0]) / 1.3, max(ratios + [1.0]) * 2.0)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(y, [label for label, _, _ in bars], fontsize=7)
    ax.set_xlabel("fastest peer's time / poolkit's time (> 1, green: poolkit is faster)")
    ax.set_title(f"python -m poolkit bench: poolkit {pk.__version__} against its fastest peer",
                 fontsize=9)
    fig.savefig(path, dpi=110)


# ----------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}")
    return value


def _thread_list(text: str) -> List[int]:
    return list(dict.fromkeys(_positive_int(part) for part in text.split(",")))


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m poolkit bench``."""
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(
        prog="python -m poolkit bench",
        description="Check, then time poolkit side by side with the NumPy reference and every\n"
                    "installed peer: PyTorch, ONNX Runtime, OpenCV, SciPy, scikit-image, JAX\n"
                    "(pip install 'poolkit[bench]' installs all but JAX).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="shrink every case (batch 1, at most 32 channels, spatial size / 4, "
                        "images / 8): a run of seconds")
    p.add_argument("--large", action="store_true",
                   help="also run the large cases (hundreds of MiB per array)")
    p.add_argument("--cases", default="", metavar="SUBSTR",
                   help="only the cases whose name/layout (e.g. resnet50-stem/NHWC) contains "
                        "SUBSTR, case-insensitive; comma-separated: any of them")
    p.add_argument("--threads", type=_thread_list, default=sorted({1, cores}), metavar="LIST",
                   help=f"comma-separated thread counts (default: 1,{cores}: one thread and "
                        "all the machine's cores)")
    p.add_argument("--rounds", type=_positive_int, default=None, metavar="N",
                   help="timed rounds per row (default: 15; 5 with --quick)")
    p.add_argument("--budget", type=float, default=5.0, metavar="SECONDS",
                   help="stop a row after this long once 3 rounds are done (default: 5)")
    p.add_argument("--settle", type=float, default=50.0, metavar="MS",
                   help="in rows with more than one thread, sleep this long before each "
                        "implementation's turn so the previous one's worker threads stop "
                        "spinning (default: 50)")
    p.add_argument("--skip", default="", metavar="NAMES",
                   help="comma-separated libraries not to run, any case (NumPy, PyTorch, "
                        "'ONNX Runtime', OpenCV, SciPy, scikit-image, JAX): the slow ones "
                        "take seconds per round on the large cases")
    p.add_argument("--json", metavar="FILE", help="write every result and sample as JSON")
    p.add_argument("--plot", metavar="FILE.png",
                   help="save a chart of each row's fastest peer's time over poolkit's (needs "
                        "matplotlib)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``python -m poolkit bench`` with `argv` (default: ``sys.argv[2:]``).

    Returns
    -------
    int
        0; 1 when poolkit disagreed with the reference or failed; 2 for a usage error.
    """
    args = parser().parse_args(sys.argv[2:] if argv is None else argv)
    cases = select_cases(args.cases, large=args.large, quick=args.quick)
    if not cases:
        names = ", ".join(dict.fromkeys(c.name + (" (--large)" if c.large else "")
                                        for c in CASES))
        print(f"error: no case matches --cases {args.cases!r}; cases: {names}",
              file=sys.stderr)
        return 2
    if args.plot:
        try:
            importlib.import_module("matplotlib.figure")
        except ImportError:
            print("error: --plot needs matplotlib: pip install matplotlib "
                  "(or pip install 'poolkit[bench]')", file=sys.stderr)
            return 2
    skip = [name.strip() for name in args.skip.split(",") if name.strip()]
    unknown = [name for name in skip if name.lower() not in {n.lower() for n in skippable()}]
    if unknown:
        print(f"error: --skip {unknown[0]!r} is not a library the bench runs; it runs: "
              f"{', '.join(skippable())}", file=sys.stderr)
        return 2
    impls, skipped = load_impls(skip)
    timing = Timing(args.rounds or (5 if args.quick else 15), args.budget, args.settle / 1e3)
    bandwidth = {n: copy_bandwidth((64 if args.quick else 256) << 20, n) for n in args.threads}
    busy_before = busy_cores()
    progress = Progress(len(cases) * len(args.threads), sys.stderr)
    results: List[Result] = []
    for case in cases:
        results += run_case(case, impls, args.threads, timing, progress)
    progress.close()
    setting = Setting(impls, skipped, bandwidth, busy_before, busy_cores(), timing)
    print(report(results, cases, setting))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(to_json(results, setting), f, indent=1)
    if args.plot:
        plot(args.plot, results, _columns(results, impls))
    return 1 if any(r.impl == "poolkit" and r.status != "ok" for r in results) else 0
