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

// Reports a refused command line (text on stderr; also JSON on stdout with
// --json) and returns its exit status, 125.
int report_usage_error(const UsageError& error);

}  // namespace taskport_cli
