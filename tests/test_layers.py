"""MaxPool2d / AvgPool2d: torch.nn's constructor arguments, the functional form's results, and
PyTorch's repr."""

from __future__ import annotations

import numpy as np
import pytest

import poolkit as pk
from conftest import layout_shape, random_input

# Positional arguments in torch.nn order.
# MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False)
MAX_ARGS = [
    pytest.param((3,), {}, id="k3"),
    pytest.param((3, 2, 1), {}, id="k3-s2-p1"),
    pytest.param(((2, 3),), dict(stride=(2, 3), padding=(0, 1)), id="k2x3-s2x3-p0x1"),
    pytest.param((3, 1, 1, 2), {}, id="k3-s1-p1-d2"),
    pytest.param((2, None, 0, 1, False, True), {}, id="k2-ceil-positional"),
    pytest.param((3,), dict(stride=2, ceil_mode=True), id="k3-s2-ceil"),
    pytest.param((2,), dict(padding="same", stride=1), id="k2-s1-psame"),
    pytest.param((3,), dict(stride=2, padding=((0, 1), (1, 2))), id="k3-s2-asym"),
]

# AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
#           divisor_override=None)
AVG_ARGS = [
    pytest.param((3,), {}, id="k3"),
    pytest.param((3, 2, 1), {}, id="k3-s2-p1"),
    pytest.param((3, 2, 1, True, False), {}, id="k3-s2-p1-ceil-nocip-positional"),
    pytest.param((2, 1, 1, False, True, 3), {}, id="k2-s1-p1-div3-positional"),
    pytest.param(((2, 3),), dict(stride=(1, 2), padding=(1, 0)), id="k2x3-s1x2-p1x0"),
    pytest.param((3,), dict(stride=1, padding=1, dilation=2), id="k3-s1-p1-d2"),
    pytest.param(
        (3,), dict(stride=2, padding="same", count_include_pad=False), id="k3-s2-psame-nocip"
    ),
    pytest.param((2,), dict(divisor_override=7, ceil_mode=True, stride=3), id="k2-s3-ceil-div7"),
]


def _functional_max_kwargs(args, kwargs):
    names = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
    return {**dict(zip(names, args)), **kwargs}


def _functional_avg_kwargs(args, kwargs):
    names = (
        "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"
    )
    return {**dict(zip(names, args)), **kwargs}


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("args, kwargs", MAX_ARGS)
def test_maxpool2d_equals_functional(args, kwargs, layout, rng):
    x = random_input(layout_shape((2, 3), 9, 11, layout), np.float32, rng, ties=True)
    layer = pk.MaxPool2d(*args, **kwargs, layout=layout)
    fkw = _functional_max_kwargs(args, kwargs)
    got = layer(x)
    want = pk.max_pool2d(x, **fkw, layout=layout)
    if fkw.get("return_indices"):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    else:
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("args, kwargs", MAX_ARGS)
def test_maxpool2d_return_indices(args, kwargs, rng):
    x = random_input((2, 3, 9, 11), np.int16, rng, ties=True)
    fkw = _functional_max_kwargs(args, kwargs)
    fkw["return_indices"] = True
    layer = pk.MaxPool2d(**fkw)
    v, i = layer(x)
    want_v, want_i = pk.max_pool2d(x, **fkw)
    np.testing.assert_array_equal(v, want_v)
    np.testing.assert_array_equal(i, want_i)
    assert i.dtype == np.int64


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("args, kwargs", AVG_ARGS)
@pytest.mark.parametrize("dtype", [np.float64, np.uint8], ids=lambda t: np.dtype(t).name)
def test_avgpool2d_equals_functional(args, kwargs, layout, dtype, rng):
    x = random_input(layout_shape((2, 3), 9, 11, layout), dtype, rng)
    layer = pk.AvgPool2d(*args, **kwargs, layout=layout)
    got = layer(x)
    want = pk.avg_pool2d(x, **_functional_avg_kwargs(args, kwargs), layout=layout)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, want)


def test_layer_is_reusable_and_keeps_no_state_between_inputs(rng):
    layer = pk.MaxPool2d(3, 2, 1)
    a = random_input((2, 3, 9, 11), np.float32, rng)
    b = random_input((1, 5, 6, 7), np.float32, rng)
    np.testing.assert_array_equal(layer(a), pk.max_pool2d(a, 3, 2, 1))
    np.testing.assert_array_equal(layer(b), pk.max_pool2d(b, 3, 2, 1))
    np.testing.assert_array_equal(layer(a), pk.max_pool2d(a, 3, 2, 1))


def test_layers_take_no_out():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(TypeError):
        pk.MaxPool2d(2)(x, out=np.zeros((1, 1, 2, 2), np.float32))
    with pytest.raises(TypeError):
        pk.AvgPool2d(2)(x, out=np.zeros((1, 1, 2, 2), np.float32))


def test_default_arguments_match_torch_signature():
    x = np.arange(2 * 3 * 10 * 9, dtype=np.float64).reshape(2, 3, 10, 9) % 17
    np.testing.assert_array_equal(pk.MaxPool2d(3)(x), pk.max_pool2d(x, 3, 3, 0, 1, False))
    np.testing.assert_array_equal(pk.AvgPool2d(3)(x), pk.avg_pool2d(x, 3, 3, 0, False, True, None))


# --- repr ----------------------------------------------------------------------------------

REPR_MAX = [
    pytest.param((3,), {}, id="k3"),
    pytest.param((3,), dict(stride=2, padding=1), id="k3-s2-p1"),
    pytest.param(((2, 3),), dict(stride=(2, 3), padding=(0, 1)), id="k2x3-s2x3-p0x1"),
    pytest.param((2,), dict(dilation=2, ceil_mode=True), id="k2-d2-ceil"),
    pytest.param((2,), dict(return_indices=True), id="k2-indices"),
    pytest.param(((3, 1), (1, 1), (1, 0), (2, 1)), {}, id="k3x1-s1x1-p1x0-d2x1"),
]
REPR_AVG = [
    pytest.param((3,), {}, id="k3"),
    pytest.param((3,), dict(stride=2, padding=1), id="k3-s2-p1"),
    pytest.param(((2, 3),), dict(stride=(1, 2)), id="k2x3-s1x2"),
    pytest.param(
        (2,), dict(ceil_mode=True, count_include_pad=False, divisor_override=3), id="k2-flags"
    ),
]


def test_maxpool2d_repr_documented_example():
    assert repr(pk.MaxPool2d(3, stride=2, padding=1)) == (
        "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"
    )


@pytest.mark.parametrize("args, kwargs", REPR_MAX)
def test_maxpool2d_repr_matches_torch(args, kwargs):
    torch = pytest.importorskip("torch")
    assert repr(pk.MaxPool2d(*args, **kwargs)) == repr(torch.nn.MaxPool2d(*args, **kwargs))


@pytest.mark.parametrize("args, kwargs", REPR_AVG)
def test_avgpool2d_repr_matches_torch(args, kwargs):
    torch = pytest.importorskip("torch")
    assert repr(pk.AvgPool2d(*args, **kwargs)) == repr(torch.nn.AvgPool2d(*args, **kwargs))


def test_repr_of_poolkit_only_arguments():
    """Layers with poolkit-only keywords still read like PyTorch (name and kernel first)."""
    for layer in (pk.MaxPool2d(3, layout="NHWC"), pk.AvgPool2d(3, dilation=2, layout="NHWC")):
        text = repr(layer)
        assert text.startswith(type(layer).__name__ + "(kernel_size=3, stride=3, padding=0")
        assert text.endswith(")")
