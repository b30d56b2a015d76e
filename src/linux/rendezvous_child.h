// SPDX-License-Identifier: MIT
/* The child side of the Linux rendezvous, in C: linked into libtaskport (for
 * taskport::send_task_to_spawner and fork_with_task) and compiled into the
 * preload library, which must not depend on a C++ runtime.
 *
 * Symbols are hidden: each binary gets its own private copy. */
#ifndef TASKPORT_LINUX_RENDEZVOUS_CHILD_H
#define TASKPORT_LINUX_RENDEZVOUS_CHILD_H

#ifdef __cplusplus
extern "C" {
#endif

/* tp_rdv_send flags */
#define TP_RDV_SEND_WAIT 0x1u /* after sending, wait until the spawner lets us go */

/* Sends this process's handles (a pidfd of itself, /proc/self/mem and
 * /proc/self/maps, opened here and now) over the rendezvous socket `fd`;
 * with TP_RDV_SEND_WAIT then blocks until the spawner shuts its end down.
 * Does not close `fd`. Returns 0, or the errno of the failure (a pidfd that
 * could not be made is reported to the spawner too).
 *
 * Async-signal-safe: raw system calls only, no allocation, no locks; usable
 * between fork and exec and in a forked child of a threaded parent. While
 * the mem fd is opened the process is made dumpable (PR_SET_DUMPABLE 1) if it
 * was not, and then set back to not dumpable. */
int tp_rdv_send(int fd, unsigned flags) __attribute__((visibility("hidden")));

/* The rendezvous this process was started with, if any: reads
 * TASKPORT_RENDEZVOUS_FD (and TASKPORT_RENDEZVOUS_WAIT), checks that the
 * descriptor is a SOCK_SEQPACKET AF_UNIX socket, removes both variables from
 * the environment, sends (waiting if either the variable or `flags` asks),
 * and closes the descriptor. Returns 0 when sent, -1 when there was no
 * rendezvous (variable absent), else an errno (EBADF/ENOTSOCK: the variable
 * names no rendezvous socket — that descriptor is left alone).
 * NOT async-signal-safe (getenv/unsetenv): call it where the environment may
 * be edited, e.g. early in main or in a library constructor. */
int tp_rdv_send_from_environment(unsigned flags) __attribute__((visibility("hidden")));

#ifdef __cplusplus
}
#endif

#endif /* TASKPORT_LINUX_RENDEZVOUS_CHILD_H */
