"""`python -m poolkit bench`: it runs, checks every implementation before timing it, reports
wrong ones as wrong, and writes its JSON and chart."""

from __future__ import annotations

import json
import re
from typing import Any, List, Tuple

import numpy as np
import pytest

import poolkit as pk
from conftest import oracle_avg, oracle_max, random_input
from poolkit import _bench
from poolkit.__main__ import main

TIME = re.compile(r"^\d+(\.\d+)?(us|ms|s)$")
SMALL = "resnet50-stem-b1/NCHW"


@pytest.fixture(autouse=True)
def restore_threads():
    before = pk.get_num_threads()
    yield
    pk.set_num_threads(before)


def bench(capsys: pytest.CaptureFixture[str], *args: str) -> Tuple[int, str, str]:
    """Run the tool as briefly as it goes on one small case; (exit code, stdout, stderr)."""
    code = main(["bench", "--quick", "--rounds", "2", "--budget", "0.1", "--threads", "1",
                 "--cases", SMALL, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table(out: str) -> List[List[str]]:
    """The table's header and rows, split into cells (times and ratios are one cell each)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("case "))
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(re.split(r" {2,}", line.strip()))
    return rows


def fake_peers(*impls: _bench.Impl) -> List[Tuple[str, Any]]:
    return [("Fake", lambda: list(impls))]


@pytest.fixture
def unmeasured(monkeypatch):
    """Skip measuring the machine (copy bandwidth, busy cores) where a test does not look."""
    monkeypatch.setattr(_bench, "copy_bandwidth", lambda nbytes, threads: 1e10)
    monkeypatch.setattr(_bench, "busy_cores", lambda: None)


def test_bench_prints_a_table_with_poolkit_and_the_reference(capsys):
    code, out, err = bench(capsys)
    assert code == 0, out
    header, *rows = table(out)
    assert header[:5] == ["case", "layout", "threads", "poolkit", "numpy"]
    assert len(rows) == 1 and rows[0][:3] == ["resnet50-stem-b1", "NCHW", "1"]
    cells = dict(zip(header, rows[0]))
    time, share = cells["poolkit"].split()
    assert TIME.match(time) and share.endswith("%")
    time, ratio = cells["numpy"].split()
    assert TIME.match(time) and ratio.endswith("x") and float(ratio[:-1]) > 0
    assert "copy bandwidth" in out and "notes:" in out
    assert "1/1" in err  # the progress bar


def test_a_wrong_or_failing_peer_is_reported_and_not_timed(unmeasured, capsys, monkeypatch,
                                                          tmp_path):
    def zeros(case, x, threads):
        return _bench.Runner(lambda: np.zeros(case.out_shape, case.dtype))

    def broken(case, x, threads):
        raise RuntimeError("no kernel here")

    monkeypatch.setattr(_bench, "PEERS", fake_peers(_bench.Impl("zeros", "zeros 0", zeros),
                                                    _bench.Impl("broken", "broken 0", broken)))
    path = tmp_path / "bench.json"
    code, out, _ = bench(capsys, "--json", str(path))
    assert code == 0
    header, row = table(out)
    cells = dict(zip(header, row))
    assert cells["zeros"] == "wrong" and cells["broken"] == "error"
    assert re.search(r"zeros on resnet50-stem-b1/NCHW t1: wrong: \d+ of \d+ values differ", out)
    assert "broken on resnet50-stem-b1/NCHW t1: error: RuntimeError: no kernel here" in out

    results = {r["impl"]: r for r in json.loads(path.read_text())["results"]}
    assert results["zeros"]["status"] == "wrong" and results["zeros"]["samples_s"] == []
    assert results["broken"]["status"] == "error" and results["broken"]["median_s"] is None
    assert results["poolkit"]["status"] == "ok" and len(results["poolkit"]["samples_s"]) == 2
    assert results["poolkit"]["bandwidth_share"] > 0
    assert results["numpy"]["ratio_to_poolkit"] > 0


def test_each_thread_count_is_a_row_and_the_setting_is_restored(unmeasured, capsys,
                                                                monkeypatch):
    monkeypatch.setattr(_bench, "PEERS", [])
    pk.set_num_threads(1)
    code, out, _ = bench(capsys, "--threads", "2,1", "--settle", "1")
    assert code == 0
    _, *rows = table(out)
    assert [row[2] for row in rows] == ["2", "1"]
    assert all(TIME.match(row[3].split()[0]) for row in rows)
    assert pk.get_num_threads() == 1


def test_poolkit_disagreeing_with_the_reference_fails_the_run(unmeasured, capsys, monkeypatch):
    def off_by_one(case, x):
        return lambda: np.asarray(pk.max_pool2d(x, case.kernel, case.stride, case.padding)) + 1

    monkeypatch.setattr(_bench, "PEERS", [])
    monkeypatch.setattr(_bench, "_poolkit_call", off_by_one)
    code, out, _ = bench(capsys)
    assert code == 1
    assert "poolkit on resnet50-stem-b1/NCHW t1: wrong: disagrees with the NumPy reference" in out


def test_a_missing_peer_is_skipped_with_a_note(unmeasured, capsys, monkeypatch):
    def missing() -> List[_bench.Impl]:
        raise ImportError("No module named 'nonesuch'")

    monkeypatch.setattr(_bench, "PEERS", [("Nonesuch", missing)])
    code, out, _ = bench(capsys)
    assert code == 0
    assert "Nonesuch: skipped (ImportError: No module named 'nonesuch')" in out


def test_plot_saves_a_png(unmeasured, capsys, monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")

    def slow(case, x, threads):  # a correct peer, so that the chart has a bar
        return _bench.Runner(lambda: _bench.reference_pool(
            x, case.mode, case.kernel, case.stride, case.padding, case.channels_last))

    monkeypatch.setattr(_bench, "PEERS", fake_peers(_bench.Impl("slow", "slow 0", slow)))
    path = tmp_path / "bench.png"
    code, _, _ = bench(capsys, "--plot", str(path))
    assert code == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_skip_leaves_out_the_libraries_named(unmeasured, capsys, monkeypatch):
    loaded = []

    def factory(name):
        def load():
            loaded.append(name)
            return [_bench.Impl(name.lower(), f"{name} 0", lambda case, x, threads: _bench.Runner(
                lambda: _bench.reference_pool(x, case.mode, case.kernel, case.stride,
                                              case.padding, case.channels_last)))]
        return load

    monkeypatch.setattr(_bench, "PEERS", [("Fast", factory("Fast")), ("Slow", factory("Slow"))])
    code, out, _ = bench(capsys, "--skip", "numpy, SLOW")
    assert code == 0, out
    assert loaded == ["Fast"]  # a skipped library is not even loaded
    header = table(out)[0]
    assert "poolkit" in header and "fast" in header
    assert "numpy" not in header and "slow" not in header
    assert "Slow: skipped (--skip)" in out and "NumPy: skipped (--skip)" in out


def test_skip_of_an_unknown_library_is_a_usage_error(capsys):
    assert main(["bench", "--skip", "poolkit"]) == 2
    err = capsys.readouterr().err
    assert "'poolkit'" in err and "scikit-image" in err


def test_no_matching_case_is_a_usage_error(capsys):
    assert main(["bench", "--cases", "no-such-case"]) == 2
    assert "resnet50-stem" in capsys.readouterr().err


def test_unknown_arguments_are_still_rejected(capsys):
    assert main(["benchmark"]) == 2
    assert "usage" in capsys.readouterr().err


def test_case_selection():
    assert [c.label for c in _bench.select_cases("stem-b1/nhwc", large=False, quick=False)] == [
        "NHWC"]
    assert _bench.select_cases("pool1-large", large=False, quick=False) == []
    large = _bench.select_cases("pool1-large", large=True, quick=False)
    assert [c.shape for c in large] == [(32, 64, 224, 224), (32, 224, 224, 64)]
    quick = _bench.select_cases("", large=False, quick=True)
    assert len(quick) == len([c for c in _bench.CASES if not c.large])
    assert all(np.prod(c.shape) <= 3 * 512 * 512 for c in quick)
    for case in _bench.CASES:
        assert pk.output_shape(case.shape, case.kernel, case.stride, case.padding,
                               layout=case.layout) == case.out_shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("window", [(2, 2, 0), (3, 2, 1), (3, 1, 1), (5, 1, 2)],
                         ids=lambda w: "k{}-s{}-p{}".format(*w))
def test_the_bench_reference_agrees_with_the_test_oracle(window, layout, dtype, rng):
    k, s, p = window
    x = random_input((2, 9, 11, 3) if layout == "NHWC" else (2, 3, 9, 11), dtype, rng)
    last = layout == "NHWC"
    want_max, _ = oracle_max(x, k, s, p, layout=layout)
    np.testing.assert_array_equal(_bench.reference_pool(x, "max", k, s, p, last), want_max)
    got = _bench.reference_pool(x, "avg", k, s, p, last)
    want = oracle_avg(x, k, s, p, layout=layout)
    assert got.dtype == want.dtype
    if got.dtype.kind == "u":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_compare_rules():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert _bench.compare(a, a.copy(), "max") is None
    b = a.copy()
    b[1, 1] = np.nextafter(b[1, 1], np.float32(100))
    assert _bench.compare(b, a, "max") is not None  # max: bit for bit
    assert _bench.compare(b, a, "avg") is None  # float avg: within rtol 1e-5
    c = a.copy()
    c[1, 1] += 1e-3
    assert "1 of 12 values differ" in _bench.compare(c, a, "avg")
    assert "shape" in _bench.compare(a[:2], a, "max")
    u = a.astype(np.uint8)
    assert _bench.compare(u + (u == 3), u, "avg") is not None
    assert _bench.compare(u + (u == 3), u, "avg", int_atol=1) is None


@pytest.mark.slow
def test_every_installed_peer_agrees_on_every_shrunk_case():
    impls, _ = _bench.load_impls()
    rng = np.random.default_rng(0)
    for case in (c.shrunk() for c in _bench.CASES):
        x = _bench.random_input(case, rng)
        expected = _bench.reference_pool(x, case.mode, case.kernel, case.stride, case.padding,
                                         case.channels_last)
        for impl in impls:
            result, _ = _bench._check(impl, case, x, expected, 1)
            assert result.status != "wrong", (impl.name, case, result.detail)
