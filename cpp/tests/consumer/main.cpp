// The textbook's 4x4 example through an installed poolkit: MaxPool2d(3, stride=2, padding=1).
#include <cstdio>

#include "poolkit/poolkit.hpp"

int main() {
  float in[16];
  for (int i = 0; i < 16; ++i) in[i] = static_cast<float>(i);
  poolkit::Problem p;
  for (int i = 1; i < 3; ++i) {
    poolkit::Axis& a = p.geom.axes[i];
    a.in = 4;
    a.kernel = 3;
    a.stride = 2;
    a.pad_before = a.pad_after = 1;
    if (poolkit::plan_axis(a, false) != poolkit::AxisStatus::ok) return 1;
  }
  p.in_strides[1] = 4;
  p.in_strides[2] = 1;
  float out[4];
  poolkit::index_t idx[4];
  poolkit::max_pool(p, in, out, idx);
  const float want[4] = {5, 7, 13, 15};
  for (int i = 0; i < 4; ++i)
    if (out[i] != want[i] || idx[i] != static_cast<poolkit::index_t>(want[i])) {
      std::printf("consumer: output %d is %g (index %lld), expected %g\n", i, out[i],
                  static_cast<long long>(idx[i]), want[i]);
      return 1;
    }
  std::printf("consumer: poolkit %s via find_package works\n", POOLKIT_VERSION);
  return 0;
}
