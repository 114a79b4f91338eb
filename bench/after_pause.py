"""poolkit alone: per-call times of the NHWC Inception 3x3 average after a pause before each
call (none, 1, 5, 50 ms), to show what waking idle threads costs.

    python bench/after_pause.py [--threads 2]

Prints the median, 90th percentile and maximum per pause. After a long pause the caches are
cold as well, so compare with --threads 1.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import poolkit as pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    x = np.random.default_rng(0).standard_normal((8, 28, 28, 192), dtype=np.float32)
    pk.set_num_threads(args.threads)
    for _ in range(20):
        pk.avg_pool2d(x, 3, 1, 1, layout="NHWC")
    for pause, calls in [(0.0, 200), (0.001, 100), (0.005, 100), (0.05, 40)]:
        times = []
        for _ in range(calls):
            if pause:
                time.sleep(pause)
            begin = time.perf_counter()
            pk.avg_pool2d(x, 3, 1, 1, layout="NHWC")
            times.append(time.perf_counter() - begin)
        ms = np.array(times) * 1e3
        print(f"threads {args.threads}, pause {pause * 1e3:2.0f} ms: median {np.median(ms):.3f}"
              f" ms, p90 {np.percentile(ms, 90):.3f} ms, max {ms.max():.3f} ms ({calls} calls)")


if __name__ == "__main__":
    main()
