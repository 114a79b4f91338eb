// poolkit/dispatch.hpp: the one switch from a runtime dtype to a scalar type.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <stdexcept>

#include "poolkit/dtypes.hpp"

namespace poolkit {

/// The element types poolkit pools; the Python dtype table maps onto these names.
enum class DType : int { f16, bf16, f32, f64, i8, u8, i16, u16, i32, i64 };

template <typename T>
struct type_tag {
  using type = T;
};

/// Call `f(type_tag<T>{})` with the scalar type named by `dtype`.
template <typename F>
decltype(auto) dispatch(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f16: return f(type_tag<float16_t>{});
    case DType::bf16: return f(type_tag<bfloat16_t>{});
    case DType::f32: return f(type_tag<float>{});
    case DType::f64: return f(type_tag<double>{});
    case DType::i8: return f(type_tag<std::int8_t>{});
    case DType::u8: return f(type_tag<std::uint8_t>{});
    case DType::i16: return f(type_tag<std::int16_t>{});
    case DType::u16: return f(type_tag<std::uint16_t>{});
    case DType::i32: return f(type_tag<std::int32_t>{});
    case DType::i64: return f(type_tag<std::int64_t>{});
  }
  throw std::logic_error("poolkit: unknown dtype code");
}

}  // namespace poolkit
