// SPDX-License-Identifier: MIT
/* libtaskport_preload.so — the child side of the rendezvous for programs
 * that know nothing of taskport (Command::task_via_preload).
 *
 * Loaded by LD_PRELOAD, its initializer runs before the program's main:
 *   1. sends the program's task handle through the rendezvous named by
 *      TASKPORT_RENDEZVOUS_FD (waiting until the spawner lets it go if
 *      TASKPORT_RENDEZVOUS_WAIT=1), closes that descriptor and removes both
 *      variables (rendezvous_child.c);
 *   2. removes its own entry from LD_PRELOAD, keeping any others, so that
 *      the program's children neither load it nor see a trace of taskport.
 * It stays silent: it never writes to the program's stdout/stderr, and
 * failures reach the spawner as an error of its own (an error report, a
 * closed rendezvous, or a timeout). errno is left as it was.
 *
 * Deliberately C, with libc as its only dependency: no C++ runtime, no
 * sanitizer runtime (it must load into any program, including sanitized
 * ones), no exported symbols. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "linux/rendezvous_child.h"

/* The loader splits LD_PRELOAD at ':' and ' '. */
static const char kSeparators[] = ": ";

static const char* base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash != NULL ? slash + 1 : path;
}

/* Is the LD_PRELOAD entry `entry` this library? The loader knows it by the
 * path it opened (dli_fname); an entry may also name it by another path (a
 * symlink) or by its bare file name (searched in the library path). */
static int is_self(const char* entry, const char* self_path, const struct stat* self, int have_self) {
  struct stat st;
  if (strcmp(entry, self_path) == 0) return 1;
  if (strchr(entry, '/') == NULL) return strcmp(entry, base_name(self_path)) == 0;
  return have_self && stat(entry, &st) == 0 && st.st_dev == self->st_dev && st.st_ino == self->st_ino;
}

static void remove_self_from_ld_preload(void) {
  const char* value = getenv("LD_PRELOAD");
  Dl_info info;
  struct stat self;
  int have_self;
  char *copy, *kept, *entry, *save = NULL;
  size_t used = 0;

  if (value == NULL) return;
  /* Any address inside this library identifies it (a data address: ISO C
   * has no conversion from function to object pointers). */
  if (dladdr(kSeparators, &info) == 0 || info.dli_fname == NULL) return;
  have_self = stat(info.dli_fname, &self) == 0;

  copy = strdup(value);
  kept = malloc(strlen(value) + 1);
  if (copy == NULL || kept == NULL) {
    free(copy);
    free(kept);
    return;
  }
  kept[0] = '\0';
  for (entry = strtok_r(copy, kSeparators, &save); entry != NULL;
       entry = strtok_r(NULL, kSeparators, &save)) {
    const size_t len = strlen(entry);
    if (is_self(entry, info.dli_fname, &self, have_self)) continue;
    if (used > 0) kept[used++] = ':';
    memcpy(kept + used, entry, len + 1);
    used += len;
  }
  if (used == 0) {
    unsetenv("LD_PRELOAD");
  } else if (strcmp(kept, value) != 0) {
    setenv("LD_PRELOAD", kept, 1);
  }
  free(copy);
  free(kept);
}

__attribute__((constructor)) static void taskport_preload_init(void) {
  const int saved_errno = errno;
  (void)tp_rdv_send_from_environment(0);
  remove_self_from_ld_preload();
  errno = saved_errno;
}
