"""poolkit alone: per-call times of the NHWC Inception 3x3 average after a pause before each
call (none, 1, 5, 50 ms), to show what waking idle threads costs.

    python bench/after_pause.py [--threads 2] [--layout NCHW] [--sequence]

Prints the median, 90th percentile and maximum per pause. After a long pause the caches are
cold as well, so compare with --threads 1. With --sequence, instead: 15 rounds of a 50 ms
pause and then calls for at least 5 ms (and 13 calls), each call's time in ms, over 1 ms
starred: what the bench's warm-up and first timed calls meet.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import poolkit as pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layout", choices=["NCHW", "NHWC"], default="NHWC")
    parser.add_argument("--sequence", action="store_true")
    args = parser.parse_args()
    shape = (8, 28, 28, 192) if args.layout == "NHWC" else (8, 192, 28, 28)
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    pk.set_num_threads(args.threads)
    for _ in range(20):
        pk.avg_pool2d(x, 3, 1, 1, layout=args.layout)
    if args.sequence:
        for _ in range(15):
            time.sleep(0.05)
            start, times = time.perf_counter(), []
            while len(times) < 13 or time.perf_counter() - start < 5e-3:
                begin = time.perf_counter()
                pk.avg_pool2d(x, 3, 1, 1, layout=args.layout)
                times.append((time.perf_counter() - begin) * 1e3)
            print(" ".join(f"{t:.1f}" + ("*" if t > 1 else "") for t in times))
        return
    for pause, calls in [(0.0, 200), (0.001, 100), (0.005, 100), (0.05, 40)]:
        times = []
        for _ in range(calls):
            if pause:
                time.sleep(pause)
            begin = time.perf_counter()
            pk.avg_pool2d(x, 3, 1, 1, layout=args.layout)
            times.append(time.perf_counter() - begin)
        ms = np.array(times) * 1e3
        print(f"threads {args.threads}, pause {pause * 1e3:2.0f} ms: median {np.median(ms):.3f}"
              f" ms, p90 {np.percentile(ms, 90):.3f} ms, max {ms.max():.3f} ms ({calls} calls)")


if __name__ == "__main__":
    main()
