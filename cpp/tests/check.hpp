// cpp/tests/check.hpp: the C++ test programs' failure counter and CHECK macro.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdio>

namespace check {

/// Failed checks so far; the first 20 are printed, the program's exit status reports all.
inline int failures = 0;

}  // namespace check

/// Count a failed condition and print the first ones, with a printf-style explanation.
#define CHECK(cond, ...)                                     \
  do {                                                       \
    if (!(cond) && ++check::failures <= 20) {                \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__);       \
      std::printf(__VA_ARGS__);                              \
      std::printf("\n");                                     \
    }                                                        \
  } while (0)
