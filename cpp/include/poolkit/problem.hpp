// poolkit/problem.hpp: one validated pooling call (geometry, memory layout, threads) and the
// split of its work into independent jobs.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <type_traits>
#include <vector>

#include <pthread.h>

#include "poolkit/dispatch.hpp"
#include "poolkit/geometry.hpp"
#include "poolkit/parallel.hpp"

namespace poolkit {

/// How a call is computed. Direct visits every tap of every window. Separable first reduces
/// each input row along W alone, then those row results along D and H alone: a window of
/// kh x kw taps costs about kw * stride_h + kh instead of kh * kw when windows overlap.
enum class Algorithm : int { automatic = 0, direct = 1, separable = 2 };

inline const char* algorithm_name(Algorithm a) noexcept {
  return a == Algorithm::separable ? "separable" : "direct";
}

/// The algorithm poolkit runs for geometry `g` over sites of `channels` elements (1 for
/// channels-first data): separable where it reads at most 60% of the direct algorithm's taps
/// per output (one more counts the store and reload of each row result; measured, a 3x3
/// stride-1 window, 7 against 9, still runs faster direct). Sites of 2 to 15 channels stay
/// direct: the second pass would run on lanes of a few channels each.
constexpr Algorithm choose_algorithm(const Geometry& g, index_t channels) noexcept {
  if (channels > 1 && channels < 16) return Algorithm::direct;
  const double kw = static_cast<double>(g.w().kernel);
  const double vertical = static_cast<double>(g.d().kernel) * static_cast<double>(g.h().kernel);
  const Axis& h = g.h();
  // Row results that each output row newly needs along H (all of them when windows leave gaps).
  const double rows = static_cast<double>(h.stride < h.extent() ? h.stride : h.kernel);
  const double separable = kw * rows + vertical + 1;
  return kw >= 2 && vertical >= 2 && separable <= 0.6 * kw * vertical ? Algorithm::separable
                                                                       : Algorithm::direct;
}

/// Everything a Problem says but where each of its planes starts: one plane's geometry and
/// memory layout, the count of planes, and how the call runs.
struct PlaneLayout {
  Geometry geom;
  index_t planes = 1;
  index_t channels = 1;
  index_t in_strides[3] = {0, 0, 1};  // d, h, w
  int threads = 1;
  /// Calls with fewer window taps than this run on the calling thread: waking a team of
  /// threads costs more than such a call.
  double min_parallel_taps = 65536;
  /// Instruction-set level of the kernels; at most simd_supported().
  Simd simd = simd_active();
  /// Whether a block of lanes may read past the last column a row's windows reach, up to
  /// kSlack elements past the input's end (staged copies and separable row results hold
  /// them): rows shorter than a block then run one whole block, the extra lanes dropped.
  bool slack = false;
  /// Whether the input holds no NaN (staged copies of float and double check): max then
  /// takes the larger tap without testing for NaN.
  bool nan_free = false;
  /// Whether the input is a buffer this thread has just written (a staged copy, the row
  /// pass's results), in cache: its rows are not fetched ahead (see VectorRun::prefetch).
  bool cached = false;
  /// automatic: choose_algorithm(geom, channels); tests force each one.
  Algorithm algorithm = Algorithm::automatic;

  Algorithm resolved_algorithm() const noexcept {
    return algorithm == Algorithm::automatic ? choose_algorithm(geom, channels) : algorithm;
  }
  /// Elements one plane holds in the output.
  index_t out_plane_size() const noexcept { return geom.out_size() * channels; }
};

/// A pooling call over `planes` independent planes. Each spatial site of a plane holds
/// `channels` contiguous elements: 1 for channels-first data (a plane is one channel), C for
/// channels-last (a plane is one image). Input strides are in elements and may be negative;
/// the output is C-contiguous: plane, then (d, h, w), then channel.
struct Problem : PlaneLayout {
  std::vector<index_t> outer_shape;    // the axes that enumerate planes, outermost first
  std::vector<index_t> outer_strides;  // their input strides in elements

  /// Offset of plane `p`'s first element in the input.
  index_t in_offset(index_t p) const noexcept {
    index_t offset = 0;
    for (std::size_t i = outer_shape.size(); i-- > 0;) {
      offset += (p % outer_shape[i]) * outer_strides[i];
      p /= outer_shape[i];
    }
    return offset;
  }
  /// This problem over a single plane, run on the calling thread: without the axes that
  /// enumerate planes (copying them allocated memory for every plane).
  Problem one_plane() const {
    Problem q;
    static_cast<PlaneLayout&>(q) = *this;
    q.planes = 1;
    q.threads = 1;
    return q;
  }
};

namespace detail {

/// Scratch memory of one worker (the jobs one thread runs in a call): buffers kept from job to
/// job, so that a plane costs no allocation (a fresh, zeroed vector per plane had cost a tenth
/// of a call over 28 x 28 planes). Their contents are unspecified, except what `stage` says.
class Workspace {
 public:
  /// The buffers in use at once.
  enum Slot : int { kStage = 0, kRows = 1, kRowIndices = 2, kDivisors = 3, kSlots = 4 };
  /// Rows of a staged copy (see for_each_stage): `rows` rows of `width` elements of `bytes`
  /// bytes each, of which the first `before` and the last `after` of every row hold `fill`'s
  /// bytes. All zero: nothing known.
  struct StageLayout {
    index_t rows = 0, width = 0, before = 0, after = 0, bytes = 0;
    std::uint64_t fill = 0;
  };
  /// What the kStage buffer holds (kept by for_each_stage), reset when the buffer is replaced
  /// or freed.
  StageLayout stage;
  /// At least n elements of T in `slot`, aligned to a cache line: where a buffer starts
  /// decides which of a staged copy's vector loads split lines, and one kept from call to call
  /// at new[]'s alignment (16 bytes) had cost the Inception 3 x 3 max 13% (0.75 -> 0.85 ms).
  template <typename T>
  T* get(Slot slot, index_t n) {
    constexpr std::size_t kAlign = 64;
    Buffer& b = buffers_[slot];
    const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
    if (b.size < bytes) {
      b.data.reset(new unsigned char[bytes + kAlign - 1]);
      b.size = bytes;
      if (slot == kStage) stage = StageLayout{};
    }
    const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(b.data.get());
    return reinterpret_cast<T*>(b.data.get() + (kAlign - at % kAlign) % kAlign);
  }
  /// Frees the buffers larger than `keep` bytes.
  void release_above(std::size_t keep) noexcept {
    for (Buffer& b : buffers_)
      if (b.size > keep) {
        b.data.reset();
        b.size = 0;
        if (&b == &buffers_[kStage]) stage = StageLayout{};
      }
  }

 private:
  struct Buffer {
    std::unique_ptr<unsigned char[]> data;
    std::size_t size = 0;
  };
  Buffer buffers_[kSlots];
};

/// The calling thread's Workspace, kept from call to call (OpenMP keeps its worker threads),
/// so that a call costs no allocation either: buffers made afresh per call had cost page
/// faults and, where glibc maps large blocks afresh (a fixed mmap threshold), an unmap per
/// worker per call (the NHWC YOLO 5 x 5 max at 2 threads: 2.40 -> 1.80 ms; on 16 cores it had
/// stalled at 1.95 ms from 4 threads on). Buffers above kKeepBytes are freed when a call's
/// jobs end, so one huge call does not hold its memory.
///
/// Each workspace lives on the heap, listed in a registry that is never destroyed, and is
/// found through a pthread key whose destructor frees it when its thread ends. Not a
/// thread_local object: under LeakSanitizer (CI's sanitizer stage) buffers reached only
/// through thread-local storage of OpenMP's worker threads, and glibc's records of their
/// thread_local destructors, were reported as leaks (that storage is not always scanned).
inline Workspace& thread_workspace() {
  struct Registry {
    std::mutex mutex;
    std::vector<Workspace*> workspaces;
    pthread_key_t key{};
  };
  static Registry* const registry = [] {  // (never destroyed: threads may outlive it)
    auto* r = new Registry;
    if (pthread_key_create(&r->key, [](void* w) {
          auto* workspace = static_cast<Workspace*>(w);
          {
            const std::lock_guard<std::mutex> lock(registry->mutex);
            auto& all = registry->workspaces;
            all.erase(std::find(all.begin(), all.end(), workspace));
          }
          delete workspace;
        }) != 0)
      throw std::bad_alloc();
    return r;
  }();
  auto* workspace = static_cast<Workspace*>(pthread_getspecific(registry->key));
  if (workspace == nullptr) {
    workspace = new Workspace;
    {
      const std::lock_guard<std::mutex> lock(registry->mutex);
      registry->workspaces.push_back(workspace);
    }
    if (pthread_setspecific(registry->key, workspace) != 0) throw std::bad_alloc();
  }
  return *workspace;
}
inline constexpr std::size_t kKeepBytes = std::size_t{4} << 20;

/// Call f(workspace, plane, row_begin, row_end) over all output rows of all planes, in
/// parallel. Planes are split into row blocks when they do not share out evenly over the
/// threads (fewer planes than threads, or 3 planes over 2 threads), about 8 jobs per thread
/// then, so that one large image still occupies every thread; every output element has exactly
/// one writer. Each thread runs a contiguous run of jobs with one Workspace.
template <typename F>
void run_jobs(const Problem& p, F&& f) {
  const Geometry& g = p.geom;
  const index_t rows = g.out_rows();
  const double taps = static_cast<double>(p.planes) * static_cast<double>(p.out_plane_size()) *
                      static_cast<double>(g.d().kernel) * static_cast<double>(g.h().kernel) *
                      static_cast<double>(g.w().kernel);
  const int threads = taps < p.min_parallel_taps ? 1 : std::max(p.threads, 1);
  const index_t jobs = 8 * index_t{threads};
  const bool even = p.planes % threads == 0 || p.planes >= jobs;
  const index_t per_plane = even ? 1 : std::min(rows, (jobs + p.planes - 1) / p.planes);
  const index_t block = (rows + per_plane - 1) / per_plane;
  const index_t total = p.planes * per_plane;
  const index_t workers = std::min<index_t>(threads, total);
  parallel_for(workers, static_cast<int>(workers), [&](index_t worker) {
    Workspace& workspace = thread_workspace();
    // Jobs [total * worker / workers, total * (worker + 1) / workers), without overflow.
    const index_t q = total / workers, r = total % workers;
    const index_t first = worker * q + std::min(worker, r);
    const index_t last = first + q + (worker < r ? 1 : 0);
    for (index_t job = first; job < last; ++job) {
      const index_t plane = job / per_plane;
      const index_t begin = (job % per_plane) * block;
      const index_t end = std::min(rows, begin + block);
      if (begin < end) f(workspace, plane, begin, end);
    }
    workspace.release_above(kKeepBytes);
  });
}

/// `p` over one plane whose D axis runs over p's planes (a window of one slice), where `p` is a
/// 1-d or 2-d pool of several channels-first planes (of elements of `bytes` bytes) that lie a
/// constant stride apart, each of at most kFoldBytes of input; otherwise nothing. Where planes
/// are that small, what the loop nest, the staged copies and the jobs cost per plane (their
/// set-up, a vector run per plane) had cost the Inception 3 x 3 max over 28 x 28 planes about a
/// fifth of its time; folded, a band of planes pays it once. Each output still reads its own
/// plane alone and lies where it did, but a flat position then counts the planes before it:
/// not for max with indices.
inline constexpr index_t kFoldBytes = 64 * 1024;
inline std::optional<Problem> folded_planes(const Problem& p, index_t bytes) {
  const Axis &d = p.geom.d(), &h = p.geom.h(), &w = p.geom.w();
  if (p.planes < 2 || p.channels != 1 || d.in != 1 || d.kernel != 1 || d.out != 1 ||
      h.in > kFoldBytes / bytes / w.in)
    return std::nullopt;
  // A constant stride from plane to plane: each outer axis's (of more than one plane) is the
  // next inner one's times its length.
  index_t stride = 0, expected = 0;
  bool first = true;
  for (std::size_t i = p.outer_shape.size(); i-- > 0;) {
    if (p.outer_shape[i] == 1) continue;
    if (first) stride = p.outer_strides[i];
    else if (p.outer_strides[i] != expected) return std::nullopt;
    first = false;
    if (mul_overflows(p.outer_strides[i], p.outer_shape[i], &expected)) return std::nullopt;
  }
  Problem q = p;
  q.geom.axes[0] = Axis{};
  q.geom.axes[0].in = q.geom.axes[0].out = p.planes;
  q.in_strides[0] = stride;
  q.planes = 1;
  q.outer_shape.clear();
  q.outer_strides.clear();
  return q;
}

/// Lanes one step handles together: channels of a site (channels-last data) or, for
/// channels-first data, adjacent output columns. Bounds the per-window state on the stack.
inline constexpr index_t kLanes = 64;

/// Elements a buffer with slack holds past its rows: what a block of kLanes lanes two elements
/// apart reads past the last row's end at most.
inline constexpr index_t kSlack = 2 * kLanes;

/// A lane count known at compile time.
template <index_t N>
using Lanes = std::integral_constant<index_t, N>;

/// Elements of a block of each_block.
inline constexpr index_t kRunBlock = 16;

/// f(c) for blocks [c, c + kRunBlock) covering [0, n), n >= kRunBlock: kRunBlock apart, the
/// last moved back to end at n (overlapping the one before). Always inlined: compiled here, at
/// the baseline, it could not inline an f compiled for a higher level (rows.inc), and calling
/// the staged copy's NaN check per block cost the Inception 3 x 3 max 13% (0.59 -> 0.67 ms).
template <typename F>
__attribute__((always_inline)) inline void each_block(index_t n, F&& f) {
  for (index_t c = 0; c + kRunBlock < n; c += kRunBlock) f(c);
  f(n - kRunBlock);
}

/// dst[c] = src[c] for c < n (a block's lanes, or a staged row; the two do not overlap). A
/// run-time n of at least 16 goes in blocks of 16 (each_block), each a copy of known size
/// (vector moves): a plain copy loop of unknown length becomes a call to memcpy (or
/// `rep movs`), which costs more than these short runs, and a remainder copied element by
/// element cost a staged row of 28 floats 12 stores more.
template <typename T, typename N>
inline void copy_lanes(T* dst, const T* src, N n) noexcept {
  if constexpr (std::is_same_v<N, index_t>) {
    if (n >= kRunBlock) {
      each_block(n, [&](index_t c) {
        __builtin_memcpy(dst + c, src + c, kRunBlock * sizeof(T));
      });
      return;
    }
  }
  for (index_t c = 0; c < n; ++c) dst[c] = src[c];
}

/// N lanes of T in one value of GCC's vector extension: the compiler lowers its operations
/// to the instructions of the level the function is compiled for.
template <typename T, index_t N>
struct VecOf {
  typedef T type __attribute__((vector_size(sizeof(T) * N)));
};
template <typename T, index_t N>
using vec_t = typename VecOf<T, N>::type;

/// Where lane c of a step reads, relative to lane 0: c * kStride elements.
template <index_t kStride>
struct FixedStride {
  constexpr index_t operator()(index_t c) const noexcept { return c * kStride; }
};
/// c * stride elements, the stride known at run time.
struct AnyStride {
  index_t stride;
  constexpr index_t operator()(index_t c) const noexcept { return c * stride; }
};
/// offset[c] elements: lanes over the channels of sites that lie several elements apart. Of
/// 32 bits: GCC vectorises the loads of such lanes (the max of a tap included), not of 64-bit
/// offsets (max 2 x 2 stride 2 over a float32 RGB image ran scalar, 3.6x slower than the sum).
struct OffsetTable {
  const std::int32_t* offset;
  index_t operator()(index_t c) const noexcept { return offset[c]; }
};

/// One band of a separable job: output rows [row_begin, row_end) of a plane and the input
/// rows they need. `rows` pools those input rows along W alone into the band's row results
/// ("mid": rows of out_w sites of `channels` elements, `mid_width` elements apart); `columns`
/// pools mid along D and H alone into the output rows, its vertical axes shifted to the
/// band's first row (the divisors and tap counts of the original geometry still apply to
/// every output).
///
/// Over contiguous channels-first rows with slack (a staged copy) and W stride 1, `rows` is
/// one long row over the band's input rows end to end: the row result at x of input row y
/// lies at y * in_w + x (mid_width = in_w), and those past out_w, whose windows straddle two
/// rows, go unused. Short rows then cost no more per output than long ones.
struct Band {
  Problem rows;
  Problem columns;
  index_t row_begin = 0, row_end = 0;  // output rows of the plane
  index_t mid_rows = 0;                // input rows of the band (rows of mid)
  index_t mid_width = 0;               // elements from one row of mid to the next
  index_t in_offset = 0;               // input elements before the band's first input row
  index_t flat_offset = 0;             // flat spatial position of that row in the plane
  /// Elements of mid, kSlack past its rows included (`columns` has slack).
  index_t mid_size() const noexcept { return mid_rows * mid_width + kSlack; }
  index_t channels() const noexcept { return rows.channels; }
};

/// The band of output rows [row_begin, row_end) of `p` (a 1-d or 2-d pool bands over H, a
/// 3-d one over D, each band holding whole D slices then). `sites_as_rows`: whether the row
/// pass may take W as its H axis over sites (below), for ops that take a window's parts in
/// any order (max: the average's row pass ran 2-3% slower so, its sums stepping every tap
/// twice).
inline Band make_band(const Problem& p, index_t row_begin, index_t row_end, bool sites_as_rows) {
  const Geometry& g = p.geom;
  const Axis &d = g.d(), &h = g.h(), &w = g.w();
  const bool over_h = d.in == 1 && d.out == 1 && d.kernel == 1;
  // The first and one past the last input position any window of outputs [o0, o1] touches:
  // windows starting in the leading padding may begin anywhere in [0, dilation).
  auto reach = [](const Axis& a, index_t o0, index_t o1, index_t* first, index_t* end) {
    *first = a.start(o0) < 0 ? 0 : a.start(o0);
    *end = a.window(o1).end;
  };
  index_t z0 = 0, z1 = 1, y0 = 0, y1 = h.in;
  if (over_h) reach(h, row_begin, row_end - 1, &y0, &y1);
  else reach(d, row_begin / h.out, (row_end - 1) / h.out, &z0, &z1);

  auto trivial = [](index_t n) {
    Axis a;
    a.in = a.out = n;
    return a;
  };
  Band b;
  b.row_begin = row_begin;
  b.row_end = row_end;
  b.mid_rows = (z1 - z0) * (y1 - y0);
  b.in_offset = z0 * p.in_strides[0] + y0 * p.in_strides[1];
  b.flat_offset = (z0 * h.in + y0) * w.in;

  b.rows = p.one_plane();
  b.rows.algorithm = Algorithm::direct;
  b.rows.geom.axes[0] = trivial(z1 - z0);
  b.rows.geom.axes[1] = trivial(y1 - y0);
  b.mid_width = w.out * p.channels;
  const bool flat = p.slack && p.channels == 1 && w.stride == 1 && w.pad_before == 0 &&
                    w.pad_after == 0 && p.in_strides[2] == 1 &&
                    p.in_strides[1] == w.in && (over_h || p.in_strides[0] == h.in * w.in);
  if (flat) {
    b.mid_width = w.in;
    b.rows.geom.axes[0] = trivial(1);
    b.rows.geom.axes[1] = trivial(1);
    Axis& flat_w = b.rows.geom.axes[2];
    flat_w.in = b.mid_rows * w.in;
    flat_w.out = flat_w.in - (w.extent() - 1);
  }

  b.columns = b.rows;
  Axis& cd = b.columns.geom.axes[0];
  Axis& ch = b.columns.geom.axes[1];
  cd = d;
  cd.in = z1 - z0;
  cd.pad_before += z0;
  ch = h;
  ch.in = y1 - y0;
  ch.pad_before += y0;
  b.columns.geom.axes[2] = trivial(w.out);
  b.columns.in_strides[2] = p.channels;
  b.columns.in_strides[1] = b.mid_width;
  b.columns.in_strides[0] = (y1 - y0) * b.mid_width;
  b.columns.slack = true;
  b.columns.cached = true;

  // Over sites of at least kLanes channels (whole registers of them at every level) whose
  // row windows overlap site by site (W stride = W dilation), the row pass of a 2-d pool takes
  // W as its H axis: each site a row of one column, its channels the lanes. Windows of
  // neighbouring sites then share their taps' loads as vector_columns' pairs of output rows
  // do (the NHWC 7 x 7 stride-1 max: 8 loads for two sites' windows, not 14). Positions and
  // the row results' layout stay the same.
  if (sites_as_rows && over_h && p.channels >= kLanes && p.in_strides[2] == p.channels &&
      w.kernel > 1 && w.stride == w.dilation) {
    b.rows.geom.axes[0] = trivial(y1 - y0);
    b.rows.geom.axes[1] = w;
    b.rows.geom.axes[2] = trivial(1);
    b.rows.in_strides[0] = p.in_strides[1];
    b.rows.in_strides[1] = p.channels;
    b.rows.in_strides[2] = p.channels;
  }
  return b;
}

/// Call f(band) over bands covering output rows [row_begin, row_end) of `p`, each small
/// enough that its row results (of `mid_bytes` bytes per element) stay in cache (make_band
/// takes `sites_as_rows`).
template <typename F>
void for_each_band(const Problem& p, index_t row_begin, index_t row_end, index_t mid_bytes,
                   bool sites_as_rows, F&& f) {
  constexpr index_t kBudget = 512 * 1024;  // bytes of row results per band: within L2
  const Geometry& g = p.geom;
  const index_t row_bytes = g.w().out * p.channels * mid_bytes;
  const bool over_h = g.d().in == 1 && g.d().out == 1 && g.d().kernel == 1;
  // Output rows per band: the mid rows of n output rows are about (n - 1) * stride + extent.
  const Axis& a = over_h ? g.h() : g.d();
  const index_t per_row = over_h ? row_bytes : row_bytes * g.h().in;
  const index_t fit = kBudget / std::max<index_t>(per_row, 1);
  index_t n = fit > a.extent() ? (fit - a.extent()) / a.stride + 1 : 1;
  if (!over_h) n *= g.h().out;  // whole D slices
  for (index_t r = row_begin; r < row_end; r += n)
    f(make_band(p, r, std::min(row_end, r + n), sites_as_rows));
}


/// The padded positions [first, end) that outputs [o0, o1] of axis `a` read: from the first
/// window's start (negative in the leading padding) to the last window's end (past the input
/// in the trailing padding or a ceil_mode overhang).
struct Reach {
  index_t first, end;
};
inline Reach reach_of(const Axis& a, index_t o0, index_t o1) noexcept {
  return {a.start(o0), a.start(o1) + a.extent()};
}

/// Whether `p` runs on staged copies (for_each_stage), for elements of `bytes` bytes:
/// channels-first planes whose rows hold fewer outputs than a block of lanes (64 bytes, at
/// least 16), or whose clipped windows hold at least a quarter as many taps as the copy holds
/// elements (an edge output costs about 4 copied elements a tap: stride-1 3 x 3 windows over
/// 28 to 112 columns ran faster staged, the ResNet stem's stride 2 slower). Not where an
/// axis's padded reach exceeds twice its input plus 64 (huge padding or dilation).
inline bool stages(const Problem& p, index_t bytes) noexcept {
  if (p.channels != 1) return false;
  double total = 1, inner = 1, taps = 1, copied = 1;
  for (const Axis& a : p.geom.axes) {
    index_t length = 0, limit = 0;  // of the reach (its start fits: plan_axis checks it)
    if (mul_overflows(a.out - 1, a.stride, &length) ||
        add_overflows(length, a.extent(), &length) || mul_overflows(a.in, 2, &limit) ||
        add_overflows(limit, 64, &limit) || length > limit)
      return false;
    const Reach r = reach_of(a, 0, a.out - 1);
    const Span s = a.inner_outputs();
    total *= static_cast<double>(a.out);
    inner *= static_cast<double>(s.end - s.begin);
    taps *= static_cast<double>(a.kernel);
    copied *= static_cast<double>(r.end - r.first);
  }
  const bool narrow = p.geom.w().out < std::max<index_t>(16, 64 / bytes);
  return narrow || 4 * (total - inner) * taps >= copied;
}

}  // namespace detail
}  // namespace poolkit
