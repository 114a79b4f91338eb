// cpp/bindings/core.cpp: the pybind11 module poolkit._core. It only converts and forwards:
// the Python layer has validated every argument, so a failed check here is a poolkit bug.
// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "poolkit/poolkit.hpp"

namespace py = pybind11;
using poolkit::index_t;

namespace {

using Ints = std::vector<index_t>;

void require(bool ok, const char* what) {
  if (!ok) throw std::logic_error(std::string("poolkit internal error: ") + what);
}

poolkit::DType dtype_of(const py::array& a) {
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  require(dt.byteorder() != '>', "non-native byte order reached the kernels");
  if (kind == 'f' && size == 2) return poolkit::DType::f16;
  if (kind == 'V' && size == 2 && std::string(py::str(dt.attr("name"))) == "bfloat16")
    return poolkit::DType::bf16;
  if (kind == 'f' && size == 4) return poolkit::DType::f32;
  if (kind == 'f' && size == 8) return poolkit::DType::f64;
  if (kind == 'i' && size == 1) return poolkit::DType::i8;
  if (kind == 'u' && size == 1) return poolkit::DType::u8;
  if (kind == 'i' && size == 2) return poolkit::DType::i16;
  if (kind == 'u' && size == 2) return poolkit::DType::u16;
  if (kind == 'i' && size == 4) return poolkit::DType::i32;
  if (kind == 'i' && size == 8) return poolkit::DType::i64;
  throw std::logic_error("poolkit internal error: unsupported dtype reached the kernels");
}

/// The window arguments of one call as Python passes them, one entry per spatial axis.
struct WindowArgs {
  const Ints& kernel;
  const Ints& stride;
  const Ints& pad_before;
  const Ints& pad_after;
  const Ints& dilation;

  /// Axis `i` over an input of length `in`, its values checked as validated by Python.
  poolkit::Axis axis(std::size_t i, index_t in) const {
    require(i < kernel.size() && i < stride.size() && i < pad_before.size() &&
                i < pad_after.size() && i < dilation.size(),
            "axis argument lengths differ");
    poolkit::Axis a;
    a.in = in;
    a.kernel = kernel[i];
    a.stride = stride[i];
    a.pad_before = pad_before[i];
    a.pad_after = pad_after[i];
    a.dilation = dilation[i];
    require(a.in >= 1 && a.kernel >= 1 && a.stride >= 1 && a.dilation >= 1 &&
                a.pad_before >= 0 && a.pad_after >= 0,
            "unvalidated axis values");
    return a;
  }
};

/// Plan the axes of one call; `same` replaces the pads by SAME_UPPER ones (ceil_mode ignored).
/// Returns, per axis, (status, out, pad_before, pad_after).
std::vector<std::tuple<int, index_t, index_t, index_t>> plan(
    const Ints& in, const Ints& kernel, const Ints& stride, const Ints& pad_before,
    const Ints& pad_after, const Ints& dilation, bool ceil_mode, bool same) {
  const WindowArgs window{kernel, stride, pad_before, pad_after, dilation};
  std::vector<std::tuple<int, index_t, index_t, index_t>> result;
  for (std::size_t i = 0; i < in.size(); ++i) {
    poolkit::Axis a = window.axis(i, in[i]);
    auto status = poolkit::AxisStatus::ok;
    if (same) status = poolkit::plan_same_padding(a);
    if (status == poolkit::AxisStatus::ok) status = poolkit::plan_axis(a, ceil_mode && !same);
    result.emplace_back(static_cast<int>(status), a.out, a.pad_before, a.pad_after);
  }
  return result;
}

/// Build the kernel's Problem for array `x` with n spatial axes, checking that every axis
/// plans cleanly and that `out` has the matching shape.
poolkit::Problem make_problem(const py::array& x, const py::array& out, const Ints& kernel,
                              const Ints& stride, const Ints& pad_before, const Ints& pad_after,
                              const Ints& dilation, bool ceil_mode, bool channels_last) {
  const auto ndim = static_cast<std::size_t>(x.ndim());
  const std::size_t n = kernel.size();
  require(n >= 1 && n <= 3 && ndim >= n + (channels_last ? 1 : 0), "bad spatial rank");
  const std::size_t first_spatial = ndim - n - (channels_last ? 1 : 0);
  const index_t item = static_cast<index_t>(x.itemsize());
  auto stride_of = [&](std::size_t axis) {
    const index_t bytes = static_cast<index_t>(x.strides(static_cast<py::ssize_t>(axis)));
    require(bytes % item == 0, "stride not a multiple of the item size");
    return bytes / item;
  };

  poolkit::Problem p;
  p.threads = poolkit::get_num_threads();
  Ints out_shape;
  for (std::size_t i = 0; i < first_spatial; ++i) {
    const index_t len = x.shape(static_cast<py::ssize_t>(i));
    p.outer_shape.push_back(len);
    p.outer_strides.push_back(stride_of(i));
    p.planes *= len;
    out_shape.push_back(len);
  }
  const WindowArgs window{kernel, stride, pad_before, pad_after, dilation};
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t axis = first_spatial + i;
    poolkit::Axis& a = p.geom.axes[3 - n + i];
    a = window.axis(i, x.shape(static_cast<py::ssize_t>(axis)));
    require(poolkit::plan_axis(a, ceil_mode) == poolkit::AxisStatus::ok, "unplannable axis");
    p.in_strides[3 - n + i] = stride_of(axis);
    out_shape.push_back(a.out);
  }
  if (channels_last) {
    p.channels = x.shape(static_cast<py::ssize_t>(ndim - 1));
    require(p.channels <= 1 || p.planes == 0 || stride_of(ndim - 1) == 1,
            "channel axis not contiguous");
    out_shape.push_back(p.channels);
  }
  require(out.ndim() == static_cast<py::ssize_t>(out_shape.size()), "out rank mismatch");
  for (std::size_t i = 0; i < out_shape.size(); ++i)
    require(out.shape(static_cast<py::ssize_t>(i)) == out_shape[i], "out shape mismatch");
  require((out.flags() & py::array::c_style) != 0 && out.writeable(), "out not writable C-order");
  require(out.dtype().kind() == x.dtype().kind() && out.itemsize() == x.itemsize(),
          "out dtype mismatch");
  return p;
}

void max_pool(const py::array& x, py::array& out, const py::object& indices,
              const Ints& kernel, const Ints& stride, const Ints& pad_before,
              const Ints& pad_after, const Ints& dilation, bool ceil_mode, bool channels_last) {
  const poolkit::Problem p = make_problem(x, out, kernel, stride, pad_before, pad_after,
                                          dilation, ceil_mode, channels_last);
  index_t* idx = nullptr;
  if (!indices.is_none()) {
    auto arr = indices.cast<py::array_t<std::int64_t, py::array::c_style>>();
    require(arr.size() == out.size() && arr.writeable(), "bad indices array");
    idx = reinterpret_cast<index_t*>(arr.mutable_data());
  }
  if (p.planes == 0 || p.channels == 0) return;
  const void* src = x.data();
  void* dst = out.mutable_data();
  const poolkit::DType dtype = dtype_of(x);
  py::gil_scoped_release release;
  poolkit::dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    poolkit::max_pool<T>(p, static_cast<const T*>(src), static_cast<T*>(dst), idx);
  });
}

void avg_pool(const py::array& x, py::array& out, const Ints& kernel, const Ints& stride,
              const Ints& pad_before, const Ints& pad_after, const Ints& dilation,
              bool ceil_mode, bool count_include_pad, index_t divisor_override,
              bool channels_last) {
  const poolkit::Problem p = make_problem(x, out, kernel, stride, pad_before, pad_after,
                                          dilation, ceil_mode, channels_last);
  require(divisor_override >= 0, "negative divisor_override");
  if (p.planes == 0 || p.channels == 0) return;
  const void* src = x.data();
  void* dst = out.mutable_data();
  const poolkit::DType dtype = dtype_of(x);
  const poolkit::AvgOptions options{count_include_pad, divisor_override};
  py::gil_scoped_release release;
  poolkit::dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    poolkit::avg_pool<T>(p, static_cast<const T*>(src), static_cast<T*>(dst), options);
  });
}

/// A count of up to 128 bits as a Python int.
py::object to_python(poolkit::count_t v) {
  const py::int_ high(static_cast<std::uint64_t>(v >> 64));
  const py::int_ low(static_cast<std::uint64_t>(v));
  return (high << py::int_(64)) | low;
}

/// The planned geometry of n <= 3 spatial axes (the leading ones trivial).
poolkit::Geometry planned_geometry(const Ints& in, const Ints& kernel, const Ints& stride,
                                   const Ints& pad_before, const Ints& pad_after,
                                   const Ints& dilation, bool ceil_mode) {
  const WindowArgs window{kernel, stride, pad_before, pad_after, dilation};
  require(!in.empty() && in.size() <= 3, "bad spatial rank");
  poolkit::Geometry g;
  for (std::size_t i = 0; i < in.size(); ++i) {
    poolkit::Axis& a = g.axes[3 - in.size() + i];
    a = window.axis(i, in[i]);
    require(poolkit::plan_axis(a, ceil_mode) == poolkit::AxisStatus::ok, "unplannable axis");
  }
  return g;
}

/// What pool_cost reports from C++: per spatial axis the taps of every window that read an
/// input element, summed over its outputs; and the algorithm the kernels run on sites of
/// `channels` elements.
std::tuple<std::vector<py::object>, std::string> cost(
    const Ints& in, const Ints& kernel, const Ints& stride, const Ints& pad_before,
    const Ints& pad_after, const Ints& dilation, bool ceil_mode, index_t channels) {
  const poolkit::Geometry g =
      planned_geometry(in, kernel, stride, pad_before, pad_after, dilation, ceil_mode);
  std::vector<py::object> totals;
  for (std::size_t i = 3 - in.size(); i < 3; ++i)
    totals.push_back(to_python(poolkit::taps_inside_total(g.axes[i])));
  return {totals, poolkit::algorithm_name(poolkit::choose_algorithm(g, channels))};
}

py::dict build_info() {
  py::dict info;
  info["version"] = POOLKIT_VERSION;
#if defined(__clang__)
  info["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  info["compiler"] = std::string("gcc ") + __VERSION__;
#else
  info["compiler"] = "unknown";
#endif
#ifdef _OPENMP
  // _OPENMP is the release date of the specification the compiler implements.
  const char* version = _OPENMP >= 202111 ? "5.2"
                        : _OPENMP >= 202011 ? "5.1"
                        : _OPENMP >= 201811 ? "5.0"
                        : _OPENMP >= 201511 ? "4.5"
                        : _OPENMP >= 201307 ? "4.0"
                                            : "3.x or older";
  info["openmp"] = true;
  info["openmp_version"] = version;
#else
  info["openmp"] = false;
  info["openmp_version"] = py::none();
#endif
  info["max_threads"] = poolkit::detail::default_threads();
  py::list compiled;
  for (poolkit::Simd level : poolkit::simd_compiled()) compiled.append(poolkit::simd_name(level));
  info["simd"] = compiled;
  info["simd_supported"] = poolkit::simd_name(poolkit::simd_supported());
  info["simd_active"] = poolkit::simd_name(poolkit::simd_active());
  return info;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "poolkit's compiled kernels; use the functions of the poolkit package instead.";
  m.def("plan", &plan);
  m.def("max_pool", &max_pool);
  m.def("avg_pool", &avg_pool);
  m.def("cost", &cost);
  m.def("build_info", &build_info);
  m.def("get_num_threads", &poolkit::get_num_threads);
  m.def("set_num_threads", &poolkit::set_num_threads);
}
