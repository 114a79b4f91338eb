"""Threads: bitwise identical results for every thread count, `threads()` restores, and many
Python threads may call at once."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys

import numpy as np
import pytest

import poolkit as pk
from conftest import SUPPORTED_DTYPES, dtype_id, layout_shape, random_input

THREAD_COUNTS = (1, 2, 7)


@pytest.fixture(autouse=True)
def restore_threads():
    before = pk.get_num_threads()
    yield
    pk.set_num_threads(before)


def run_all(x, layout):
    """Every kernel on `x`, as raw bytes."""
    results = []
    windows = [(3, 2, 1, 1, True), (2, 1, "same", 2, False), ((2, 3), None, 0, 1, False)]
    for k, s, p, d, ceil in windows:
        v, i = pk.max_pool2d(x, k, s, p, d, ceil, True, layout=layout)
        results += [v.tobytes(), i.tobytes()]
        for cip, div in [(True, None), (False, None), (True, 5)]:
            a = pk.avg_pool2d(x, k, s, p, ceil, cip, div, dilation=d, layout=layout)
            results.append(a.tobytes())
    return results


# (leading axes in NCHW order, H, W): few planes, many planes, one big plane
SHAPES = [
    pytest.param(((), 301, 257), id="one-plane-301x257"),
    pytest.param(((2, 3), 40, 37), id="6-planes-40x37"),
    pytest.param(((4, 16), 9, 11), id="64-planes-9x11"),
    pytest.param(((5,), 3, 200), id="5-planes-3x200"),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(
    "dtype", [np.float16, np.float32, np.float64, np.int8, np.int64], ids=dtype_id
)
def test_bitwise_identical_for_every_thread_count(dtype, layout, shape, rng):
    leading, h, w = shape
    if layout == "NHWC" and not leading:
        leading = (3,)  # one image with a few channels: still fewer planes than threads
    x = random_input(layout_shape(leading, h, w, layout), dtype, rng)
    runs = []
    for n in THREAD_COUNTS:
        pk.set_num_threads(n)
        assert pk.get_num_threads() == n or not pk.build_info()["openmp"]
        runs.append(run_all(x, layout))
    for other in runs[1:]:
        assert other == runs[0]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=dtype_id)
@pytest.mark.parametrize("n", [3, 4, 5, 8, 16])
def test_bitwise_identical_more_counts(dtype, n, rng):
    x = random_input((3, 5, 123, 97), dtype, rng)
    pk.set_num_threads(1)
    want = run_all(x, "NCHW")
    pk.set_num_threads(n)
    assert run_all(x, "NCHW") == want


def test_default_is_openmp_default():
    """A fresh process: OMP_NUM_THREADS is respected, and the default is at least one."""
    code = "import poolkit as pk; print(pk.get_num_threads(), pk.build_info()['openmp'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert int(out[0]) >= 1
    env["OMP_NUM_THREADS"] = "3"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert int(out[0]) == (3 if out[1] == "True" else 1)


def test_get_num_threads_in_process():
    n = pk.get_num_threads()
    assert isinstance(n, int) and not isinstance(n, bool) and n >= 1


def test_set_and_get():
    pk.set_num_threads(3)
    if pk.build_info()["openmp"]:
        assert pk.get_num_threads() == 3
    pk.set_num_threads(1)
    assert pk.get_num_threads() == 1


@pytest.mark.parametrize("value", [0, -1, -8], ids=repr)
def test_set_num_threads_rejects_non_positive(value):
    before = pk.get_num_threads()
    with pytest.raises(ValueError, match=r"\bn\b|thread"):
        pk.set_num_threads(value)
    assert pk.get_num_threads() == before


@pytest.mark.parametrize("value", ["2", 2.0, None, True], ids=repr)
def test_set_num_threads_rejects_non_int(value):
    before = pk.get_num_threads()
    with pytest.raises((TypeError, ValueError), match=r"\bn\b|thread"):
        pk.set_num_threads(value)
    assert pk.get_num_threads() == before


def test_threads_context_restores():
    pk.set_num_threads(2)
    with pk.threads(1):
        assert pk.get_num_threads() == 1
        with pk.threads(3):
            assert pk.get_num_threads() == 3 or not pk.build_info()["openmp"]
        assert pk.get_num_threads() == 1
    assert pk.get_num_threads() == 2


def test_threads_context_restores_on_exception():
    pk.set_num_threads(2)
    with pytest.raises(KeyError):
        with pk.threads(1):
            assert pk.get_num_threads() == 1
            raise KeyError("boom")
    assert pk.get_num_threads() == 2


def test_threads_context_rejects_bad_values():
    pk.set_num_threads(2)
    with pytest.raises((TypeError, ValueError)):
        with pk.threads(0):
            pass
    assert pk.get_num_threads() == 2


def test_threads_context_gives_same_results(rng):
    x = random_input((2, 3, 50, 41), np.float32, rng)
    with pk.threads(1):
        want = run_all(x, "NCHW")
    with pk.threads(7):
        assert run_all(x, "NCHW") == want


# --- many Python threads at once ---------------------------------------------------------


@pytest.mark.parametrize("pk_threads", [1, 2])
def test_concurrent_calls(pk_threads, rng):
    shared = random_input((2, 3, 64, 61), np.float64, rng)
    own = [random_input((2, 2, 33 + i, 40 - i), np.int32, rng) for i in range(8)]
    pk.set_num_threads(1)
    want_shared = run_all(shared, "NCHW")
    want_own = [run_all(a, "NCHW") for a in own]
    pk.set_num_threads(pk_threads)

    def task(i):
        if i % 2:
            return "shared", run_all(shared, "NCHW")
        return i // 2 % len(own), run_all(own[i // 2 % len(own)], "NCHW")

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(task, range(32)))
    for key, got in results:
        assert got == (want_shared if key == "shared" else want_own[key])


def test_concurrent_nhwc_single_image(rng):
    x = random_input((120, 130, 3), np.uint8, rng)
    pk.set_num_threads(1)
    want = run_all(x, "NHWC")
    pk.set_num_threads(2)
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: run_all(x, "NHWC"), range(12)))
    assert all(r == want for r in results)


FORK_CHILD = """
import os, signal, sys
import numpy as np
import poolkit as pk
x = np.random.default_rng(0).standard_normal((4, 3, 60, 50)).astype(np.float32)
pk.set_num_threads(1)
want = pk.max_pool2d(x, 3, 1, 1), pk.avg_pool2d(x, 3, 1, 1)
pk.set_num_threads(2)
got = pk.max_pool2d(x, 3, 1, 1), pk.avg_pool2d(x, 3, 1, 1)  # the parent's workers start
same = lambda a, b: all(np.array_equal(u, v) for u, v in zip(a, b))
assert same(got, want)
pid = os.fork()
if pid == 0:  # the child: exit status 0 only when its results are right
    signal.alarm(60)  # a hang ends the child, not only the parent
    ok = False
    try:
        ok = same((pk.max_pool2d(x, 3, 1, 1), pk.avg_pool2d(x, 3, 1, 1)), want)
    finally:
        os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
sys.exit(0 if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 1)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_child_runs_serially_and_right():
    """A child forked after threaded calls has none of the parent's OpenMP workers (GNU
    OpenMP's next parallel loop there hung): its calls run serially and give the same results.
    In a fresh process: libraries other tests load (JAX) warn at fork."""
    subprocess.run([sys.executable, "-c", FORK_CHILD], check=True, timeout=120)
