// SPDX-License-Identifier: MIT
/* tp_rdv_static: a statically linked program (no dynamic loader, so no
 * LD_PRELOAD). Sleeps, so that a test that wrongly waited for it would
 * hang visibly rather than see it exit. */
#include <unistd.h>

int main(void) {
  sleep(30);
  return 0;
}
