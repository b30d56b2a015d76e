// SPDX-License-Identifier: MIT
/* The Linux rendezvous on the wire: what a child sends to its spawner.
 *
 * Shared by the child side (rendezvous_child.c, C so that the preload can use
 * it without a C++ runtime) and the spawner side (rendezvous_accept.cpp).
 *
 * Transport: a SOCK_SEQPACKET socketpair. The spawner keeps one end (with
 * SO_PASSCRED set, so the kernel attaches the sender's pid to every message);
 * the child inherits the other end at the descriptor number named by
 * TASKPORT_RENDEZVOUS_FD. The child sends exactly one message:
 *   data:        struct tp_rdv_hello (exactly sizeof, native byte order: both
 *                ends run on the same machine);
 *   SCM_RIGHTS:  in this order, each present iff its flag is set: a pidfd of
 *                the sender, an open /proc/<pid>/mem (O_RDWR, else O_RDONLY),
 *                an open /proc/<pid>/maps.
 * The spawner never answers with data. It lets a child that waits go on
 * (TP_RDV_WAITS) by shutting its end down: the child's recv then returns 0,
 * whoever else still holds a copy of either end. */
#ifndef TASKPORT_LINUX_RENDEZVOUS_WIRE_H
#define TASKPORT_LINUX_RENDEZVOUS_WIRE_H

#include <stdint.h>

/* The descriptor number of the child's end, in decimal. */
#define TP_RDV_ENV_FD "TASKPORT_RENDEZVOUS_FD"
/* "1": the spawner asks the child to wait, after sending, until let go. */
#define TP_RDV_ENV_WAIT "TASKPORT_RENDEZVOUS_WAIT"

#define TP_RDV_MAGIC 0x56525054u /* "TPRV" */
#define TP_RDV_VERSION 1u

/* tp_rdv_hello.flags */
#define TP_RDV_HAS_PIDFD 0x1u
#define TP_RDV_HAS_MEM 0x2u
#define TP_RDV_HAS_MAPS 0x4u
#define TP_RDV_WAITS 0x8u

#define TP_RDV_MAX_FDS 3

struct tp_rdv_hello {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  /* The sender's own getpid(). Informational only: the spawner trusts the
   * kernel (SCM_CREDENTIALS, the pidfd), never this field. */
  int32_t pid;
  /* errno of each handle the sender could not make (0 when sent). */
  int32_t pidfd_error;
  int32_t mem_error;
  int32_t maps_error;
  int32_t reserved;
};

#endif /* TASKPORT_LINUX_RENDEZVOUS_WIRE_H */
