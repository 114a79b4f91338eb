// poolkit/version.hpp: the one place the version is written (the Python package reads it too).
// SPDX-License-Identifier: MIT
#pragma once

#define POOLKIT_VERSION "0.1.0"
