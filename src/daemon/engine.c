#include "engine.h"
#include "conf.h"
#include "series.h"
#include "store.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define CHECKPOINT_SECONDS 60

struct an_engine {
  an_daemon_t *daemon;
  an_series_table_t *table;
  char **sources; /* sorted, for bsearch */
  size_t nsources;
  struct event *timer;
};

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int an_engine_knows_source(an_engine_t *e, const char *source) {
  /* bsearch() must not be given NULL, even for no elements */
  return e->nsources > 0 && bsearch(&source, e->sources, e->nsources,
                                    sizeof(char *), compare_names) != NULL;
}

int an_engine_add_source(an_engine_t *e, const char *source) {
  if (an_engine_knows_source(e, source))
    return 0;
  char **grown = realloc(e->sources, (e->nsources + 1) * sizeof(char *));
  if (grown == NULL)
    return ENOMEM;
  e->sources = grown;
  char *copy = strdup(source);
  if (copy == NULL)
    return ENOMEM;
  size_t i = 0;
  while (i < e->nsources && strcmp(e->sources[i], source) < 0)
    i++;
  memmove(&e->sources[i + 1], &e->sources[i],
          (e->nsources - i) * sizeof(char *));
  e->sources[i] = copy;
  e->nsources++;
  return 0;
}

static int series_key(char *buf, size_t len, const char *source,
                      const char *metric) {
  int n = snprintf(buf, len, "%s/%s", source, metric);
  return n > 0 && (size_t)n < len ? 0 : EINVAL;
}

int an_engine_score(an_engine_t *e, const char *source, const char *metric,
                    double t, double value, an_result_t *result, double *last) {
  char key[AN_SERIES_KEY_MAX + 1];
  if (series_key(key, sizeof(key), source, metric) != 0)
    return EINVAL;
  return an_series_table_update_ordered(e->table, key, t, value, result, last);
}

int an_engine_set_sensitivity(an_engine_t *e, const char *source,
                              const char *metric, double sensitivity) {
  char key[AN_SERIES_KEY_MAX + 1];
  if (series_key(key, sizeof(key), source, metric) != 0)
    return EINVAL;
  return an_series_table_set_sensitivity(e->table, key, sensitivity);
}

/* ---- checkpoints ---- */

typedef struct saved_state {
  char *key;
  double sensitivity, last_t;
  void *blob;
  size_t len;
} saved_state_t;

typedef struct checkpoint {
  saved_state_t *states;
  size_t n, cap;
} checkpoint_t;

static int collect(void *ctx, const an_series_info_t *info) {
  checkpoint_t *c = ctx;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    saved_state_t *s = realloc(c->states, cap * sizeof(*s));
    if (s == NULL)
      return ENOMEM;
    c->states = s;
    c->cap = cap;
  }
  saved_state_t *s = &c->states[c->n];
  s->key = strdup(info->key);
  s->blob = malloc(info->len);
  if (s->key == NULL || s->blob == NULL) {
    free(s->key);
    free(s->blob);
    return ENOMEM;
  }
  memcpy(s->blob, info->blob, info->len);
  s->len = info->len;
  s->sensitivity = info->sensitivity;
  s->last_t = info->last_t;
  c->n++;
  return 0;
}

static void checkpoint_free(checkpoint_t *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->states[i].key);
    free(c->states[i].blob);
  }
  free(c->states);
  free(c);
}

static int write_checkpoint(sqlite3 *db, void *arg) {
  checkpoint_t *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    saved_state_t *s = &c->states[i];
    int rc = an_store_put_state(db, s->key, s->sensitivity, s->last_t, s->blob,
                                s->len);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static void checkpoint_done(void *arg, int rc) {
  if (rc != 0)
    syslog(LOG_WARNING, "engine: checkpoint not written; will retry");
  checkpoint_free(arg);
}

/* Every series' state now (on the loop, so no point is half scored);
 * NULL when out of memory. Points scored later are newer than it and are
 * replayed after a crash. */
static checkpoint_t *snapshot(an_engine_t *e) {
  checkpoint_t *c = calloc(1, sizeof(*c));
  if (c != NULL && an_series_table_save(e->table, collect, c) != 0) {
    checkpoint_free(c);
    c = NULL;
  }
  return c;
}

/* Queues the write of a snapshot. */
static void checkpoint(an_engine_t *e) {
  checkpoint_t *c = snapshot(e);
  if (c != NULL && an_store_submit(e->daemon->store, write_checkpoint,
                                   checkpoint_done, c) != 0)
    checkpoint_free(c);
}

/* At shutdown, the store's worker stopped: written here and now. */
static void last_checkpoint(an_engine_t *e) {
  checkpoint_t *c = snapshot(e);
  if (c == NULL || an_store_run_now(e->daemon->store, write_checkpoint, c) != 0)
    syslog(LOG_WARNING, "engine: the last checkpoint was not written; the "
                        "points since the previous one are replayed at start");
  if (c != NULL)
    checkpoint_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  checkpoint(arg);
}

/* ---- start-up ---- */

static int restore_state(void *ctx, const char *key, double sensitivity,
                         double last_t, const void *blob, size_t len) {
  an_engine_t *e = ctx;
  an_series_info_t info = {.key = key,
                           .sensitivity = sensitivity,
                           .last_t = last_t,
                           .seen = 0, /* the daemon has no warm-up rule */
                           .blob = blob,
                           .len = len};
  if (an_series_table_restore(e->table, &info) != 0)
    syslog(LOG_WARNING,
           "engine: state of %s is not valid; starting it "
           "afresh",
           key);
  return 0;
}

static int replay_point(void *ctx, const char *source, const char *metric,
                        double t, double value) {
  an_engine_t *e = ctx;
  an_result_t r;
  double last;
  an_engine_score(e, source, metric, t, value, &r, &last);
  return 0;
}

static int restore_tuning(void *ctx, const char *source, const char *metric,
                          double sensitivity, double at) {
  an_engine_set_sensitivity(ctx, source, metric, sensitivity);
  return 0;
}

static int restore_source(void *ctx, const char *source) {
  return an_engine_add_source(ctx, source);
}

static int restore(sqlite3 *db, void *arg) {
  an_engine_t *e = arg;
  int rc = an_store_each_source(db, restore_source, e);
  if (rc == 0)
    rc = an_store_each_state(db, restore_state, e);
  if (rc == 0)
    rc = an_store_each_point_after_state(db, replay_point, e);
  if (rc == 0)
    rc = an_store_each_tuning(db, restore_tuning, e);
  return rc;
}

int an_engine_open(an_daemon_t *d, an_engine_t **out, char *err,
                   size_t errlen) {
  const an_config_t *c = d->config;
  an_engine_t *e = calloc(1, sizeof(*e));
  if (e == NULL)
    goto oom;
  e->daemon = d;
  e->table = an_series_table_create(an_detector_find(c->detector));
  if (e->table == NULL)
    goto oom;
  for (size_t i = 0; i < c->nsources; i++)
    if (an_engine_add_source(e, c->sources[i]) != 0)
      goto oom;
  int rc = an_store_run_now(d->store, restore, e);
  if (rc != 0) {
    snprintf(err, errlen, "cannot restore detector state from the database");
    an_engine_close(e);
    return rc;
  }
  e->timer = event_new(d->base, -1, EV_PERSIST, on_timer, e);
  struct timeval every = {CHECKPOINT_SECONDS, 0};
  if (e->timer == NULL || event_add(e->timer, &every) != 0)
    goto oom;
  syslog(LOG_INFO, "engine: %zu series restored, %zu sources known",
         an_series_table_count(e->table), e->nsources);
  *out = e;
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  an_engine_close(e);
  return ENOMEM;
}

void an_engine_close(an_engine_t *e) {
  if (e == NULL)
    return;
  if (e->timer != NULL) {
    event_free(e->timer);
    if (e->daemon->store != NULL)
      last_checkpoint(e);
  }
  for (size_t i = 0; i < e->nsources; i++)
    free(e->sources[i]);
  free(e->sources);
  an_series_table_destroy(e->table);
  free(e);
}
