// poolkit/poolkit.hpp: the umbrella header of the header-only poolkit kernels.
// SPDX-License-Identifier: MIT
#pragma once

#include "poolkit/dispatch.hpp"
#include "poolkit/dtypes.hpp"
#include "poolkit/geometry.hpp"
#include "poolkit/kernels/avg_pool.hpp"
#include "poolkit/kernels/max_pool.hpp"
#include "poolkit/levels.hpp"
#include "poolkit/parallel.hpp"
#include "poolkit/problem.hpp"
#include "poolkit/version.hpp"

namespace poolkit {

using detail::avg_pool;
using detail::max_pool;

// Programs that compile the kernels apart, once per dtype in a translation unit of its own
// (cpp/src/instance.cpp), define POOLKIT_KERNEL_INSTANCES: their other units then only declare
// the kernels, and a parallel build compiles the dtypes side by side. poolkit's extension and
// C++ tests are built so (poolkit_kernel_instances in CMakeLists.txt); the header-only use
// needs nothing.
#if defined(POOLKIT_KERNEL_INSTANCES) && !defined(POOLKIT_INSTANCE)
#define POOLKIT_EXTERN_KERNELS(name, T)                                                 \
  extern template void detail::max_pool<T>(const Problem&, const T*, T*, index_t*);    \
  extern template void detail::avg_pool<T>(const Problem&, const T*, T*, AvgOptions);
POOLKIT_DTYPES(POOLKIT_EXTERN_KERNELS)
#undef POOLKIT_EXTERN_KERNELS
#endif

}  // namespace poolkit
