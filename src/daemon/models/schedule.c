/* schedule.c: scheduled training jobs (schedule.h). */
#include "models/schedule.h"
#include "clock.h"
#include "conf.h"
#include "ids.h"
#include "models/jobs.h"
#include "store/store.h"
#include "store/store_models.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define FIRST_DELAY 60                /* seconds after start */
#define SCHEDULED_RANGE (7 * 86400.0) /* a week: a weekly cycle, seen once */

struct an_schedule {
  an_daemon_t *daemon;
  struct event *first, *every;
};

typedef struct tick {
  an_schedule_t *schedule;
  int first;    /* only when no model exists */
  double now;   /* the tick's */
  int inserted; /* by the store job */
  char id[AN_UUID_LEN + 1];
} tick_t;

/* On the store worker: queues the job unless one is pending (or, at the
 * first tick, a model exists). */
static int tick_job(sqlite3 *db, void *arg) {
  tick_t *t = arg;
  long long pending, models = 0;
  t->inserted = 0;
  int rc = an_store_count_scheduled_pending(db, &pending);
  if (rc == 0 && t->first)
    rc = an_store_count_models(db, &models);
  if (rc != 0 || pending > 0 || models > 0)
    return rc;
  an_train_job_t j = {.algorithm = "seasonal",
                      .hyperparameters = "{}",
                      .range_start = t->now - SCHEDULED_RANGE,
                      .range_end = t->now,
                      .scheduled = 1,
                      .created_at = t->now};
  an_ids_new(j.id);
  rc = an_store_put_train_job(db, &j);
  if (rc == 0) {
    memcpy(t->id, j.id, sizeof(t->id));
    t->inserted = 1;
  }
  return rc;
}

/* On the loop, committed: the workers may take it. */
static void tick_done(void *arg, int rc) {
  tick_t *t = arg;
  if (rc == 0 && t->inserted) {
    syslog(LOG_INFO, "training: scheduled job %s queued", t->id);
    an_jobs_queue(t->schedule->daemon->jobs, t->id);
  } else if (rc != 0) {
    syslog(LOG_WARNING, "training: the scheduled job could not be queued");
  }
  free(t);
}

void an_schedule_tick(an_schedule_t *s, int first) {
  tick_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return; /* the next tick tries again */
  *t = (tick_t){.schedule = s, .first = first, .now = an_clock_wall()};
  if (an_store_submit(s->daemon->store, tick_job, tick_done, t) != 0)
    free(t);
}

static void on_first(evutil_socket_t fd, short what, void *arg) {
  an_schedule_tick(arg, 1);
}

static void on_every(evutil_socket_t fd, short what, void *arg) {
  an_schedule_tick(arg, 0);
}

int an_schedule_open(an_daemon_t *d, an_schedule_t **out) {
  double interval = d->config->train_interval;
  *out = NULL;
  if (interval <= 0)
    return 0;
  an_schedule_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return ENOMEM;
  s->daemon = d;
  struct timeval first = {FIRST_DELAY, 0};
  struct timeval every = {(time_t)interval, 0};
  s->first = event_new(d->base, -1, 0, on_first, s);
  s->every = event_new(d->base, -1, EV_PERSIST, on_every, s);
  if (s->first == NULL || s->every == NULL ||
      event_add(s->first, &first) != 0 || event_add(s->every, &every) != 0) {
    an_schedule_close(s);
    return ENOMEM;
  }
  *out = s;
  return 0;
}

void an_schedule_close(an_schedule_t *s) {
  if (s == NULL)
    return;
  if (s->first != NULL)
    event_free(s->first);
  if (s->every != NULL)
    event_free(s->every);
  free(s);
}
