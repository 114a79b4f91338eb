// cpp/bindings/core.cpp: the pybind11 module poolkit._core. It only converts and forwards:
// the Python layer has validated every argument, so a failed check here is a poolkit bug.
// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
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

/// One planned call: the kernel's Problem for inputs of one shape, strides and dtype, built
/// once and run on any array laid out that way. Python caches these by call signature, so a
/// repeated call converts no argument lists.
class Prepared {
 public:
  /// Plan for array `x` with kernel.size() spatial axes, checking that every axis plans
  /// cleanly.
  Prepared(const py::array& x, const Ints& kernel, const Ints& stride, const Ints& pad_before,
           const Ints& pad_after, const Ints& dilation, bool ceil_mode, bool channels_last)
      : dtype_(dtype_of(x)), item_(x.itemsize()) {
    const auto ndim = static_cast<std::size_t>(x.ndim());
    const std::size_t n = kernel.size();
    require(n >= 1 && n <= 3 && ndim >= n + (channels_last ? 1 : 0), "bad spatial rank");
    const std::size_t first_spatial = ndim - n - (channels_last ? 1 : 0);
    for (std::size_t i = 0; i < ndim; ++i) {
      shape_.push_back(x.shape(static_cast<py::ssize_t>(i)));
      strides_.push_back(x.strides(static_cast<py::ssize_t>(i)));
    }
    auto stride_of = [&](std::size_t axis) {
      require(strides_[axis] % item_ == 0, "stride not a multiple of the item size");
      return static_cast<index_t>(strides_[axis] / item_);
    };
    poolkit::Problem& p = problem_;
    for (std::size_t i = 0; i < first_spatial; ++i) {
      p.outer_shape.push_back(shape_[i]);
      p.outer_strides.push_back(stride_of(i));
      p.planes *= shape_[i];
      out_shape_.push_back(shape_[i]);
    }
    const WindowArgs window{kernel, stride, pad_before, pad_after, dilation};
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t axis = first_spatial + i;
      poolkit::Axis& a = p.geom.axes[3 - n + i];
      a = window.axis(i, shape_[axis]);
      require(poolkit::plan_axis(a, ceil_mode) == poolkit::AxisStatus::ok, "unplannable axis");
      p.in_strides[3 - n + i] = stride_of(axis);
      out_shape_.push_back(a.out);
    }
    if (channels_last) {
      p.channels = shape_[ndim - 1];
      require(p.channels <= 1 || p.planes == 0 || stride_of(ndim - 1) == 1,
              "channel axis not contiguous");
      out_shape_.push_back(p.channels);
    }
    p.threads = poolkit::get_num_threads();
    double taps = static_cast<double>(p.planes) * static_cast<double>(p.out_plane_size());
    for (const poolkit::Axis& a : p.geom.axes) taps *= static_cast<double>(a.kernel);
    small_ = taps < 4096;
  }

  py::tuple out_shape() const { return py::cast(out_shape_); }

  /// Max pooling of `x` into `out` (and `indices`, unless None). False, having done nothing,
  /// when `x` is not laid out as planned or its data is not aligned: the caller then takes
  /// the general path, which copies such data.
  bool max_pool(const py::array& x, py::array& out, const py::object& indices) const {
    if (!matches(x)) return false;
    check_out(out);
    index_t* idx = nullptr;
    if (!indices.is_none()) {
      auto arr = indices.cast<py::array_t<std::int64_t, py::array::c_style>>();
      require(arr.size() == out.size() && arr.writeable(), "bad indices array");
      idx = reinterpret_cast<index_t*>(arr.mutable_data());
    }
    run(x, out, [idx](const poolkit::Problem& p, auto* src, auto* dst) {
      poolkit::max_pool(p, src, dst, idx);
    });
    return true;
  }

  /// Average pooling of `x` into `out`; false as for max_pool.
  bool avg_pool(const py::array& x, py::array& out, bool count_include_pad,
                index_t divisor_override) const {
    if (!matches(x)) return false;
    check_out(out);
    require(divisor_override >= 0, "negative divisor_override");
    const poolkit::AvgOptions options{count_include_pad, divisor_override};
    run(x, out, [options](const poolkit::Problem& p, auto* src, auto* dst) {
      poolkit::avg_pool(p, src, dst, options);
    });
    return true;
  }

 private:
  bool matches(const py::array& x) const {
    if (x.ndim() != static_cast<py::ssize_t>(shape_.size()) || x.itemsize() != item_ ||
        reinterpret_cast<std::uintptr_t>(x.data()) % static_cast<std::uintptr_t>(item_) != 0)
      return false;
    for (std::size_t i = 0; i < shape_.size(); ++i)
      if (x.shape(static_cast<py::ssize_t>(i)) != shape_[i] ||
          x.strides(static_cast<py::ssize_t>(i)) != strides_[i])
        return false;
    return dtype_of(x) == dtype_;
  }

  void check_out(const py::array& out) const {
    require(out.ndim() == static_cast<py::ssize_t>(out_shape_.size()), "out rank mismatch");
    for (std::size_t i = 0; i < out_shape_.size(); ++i)
      require(out.shape(static_cast<py::ssize_t>(i)) == out_shape_[i], "out shape mismatch");
    require((out.flags() & py::array::c_style) != 0 && out.writeable(),
            "out not writable C-order");
    require(out.itemsize() == item_ && dtype_of(out) == dtype_, "out dtype mismatch");
  }

  /// kernel(problem, src, dst) on x's data typed as its dtype, without the GIL.
  template <typename Kernel>
  void run(const py::array& x, py::array& out, Kernel kernel) const {
    if (problem_.planes == 0 || problem_.channels == 0) return;
    const void* src = x.data();
    void* dst = out.mutable_data();
    auto go = [&](const poolkit::Problem& p) {
      poolkit::dispatch(dtype_, [&](auto tag) {
        using T = typename decltype(tag)::type;
        kernel(p, static_cast<const T*>(src), static_cast<T*>(dst));
      });
    };
    // Small calls keep the GIL: releasing and taking it back costs more than they do.
    std::optional<py::gil_scoped_release> release;
    if (!small_) release.emplace();
    const int threads = poolkit::get_num_threads();
    if (threads == problem_.threads) return go(problem_);
    poolkit::Problem p = problem_;
    p.threads = threads;
    go(p);
  }

  poolkit::Problem problem_;
  bool small_ = false;  // few enough taps to run on the calling thread, holding the GIL
  poolkit::DType dtype_;
  py::ssize_t item_;
  std::vector<py::ssize_t> shape_, strides_;  // of the input, strides in bytes
  Ints out_shape_;
};

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
  py::class_<Prepared>(m, "Prepared")
      .def(py::init<const py::array&, const Ints&, const Ints&, const Ints&, const Ints&,
                    const Ints&, bool, bool>())
      .def_property_readonly("out_shape", &Prepared::out_shape)
      .def("max_pool", &Prepared::max_pool)
      .def("avg_pool", &Prepared::avg_pool);
  m.def("cost", &cost);
  m.def("build_info", &build_info);
  m.def("get_num_threads", &poolkit::get_num_threads);
  m.def("set_num_threads", &poolkit::set_num_threads);
}
