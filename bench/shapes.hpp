// bench/shapes.hpp: pooling layers of real networks, and the harness the family programs share.
// SPDX-License-Identifier: MIT
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <random>
#include <vector>

#include "poolkit/poolkit.hpp"

namespace bench {

using poolkit::index_t;

/// One named layer: input N x C x H x W, square kernel K, stride S, padding P.
struct Shape {
  const char* name;
  index_t n, c, h, w, k, s, p;
};

inline const std::vector<Shape>& shapes() {
  static const std::vector<Shape> table = {
      {"vgg16_pool1", 8, 64, 224, 224, 2, 2, 0},
      {"vgg16_pool3", 8, 256, 56, 56, 2, 2, 0},
      {"resnet50_stem", 16, 64, 112, 112, 3, 2, 1},
      {"resnet50_stem_b1", 1, 64, 112, 112, 3, 2, 1},
      {"inception_3x3s1", 8, 192, 28, 28, 3, 1, 1},
      {"yolo_sppf", 8, 256, 40, 40, 5, 1, 2},
      {"pool_7x7s1", 8, 64, 56, 56, 7, 1, 3},
      {"downscale_2x2", 1, 3, 4096, 4096, 2, 2, 0},
      {"image_3x3s1", 1, 3, 4096, 4096, 3, 1, 1},
  };
  return table;
}

/// The Problem of one shape in NCHW (channels_last == false) or NHWC.
inline poolkit::Problem problem(const Shape& s, bool channels_last, int threads) {
  poolkit::Problem p;
  for (int i = 1; i < 3; ++i) {
    poolkit::Axis& a = p.geom.axes[i];
    a.in = i == 1 ? s.h : s.w;
    a.kernel = s.k;
    a.stride = s.s;
    a.pad_before = a.pad_after = s.p;
    if (poolkit::plan_axis(a, false) != poolkit::AxisStatus::ok) std::abort();
  }
  p.threads = threads;
  if (channels_last) {
    p.planes = s.n;
    p.channels = s.c;
    p.in_strides[1] = s.w * s.c;
    p.in_strides[2] = s.c;
    p.outer_shape = {s.n};
    p.outer_strides = {s.h * s.w * s.c};
  } else {
    p.planes = s.n * s.c;
    p.in_strides[1] = s.w;
    p.in_strides[2] = 1;
    p.outer_shape = {s.n * s.c};
    p.outer_strides = {s.h * s.w};
  }
  return p;
}

inline std::vector<float> random_input(const Shape& s) {
  std::vector<float> x(static_cast<std::size_t>(s.n * s.c * s.h * s.w));
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : x) v = dist(rng);
  return x;
}

/// Compare sampled outputs of `out` with `reference(taps, shape)`, computed from the window's
/// in-bounds input values gathered naively straight from the definition.
template <typename Reference>
bool check_sampled(const Shape& s, const poolkit::Problem& p, const std::vector<float>& input,
                   const std::vector<float>& out, Reference reference, double tolerance) {
  const poolkit::Axis &ah = p.geom.h(), &aw = p.geom.w();
  std::vector<float> taps;
  for (index_t plane = 0; plane < p.planes; plane += 7)
    for (index_t oy = 0; oy < ah.out; ++oy)
      for (index_t ox = 0; ox < aw.out; ox += 3)
        for (index_t c = 0; c < p.channels; c += 5) {
          taps.clear();
          for (index_t y = oy * s.s - s.p; y < oy * s.s - s.p + s.k; ++y)
            for (index_t x = ox * s.s - s.p; x < ox * s.s - s.p + s.k; ++x)
              if (y >= 0 && y < s.h && x >= 0 && x < s.w)
                taps.push_back(input[static_cast<std::size_t>(
                    plane * p.outer_strides[0] + y * p.in_strides[1] + x * p.in_strides[2] + c)]);
          const index_t at = ((plane * ah.out + oy) * aw.out + ox) * p.channels + c;
          const double got = out[static_cast<std::size_t>(at)];
          const double want = reference(taps, s);
          if (got < want - tolerance || got > want + tolerance) return false;
        }
  return true;
}

/// Time `pool(problem, input, out)` on one shape after checking its result once.
template <typename Pool, typename Reference>
void run(benchmark::State& st, const Shape& s, bool channels_last, poolkit::Algorithm algorithm,
         Pool pool, Reference reference, double tolerance) {
  poolkit::Problem p = problem(s, channels_last, static_cast<int>(st.range(0)));
  p.algorithm = algorithm;
  const std::vector<float> input = random_input(s);
  std::vector<float> out(static_cast<std::size_t>(p.planes * p.out_plane_size()));
  pool(p, input.data(), out.data());
  if (!check_sampled(s, p, input, out, reference, tolerance)) {
    st.SkipWithError("result differs from the naive loop");
    return;
  }
  for (auto _ : st) {
    pool(p, input.data(), out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  // Bytes moved at the least: the input read once and the output written once.
  const index_t in_elems = p.planes * p.channels * p.geom.in_size();
  const index_t out_elems = p.planes * p.out_plane_size();
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * (in_elems + out_elems) *
                       static_cast<std::int64_t>(sizeof(float)));
}

/// The main of a family's program: every shape, both layouts, 1 and 2 threads, with the
/// algorithm poolkit chooses and, where that is not the direct one, the direct one beside it.
template <typename Pool, typename Reference>
int main_for(const char* family, int argc, char** argv, Pool pool, Reference reference,
             double tolerance) {
  for (const Shape& s : shapes())
    for (bool last : {false, true})
      for (poolkit::Algorithm algorithm : {poolkit::Algorithm::separable,
                                           poolkit::Algorithm::direct}) {
      if (problem(s, last, 1).resolved_algorithm() != algorithm &&
          algorithm != poolkit::Algorithm::direct)
        continue;
      const std::string name = std::string(family) + "/" + s.name + (last ? "/NHWC/" : "/NCHW/") +
                               poolkit::algorithm_name(algorithm);
      benchmark::RegisterBenchmark(name.c_str(),
                                   [=](benchmark::State& st) {
                                     run(st, s, last, algorithm, pool, reference, tolerance);
                                   })
          ->ArgNames({"threads"})
          ->Arg(1)
          ->Arg(2)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench
