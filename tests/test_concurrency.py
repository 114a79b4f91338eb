"""Many Python threads calling poolkit at once, and the GIL released while a kernel runs.

The workers run on daemon threads and are awaited with a deadline, so a deadlock fails the
test instead of hanging the run (ThreadPoolExecutor's non-daemon workers would block the
interpreter's exit).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, Callable

import numpy as np
import pytest

import poolkit as pk
from conftest import random_input

DEADLINE_S = 120.0


@pytest.fixture(autouse=True)
def restore_threads():
    before = pk.get_num_threads()
    yield
    pk.set_num_threads(before)


def run_on_threads(tasks: list[Callable[[], Any]]) -> list[Any]:
    """Start one daemon thread per task, all released together; results in task order."""
    futures: list[concurrent.futures.Future[Any]] = [concurrent.futures.Future() for _ in tasks]
    start = threading.Barrier(len(tasks))

    def work(task: Callable[[], Any], future: concurrent.futures.Future[Any]) -> None:
        try:
            start.wait(timeout=DEADLINE_S)
            future.set_result(task())
        except BaseException as exc:  # handed to the test through the future
            future.set_exception(exc)

    for task, future in zip(tasks, futures):
        threading.Thread(target=work, args=(task, future), daemon=True).start()
    deadline = time.monotonic() + DEADLINE_S
    return [f.result(timeout=max(0.0, deadline - time.monotonic())) for f in futures]


# --- inputs and operations ----------------------------------------------------------------


def _inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    big = random_input((2, 4, 96, 90), np.float32, rng)
    nhwc = random_input((2, 45, 50, 6), np.uint8, rng)
    return {
        "f32-shared": big,
        "f32-negative-view": big[:, ::-1, ::-2, :],
        "f64": random_input((3, 3, 41, 37), np.float64, rng),
        "f16": random_input((2, 2, 33, 30), np.float16, rng),
        "i64": random_input((2, 3, 40, 29), np.int64, rng),
        "i8-nan-free-ties": random_input((4, 3, 31, 31), np.int8, rng, ties=True),
        "u8-nhwc": nhwc,
        "u8-nhwc-strided-channels": nhwc[..., ::2],  # copied internally
        "u16-2d": random_input((70, 65), np.uint16, rng),
    }


def _layout(name: str) -> str:
    return "NHWC" if "nhwc" in name else "NCHW"


# (id, operation on (x, layout) returning arrays)
OPS: list[tuple[str, Callable[[np.ndarray, str], tuple[np.ndarray, ...]]]] = [
    ("max-indices", lambda x, lay: pk.max_pool2d(x, 3, 2, 1, return_indices=True, layout=lay)),
    ("max-dilated-ceil", lambda x, lay: (pk.max_pool2d(x, (2, 3), (2, 1), ((0, 1), (1, 1)), 2,
                                                      True, layout=lay),)),
    ("avg", lambda x, lay: (pk.avg_pool2d(x, 3, 1, 1, layout=lay),)),
    ("avg-same-no-pad-count", lambda x, lay: (pk.avg_pool2d(x, 4, 3, "same", True, False,
                                                           layout=lay),)),
    ("avg-divisor", lambda x, lay: (pk.avg_pool2d(x, 2, 1, divisor_override=3, dilation=2,
                                                 layout=lay),)),
    ("max-out", lambda x, lay: _with_out(pk.max_pool2d, x, lay, 3, 2, 1)),
    ("avg-out", lambda x, lay: _with_out(pk.avg_pool2d, x, lay, 2, 2, 0)),
    ("layer", lambda x, lay: (pk.MaxPool2d(2, 1, layout=lay)(x),)),
]


def _with_out(fn: Callable[..., np.ndarray], x: np.ndarray, layout: str,
              *window: Any) -> tuple[np.ndarray, ...]:
    shape = pk.output_shape(x.shape, *window, layout=layout)
    fill = np.nan if x.dtype.kind == "f" else np.iinfo(x.dtype).max
    out = np.full(shape, fill, dtype=x.dtype)
    result = fn(x, *window, layout=layout, out=out)
    assert result is out
    return (out,)


def _bytes(arrays: tuple[np.ndarray, ...]) -> list[bytes]:
    return [a.tobytes() for a in arrays]


# How a task sets poolkit's thread count: set_num_threads (process-wide, so it races with the
# other tasks, which must not matter), a `with threads(n)` block, or not at all.
def _with_threads(mode: str, n: int, job: Callable[[], Any]) -> Any:
    if mode == "set":
        pk.set_num_threads(n)
        return job()
    if mode == "with":
        with pk.threads(n):
            return job()
    return job()


def test_many_threads_mixed_operations(rng):
    inputs = _inputs(rng)
    snapshots = {name: x.copy() for name, x in inputs.items()}
    pk.set_num_threads(1)
    want = {(name, op): _bytes(fn(x, _layout(name)))
            for name, x in inputs.items() for op, fn in OPS}

    tasks, keys = [], []
    names, ops = list(inputs), [op for op, _ in OPS]
    modes = ["set", "with", "none"]
    for t in range(96):
        name = names[t % len(names)]
        op, fn = OPS[(t // len(names) + t) % len(OPS)]
        mode, n = modes[t % 3], 1 + t % 4
        # half the tasks share the input arrays, half get their own copy
        x = inputs[name] if t % 2 else inputs[name].copy()
        keys.append((name, op))
        tasks.append(lambda fn=fn, x=x, name=name, mode=mode, n=n: [
            _with_threads(mode, n, lambda: _bytes(fn(x, _layout(name)))) for _ in range(3)])
    assert {k[1] for k in keys} == set(ops)
    results = []
    for chunk in range(0, len(tasks), 16):  # 16 threads at once
        results += run_on_threads(tasks[chunk:chunk + 16])
    for key, got in zip(keys, results):
        assert got == [want[key]] * 3, key
    for name, x in inputs.items():
        np.testing.assert_array_equal(x, snapshots[name])


def test_many_threads_one_shared_input_and_threads_context(rng):
    """12 threads pool the same array with nested `threads()` blocks of different sizes."""
    x = random_input((3, 5, 80, 77), np.float64, rng)
    with pk.threads(1):
        want_max = pk.max_pool2d(x, 3, 1, 1, return_indices=True)
        want_avg = pk.avg_pool2d(x, 5, 2, 2, count_include_pad=False)

    def task(i: int) -> bool:
        ok = True
        for rep in range(4):
            with pk.threads(1 + (i + rep) % 5):
                v, idx = pk.max_pool2d(x, 3, 1, 1, return_indices=True)
                with pk.threads(1 + i % 3):
                    a = pk.avg_pool2d(x, 5, 2, 2, count_include_pad=False)
            ok &= v.tobytes() == want_max[0].tobytes() and idx.tobytes() == want_max[1].tobytes()
            ok &= a.tobytes() == want_avg.tobytes()
        return ok

    assert all(run_on_threads([lambda i=i: task(i) for i in range(12)]))


def test_threads_racing_on_errors_and_results(rng):
    """Errors raised in some threads do not disturb results computed in others."""
    x = random_input((2, 3, 30, 30), np.int32, rng)
    want = pk.avg_pool2d(x, 3, 2, 1)

    def good() -> bytes:
        return pk.avg_pool2d(x, 3, 2, 1).tobytes()

    def bad() -> str:
        with pytest.raises(ValueError, match="kernel_size") as info:
            pk.avg_pool2d(x, 0)
        return str(info.value)

    results = run_on_threads([good if i % 2 else bad for i in range(16)])
    for i, r in enumerate(results):
        if i % 2:
            assert r == want.tobytes()
        else:
            assert "kernel_size" in r


# --- the GIL ---------------------------------------------------------------------------------


def _long_input(rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal((4, 8, 256, 256)).astype(np.float64)


def test_gil_released_during_kernel(rng):
    """A pure-Python counter thread keeps ticking while one long kernel call runs.

    The counter thread records a timestamp every 200 increments. A kernel holding the GIL for
    its whole run would leave no timestamp inside the call; a released GIL leaves thousands.
    The test asks for at least 3 in the middle half of a call lasting >= 0.2 s: a loaded
    machine may delay the counter for a while, but not for the whole middle half. The kernel
    runs on one thread so that the counter has a core on a 2-core machine.
    """
    x = _long_input(rng)
    stamps: list[float] = []
    stop = threading.Event()

    def counter() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            if n % 200 == 0:
                stamps.append(time.perf_counter())

    thread = threading.Thread(target=counter, daemon=True)
    with pk.threads(1):
        thread.start()
        try:
            while True:
                t0 = time.perf_counter()
                result = pk.avg_pool2d(x, 9, 1, 4)
                t1 = time.perf_counter()
                if t1 - t0 >= 0.2 or x.nbytes >= 2**30:
                    break
                x = np.concatenate([x, x])  # a faster machine: a longer call
        finally:
            stop.set()
            thread.join(timeout=10)
    assert t1 - t0 >= 0.2, f"the call took only {t1 - t0:.3f} s"
    assert result.shape == x.shape
    quarter = (t1 - t0) / 4
    inside = [s for s in stamps if t0 + quarter < s < t1 - quarter]
    assert len(inside) >= 3, (
        f"the counter thread ticked {len(inside)} times in the middle half of a "
        f"{t1 - t0:.2f} s kernel call: the GIL was held")
