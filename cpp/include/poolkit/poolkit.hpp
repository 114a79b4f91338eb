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

}  // namespace poolkit
