// SPDX-License-Identifier: MIT
// `taskport run`: spawn, snapshots on schedule, signals forwarded, output
// relayed, the exit reported.
#pragma once

#include "options.hpp"
#include "report.hpp"

namespace taskport_cli {

// Runs PROGRAM as `options` say; returns taskport's exit status
// (exit_codes.hpp). Every failure is reported through the reporter.
int run(const RunOptions& options);

}  // namespace taskport_cli
