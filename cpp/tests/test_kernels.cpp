// cpp/tests/test_kernels.cpp: every kernel against a naive loop over random geometries, every
// dtype, both layouts, strided and flipped inputs, and several thread counts.
// SPDX-License-Identifier: MIT
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <type_traits>
#include <vector>

#include "poolkit/poolkit.hpp"

using poolkit::index_t;

namespace {

int failures = 0;
int checked = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      if (++failures <= 20) {                              \
        std::printf("FAIL %s:%d: ", __FILE__, __LINE__);   \
        std::printf(__VA_ARGS__);                          \
        std::printf("\n");                                 \
      }                                                    \
    }                                                      \
  } while (0)

/// One axis as the user states it; the naive code below derives everything else itself.
struct AxisArgs {
  index_t in, k, s, pb, pa, d;
};

/// Window starts enumerated one by one (no closed form), PyTorch's rules.
index_t naive_out_len(const AxisArgs& a, bool ceil_mode) {
  const index_t eff = a.d * (a.k - 1) + 1, room = a.in + a.pb + a.pa - eff;
  index_t n = 0;
  while (ceil_mode ? n * a.s < room + a.s : n * a.s <= room) ++n;
  if (ceil_mode && n > 0 && (n - 1) * a.s - a.pb >= a.in) --n;
  return n;
}

bool tap_inside(const AxisArgs& a, index_t o, index_t t, index_t* pos) {
  *pos = o * a.s - a.pb + t * a.d;
  return *pos >= 0 && *pos < a.in;
}

index_t padded_taps(const AxisArgs& a, index_t o) {
  index_t n = 0;
  for (index_t t = 0; t < a.k; ++t) {
    const index_t pos = o * a.s - a.pb + t * a.d;
    n += pos >= -a.pb && pos < a.in + a.pa;
  }
  return n;
}

template <typename T>
T round_half_even(__int128 sum, index_t div) {
  // Nearest integer to sum/div by exact comparison of 2*remainder with the divisor.
  __int128 q = sum / div, r = sum - q * div;
  if (r < 0) { q -= 1; r += div; }  // floor division
  if (2 * r > div || (2 * r == div && (q % 2 != 0))) q += 1;
  const __int128 lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
  return static_cast<T>(q < lo ? lo : q > hi ? hi : q);
}

template <typename T>
T random_value(std::mt19937_64& rng) {
  if constexpr (poolkit::is_float_v<T>) {
    const int pick = static_cast<int>(rng() % 40);
    if (pick == 0) return static_cast<T>(std::numeric_limits<float>::quiet_NaN());
    if (pick == 1) return poolkit::lowest<T>();
    if (pick < 20) return static_cast<T>(static_cast<float>(rng() % 7) - 3.0f);  // ties
    return static_cast<T>(std::uniform_real_distribution<float>(-100, 100)(rng));
  } else {
    const int pick = static_cast<int>(rng() % 10);
    if (pick == 0) return std::numeric_limits<T>::lowest();
    if (pick == 1) return std::numeric_limits<T>::max();
    if (pick < 6) return static_cast<T>(rng() % 5);  // ties
    return static_cast<T>(rng());
  }
}

template <typename T>
bool same_value(T a, T b) {
  if constexpr (poolkit::is_float_v<T>) {
    if (a != a || b != b) return a != a && b != b;
    return std::memcmp(&a, &b, sizeof(T)) == 0;
  } else {
    return a == b;
  }
}

template <typename T>
void run_case(std::mt19937_64& rng, const char* name) {
  auto pick = [&](index_t lo, index_t hi) {
    return lo + static_cast<index_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  const bool channels_last = rng() % 2;
  const bool ceil_mode = rng() % 2;
  const index_t batch = pick(1, 2), channels = pick(1, channels_last ? 70 : 3);
  AxisArgs ax[2];
  for (AxisArgs& a : ax) {
    const bool edge = rng() % 4 == 0;  // 1-element axes, huge strides, big windows
    a.in = edge ? pick(1, 2) : pick(1, 12);
    a.k = pick(1, edge ? 6 : 4);
    a.s = rng() % 8 == 0 ? pick(5, 1000) : pick(1, 3);
    a.d = pick(1, 3);
    a.pb = pick(0, a.k + 1);
    a.pa = pick(0, a.k + 1);
  }
  index_t out_len[2];
  bool valid = true;
  poolkit::Problem p;
  for (int i = 0; i < 2; ++i) {
    out_len[i] = naive_out_len(ax[i], ceil_mode);
    bool empty_window = false;
    for (index_t o = 0; o < out_len[i]; ++o) {
      bool any = false;
      index_t pos;
      for (index_t t = 0; t < ax[i].k; ++t) any |= tap_inside(ax[i], o, t, &pos);
      empty_window |= !any;
    }
    poolkit::Axis& a = p.geom.axes[1 + i];
    a.in = ax[i].in;
    a.kernel = ax[i].k;
    a.stride = ax[i].s;
    a.pad_before = ax[i].pb;
    a.pad_after = ax[i].pa;
    a.dilation = ax[i].d;
    const poolkit::AxisStatus status = poolkit::plan_axis(a, ceil_mode);
    const poolkit::AxisStatus want = out_len[i] < 1   ? poolkit::AxisStatus::no_output
                                     : empty_window ? poolkit::AxisStatus::empty_window
                                                    : poolkit::AxisStatus::ok;
    CHECK(status == want, "%s plan status %d, expected %d (in %lld k %lld s %lld pads %lld %lld "
          "d %lld ceil %d)", name, static_cast<int>(status), static_cast<int>(want),
          (long long)a.in, (long long)a.kernel, (long long)a.stride, (long long)a.pad_before,
          (long long)a.pad_after, (long long)a.dilation, ceil_mode);
    if (status == poolkit::AxisStatus::ok)
      CHECK(a.out == out_len[i], "%s out %lld, expected %lld", name, (long long)a.out,
            (long long)out_len[i]);
    valid &= want == poolkit::AxisStatus::ok;
  }
  if (!valid) return;
  ++checked;

  // Input element (n, c, y, x) lives at base + n*sn + c*sc + y*sy + x*sx in a padded buffer,
  // with the width axis optionally spread out and the height axis optionally flipped.
  const index_t H = ax[0].in, W = ax[1].in, C = channels, OH = out_len[0], OW = out_len[1];
  const index_t spread = channels_last ? 1 : pick(1, 2);
  const bool flip = rng() % 2;
  index_t sx, sy, sc, sn;
  if (channels_last) { sc = 1; sx = C; sy = W * C; sn = H * W * C; }
  else { sx = spread; sy = W * spread; sc = H * W * spread; sn = C * sc; }
  std::vector<T> buffer(static_cast<std::size_t>(batch * sn));
  for (T& v : buffer) v = random_value<T>(rng);
  index_t base = 0;
  if (flip) { base = (H - 1) * sy; sy = -sy; }
  auto at = [&](index_t n, index_t c, index_t y, index_t x) {
    return buffer[static_cast<std::size_t>(base + n * sn + c * sc + y * sy + x * sx)];
  };
  p.in_strides[1] = sy;
  p.in_strides[2] = sx;
  if (channels_last) { p.planes = batch; p.channels = C; p.outer_shape = {batch};
                       p.outer_strides = {sn}; }
  else { p.planes = batch * C; p.channels = 1; p.outer_shape = {batch, C};
         p.outer_strides = {sn, sc}; }

  const std::size_t total = static_cast<std::size_t>(batch * C * OH * OW);
  auto out_at = [&](index_t n, index_t c, index_t oy, index_t ox) {
    return static_cast<std::size_t>(channels_last ? ((n * OH + oy) * OW + ox) * C + c
                                                  : ((n * C + c) * OH + oy) * OW + ox);
  };
  const bool include_pad = rng() % 2;
  const index_t override_div = rng() % 4 == 0 ? pick(1, 5) : 0;
  std::vector<T> want_max(total), want_avg(total);
  std::vector<index_t> want_idx(total);
  for (index_t n = 0; n < batch; ++n)
    for (index_t c = 0; c < C; ++c)
      for (index_t oy = 0; oy < OH; ++oy)
        for (index_t ox = 0; ox < OW; ++ox) {
          T best = poolkit::lowest<T>();
          index_t arg = -1, inside = 0;
          __int128 isum = 0;
          poolkit::accum_t<T> fsum = 0;
          for (index_t ty = 0; ty < ax[0].k; ++ty)
            for (index_t tx = 0; tx < ax[1].k; ++tx) {
              index_t y, x;
              const bool in_y = tap_inside(ax[0], oy, ty, &y);
              if (!tap_inside(ax[1], ox, tx, &x) || !in_y) continue;
              const T v = at(n, c, y, x);
              if (arg < 0) arg = y * W + x;
              const bool nan_v = poolkit::is_float_v<T> && v != v;
              const bool nan_best = poolkit::is_float_v<T> && best != best;
              if (!nan_best && (nan_v || v > best)) { best = v; arg = y * W + x; }
              ++inside;
              if constexpr (poolkit::is_float_v<T>) fsum += static_cast<poolkit::accum_t<T>>(v);
              else isum += static_cast<__int128>(v);
            }
          const index_t div = override_div ? override_div
                              : include_pad ? padded_taps(ax[0], oy) * padded_taps(ax[1], ox)
                                            : inside;
          const std::size_t o = out_at(n, c, oy, ox);
          want_max[o] = best;
          want_idx[o] = arg;
          if constexpr (poolkit::is_float_v<T>)
            want_avg[o] = static_cast<T>(fsum / static_cast<poolkit::accum_t<T>>(div));
          else
            want_avg[o] = round_half_even<T>(isum, div);
        }

  p.min_parallel_taps = 0;  // split even these small problems over threads
  for (int run = 0; run < 3 * (static_cast<int>(poolkit::simd_supported()) + 1); ++run) {
    const int threads = run % 3 == 0 ? 1 : run % 3 == 1 ? 2 : 5;  // every level, every count
    p.threads = threads;
    p.simd = static_cast<poolkit::Simd>(run / 3);
    std::vector<T> got_max(total), got_avg(total);
    std::vector<index_t> got_idx(total);
    poolkit::max_pool(p, buffer.data() + base, got_max.data(), got_idx.data());
    poolkit::avg_pool(p, buffer.data() + base, got_avg.data(),
                      poolkit::AvgOptions{include_pad, override_div});
    for (std::size_t i = 0; i < total; ++i) {
      CHECK(same_value(got_max[i], want_max[i]), "%s max at %zu (threads %d, %s)", name, i,
            threads, channels_last ? "NHWC" : "NCHW");
      CHECK(got_idx[i] == want_idx[i], "%s argmax at %zu: %lld, expected %lld", name, i,
            (long long)got_idx[i], (long long)want_idx[i]);
      CHECK(same_value(got_avg[i], want_avg[i]), "%s avg at %zu (threads %d, %s)", name, i,
            threads, channels_last ? "NHWC" : "NCHW");
    }
  }
}

template <typename T>
void run_dtype(const char* name, int cases) {
  std::mt19937_64 rng(12345u + sizeof(T) * 7u + std::is_signed_v<T>);
  for (int i = 0; i < cases; ++i) run_case<T>(rng, name);
}

void test_divide_round() {
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

void test_overflow() {
  poolkit::Axis a;
  a.in = 10;
  a.kernel = std::numeric_limits<index_t>::max();
  a.dilation = 2;
  CHECK(poolkit::plan_axis(a, false) == poolkit::AxisStatus::overflow, "kernel*dilation");
  poolkit::Axis b;
  b.in = std::numeric_limits<index_t>::max();
  b.pad_before = 1;
  CHECK(poolkit::plan_axis(b, false) == poolkit::AxisStatus::overflow, "in + padding");
  poolkit::Axis c;
  c.in = 5;
  c.kernel = 3;
  c.stride = std::numeric_limits<index_t>::max();
  CHECK(poolkit::plan_axis(c, true) == poolkit::AxisStatus::ok && c.out == 1, "huge stride");
}

}  // namespace

int main() {
  test_divide_round();
  test_overflow();
  const int cases = 400;
  run_dtype<poolkit::float16_t>("float16", cases);
  run_dtype<poolkit::bfloat16_t>("bfloat16", cases);
  run_dtype<float>("float32", cases);
  run_dtype<double>("float64", cases);
  run_dtype<std::int8_t>("int8", cases);
  run_dtype<std::uint8_t>("uint8", cases);
  run_dtype<std::int16_t>("int16", cases);
  run_dtype<std::uint16_t>("uint16", cases);
  run_dtype<std::int32_t>("int32", cases);
  run_dtype<std::int64_t>("int64", cases);
  std::printf("%d passed, %d failed\n", checked, failures);
  return failures == 0 ? 0 : 1;
}
