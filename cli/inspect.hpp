// SPDX-License-Identifier: MIT
// `taskport inspect`: open a running process by its pid (Task::open), take
// its snapshots on schedule, end when they are taken, when it exits, or on
// SIGINT / SIGTERM / SIGHUP — between snapshots, so that it is never left
// suspended.
#pragma once

#include "options.hpp"

namespace taskport_cli {

// Inspects the process as `options` say; returns taskport's exit status
// (exit_codes.hpp). Every failure is reported through the reporter.
int inspect(const InspectOptions& options);

}  // namespace taskport_cli
