#define _GNU_SOURCE /* tdestroy */
#include "engine.h"
#include "clock.h"
#include "conf.h"
#include "grow.h"
#include "lograte.h"
#include "series.h"
#include "store/store.h"
#include "store/store_series.h"
#include "store/store_tuning.h"

#include <errno.h>
#include <event2/event.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define CHECKPOINT_SECONDS 60
/* Retention: a pass every minute, in chunks of this many points, each
 * chunk one job, so no group commit holds the store long for it. */
#define PRUNE_SECONDS 60
#define PRUNE_CHUNK 1000

/* A known source and how many series the engine has for it. */
typedef struct source {
  char *name;
  size_t nseries;
} source_t;

/* The last point of a series and its answer (an_engine_answer_t). */
typedef struct last_point {
  double t, value;
  an_engine_answer_t answer;
  char key[]; /* "source/metric" */
} last_point_t;

struct an_engine {
  an_daemon_t *daemon;
  an_series_table_t *table;
  source_t *sources; /* sorted by name, for bsearch */
  size_t nsources;
  void *last_points; /* tsearch tree of last_point_t, one per series */
  struct event *timer;
  struct event *prune_timer; /* NULL when Retention keeps every point */
  /* the pass under way: one chunk queued at a time; written on the loop
   * before the job is queued, and by the job before it is handed back */
  int pruning;
  double prune_before;
  int pruned, pruned_total;
};

static int compare_sources(const void *a, const void *b) {
  return strcmp(((const source_t *)a)->name, ((const source_t *)b)->name);
}

static source_t *find_source(an_engine_t *e, const char *name) {
  source_t key = {.name = (char *)name};
  /* bsearch() must not be given NULL, even for no elements */
  return e->nsources > 0 ? bsearch(&key, e->sources, e->nsources,
                                   sizeof(source_t), compare_sources)
                         : NULL;
}

int an_engine_knows_source(an_engine_t *e, const char *source) {
  return find_source(e, source) != NULL;
}

int an_engine_add_source(an_engine_t *e, const char *source) {
  if (an_engine_knows_source(e, source))
    return 0;
  source_t *grown = realloc(e->sources, (e->nsources + 1) * sizeof(source_t));
  if (grown == NULL)
    return ENOMEM;
  e->sources = grown;
  char *copy = strdup(source);
  if (copy == NULL)
    return ENOMEM;
  size_t i = 0;
  while (i < e->nsources && strcmp(e->sources[i].name, source) < 0)
    i++;
  memmove(&e->sources[i + 1], &e->sources[i],
          (e->nsources - i) * sizeof(source_t));
  e->sources[i] = (source_t){.name = copy, .nseries = 0};
  e->nsources++;
  return 0;
}

/* The source of a series key "source/metric" (sources have no '/'). */
static source_t *source_of_key(an_engine_t *e, const char *key) {
  char name[AN_SERIES_KEY_MAX + 1];
  const char *slash = strchr(key, '/');
  size_t n = slash != NULL ? (size_t)(slash - key) : strlen(key);
  memcpy(name, key, n);
  name[n] = '\0';
  return find_source(e, name);
}

static int compare_last_points(const void *a, const void *b) {
  return strcmp(((const last_point_t *)a)->key, ((const last_point_t *)b)->key);
}

/* The series' last point, or NULL when none is kept. */
static last_point_t *find_last_point(an_engine_t *e, const char *key) {
  /* a key-only probe: tfind compares keys alone */
  char probe[sizeof(last_point_t) + AN_SERIES_KEY_MAX + 1];
  last_point_t *p = (last_point_t *)probe;
  strcpy(p->key, key);
  void *found = tfind(p, &e->last_points, compare_last_points);
  return found != NULL ? *(last_point_t **)found : NULL;
}

/* Keeps (t, value) and its answer as the series' last point. */
static void remember(an_engine_t *e, const char *key, double t, double value,
                     const an_engine_answer_t *answer) {
  last_point_t *p = find_last_point(e, key);
  if (p == NULL) {
    p = malloc(sizeof(*p) + strlen(key) + 1);
    if (p == NULL)
      return; /* a resend of this point is then refused, as before */
    strcpy(p->key, key);
    if (tsearch(p, &e->last_points, compare_last_points) == NULL) {
      free(p);
      return;
    }
  }
  p->t = t;
  p->value = value;
  p->answer = *answer;
}

static int series_key(char *buf, size_t len, const char *source,
                      const char *metric) {
  int n = snprintf(buf, len, "%s/%s", source, metric);
  return n > 0 && (size_t)n < len ? 0 : EINVAL;
}

/* Scores into *result; answer NULL: a replayed point, not remembered
 * (its ids are not the ones first answered). */
static int score(an_engine_t *e, const char *source, const char *metric,
                 double t, double value, an_result_t *result,
                 const an_engine_answer_t *answer, double *last) {
  char key[AN_SERIES_KEY_MAX + 1];
  if (series_key(key, sizeof(key), source, metric) != 0)
    return EINVAL;
  int rc =
      an_series_table_update_ordered(e->table, key, t, value, result, last);
  if (rc == ERANGE && answer != NULL) {
    last_point_t *p = find_last_point(e, key);
    if (p != NULL && p->t == t && p->value == value)
      return EALREADY;
  }
  if (rc != 0)
    return rc;
  source_t *s = find_source(e, source);
  if (result->seen == 1 && s != NULL) { /* the series is new */
    if (s->nseries >= e->daemon->config->max_series_per_source) {
      an_series_table_remove(e->table, key);
      return E2BIG;
    }
    s->nseries++;
  }
  return 0;
}

int an_engine_score(an_engine_t *e, const char *source, const char *metric,
                    double t, double value, an_engine_answer_t *answer,
                    double *last) {
  int rc = score(e, source, metric, t, value, &answer->result, answer, last);
  if (rc == EALREADY) {
    char key[AN_SERIES_KEY_MAX + 1];
    series_key(key, sizeof(key), source, metric);
    *answer = find_last_point(e, key)->answer;
  } else if (rc == 0) {
    char key[AN_SERIES_KEY_MAX + 1];
    series_key(key, sizeof(key), source, metric);
    remember(e, key, t, value, answer);
  }
  return rc;
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
  if (an_grow((void **)&c->states, &c->cap, c->n, sizeof(*c->states)) != 0)
    return ENOMEM;
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

/* ---- retention ---- */

static void prune_chunk(an_engine_t *e);

static int prune_job(sqlite3 *db, void *arg) {
  an_engine_t *e = arg;
  return an_store_prune_points(db, e->prune_before, PRUNE_CHUNK, &e->pruned);
}

/* On the loop: a full chunk means more may be left; the next chunk goes
 * to the back of the queue, behind the requests that came meanwhile. */
static void prune_done(void *arg, int rc) {
  an_engine_t *e = arg;
  e->pruning = 0;
  if (rc != 0) { /* storage failing: every minute, so once an hour */
    static an_lograte_t failing = AN_LOGRATE_INIT(3600);
    an_lograte_log(&failing, an_clock_monotonic(), LOG_WARNING,
                   "engine: old points not pruned; will retry");
    return;
  }
  e->pruned_total += e->pruned;
  if (e->pruned == PRUNE_CHUNK)
    prune_chunk(e);
  else if (e->pruned_total > 0)
    syslog(LOG_INFO, "engine: %d points older than Retention pruned",
           e->pruned_total);
}

static void prune_chunk(an_engine_t *e) {
  e->pruning = an_store_submit(e->daemon->store, prune_job, prune_done, e) == 0;
}

/* Starts a pass that deletes the points older than now - Retention. */
static void prune(an_engine_t *e, double now) {
  if (e->pruning)
    return; /* the last pass is still going: it goes on */
  e->prune_before = now - e->daemon->config->retention;
  e->pruned_total = 0;
  prune_chunk(e);
}

static void on_prune_timer(evutil_socket_t fd, short what, void *arg) {
  prune(arg, an_clock_wall());
}

/* ---- start-up ---- */

static int restore_state(void *ctx, const char *key, double sensitivity,
                         double last_t, const void *blob, size_t len) {
  an_engine_t *e = ctx;
  /* the daemon has no warm-up rule; seen 1 keeps the series' next value
   * from counting as a new series */
  an_series_info_t info = {.key = key,
                           .sensitivity = sensitivity,
                           .last_t = last_t,
                           .seen = 1,
                           .blob = blob,
                           .len = len};
  source_t *s = source_of_key(e, key);
  if (an_series_table_restore(e->table, &info) != 0)
    syslog(LOG_WARNING,
           "engine: state of %s is not valid; starting it "
           "afresh",
           key);
  else if (s != NULL)
    s->nseries++;
  return 0;
}

static int replay_point(void *ctx, const char *source, const char *metric,
                        double t, double value) {
  an_engine_t *e = ctx;
  an_result_t r;
  double last;
  score(e, source, metric, t, value, &r, NULL, &last);
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
  if (c->retention > 0) {
    struct timeval prune_every = {PRUNE_SECONDS, 0};
    e->prune_timer = event_new(d->base, -1, EV_PERSIST, on_prune_timer, e);
    if (e->prune_timer == NULL || event_add(e->prune_timer, &prune_every) != 0)
      goto oom;
  }
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
  if (e->prune_timer != NULL)
    event_free(e->prune_timer);
  if (e->timer != NULL) {
    event_free(e->timer);
    if (e->daemon->store != NULL)
      last_checkpoint(e);
  }
  for (size_t i = 0; i < e->nsources; i++)
    free(e->sources[i].name);
  free(e->sources);
  tdestroy(e->last_points, free);
  an_series_table_destroy(e->table);
  free(e);
}
