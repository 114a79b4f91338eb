"""Every instruction-set level this CPU supports gives bitwise identical results."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import poolkit as pk

# Pools over fixed data that reach every kernel path: both layouts (channels-last also over
# sites of 3 channels, picked into registers), inner columns at strides 1, 2 and 3, clipped
# edge windows, dilation, indices, integer and float averages, the separable algorithm (7x7
# stride 1: running maxima and shuffled taps along rows), float NaN inside rows and at a plane's
# last element.
_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import poolkit as pk
    rng = np.random.default_rng(7)
    results = {"active": np.array(pk.build_info()["simd_active"])}
    for dtype in ("float32", "float64", "float16", "int8", "uint8", "int16", "uint16", "int64"):
        x = (rng.standard_normal((2, 67, 29, 31)) * 50).astype(dtype)
        if np.issubdtype(x.dtype, np.floating):  # NaN found at every level (staged or not)
            x[0, 5, 3, 9] = x[1, 60, 20, 17] = x[1, 2, 28, 30] = np.nan
        for k, s, p, d in ((2, 2, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (5, 3, 2, 2), (7, 1, 3, 1)):
            nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
            sites = np.ascontiguousarray(nhwc[..., :3])  # sites of 3 channels, picked
            for layout, arr in (("NCHW", x), ("NHWC", nhwc), ("NHWC3", sites)):
                tag = f"{dtype}-{k}-{s}-{p}-{d}-{layout}"
                layout = layout[:4]
                v, i = pk.max_pool2d(arr, k, s, p, d, return_indices=True, layout=layout)
                results["max-" + tag], results["idx-" + tag] = v, i
                results["avg-" + tag] = pk.avg_pool2d(arr, k, s, p, dilation=d, layout=layout)
    np.savez(sys.argv[1], **results)
""")


def _run(tmp_path, level):
    env = dict(os.environ)
    env.pop("POOLKIT_SIMD", None)
    if level is not None:
        env["POOLKIT_SIMD"] = level
    path = tmp_path / f"{level}.npz"
    subprocess.run([sys.executable, "-c", _SCRIPT, str(path)], env=env, check=True, timeout=300)
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def _levels():
    info = pk.build_info()
    compiled = info["simd"]
    return compiled[: compiled.index(info["simd_supported"]) + 1]


def test_build_info_levels():
    info = pk.build_info()
    assert info["simd_active"] in info["simd"]
    assert info["simd_supported"] in info["simd"]
    if "POOLKIT_SIMD" not in os.environ:
        assert info["simd_active"] == info["simd_supported"]


@pytest.mark.parametrize("level", _levels())
def test_level_matches_the_default(tmp_path, level):
    default = _run(tmp_path, None)
    forced = _run(tmp_path, level)
    assert str(forced.pop("active")) == level
    default.pop("active")
    assert forced.keys() == default.keys()
    for key, want in default.items():
        np.testing.assert_array_equal(forced[key], want, err_msg=key, strict=True)
