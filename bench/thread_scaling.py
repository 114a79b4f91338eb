"""poolkit alone over thread counts: each `python -m poolkit bench` case at 1, 2, 4, ... threads.

    MALLOC_MMAP_THRESHOLD_=65536 python bench/thread_scaling.py [--threads 1,2,4,8,16]

Per case, the thread counts take turns for 9 rounds; a sample repeats the call to fill about
2 ms (after one untimed call), and the table shows each count's median time, the speed-up of
the last count over the first, and the last count's share of the copy bandwidth measured at
that thread count (bytes in + out / time / copy bandwidth, as the bench counts them).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import poolkit as pk
from poolkit import _bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default="1,2,4,8,16")
    parser.add_argument("--cases", default="", help="as the bench's --cases")
    args = parser.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    bandwidth = {t: _bench.copy_bandwidth(256 << 20, t) for t in counts}
    print("copy bandwidth, GB/s:", {t: round(b / 1e9, 1) for t, b in bandwidth.items()})
    print(f"{'case':28s}" + "".join(f"{str(t) + ' thr':>11s}" for t in counts))
    rng = np.random.default_rng(0)
    for case in _bench.select_cases(args.cases, large=False, quick=False):
        call = _bench._poolkit_call(case, _bench.random_input(case, rng))
        begin = time.perf_counter()
        call()
        reps = max(1, int(2e-3 / max(time.perf_counter() - begin, 1e-7)))
        samples: dict[int, list[float]] = {t: [] for t in counts}
        for _ in range(9):
            for t in counts:
                with pk.threads(t):
                    call()
                    begin = time.perf_counter()
                    for _ in range(reps):
                        call()
                    samples[t].append((time.perf_counter() - begin) / reps)
        median = {t: statistics.median(s) for t, s in samples.items()}
        last = counts[-1]
        share = case.nbytes / median[last] / bandwidth[last]
        print(f"{case.name + '/' + case.label:28s}"
              + "".join(f"{median[t] * 1e3:9.3f}ms" for t in counts)
              + f"  x{median[counts[0]] / median[last]:.1f}  {100 * share:.0f}%")


if __name__ == "__main__":
    main()
