// SPDX-License-Identifier: MIT
/* Cross-check shim for <servers/bootstrap.h> (see ../../README.md). */
#ifndef TASKPORT_SHIM_SERVERS_BOOTSTRAP_H
#define TASKPORT_SHIM_SERVERS_BOOTSTRAP_H

#include <mach/mach.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BOOTSTRAP_MAX_NAME_LEN 128
typedef char name_t[BOOTSTRAP_MAX_NAME_LEN];

#define BOOTSTRAP_SUCCESS 0
#define BOOTSTRAP_NOT_PRIVILEGED 1100
#define BOOTSTRAP_NAME_IN_USE 1101
#define BOOTSTRAP_UNKNOWN_SERVICE 1102
#define BOOTSTRAP_SERVICE_ACTIVE 1103
#define BOOTSTRAP_BAD_COUNT 1104
#define BOOTSTRAP_NO_MEMORY 1105
#define BOOTSTRAP_NO_CHILDREN 1106

kern_return_t bootstrap_check_in(mach_port_t bp, const name_t service_name, mach_port_t *sp);
kern_return_t bootstrap_look_up(mach_port_t bp, const name_t service_name, mach_port_t *sp);
const char *bootstrap_strerror(kern_return_t r);

#ifdef __cplusplus
}
#endif

#endif
