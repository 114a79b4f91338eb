// cpp/src/instance.cpp: the kernels of the one dtype POOLKIT_INSTANCE names (an enumerator of
// POOLKIT_DTYPES, as f32). CMake compiles this file once per dtype into the programs that
// define POOLKIT_KERNEL_INSTANCES (poolkit_kernel_instances in CMakeLists.txt).
// SPDX-License-Identifier: MIT
#include "poolkit/poolkit.hpp"

#ifndef POOLKIT_INSTANCE
#error "define POOLKIT_INSTANCE as the dtype to compile, e.g. -DPOOLKIT_INSTANCE=f32"
#endif

namespace poolkit {

using InstanceT = scalar_of<DType::POOLKIT_INSTANCE>::type;
template void detail::max_pool<InstanceT>(const Problem&, const InstanceT*, InstanceT*,
                                          index_t*);
template void detail::avg_pool<InstanceT>(const Problem&, const InstanceT*, InstanceT*,
                                          AvgOptions);

}  // namespace poolkit
