"""PyTorch parity: poolkit.max_pool2d / avg_pool2d against torch.nn.functional, in a seeded sweep.

Every configuration is drawn by `draw(index)` from its own seeded generator, so any failure is
reproduced by `draw(index)` alone. A configuration is compared against PyTorch when PyTorch
accepts it and API.md agrees with PyTorch on it; otherwise against the NumPy oracle in
reference.py:

- PyTorch caps padding at kernel // 2 per axis and knows only symmetric padding: larger or
  asymmetric padding, and "same" padding that comes out asymmetric, go to the oracle.
- PyTorch's avg_pool2d has no dilation: dilated average pooling goes to the oracle.
- Integer average pooling goes to the oracle: API.md rounds to nearest, ties to even, while
  PyTorch (which runs it for int64 only) truncates.
- Max pooling indices of a window holding a NaN come from the oracle: API.md returns the first
  NaN's index, PyTorch the last one.
- dtypes PyTorch does not run (probed below) go to the oracle.
- Windows holding no input element are a ValueError in poolkit; PyTorch returns -inf there,
  with an index that is no tap of the window. The sweep never draws them; dedicated tests
  below do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import poolkit as pk  # noqa: E402
import reference as R  # noqa: E402
from conftest import assert_avg_within  # noqa: E402

# The main sweep; float16 (also in API.md) has a sweep of its own, so that a missing float16
# path does not hide everything else.
DTYPES = tuple(
    np.dtype(t)
    for t in (np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64)
)
FLOAT16 = np.dtype(np.float16)
FLOAT_DTYPES = tuple(t for t in DTYPES if t.kind == "f")
LAYOUTS = ("NCHW", "NHWC")
OPS = ("max", "avg")

K_MAX, S_MAX, D_MAX, L_MAX = 5, 4, 3, 12  # kernel, stride, dilation per axis; H and W
MAX_TAPS = K_MAX * K_MAX

# Float average pooling is compared with conftest's one tolerance table (avg_tolerance) for
# windows of up to MAX_TAPS taps; max pooling and integer average pooling exactly.


def _torch_runs(op: str, dtype: np.dtype, layout: str) -> bool:
    t = torch.from_numpy(np.zeros((2, 3, L_MAX, L_MAX), dtype=dtype))  # the largest plane drawn
    if layout == "NHWC":
        t = t.contiguous(memory_format=torch.channels_last)
    try:
        if op == "max":
            F.max_pool2d(t, 2, return_indices=True)
        else:
            F.avg_pool2d(t, 2)
    except (RuntimeError, NotImplementedError, TypeError):
        return False
    return True


# Found by probing torch 2.13 CPU: max_pool2d runs every dtype here except uint16 ("not
# implemented for 'UInt16'", in both memory formats), and in channels-last memory int8 and
# uint8 only while C*H*W fits the dtype itself (it checks that its indices fit the scalar
# type), hence the probe on the largest input the sweep draws; avg_pool2d runs float16,
# float32, float64 and int64 only (int8, uint8, int16, uint16, int32: "not implemented").
TORCH_RUNS = {
    (op, t, lay): _torch_runs(op, t, lay)
    for op in OPS
    for t in DTYPES + (FLOAT16,)
    for lay in LAYOUTS
}


# ----------------------------------------------------------------------------------------
# Drawing configurations
# ----------------------------------------------------------------------------------------

SEED = 20240611
CHUNK = 25  # configurations per test item
N_CHUNKS = 80  # default run: 2,000 configurations
N_SLOW_CHUNKS = 800  # `-m slow`: 20,000 more


@dataclass
class Case:
    """One drawn configuration: the input, the arguments as passed, and their normal form."""

    index: int
    op: str
    layout: str
    data: np.ndarray  # C-contiguous, in the case's layout: what PyTorch gets
    x: np.ndarray  # the same values, possibly a strided view: what poolkit gets
    view: str
    values: str
    args: Tuple[Any, ...]  # positional arguments after x
    kwargs: Dict[str, Any]  # keyword arguments
    pad_kind: str
    k: Tuple[int, int]
    s: Tuple[int, int]
    pads: Tuple[Tuple[int, int], Tuple[int, int]]
    d: Tuple[int, int]
    ceil_mode: bool  # as the geometry sees it ("same" ignores ceil_mode)
    count_include_pad: bool = True
    divisor_override: Optional[int] = None
    torch: bool = field(default=False)

    def describe(self) -> str:
        args = ", ".join(
            ["x"] + [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        )
        return (
            f"case {self.index} (regenerate with test_torch_parity.draw({self.index}"
            f"{', float16=True' if self.data.dtype == FLOAT16 else ''})): "
            f"pk.{self.op}_pool2d({args}); x: shape {self.x.shape}, dtype {self.x.dtype}, "
            f"strides {self.x.strides}, view {self.view}, values {self.values}; "
            f"expected from {'torch' if self.torch else 'the oracle'}"
        )


def _axis_tuple(rng: np.random.Generator, low: int, high: int) -> Tuple[int, int]:
    return int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))


def _window_arg(rng: np.random.Generator, low: int, high: int) -> Tuple[Any, Tuple[int, int]]:
    """An int or a per-axis tuple, and its normal form."""
    if rng.random() < 0.4:
        v = int(rng.integers(low, high + 1))
        return v, (v, v)
    t = _axis_tuple(rng, low, high)
    return t, t


def _padding_arg(rng: np.random.Generator, k: Tuple[int, int]) -> Tuple[Any, str]:
    kind = str(rng.choice(["int", "axis", "pairs", "same", "valid"], p=[0.35, 0.25, 0.2, 0.1, 0.1]))
    # Mostly within PyTorch's cap (kernel // 2), sometimes beyond it.
    wide = rng.random() < 0.2
    if kind == "int":
        return int(rng.integers(0, (max(k) + 1 if wide else min(k) // 2) + 1)), kind
    if kind == "axis":
        return tuple(int(rng.integers(0, (ki + 1 if wide else ki // 2) + 1)) for ki in k), kind
    if kind == "pairs":
        return tuple((int(rng.integers(0, ki + 1)), int(rng.integers(0, ki + 1))) for ki in k), kind
    return kind, kind


def _normal_pads(padding: Any, spatial: Tuple[int, int], k, s, d) -> Tuple[Tuple[int, int], ...]:
    if padding == "same":
        return tuple(R.same_padding(L, ki, si, di) for L, ki, si, di in zip(spatial, k, s, d))
    if padding == "valid":
        return ((0, 0), (0, 0))
    if isinstance(padding, int):
        return ((padding, padding),) * 2
    return tuple((p, p) if isinstance(p, int) else tuple(p) for p in padding)


def _geometry_ok(spatial, k, s, pads, d, ceil_mode) -> bool:
    try:
        for L, ki, si, (pb, pa), di in zip(spatial, k, s, pads, d):
            R.tap_counts(L, ki, si, pb, pa, di, ceil_mode)
    except ValueError:
        return False
    return True


def random_values(
    rng: np.random.Generator, shape: Tuple[int, ...], dtype: np.dtype
) -> Tuple[np.ndarray, str]:
    """Values of `dtype`: few distinct ones (ties), spread ones, extremes, NaN and infinities."""
    if dtype.kind == "f":
        kind = str(rng.choice(["ties", "normal", "scaled"]))
        if kind == "ties":  # small integers: ties everywhere, and exact sums
            a = rng.integers(-3, 4, size=shape).astype(np.float64)
        elif kind == "normal":
            a = rng.standard_normal(shape)
        else:  # magnitudes from 0.01 to 100 side by side
            a = rng.standard_normal(shape) * 10.0 ** rng.uniform(-2, 2, size=shape)
        special = str(
            rng.choice(["none", "nan", "inf", "-inf-heavy", "mixed"], p=[0.45, 0.2, 0.1, 0.1, 0.15])
        )
        if special in ("nan", "mixed"):
            a[rng.random(shape) < rng.uniform(0.02, 0.3)] = np.nan
        if special in ("inf", "mixed"):
            a[rng.random(shape) < 0.1] = np.inf
            a[rng.random(shape) < 0.1] = -np.inf
        if special == "-inf-heavy":  # windows of -inf only
            a[rng.random(shape) < 0.6] = -np.inf
        return a.astype(dtype), f"{kind}+{special}"
    info = np.iinfo(dtype)
    kind = str(rng.choice(["ties", "full", "extremes"]))
    if kind == "ties":
        low = 0 if dtype.kind == "u" else -3
        return rng.integers(low, low + 7, size=shape).astype(dtype), kind
    if kind == "full":
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype), kind
    pool = np.array([info.min, info.min + 1, 0, info.max - 1, info.max], dtype=dtype)
    return rng.choice(pool, size=shape), kind


def _sentinel(dtype: np.dtype) -> Any:
    """Filler around strided views: reading it by mistake changes a max or an average."""
    return np.nan if dtype.kind == "f" else np.iinfo(dtype).max


def strided_view(rng: np.random.Generator, data: np.ndarray) -> Tuple[np.ndarray, str]:
    """A view equal to `data` with other strides: steps, negative strides, transposes."""
    kind = str(
        rng.choice(
            ["contiguous", "steps", "transpose", "negative", "steps+negative"],
            p=[0.3, 0.2, 0.2, 0.15, 0.15],
        )
    )
    if kind == "contiguous":
        return data, kind
    if kind == "transpose":
        perm = rng.permutation(data.ndim)
        if (perm == np.arange(data.ndim)).all():
            perm = perm[::-1]
        x = np.ascontiguousarray(data.transpose(perm)).transpose(np.argsort(perm))
        return x, kind
    flips = (
        tuple(int(a) for a in np.flatnonzero(rng.random(data.ndim) < 0.5))
        if "negative" in kind
        else ()
    )
    if "negative" in kind and not flips:
        flips = (int(rng.integers(data.ndim)),)
    source = np.flip(data, flips) if flips else data
    if "steps" in kind:
        steps = [int(rng.integers(1, 4)) for _ in range(data.ndim)]
        steps[int(rng.integers(data.ndim))] = int(rng.integers(2, 4))
        offsets = [int(rng.integers(0, st)) for st in steps]
        base = np.full(
            [n * st + 1 for n, st in zip(data.shape, steps)],
            _sentinel(data.dtype),
            dtype=data.dtype,
        )
        picks = tuple(slice(o, o + n * st, st) for n, st, o in zip(data.shape, steps, offsets))
        base[picks] = source
        x = base[picks]
    else:
        x = np.ascontiguousarray(source)
    return (np.flip(x, flips) if flips else x), kind


def draw(index: int, float16: bool = False) -> Case:
    """Configuration number `index` of the sweep (of the float16 sweep); deterministic."""
    rng = np.random.default_rng([SEED, index, 16] if float16 else [SEED, index])
    op = str(rng.choice(OPS))
    if float16:
        dtype = FLOAT16
    elif op == "avg" and rng.random() < 0.6:
        dtype = FLOAT_DTYPES[int(rng.integers(len(FLOAT_DTYPES)))]
    else:
        dtype = DTYPES[int(rng.integers(len(DTYPES)))]
    layout = str(rng.choice(LAYOUTS))
    n_lead = int(rng.integers(0 if layout == "NCHW" else 1, 4))
    lead = tuple(int(rng.integers(1, 4)) for _ in range(n_lead))

    while True:  # redraw the window until every window holds an input element
        spatial = _axis_tuple(rng, 1, L_MAX)
        kernel_arg, k = _window_arg(rng, 1, K_MAX)
        stride_arg: Any = None
        s = k
        if rng.random() < 0.7:
            stride_arg, s = _window_arg(rng, 1, S_MAX)
        dilation_arg: Any = 1
        d = (1, 1)
        if rng.random() < (0.4 if op == "max" else 0.25):
            dilation_arg, d = _window_arg(rng, 1, D_MAX)
        padding_arg, pad_kind = _padding_arg(rng, k)
        ceil_arg = bool(rng.random() < 0.4)
        pads = _normal_pads(padding_arg, spatial, k, s, d)
        ceil_mode = ceil_arg and padding_arg != "same"
        if _geometry_ok(spatial, k, s, pads, d, ceil_mode):
            break

    if layout == "NCHW":
        shape = lead + spatial
    else:
        shape = lead[:-1] + spatial + lead[-1:]
    data, values = random_values(rng, shape, dtype)
    data = np.ascontiguousarray(data)
    x, view = strided_view(rng, data)
    np.testing.assert_array_equal(x, data)

    count_include_pad = bool(rng.random() < 0.5)
    divisor_override = int(rng.integers(1, 13)) if rng.random() < 0.3 else None

    # Arguments as a user would pass them: positionally or by keyword, defaults sometimes left out.
    positional = rng.random() < 0.3
    kwargs: Dict[str, Any] = {}
    if layout == "NHWC" or rng.random() < 0.3:
        kwargs["layout"] = layout
    if op == "max":
        names = ["stride", "padding", "dilation", "ceil_mode"]
        given = [stride_arg, padding_arg, dilation_arg, ceil_arg]
        defaults = [None, 0, 1, False]
    else:
        names = ["stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"]
        given = [stride_arg, padding_arg, ceil_arg, count_include_pad, divisor_override]
        defaults = [None, 0, False, True, None]
        if dilation_arg != 1 or rng.random() < 0.2:
            kwargs["dilation"] = dilation_arg
    if positional:
        args: Tuple[Any, ...] = (kernel_arg, *given)
    else:
        args = (kernel_arg,)
        for name, value, default in zip(names, given, defaults):
            if value != default or rng.random() < 0.3:
                kwargs[name] = value

    case = Case(
        index=index,
        op=op,
        layout=layout,
        data=data,
        x=x,
        view=view,
        values=values,
        args=args,
        kwargs=kwargs,
        pad_kind=pad_kind,
        k=k,
        s=s,
        pads=pads,
        d=d,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )
    case.torch = torch_comparable(case)
    return case


def torch_comparable(case: Case) -> bool:
    """PyTorch accepts the case and API.md agrees with PyTorch on its result."""
    if not TORCH_RUNS[case.op, case.data.dtype, case.layout]:
        return False
    if case.op == "avg" and (case.data.dtype.kind != "f" or case.d != (1, 1)):
        return False
    return all(pb == pa <= ki // 2 for (pb, pa), ki in zip(case.pads, case.k))


# ----------------------------------------------------------------------------------------
# Running PyTorch and the oracle
# ----------------------------------------------------------------------------------------


def to_torch(data: np.ndarray, layout: str) -> "torch.Tensor":
    """4-d NCHW tensor (channels-last memory for NHWC) holding `data`."""
    if layout == "NCHW":
        c = data.shape[-3] if data.ndim >= 3 else 1
        return torch.from_numpy(data.reshape(-1, c, *data.shape[-2:]))
    return torch.from_numpy(data.reshape(-1, *data.shape[-3:])).permute(0, 3, 1, 2)


def from_torch(t: "torch.Tensor", like: np.ndarray, layout: str) -> np.ndarray:
    """Back to the case's layout and leading axes."""
    if layout == "NCHW":
        return t.numpy().reshape(like.shape[:-2] + tuple(t.shape[-2:]))
    a = t.permute(0, 2, 3, 1).numpy()
    return a.reshape(like.shape[:-3] + a.shape[1:])


def torch_max(case: Case) -> Tuple[np.ndarray, np.ndarray]:
    t = to_torch(case.data, case.layout)
    values, indices = F.max_pool2d(
        t,
        case.k,
        case.s,
        tuple(p for p, _ in case.pads),
        case.d,
        ceil_mode=case.ceil_mode,
        return_indices=True,
    )
    return from_torch(values, case.data, case.layout), from_torch(indices, case.data, case.layout)


def torch_avg(case: Case) -> np.ndarray:
    t = to_torch(case.data, case.layout)
    values = F.avg_pool2d(
        t,
        case.k,
        case.s,
        tuple(p for p, _ in case.pads),
        ceil_mode=case.ceil_mode,
        count_include_pad=case.count_include_pad,
        divisor_override=case.divisor_override,
    )
    return from_torch(values, case.data, case.layout)


def oracle_max(case: Case) -> Tuple[np.ndarray, np.ndarray]:
    return R.max_pool(
        case.data,
        case.k,
        case.s,
        case.pads,
        case.d,
        case.ceil_mode,
        channels_last=case.layout == "NHWC",
    )


def oracle_avg(case: Case, data: Optional[np.ndarray] = None) -> np.ndarray:
    return R.avg_pool(
        case.data if data is None else data,
        case.k,
        case.s,
        case.pads,
        case.d,
        case.ceil_mode,
        case.count_include_pad,
        case.divisor_override,
        channels_last=case.layout == "NHWC",
    )


def avg_scale(case: Case) -> np.ndarray:
    """Per output element: the window's sum of |x| over the divisor, in float64."""
    return np.abs(oracle_avg(case, np.abs(case.data.astype(np.float64))))


def assert_exact(got: Any, want: np.ndarray, what: str, case: Case) -> None:
    assert type(got) is np.ndarray, f"{what}: got {type(got).__name__}; {case.describe()}"
    np.testing.assert_array_equal(got, want, err_msg=f"{what}; {case.describe()}", strict=True)


def assert_avg_close(got: Any, want: np.ndarray, scale: np.ndarray, case: Case) -> None:
    """Float average: NaN and infinities exactly, finite values within the tolerance table."""
    assert type(got) is np.ndarray, f"avg: got {type(got).__name__}; {case.describe()}"
    assert (
        got.dtype == want.dtype and got.shape == want.shape
    ), f"avg: got {got.dtype}{got.shape}, want {want.dtype}{want.shape}; {case.describe()}"
    assert_avg_within(got, want, scale, MAX_TAPS, case.describe())


def _pk_max(case: Case, return_indices: bool) -> Any:
    if len(case.args) > 1:  # positional style: return_indices is the 7th parameter
        return pk.max_pool2d(case.x, *case.args, return_indices, **case.kwargs)
    if return_indices:
        return pk.max_pool2d(case.x, *case.args, return_indices=True, **case.kwargs)
    return pk.max_pool2d(case.x, *case.args, **case.kwargs)


def check_case(case: Case) -> None:
    """Run poolkit on the case and compare with PyTorch or the oracle; the input stays untouched."""
    before = case.x.copy()
    if case.op == "max":
        got = _pk_max(case, return_indices=True)
        assert (
            isinstance(got, tuple) and len(got) == 2
        ), f"return_indices=True: got {type(got).__name__}; {case.describe()}"
        got_values, got_indices = got
        if case.torch:
            want_values, want_indices = torch_max(case)
            nan_window = (
                np.isnan(want_values)
                if want_values.dtype.kind == "f"
                else np.zeros(want_values.shape, bool)
            )
            if nan_window.any():  # API.md: the first NaN's index; PyTorch gives the last one
                want_indices = np.where(nan_window, oracle_max(case)[1], want_indices)
        else:
            want_values, want_indices = oracle_max(case)
        assert_exact(got_values, want_values, "max values", case)
        assert_exact(got_indices, want_indices, "max indices", case)
        assert_exact(
            _pk_max(case, return_indices=False),
            want_values,
            "max values without return_indices",
            case,
        )
    else:
        got = pk.avg_pool2d(case.x, *case.args, **case.kwargs)
        want = torch_avg(case) if case.torch else oracle_avg(case)
        if case.data.dtype.kind == "f":
            assert_avg_close(got, want, avg_scale(case), case)
        else:
            assert_exact(got, want, "integer avg", case)
    np.testing.assert_array_equal(case.x, before, err_msg=f"input modified; {case.describe()}")


# ----------------------------------------------------------------------------------------
# The sweep
# ----------------------------------------------------------------------------------------

_CHECKED: Dict[int, Tuple[int, int]] = {}  # default-run chunk -> (configurations, against torch)


def run_chunk(chunk: int) -> Tuple[int, int]:
    cases = [draw(i) for i in range(chunk * CHUNK, (chunk + 1) * CHUNK)]
    for case in cases:
        check_case(case)
    return len(cases), sum(case.torch for case in cases)


@pytest.mark.parametrize("chunk", range(N_CHUNKS), ids=lambda c: f"chunk{c:02d}")
def test_sweep(chunk: int) -> None:
    _CHECKED[chunk] = run_chunk(chunk)


@pytest.mark.slow
@pytest.mark.parametrize(
    "chunk", range(N_CHUNKS, N_CHUNKS + N_SLOW_CHUNKS), ids=lambda c: f"chunk{c:03d}"
)
def test_sweep_slow(chunk: int) -> None:
    run_chunk(chunk)


@pytest.mark.parametrize("chunk", range(4), ids=lambda c: f"chunk{c}")
def test_sweep_float16(chunk: int) -> None:
    """float16 (API.md: max exact, average accumulated in float32 and rounded once)."""
    for case in (draw(i, float16=True) for i in range(chunk * CHUNK, (chunk + 1) * CHUNK)):
        check_case(case)


def test_sweep_totals() -> None:
    """The default sweep holds >= 1,000 configurations, >= 40% of them checked against PyTorch,
    and covers every dtype, op, layout, padding form and view kind both ways it can."""
    cases = [draw(i) for i in range(N_CHUNKS * CHUNK)]
    total, against_torch = len(cases), sum(c.torch for c in cases)
    assert total >= 1000
    assert against_torch >= 0.4 * total, f"only {against_torch} of {total} against torch"
    seen = {(c.op, c.data.dtype, c.layout, c.torch) for c in cases}
    for op in OPS:
        for dtype in DTYPES:
            for layout in LAYOUTS:
                assert (op, dtype, layout, False) in seen, (op, dtype, layout, "oracle")
                if TORCH_RUNS[op, dtype, layout] and (op == "max" or dtype.kind == "f"):
                    assert (op, dtype, layout, True) in seen, (op, dtype, layout, "torch")
    for attribute in ("pad_kind", "view"):
        kinds = {getattr(c, attribute) for c in cases if c.torch}
        assert len(kinds) >= 4, (attribute, kinds)
    nan_max = [
        c for c in cases if c.op == "max" and c.data.dtype.kind == "f" and np.isnan(c.data).any()
    ]
    assert len(nan_max) >= 60 and sum(c.torch for c in nan_max) >= 40
    assert sum(c.ceil_mode for c in cases if c.torch) >= 100
    assert sum(c.d != (1, 1) for c in cases if c.torch) >= 50
    assert sum(c.divisor_override is not None for c in cases if c.torch) >= 30
    assert {len(c.args) > 1 for c in cases} == {False, True}
    # When the whole default sweep ran in this session, it checked exactly these.
    if len(_CHECKED) == N_CHUNKS:
        assert sum(n for n, _ in _CHECKED.values()) == total
        assert sum(t for _, t in _CHECKED.values()) == against_torch


@pytest.mark.parametrize("group", range(8), ids=lambda g: f"group{g}")
def test_oracle_agrees_with_torch(group: int) -> None:
    """The oracle itself against PyTorch wherever the sweep trusts PyTorch (no poolkit here):
    every tenth chunk of the default sweep, and the first 200 float16 configurations."""
    chunk = 10 * group
    cases = [draw(i) for i in range(chunk * CHUNK, (chunk + 1) * CHUNK)]
    cases += [draw(i, float16=True) for i in range(group * CHUNK, (group + 1) * CHUNK)]
    for case in cases:
        if not case.torch:
            continue
        if case.op == "max":
            want_values, want_indices = torch_max(case)
            values, indices = oracle_max(case)
            np.testing.assert_array_equal(values, want_values, err_msg=case.describe(), strict=True)
            keep = (
                ~np.isnan(want_values)
                if want_values.dtype.kind == "f"
                else np.ones(want_values.shape, bool)
            )
            np.testing.assert_array_equal(
                indices[keep], want_indices[keep], err_msg=case.describe()
            )
        else:
            assert_avg_close(oracle_avg(case), torch_avg(case), avg_scale(case), case)


# ----------------------------------------------------------------------------------------
# A hand-written table
# ----------------------------------------------------------------------------------------

# kernel_size, stride, padding, dilation, ceil_mode: all accepted by PyTorch.
WINDOWS = [
    (3, 2, 1, 1, False),
    (2, None, 0, 1, False),
    (3, 1, 1, 2, False),
    ((2, 3), (2, 3), (0, 1), 1, False),
    (3, 2, 1, 1, True),
    (5, 3, 2, 1, True),
    ((1, 4), (1, 3), (0, 2), 1, True),
    ((3, 2), 1, 1, (2, 3), False),
    (4, 3, 2, 2, True),
]


def window_id(window: Tuple[Any, ...]) -> str:
    def part(v: Any) -> str:
        return "x".join(map(str, v)) if isinstance(v, tuple) else str(v)

    k, s, p, d, ceil_mode = window
    return f"k{part(k)}-s{part(k if s is None else s)}-p{part(p)}-d{part(d)}" + (
        "-ceil" if ceil_mode else ""
    )


def _pair(v: Any) -> Tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def table_case(window: Tuple[Any, ...], dtype: np.dtype, layout: str, op: str) -> Case:
    kernel_size, stride, padding, dilation, ceil_mode = window
    rng = np.random.default_rng(
        [SEED, 1, DTYPES.index(dtype), LAYOUTS.index(layout), WINDOWS.index(window)]
    )
    shape = (2, 3, 9, 11) if layout == "NCHW" else (2, 9, 11, 3)
    if dtype.kind == "f":  # ties and a few NaN
        data = rng.integers(-3, 4, size=shape).astype(dtype)
        data[rng.random(shape) < 0.05] = np.nan
    else:
        data = rng.integers(0, 7, size=shape).astype(dtype)
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    pads = tuple((p, p) for p in _pair(padding))
    d = _pair(dilation)
    kwargs: Dict[str, Any] = {
        "stride": stride,
        "padding": padding,
        "ceil_mode": ceil_mode,
        "dilation": dilation,
        "layout": layout,
    }
    case = Case(
        index=-1,
        op=op,
        layout=layout,
        data=data,
        x=data,
        view="contiguous",
        values="ties+nan",
        args=(kernel_size,),
        kwargs=kwargs,
        pad_kind="table",
        k=k,
        s=s,
        pads=pads,
        d=d,
        ceil_mode=ceil_mode,
    )
    case.torch = torch_comparable(case)
    return case


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "dtype",
    [np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int8), np.dtype(np.uint16)],
    ids=str,
)
@pytest.mark.parametrize("window", WINDOWS, ids=window_id)
def test_table_max(window, dtype, layout) -> None:
    case = table_case(window, dtype, layout, "max")
    assert case.torch == TORCH_RUNS["max", dtype, layout]
    check_case(case)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "dtype", [np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int16)], ids=str
)
@pytest.mark.parametrize("window", WINDOWS, ids=window_id)
def test_table_avg(window, dtype, layout) -> None:
    case = table_case(window, dtype, layout, "avg")
    assert case.torch == (dtype.kind == "f" and case.d == (1, 1))
    check_case(case)


# ----------------------------------------------------------------------------------------
# Windows without an input element: PyTorch answers -inf, poolkit raises
# ----------------------------------------------------------------------------------------

# (H, W), kernel_size, stride, padding, dilation, ceil_mode: PyTorch accepts each of these
# (padding <= kernel // 2, output size >= 1) although some dilated window misses the input.
EMPTY_WINDOWS = [
    # API.md's example: H=1, kernel 2, dilation 2, padding 1 (taps -1 and 1)
    ((1, 5), (2, 1), 1, (1, 0), (2, 1), False),
    ((2, 4), (2, 2), 1, (1, 0), (3, 1), False),
    ((4, 1), (1, 2), 2, (0, 1), (1, 2), True),
    ((1, 3), (3, 1), 3, (1, 0), (2, 1), True),  # ceil_mode keeps one window: taps -1, 1, 3
    ((3, 2), (3, 2), 1, (1, 1), (1, 3), False),
]


@pytest.mark.parametrize(
    "spatial, kernel_size, stride, padding, dilation, ceil_mode",
    EMPTY_WINDOWS,
    ids=[window_id(w[1:]) + f"-H{w[0][0]}W{w[0][1]}" for w in EMPTY_WINDOWS],
)
def test_window_without_input_raises(
    spatial, kernel_size, stride, padding, dilation, ceil_mode
) -> None:
    k, s, d = _pair(kernel_size), _pair(stride), _pair(dilation)
    pads = tuple((p, p) for p in _pair(padding))
    assert not _geometry_ok(spatial, k, s, pads, d, ceil_mode)
    x = np.arange(2 * math.prod(spatial), dtype=np.float32).reshape((1, 2) + spatial)
    values, indices = F.max_pool2d(
        torch.from_numpy(x), k, s, _pair(padding), d, ceil_mode=ceil_mode, return_indices=True
    )
    # What the contract rules out: PyTorch answers -inf (with an index of no tap of the window).
    assert bool(torch.isneginf(values).any())
    with pytest.raises(ValueError):
        pk.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, True)
    with pytest.raises(ValueError):
        pk.max_pool2d(
            np.ascontiguousarray(x.transpose(0, 2, 3, 1)),
            kernel_size,
            stride,
            padding,
            dilation,
            ceil_mode,
            layout="NHWC",
        )
    with pytest.raises(ValueError):
        pk.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, dilation=dilation)


def test_random_invalid_geometry_raises() -> None:
    """Configurations the oracle rejects (padding too wide, dilated gaps, output < 1) raise."""
    rng = np.random.default_rng([SEED, 2])
    found = 0
    while found < 60:
        spatial = _axis_tuple(rng, 1, 6)
        kernel_arg, k = _window_arg(rng, 1, K_MAX)
        stride_arg, s = _window_arg(rng, 1, S_MAX)
        dilation_arg, d = _window_arg(rng, 1, D_MAX)
        padding = tuple(
            (int(rng.integers(0, 2 * ki + 1)), int(rng.integers(0, 2 * ki + 1))) for ki in k
        )
        ceil_mode = bool(rng.random() < 0.5)
        if _geometry_ok(spatial, k, s, padding, d, ceil_mode):
            continue
        found += 1
        x = rng.standard_normal((2,) + spatial).astype(np.float32)
        config = (
            f"spatial={spatial} k={kernel_arg} s={stride_arg} p={padding} d={dilation_arg} "
            f"ceil_mode={ceil_mode}"
        )
        with pytest.raises(ValueError):
            pk.max_pool2d(x, kernel_arg, stride_arg, padding, dilation_arg, ceil_mode, True)
            pytest.fail(f"max_pool2d did not raise: {config}")
        with pytest.raises(ValueError):
            pk.avg_pool2d(x, kernel_arg, stride_arg, padding, ceil_mode, dilation=dilation_arg)
            pytest.fail(f"avg_pool2d did not raise: {config}")
