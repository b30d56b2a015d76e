// SPDX-License-Identifier: MIT
#pragma once

#define TASKPORT_VERSION_MAJOR 0
#define TASKPORT_VERSION_MINOR 1
#define TASKPORT_VERSION_PATCH 0

namespace taskport {
inline constexpr const char* version = "0.1.0";
}  // namespace taskport
