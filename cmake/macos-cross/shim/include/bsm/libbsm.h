// SPDX-License-Identifier: MIT
/* Cross-check shim for <bsm/libbsm.h> (see ../../README.md). */
#ifndef TASKPORT_SHIM_BSM_LIBBSM_H
#define TASKPORT_SHIM_BSM_LIBBSM_H

#include <bsm/audit.h>
#include <mach/message.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

pid_t audit_token_to_pid(audit_token_t atoken);

#ifdef __cplusplus
}
#endif

#endif
