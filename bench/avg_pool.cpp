// bench/avg_pool.cpp: average pooling over real networks' layers, checked once before timing.
// SPDX-License-Identifier: MIT
#include "shapes.hpp"

int main(int argc, char** argv) {
  // The shapes pad by at most half the kernel, so count_include_pad divides by K*K.
  return bench::main_for(
      "avg_pool", argc, argv,
      [](const poolkit::Problem& p, const float* in, float* out) {
        poolkit::avg_pool(p, in, out, poolkit::AvgOptions{true, 0});
      },
      [](const std::vector<float>& taps, const bench::Shape& s) {
        double sum = 0;
        for (float v : taps) sum += v;
        return sum / static_cast<double>(s.k * s.k);
      },
      1e-5);
}
