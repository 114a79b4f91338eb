// cpp/tests/test_kernels.cpp: every kernel (max with and without indices, average under each
// divisor rule) against a naive loop, for every dtype, both layouts, 1 to 3 spatial axes, any
// strides, every SIMD level and several thread counts, over random geometries that favour the
// edges. Usage: test_kernels [cases per dtype] (default 400).
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "check.hpp"
#include "naive_axis.hpp"
#include "poolkit/poolkit.hpp"

using naive::wide;
using poolkit::AxisStatus;
using check::failures;
using poolkit::index_t;

namespace {

constexpr index_t kMax = std::numeric_limits<index_t>::max();

struct Rng {
  std::mt19937_64 gen;
  /// Uniform in [lo, hi].
  index_t pick(index_t lo, index_t hi) {
    return lo + static_cast<index_t>(gen() % (static_cast<std::uint64_t>(hi - lo) + 1));
  }
  bool one_in(int n) { return gen() % static_cast<std::uint64_t>(n) == 0; }
};

// ---- random axes, each kind aimed at one edge of the window math -------------------------

enum Kind : int {
  kPlain,         // what networks use: small windows, pads up to half the kernel
  kOneElement,    // an axis of length 1
  kBigWindow,     // the window is longer than the input; padding makes room for it
  kOverhang,      // ceil_mode: the last window reaches past the padded end
  kShortDilated,  // dilation steps over a short axis, so windows can miss it entirely
  kHugeStride,    // strides up to 2**40: one or two windows
  kWidePadding,   // pads far above half the kernel (ONNX and TensorFlow models have them)
  kHugeDilation,  // taps up to 2**40 apart: at most one of them lands in the input
  kInt64Edge,     // strides, dilations and pads next to 2**63 - 1
  kLong,          // 40 to 150 elements: whole blocks of lanes, the last one overlapping
  kKinds
};
const char* const kKindNames[kKinds] = {"plain",   "one-element",   "big-window",
                                        "ceil-overhang", "short-dilated", "huge-stride",
                                        "wide-padding",  "huge-dilation", "int64-edge",
                                        "long"};

naive::AxisArgs random_axis(Rng& r, int kind) {
  naive::AxisArgs a;
  a.ceil = r.one_in(2);
  auto extent = [&a] { return a.d * (a.k - 1) + 1; };
  switch (kind) {
    case kPlain:
      a.in = r.pick(1, 12), a.k = r.pick(1, 4), a.s = r.pick(1, 3), a.d = r.pick(1, 2);
      a.pb = r.pick(0, a.k / 2);
      a.pa = r.one_in(2) ? a.pb : r.pick(0, a.k / 2);
      break;
    case kOneElement:
      a.in = 1, a.k = r.pick(1, 5), a.s = r.pick(1, 4), a.d = r.pick(1, 3);
      a.pb = r.pick(0, extent() - 1), a.pa = r.pick(0, extent() - 1);
      break;
    case kBigWindow:
      a.in = r.pick(1, 4), a.k = a.in + r.pick(1, 6), a.s = r.pick(1, 3), a.d = r.pick(1, 2);
      a.pb = r.pick(0, extent() - 1), a.pa = r.pick(0, extent());
      break;
    case kOverhang:
      a.ceil = true;
      a.in = r.pick(1, 12), a.k = r.pick(1, 4), a.s = r.pick(2, 5), a.d = r.pick(1, 2);
      a.pb = r.pick(0, a.k / 2 + 1), a.pa = r.pick(0, 1);
      break;
    case kShortDilated:
      a.d = r.pick(2, 6), a.in = r.pick(1, a.d), a.k = r.pick(2, 4), a.s = r.pick(1, 3);
      a.pb = r.pick(0, extent() - 1), a.pa = r.pick(0, extent() - 1);
      break;
    case kHugeStride:
      a.s = (index_t{1} << r.pick(3, 40)) - r.pick(0, 1);
      a.in = r.pick(1, 12), a.k = r.pick(1, 4), a.d = r.pick(1, 3);
      a.pb = r.pick(0, extent() - 1);
      a.pa = r.one_in(2) ? r.pick(0, 3) : r.pick(0, a.s);
      break;
    case kWidePadding:
      a.in = r.pick(1, 8), a.k = r.pick(1, 5), a.s = r.pick(1, 3), a.d = r.pick(1, 3);
      a.pb = r.pick(std::min(a.k / 2 + 1, extent() - 1), extent() - 1);
      a.pa = r.pick(a.k / 2 + 1, extent() + 2);
      break;
    case kHugeDilation:
      a.d = (index_t{1} << r.pick(20, 40)) + r.pick(0, 5);
      a.in = r.pick(1, 12), a.k = r.pick(2, 3), a.s = r.pick(1, 3);
      // The first tap in the input, or the last one (the pads then nearly span the window).
      a.pb = r.one_in(2) ? r.pick(0, a.in) : extent() - 1 - r.pick(0, a.in - 1);
      a.pa = r.one_in(2) ? r.pick(0, 3) : extent() - 1 - r.pick(0, a.in - 1);
      break;
    case kLong:
      a.in = r.pick(40, 150), a.k = r.pick(1, 4), a.s = r.pick(1, 3), a.d = r.pick(1, 2);
      a.pb = r.pick(0, a.k / 2);
      a.pa = r.one_in(2) ? a.pb : r.pick(0, a.k / 2);
      break;
    default: {  // kInt64Edge; the oracle needs a small kernel, everything else may be huge
      const index_t edges[] = {1, 2, 3, index_t{1} << 62, kMax / 2, kMax - 2, kMax - 1, kMax};
      auto edge = [&] { return edges[r.pick(0, static_cast<index_t>(std::size(edges)) - 1)]; };
      a.in = r.pick(1, 5), a.k = r.pick(1, 3), a.s = edge();
      a.d = a.k > 1 ? std::min(edge(), (kMax - 1) / (a.k - 1)) : edge();
      // Pads near the window extent keep its last tap in the input; the rest fills the range.
      const index_t room = kMax - a.in;
      a.pb = r.one_in(3) ? r.pick(0, 3)
                         : std::clamp<index_t>(extent() - 1 - r.pick(0, a.in - 1), 0, room);
      a.pa = r.one_in(3) ? r.pick(0, 3) : std::max<index_t>(0, room - a.pb - r.pick(0, 3));
      break;
    }
  }
  return a;
}

// ---- values ---------------------------------------------------------------------------------

/// A quiet NaN: for float and double of random sign and payload, so that a max returning
/// another NaN of its window than the first shows (the half types' own NaN otherwise).
template <typename T>
T random_nan(Rng& r) {
  const std::uint64_t g = r.gen();
  if constexpr (std::is_same_v<T, float>) {
    const auto bits = static_cast<std::uint32_t>(0x7fc00000u | (g & 0x803fffffu));
    return __builtin_bit_cast(float, bits);
  } else if constexpr (std::is_same_v<T, double>) {
    return __builtin_bit_cast(double, 0x7ff8000000000000u | (g & 0x8007ffffffffffffu));
  } else {
    return static_cast<T>(std::numeric_limits<float>::quiet_NaN());
  }
}

/// A value of T: ties, extremes, infinities and (where `nan`) NaN at a rate that puts one in
/// most windows.
template <typename T>
T random_value(Rng& r, bool nan) {
  if constexpr (poolkit::is_float_v<T>) {
    const int pick = static_cast<int>(r.gen() % 40);
    if (pick == 0 && nan) return random_nan<T>(r);
    if (pick == 1) return poolkit::lowest<T>();
    // +inf too: where it meets -inf in a guarded max's sums, the max pools again testing
    // every tap (results the same either way).
    if (pick == 2) return static_cast<T>(std::numeric_limits<float>::infinity());
    if (pick < 20) return static_cast<T>(static_cast<float>(r.gen() % 7) - 3.0f);  // ties
    return static_cast<T>(std::uniform_real_distribution<float>(-100, 100)(r.gen));
  } else {
    const int pick = static_cast<int>(r.gen() % 10);
    if (pick == 0) return std::numeric_limits<T>::lowest();
    if (pick == 1) return std::numeric_limits<T>::max();
    if (pick < 6) return static_cast<T>(r.gen() % 5);  // ties
    return static_cast<T>(r.gen());
  }
}

/// What unread input and unwritten output hold: it wins every max, so a stray read shows.
template <typename T>
T sentinel() {
  if constexpr (poolkit::is_float_v<T>)
    return static_cast<T>(std::numeric_limits<float>::quiet_NaN());
  else
    return std::numeric_limits<T>::max();
}

/// Whether a and b hold the same bits: a max returns one of its taps, the first NaN if any.
template <typename T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

/// Whether a and b are the same value, any NaN matching any NaN.
template <typename T>
bool same_value(T a, T b) {
  if constexpr (poolkit::is_float_v<T>) {
    if (a != a || b != b) return a != a && b != b;
    return std::memcmp(&a, &b, sizeof(T)) == 0;
  } else {
    return a == b;
  }
}

/// Nearest integer to sum / div, ties to even, saturated to T.
template <typename T>
T round_half_even(wide sum, index_t div) {
  wide q = sum / div, r = sum - q * div;
  if (r < 0) q -= 1, r += div;  // floor division
  if (2 * r > div || (2 * r == div && q % 2 != 0)) q += 1;
  const wide lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
  return static_cast<T>(q < lo ? lo : q > hi ? hi : q);
}

/// A float average summed in another order than the naive loop's: within two roundings of
/// the accumulator per tap (scaled by the average of the taps' magnitudes) plus two of the
/// final rounding to T. Non-finite results must agree exactly.
template <typename T>
bool close_avg(T got, T want, double abs_avg, index_t taps) {
  const double g = static_cast<double>(got), w = static_cast<double>(want);
  if (!std::isfinite(w) || !std::isfinite(g)) return same_value(got, want);
  using Acc = poolkit::accum_t<T>;
  const double eps_acc = static_cast<double>(std::numeric_limits<Acc>::epsilon());
  const double eps_t = std::is_same_v<T, poolkit::float16_t>    ? 0x1p-10
                       : std::is_same_v<T, poolkit::bfloat16_t> ? 0x1p-7
                                                                : eps_acc;
  const double tol = 2 * static_cast<double>(taps) * eps_acc * abs_avg + 2 * eps_t * std::fabs(w);
  return std::fabs(g - w) <= tol + std::numeric_limits<double>::denorm_min();
}

// ---- one problem ----------------------------------------------------------------------------

/// Counts for the summary line.
struct Tally {
  long cases = 0, valid = 0;
  long axes[kKinds] = {};  // valid axes of each kind
};

/// One memory axis of the input: its length and its stride in elements.
struct MemAxis {
  index_t len = 1, stride = 0;
};

/// Plan `dims` axes (spatial, outermost first) and, when every one is valid, pool a random
/// input with them in every way and compare with the naive loop.
template <typename T>
void check_problem(Rng& r, int dims, const naive::AxisArgs* spatial, const char* name,
                   Tally& tally) {
  ++tally.cases;
  naive::AxisArgs ax[3];  // depth, height, width; the unused leading ones stay trivial
  poolkit::Problem p;
  bool valid = true;
  for (int i = 0; i < dims; ++i) {
    const int g = 3 - dims + i;
    ax[g] = spatial[i];
    poolkit::Axis& a = p.geom.axes[g];
    a.in = ax[g].in, a.kernel = ax[g].k, a.stride = ax[g].s;
    a.pad_before = ax[g].pb, a.pad_after = ax[g].pa, a.dilation = ax[g].d;
    std::int64_t want_out = 0;
    const AxisStatus want = naive::status(ax[g], &want_out);
    const AxisStatus got = poolkit::plan_axis(a, ax[g].ceil);
    CHECK(got == want, "%s plan_axis status %d, expected %d (in %lld k %lld s %lld pads %lld "
          "%lld d %lld ceil %d)", name, static_cast<int>(got), static_cast<int>(want),
          static_cast<long long>(a.in), static_cast<long long>(a.kernel),
          static_cast<long long>(a.stride), static_cast<long long>(a.pad_before),
          static_cast<long long>(a.pad_after), static_cast<long long>(a.dilation),
          ax[g].ceil ? 1 : 0);
    if (got == AxisStatus::ok && want == AxisStatus::ok)
      CHECK(a.out == want_out, "%s out %lld, expected %lld", name,
            static_cast<long long>(a.out), static_cast<long long>(want_out));
    valid &= got == AxisStatus::ok && want == AxisStatus::ok;
  }
  if (!valid) return;
  ++tally.valid;

  const index_t D = ax[0].in, H = ax[1].in, W = ax[2].in;
  const index_t OD = p.geom.axes[0].out, OH = p.geom.axes[1].out, OW = p.geom.axes[2].out;
  const index_t sites = D * H * W, outputs = OD * OH * OW;
  const index_t taps = ax[0].k * ax[1].k * ax[2].k;

  // Batch and channels, kept small enough that the naive loop stays cheap. Channels-last
  // reaches past 64 channels, the kernels' lane block.
  const bool channels_last = r.one_in(2);
  const bool has_batch = !r.one_in(4);
  const index_t batch = has_batch ? r.pick(1, 2) : 1;
  index_t C = r.pick(1, channels_last ? 70 : 3);
  while (C > 1 && (batch * C * outputs * taps > 40000 || batch * C * sites > 20000)) C /= 2;
  const bool has_channel_axis = channels_last || C > 1 || !r.one_in(3);

  // Memory axes: batch, channel (channels-first), depth, height, width, channel
  // (channels-last). Strides come from a shuffled order, sometimes with gaps (a view of a
  // larger array) and flips (negative strides); channels-last channels stay contiguous.
  enum { kBatch, kChannel, kDepth, kHeight, kWidth, kAxes };
  MemAxis mem[kAxes];
  mem[kBatch].len = batch, mem[kChannel].len = C;
  mem[kDepth].len = D, mem[kHeight].len = H, mem[kWidth].len = W;
  std::vector<int> order = {kBatch, kDepth, kHeight, kWidth};
  if (!channels_last) order.insert(order.begin() + 1, kChannel);
  if (r.one_in(3)) std::shuffle(order.begin(), order.end(), r.gen);
  index_t extent = 1;
  if (channels_last) {
    mem[kChannel].stride = 1;
    extent = C + (r.one_in(4) ? r.pick(1, 3) : 0);
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    mem[*it].stride = extent;
    extent *= mem[*it].len + (r.one_in(5) ? r.pick(1, 2) : 0);
  }
  index_t base = 0;
  for (int m : order)
    if (r.one_in(4)) {
      base += (mem[m].len - 1) * mem[m].stride;
      mem[m].stride = -mem[m].stride;
    }
  std::vector<T> buffer(static_cast<std::size_t>(extent), sentinel<T>());
  // Inputs without NaN half the time: max over them takes a path of its own (Problem::nan_free).
  const bool nan = r.one_in(2);
  auto offset = [&](index_t n, index_t c, index_t z, index_t y, index_t x) {
    return static_cast<std::size_t>(base + n * mem[kBatch].stride + c * mem[kChannel].stride +
                                    z * mem[kDepth].stride + y * mem[kHeight].stride +
                                    x * mem[kWidth].stride);
  };
  for (index_t n = 0; n < batch; ++n)
    for (index_t c = 0; c < C; ++c)
      for (index_t z = 0; z < D; ++z)
        for (index_t y = 0; y < H; ++y)
          for (index_t x = 0; x < W; ++x) buffer[offset(n, c, z, y, x)] = random_value<T>(r, nan);

  for (int i = 0; i < dims; ++i) p.in_strides[3 - dims + i] = mem[kDepth + 3 - dims + i].stride;
  if (has_batch) {
    p.outer_shape.push_back(batch);
    p.outer_strides.push_back(mem[kBatch].stride);
  }
  if (channels_last) {
    p.planes = batch;
    p.channels = C;
  } else {
    if (has_channel_axis) {
      p.outer_shape.push_back(C);
      p.outer_strides.push_back(mem[kChannel].stride);
    }
    p.planes = batch * C;
    p.channels = 1;
  }

  // The naive loop: every tap of every window, row-major, skipping those outside the input.
  const std::size_t total = static_cast<std::size_t>(batch * C * outputs);
  auto out_index = [&](index_t n, index_t c, index_t site) {
    return static_cast<std::size_t>(channels_last ? (n * outputs + site) * C + c
                                                  : (n * C + c) * outputs + site);
  };
  const bool include_pad = r.one_in(2);
  const index_t divisor_override = r.one_in(8) ? index_t{1} << 40 : r.pick(1, 5);
  std::vector<T> want_max(total), want_avg[3];
  std::vector<double> want_abs_avg[3];  // average of |tap|: scales the separable tolerance
  std::vector<index_t> want_idx(total);
  for (auto& v : want_avg) v.resize(total);
  for (auto& v : want_abs_avg) v.resize(total);
  for (index_t n = 0; n < batch; ++n)
    for (index_t c = 0; c < C; ++c)
      for (index_t od = 0; od < OD; ++od)
        for (index_t oh = 0; oh < OH; ++oh)
          for (index_t ow = 0; ow < OW; ++ow) {
            T best = poolkit::lowest<T>();
            index_t arg = -1, inside = 0;
            wide isum = 0;
            poolkit::accum_t<T> fsum = 0;
            double abs_sum = 0;
            for (index_t tz = 0; tz < ax[0].k; ++tz)
              for (index_t ty = 0; ty < ax[1].k; ++ty)
                for (index_t tx = 0; tx < ax[2].k; ++tx) {
                  const wide z = naive::tap(ax[0], od, tz), y = naive::tap(ax[1], oh, ty),
                             x = naive::tap(ax[2], ow, tx);
                  if (z < 0 || z >= D || y < 0 || y >= H || x < 0 || x >= W) continue;
                  const index_t zi = static_cast<index_t>(z), yi = static_cast<index_t>(y),
                                xi = static_cast<index_t>(x);
                  const T v = buffer[offset(n, c, zi, yi, xi)];
                  const index_t flat = (zi * H + yi) * W + xi;
                  if (arg < 0) arg = flat;
                  const bool nan_v = poolkit::is_float_v<T> && v != v;
                  const bool nan_best = poolkit::is_float_v<T> && best != best;
                  if (!nan_best && (nan_v || v > best)) best = v, arg = flat;
                  ++inside;
                  if constexpr (poolkit::is_float_v<T>) {
                    fsum += static_cast<poolkit::accum_t<T>>(v);
                    abs_sum += std::fabs(static_cast<double>(v));
                  }
                  else
                    isum += static_cast<wide>(v);
                }
            const index_t padded = naive::window_taps(ax[0], od).padded *
                                   naive::window_taps(ax[1], oh).padded *
                                   naive::window_taps(ax[2], ow).padded;
            const index_t divisors[3] = {include_pad ? padded : inside, divisor_override,
                                         include_pad ? inside : padded};
            const std::size_t o = out_index(n, c, (od * OH + oh) * OW + ow);
            want_max[o] = best;
            want_idx[o] = arg;
            for (int k = 0; k < 3; ++k) {
              want_abs_avg[k][o] = abs_sum / static_cast<double>(divisors[k]);
              if constexpr (poolkit::is_float_v<T>)
                want_avg[k][o] =
                    static_cast<T>(fsum / static_cast<poolkit::accum_t<T>>(divisors[k]));
              else
                want_avg[k][o] = round_half_even<T>(isum, divisors[k]);
            }
          }
  const poolkit::AvgOptions avg_options[3] = {
      {include_pad, 0}, {include_pad, divisor_override}, {!include_pad, 0}};

  // Both algorithms at every SIMD level this CPU runs, each with 1, 2 and 5 threads (more than
  // this machine may have); the pairing with indices on or off and the divisor rule rotates
  // with the level. The direct algorithm sums in the naive loop's order, so every result
  // matches bit for bit. The separable one sums rows first: its float averages match within
  // the rounding of that order, and bit for bit across levels and thread counts.
  const int failures_before = failures;
  p.min_parallel_taps = 0;  // split even these small problems over threads
  const int levels = static_cast<int>(poolkit::simd_supported()) + 1;
  const int thread_counts[3] = {1, 2, 5};
  for (poolkit::Algorithm algorithm : {poolkit::Algorithm::direct, poolkit::Algorithm::separable}) {
    p.algorithm = algorithm;
    const bool exact_avg = algorithm == poolkit::Algorithm::direct || !poolkit::is_float_v<T>;
    std::vector<T> first_avg[3];  // the first separable result of each rule
    for (int level = 0; level < levels; ++level)
      for (int t = 0; t < 3; ++t) {
        p.threads = thread_counts[t];
        p.simd = static_cast<poolkit::Simd>(level);
        const bool with_indices = (t + level) % 2 == 0;
        const int rule = (t + level) % 3;
        std::vector<T> got_max(total, sentinel<T>()), got_avg(total, sentinel<T>());
        std::vector<index_t> got_idx(with_indices ? total : 0, -7);
        const T* in = buffer.data() + base;
        poolkit::max_pool(p, in, got_max.data(), with_indices ? got_idx.data() : nullptr);
        poolkit::avg_pool(p, in, got_avg.data(), avg_options[rule]);
        const char* what = algorithm == poolkit::Algorithm::direct ? "direct" : "separable";
        for (std::size_t i = 0; i < total; ++i) {
          CHECK(same_bits(got_max[i], want_max[i]), "%s %s max at %zu (%s, %d threads, simd %d)",
                name, what, i, channels_last ? "channels-last" : "channels-first", p.threads,
                level);
          if (with_indices)
            CHECK(got_idx[i] == want_idx[i], "%s %s argmax at %zu: %lld, expected %lld", name,
                  what, i, static_cast<long long>(got_idx[i]),
                  static_cast<long long>(want_idx[i]));
          CHECK(exact_avg ? same_value(got_avg[i], want_avg[rule][i])
                          : close_avg(got_avg[i], want_avg[rule][i], want_abs_avg[rule][i], taps),
                "%s %s avg at %zu (rule %d, %s, %d threads, simd %d): %g, expected %g", name,
                what, i, rule, channels_last ? "channels-last" : "channels-first", p.threads,
                level, static_cast<double>(got_avg[i]), static_cast<double>(want_avg[rule][i]));
        }
        if (exact_avg) continue;
        if (first_avg[rule].empty()) first_avg[rule] = got_avg;
        for (std::size_t i = 0; i < total; ++i)
          CHECK(same_value(got_avg[i], first_avg[rule][i]),
                "%s separable avg at %zu differs between runs (%d threads, simd %d)", name, i,
                p.threads, level);
      }
  }
  if (failures > failures_before && failures_before < 20) {  // the case, to reproduce it
    std::printf("  in that case: %s, batch %lld (axis %d), channels %lld, strides batch %lld "
                "channel %lld, base %lld, avg count_include_pad %d override %lld\n",
                channels_last ? "channels-last" : "channels-first",
                static_cast<long long>(batch), has_batch ? 1 : 0, static_cast<long long>(C),
                static_cast<long long>(mem[kBatch].stride),
                static_cast<long long>(mem[kChannel].stride), static_cast<long long>(base),
                include_pad ? 1 : 0, static_cast<long long>(divisor_override));
    for (int g = 3 - dims; g < 3; ++g)
      std::printf("  axis %d: in %lld k %lld s %lld pads %lld %lld d %lld ceil %d, stride %lld\n",
                  g, static_cast<long long>(ax[g].in), static_cast<long long>(ax[g].k),
                  static_cast<long long>(ax[g].s), static_cast<long long>(ax[g].pb),
                  static_cast<long long>(ax[g].pa), static_cast<long long>(ax[g].d),
                  ax[g].ceil ? 1 : 0, static_cast<long long>(p.in_strides[g]));
  }
}

/// Padded 2-d windows over rows of 16 to 60 elements, which a channels-first pool copies in
/// blocks (stage_rows), checking each block for NaN as it copies it: few random axes make such
/// rows (a check skipping the blocks passed 150 random cases of every dtype).
template <typename T>
void check_staged_blocks(Rng& r, const char* name, Tally& tally) {
  for (int i = 0; i < 32; ++i) {
    naive::AxisArgs axes[2];
    axes[0].in = r.pick(2, 8), axes[0].k = 3, axes[0].pb = axes[0].pa = 1;
    axes[1].in = r.pick(16, 60), axes[1].k = r.pick(2, 5), axes[1].s = r.pick(1, 2);
    axes[1].pb = r.pick(1, axes[1].k / 2), axes[1].pa = r.pick(0, axes[1].k / 2);
    check_problem<T>(r, 2, axes, name, tally);
  }
}

/// `cases` random problems: 1 to 3 spatial axes, each of a random kind; most axes are drawn
/// again until valid (the rest test plan_axis's statuses on invalid ones), after
/// check_staged_blocks' problems.
template <typename T>
void run_dtype(const char* name, long cases, long* kind_totals) {
  Rng r{std::mt19937_64(12345u + sizeof(T) * 7u + std::is_signed_v<T>)};
  Tally tally;
  check_staged_blocks<T>(r, name, tally);
  for (long i = 0; i < cases; ++i) {
    const int dims = static_cast<int>(r.pick(1, 3));
    naive::AxisArgs axes[3];
    int kinds[3];
    for (int d = 0; d < dims; ++d) {
      kinds[d] = static_cast<int>(r.pick(0, kKinds - 1));
      if (kinds[d] == kLong && std::count(kinds, kinds + d, int{kLong}) > 0)
        kinds[d] = kPlain;  // one long axis at most, so that the oracle stays quick
      const bool want_valid = !r.one_in(8);
      for (int tries = 0; tries < 1000; ++tries) {
        axes[d] = random_axis(r, kinds[d]);
        std::int64_t out = 0;
        if (!want_valid || naive::status(axes[d], &out) == AxisStatus::ok) break;
      }
    }
    const long valid_before = tally.valid;
    check_problem<T>(r, dims, axes, name, tally);
    if (tally.valid > valid_before)
      for (int d = 0; d < dims; ++d) ++tally.axes[kinds[d]];
  }
  for (int k = 0; k < kKinds; ++k) kind_totals[k] += tally.axes[k];
  std::printf("%-9s %6ld valid geometries of %ld cases\n", name, tally.valid, tally.cases);
  std::fflush(stdout);  // a sanitizer abort in the next dtype must not swallow it
}

/// divide_round_in<F, T> against the exact rounding at the edges of its bounds
/// (|sum| < 2**(p - 2), divisor < 2**p): sums at, beside and half-way between multiples of
/// divisors small and large, the largest sums included. T holds every quotient, so no tie is
/// hidden by saturation.
template <typename F, typename T>
void check_divide_in(const char* name) {
  constexpr int kDigits = std::numeric_limits<F>::digits;
  constexpr index_t kSum = (index_t{1} << (kDigits - 2)) - 1;
  constexpr index_t kDivisor = (index_t{1} << kDigits) - 1;
  Rng r{std::mt19937_64(7)};
  for (int i = 0; i < 200000; ++i) {
    const index_t d = r.one_in(2) ? r.pick(1, 64) : r.pick(1, kDivisor);
    const index_t k = r.pick(-kSum / d, kSum / d);
    const index_t near[] = {0, 1, -1, d / 2, (d + 1) / 2, d / 2 + 1, d / 2 - 1};
    for (index_t e : near) {
      index_t sum = k * d + e;
      if (i == 0) sum = e % 2 == 0 ? kSum : -kSum;
      if (sum > kSum || sum < -kSum) continue;
      const T got = poolkit::divide_round_in<F, T>(sum, d);
      const T want = round_half_even<T>(sum, d);
      CHECK(got == want, "divide_round_in<%s>(%lld, %lld) = %lld, expected %lld", name,
            static_cast<long long>(sum), static_cast<long long>(d),
            static_cast<long long>(got), static_cast<long long>(want));
    }
  }
}

void test_divide_round() {
  check_divide_in<float, std::int32_t>("float");
  check_divide_in<double, std::int64_t>("double");
  using poolkit::divide_round;
  CHECK((divide_round<std::int32_t, __int128>(5, 2) == 2), "5/2 ties to even");
  CHECK((divide_round<std::int32_t, __int128>(7, 2) == 4), "7/2 ties to even");
  CHECK((divide_round<std::int32_t, __int128>(-5, 2) == -2), "-5/2 ties to even");
  CHECK((divide_round<std::int32_t, __int128>(-7, 2) == -4), "-7/2 ties to even");
  CHECK((divide_round<std::int8_t, std::int64_t>(1143, 1) == 127), "saturates high");
  CHECK((divide_round<std::uint8_t, std::int64_t>(-3, 1) == 0), "saturates low");
  CHECK((divide_round<std::int64_t, __int128>(
             static_cast<__int128>(std::numeric_limits<std::int64_t>::max()) * 3, 3) ==
         std::numeric_limits<std::int64_t>::max()), "int64 sums stay exact");
}

}  // namespace

int main(int argc, char** argv) {
  long cases = 400;
  if (argc > 1) {
    char* end = nullptr;
    cases = std::strtol(argv[1], &end, 10);
    if (argc > 2 || *end != '\0' || cases < 1) {
      std::fprintf(stderr, "usage: %s [cases per dtype >= 1]\n", argv[0]);
      return 2;
    }
  }
  test_divide_round();
  long kinds[kKinds] = {};
  run_dtype<poolkit::float16_t>("float16", cases, kinds);
  run_dtype<poolkit::bfloat16_t>("bfloat16", cases, kinds);
  run_dtype<float>("float32", cases, kinds);
  run_dtype<double>("float64", cases, kinds);
  run_dtype<std::int8_t>("int8", cases, kinds);
  run_dtype<std::uint8_t>("uint8", cases, kinds);
  run_dtype<std::int16_t>("int16", cases, kinds);
  run_dtype<std::uint16_t>("uint16", cases, kinds);
  run_dtype<std::int32_t>("int32", cases, kinds);
  run_dtype<std::int64_t>("int64", cases, kinds);
  std::printf("valid axes by kind:");
  for (int k = 0; k < kKinds; ++k) std::printf(" %s %ld", kKindNames[k], kinds[k]);
  std::printf("\n%s: %d failed checks\n", failures == 0 ? "passed" : "FAILED", failures);
  return failures == 0 ? 0 : 1;
}
