"""`python -m poolkit` and `build_info()`."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

import pytest

import poolkit as pk

BUILD_KEYS = (
    "version", "compiler", "openmp", "openmp_version", "simd", "simd_active", "max_threads"
)

# The chapter's printed results, in the order the chapter prints them.
CHAPTER_RESULTS = [
    [4, 5, 7, 8],  # pool2d(X, (2, 2))
    [2, 3, 5, 6],  # pool2d(X, (2, 2), 'avg')
    [10],  # nn.MaxPool2d(3)
    [5, 7, 13, 15],  # nn.MaxPool2d(3, padding=1, stride=2)
    [5, 7, 13, 15],  # nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))
    [5, 7, 13, 15, 6, 8, 14, 16],  # two channels
]


@pytest.fixture(scope="module")
def main_output():
    return subprocess.run(
        [sys.executable, "-m", "poolkit"], capture_output=True, text=True, timeout=300
    )


def test_main_exits_zero(main_output):
    assert main_output.returncode == 0, main_output.stderr
    assert "Traceback" not in main_output.stderr


def test_main_prints_build_info(main_output):
    for key in BUILD_KEYS:
        assert key in main_output.stdout, key
    assert pk.build_info()["version"] in main_output.stdout


def test_main_prints_the_chapters_results(main_output):
    number = r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"
    numbers = [float(t) for t in re.findall(number, main_output.stdout)]
    position = 0
    for run in CHAPTER_RESULTS:
        # each result appears, after the previous one
        rest = numbers[position:]
        hits = [i for i in range(len(rest) - len(run) + 1) if rest[i : i + len(run)] == run]
        assert hits, f"{run} not printed in order:\n{main_output.stdout}"
        position += hits[0] + len(run)


def test_build_info_keys_and_types():
    info = pk.build_info()
    assert isinstance(info, dict)
    assert set(BUILD_KEYS) <= set(info)
    assert isinstance(info["version"], str) and info["version"]
    assert info["version"] == importlib.metadata.version("poolkit")
    assert isinstance(info["compiler"], str) and info["compiler"]
    assert type(info["openmp"]) is bool
    if info["openmp"]:
        assert isinstance(info["openmp_version"], str) and info["openmp_version"]
    else:
        assert info["openmp_version"] is None
    assert isinstance(info["simd"], (list, tuple)) and info["simd"]
    assert all(isinstance(s, str) and s for s in info["simd"])
    assert isinstance(info["simd_active"], str) and info["simd_active"] in info["simd"]
    assert type(info["max_threads"]) is int and info["max_threads"] >= 1


def test_build_info_is_a_fresh_copy():
    info = pk.build_info()
    info["version"] = "changed"
    assert pk.build_info()["version"] != "changed"
