"""``python -m poolkit``: print the build information and run the textbook's worked examples."""

from __future__ import annotations

import sys
from typing import List, Optional

import numpy as np

import poolkit as pk


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
    if args:
        print(f"usage: python -m poolkit   (unknown arguments: {' '.join(args)})",
              file=sys.stderr)
        return 2
    print(f"poolkit {pk.__version__}")
    for key, value in pk.build_info().items():
        print(f"  {key}: {value}")
    _examples()
    return 0


if __name__ == "__main__":
    sys.exit(main())
