// bench/max_pool.cpp: max pooling over real networks' layers, checked once before timing.
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <limits>

#include "shapes.hpp"

int main(int argc, char** argv) {
  return bench::main_for(
      "max_pool", argc, argv,
      [](const poolkit::Problem& p, const float* in, float* out) {
        poolkit::max_pool(p, in, out, nullptr);
      },
      [](const std::vector<float>& taps, const bench::Shape&) {
        return static_cast<double>(*std::max_element(taps.begin(), taps.end()));
      },
      0.0);
}
