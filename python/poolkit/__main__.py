"""``python -m poolkit``: print the build information and run the textbook's worked examples;
``python -m poolkit bench``: the side-by-side benchmark (``poolkit._bench``)."""

from __future__ import annotations

import sys
from typing import List, Optional

import numpy as np

import poolkit as pk
from poolkit import _bench


def _examples() -> None:
    x3 = np.arange(9, dtype=np.float32).reshape(3, 3)
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x2 = np.concatenate([x, x + 1], axis=1)
    cases = [
        ("pool2d(X3, (2, 2))", pk.pool2d(x3, (2, 2))),
        ("pool2d(X3, (2, 2), 'avg')", pk.pool2d(x3, (2, 2), "avg")),
        ("MaxPool2d(3)(X)", pk.MaxPool2d(3)(x)),
        ("MaxPool2d(3, padding=1, stride=2)(X)", pk.MaxPool2d(3, padding=1, stride=2)(x)),
        ("MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(X)",
         pk.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(x)),
        ("MaxPool2d(3, padding=1, stride=2)(cat(X, X + 1))",
         pk.MaxPool2d(3, padding=1, stride=2)(x2)),
    ]
    print("\nX3 =", np.array2string(x3, prefix="X3 = "))
    print("X = arange(16).reshape(1, 1, 4, 4)\n")
    for label, value in cases:
        print(f"{label}:\n{np.array2string(value)}\n")


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["bench"]:
        return _bench.main(args[1:])
    if args:
        print("usage: python -m poolkit [bench [--help | options]]   (unknown arguments: "
              f"{' '.join(args)})", file=sys.stderr)
        return 2
    print(f"poolkit {pk.__version__}")
    for key, value in pk.build_info().items():
        print(f"  {key}: {value}")
    _examples()
    return 0


if __name__ == "__main__":
    sys.exit(main())
