/* lograte.h: a condition that repeats (accept failing for want of file
 * descriptors, the disk full under every write) is logged once per
 * interval, not once per event; the next line says how many were left
 * out meanwhile. */
#ifndef AN_LOGRATE_H
#define AN_LOGRATE_H

#include <pthread.h>

typedef struct an_lograte {
  pthread_mutex_t lock; /* callers on several threads may share one */
  double interval;      /* seconds between two lines */
  double last;          /* monotonic seconds of the last line; 0: none */
  unsigned long left_out;
} an_lograte_t;

/* Static initializer: one line per interval seconds at most. */
#define AN_LOGRATE_INIT(interval)                                              \
  { PTHREAD_MUTEX_INITIALIZER, (interval), 0, 0 }

/* Logs to syslog at priority unless r logged less than its interval before
 * now (monotonic seconds); then only counts the event. Returns 1 when it
 * logged, 0 when it counted. */
int an_lograte_log(an_lograte_t *r, double now, int priority, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

#endif
