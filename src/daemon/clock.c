/* clock.c: the daemon's two clocks (daemon.h), in one place, so that a
 * module that reads one links without anomalyd.c. */
#include "daemon.h"

#include <time.h>

double an_daemon_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double an_daemon_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}
