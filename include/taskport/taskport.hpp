// SPDX-License-Identifier: MIT
// taskport — spawn a child and get its task handle. Umbrella header.
#pragma once

#include "taskport/child.hpp"
#include "taskport/command.hpp"
#include "taskport/error.hpp"
#include "taskport/exit_status.hpp"
#include "taskport/fork_with_task.hpp"
#include "taskport/output.hpp"
#include "taskport/rendezvous.hpp"
#include "taskport/stdio.hpp"
#include "taskport/task.hpp"
#include "taskport/unique_fd.hpp"
#include "taskport/version.hpp"
