/* lograte.c: once-per-interval logging of repeated conditions. */
#include "lograte.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

int an_lograte_log(an_lograte_t *r, double now, int priority, const char *fmt,
                   ...) {
  pthread_mutex_lock(&r->lock);
  if (r->last != 0 && now - r->last < r->interval) {
    r->left_out++;
    pthread_mutex_unlock(&r->lock);
    return 0;
  }
  unsigned long left_out = r->left_out;
  r->left_out = 0;
  r->last = now;
  pthread_mutex_unlock(&r->lock);

  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (left_out > 0)
    syslog(priority, "%s (%lu more like it since the last one logged)", msg,
           left_out);
  else
    syslog(priority, "%s", msg);
  return 1;
}
