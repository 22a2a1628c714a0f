/* models.c: trained states from anomalyd's model, given to the plugin's
 * series (models.h). */
#include "models.h"
#include "models/model.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct an_models {
  const an_detector_class_t *cls;
  size_t pending_max;
  pthread_mutex_t lock; /* everything below */
  an_series_table_t *pending;
  void *scratch; /* a state on its way from pending to live */
  char **hosts;  /* sorted */
  size_t nhosts, hosts_cap;
  size_t attached_since; /* first values that took a pending state */
  int other_hosts;       /* the last model had series of unseen hosts */
  int stale;             /* …and a host it may have had came since */
};

an_models_t *an_models_create(const an_detector_class_t *cls,
                              size_t pending_max) {
  an_models_t *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  m->cls = cls;
  m->pending_max = pending_max;
  m->scratch = malloc(cls->state_size);
  if (m->scratch == NULL) {
    free(m);
    return NULL;
  }
  pthread_mutex_init(&m->lock, NULL);
  return m;
}

void an_models_free(an_models_t *m) {
  if (m == NULL)
    return;
  an_series_table_destroy(m->pending);
  for (size_t i = 0; i < m->nhosts; i++)
    free(m->hosts[i]);
  free(m->hosts);
  free(m->scratch);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

/* ---- the hosts whose series are wanted ---- */

/* Where host (len bytes) is, or would go, in the sorted list; *found
 * says which. _nolock: the caller holds m->lock. */
static size_t host_find_nolock(const an_models_t *m, const char *host,
                               size_t len, int *found) {
  size_t lo = 0, hi = m->nhosts;
  *found = 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strncmp(m->hosts[mid], host, len);
    if (c == 0 && m->hosts[mid][len] != '\0')
      c = 1; /* longer than host: after it */
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Adds host (len bytes) unless it is there. Returns 1 when it was added,
 * 0 when it was there, -1 when out of memory. _nolock: the caller holds
 * m->lock. */
static int host_add_nolock(an_models_t *m, const char *host, size_t len) {
  int found;
  size_t at = host_find_nolock(m, host, len, &found);
  if (found)
    return 0;
  if (m->nhosts == m->hosts_cap) {
    size_t cap = m->hosts_cap ? 2 * m->hosts_cap : 8;
    char **grown = realloc(m->hosts, cap * sizeof(*grown));
    if (grown == NULL)
      return -1;
    m->hosts = grown;
    m->hosts_cap = cap;
  }
  char *copy = strndup(host, len);
  if (copy == NULL)
    return -1;
  memmove(m->hosts + at + 1, m->hosts + at,
          (m->nhosts - at) * sizeof(*m->hosts));
  m->hosts[at] = copy;
  m->nhosts++;
  return 1;
}

int an_models_add_host(an_models_t *m, const char *host) {
  pthread_mutex_lock(&m->lock);
  int rc = host_add_nolock(m, host, strlen(host));
  pthread_mutex_unlock(&m->lock);
  return rc < 0 ? ENOMEM : 0;
}

static int host_wanted(an_models_t *m, const char *host) {
  int found;
  pthread_mutex_lock(&m->lock);
  host_find_nolock(m, host, strlen(host), &found);
  pthread_mutex_unlock(&m->lock);
  return found;
}

/* ---- applying a model ---- */

static int key_of(char *key, size_t size, const an_model_series_t *s) {
  int n = snprintf(key, size, "%s/%s", s->source_id, s->metric);
  return n > 0 && (size_t)n < size ? 0 : EINVAL;
}

/* Attaches series s to live, or failing that keeps it in pending (when
 * wanted[i] is set). Counts it in *out and marks it waiting when it went
 * to pending. */
static int attach_one(an_models_t *m, an_series_table_t *live,
                      an_series_table_t *pending, const an_model_series_t *s,
                      unsigned char *waiting, an_models_result_t *out) {
  char key[AN_SERIES_KEY_MAX + 1];
  *waiting = 0;
  if (key_of(key, sizeof(key), s) != 0) {
    out->dropped++;
    return 0;
  }
  int rc = an_series_table_seed(live, key, s->state, s->last_t, s->points, 0);
  if (rc == 0) {
    out->attached++;
  } else if (rc == EEXIST) {
    out->older++;
  } else if (rc != ENOENT) {
    return rc;
  } else if (!host_wanted(m, s->source_id)) {
    out->other++;
  } else if (out->pending >= m->pending_max) {
    out->dropped++;
  } else if ((rc = an_series_table_seed(pending, key, s->state, s->last_t,
                                        s->points, 1)) == 0) {
    out->pending++;
    *waiting = 1;
  } else if (rc == EEXIST) { /* the same series twice: the first stays */
    out->dropped++;
  } else {
    return rc;
  }
  return 0;
}

/* A series that went to pending but got its first value before the
 * pending table was in place: attached now. _nolock: the caller holds
 * m->lock, so no first value takes it meanwhile. */
static void recheck_nolock(an_models_t *m, an_series_table_t *live,
                           const an_model_series_t *s,
                           an_models_result_t *out) {
  char key[AN_SERIES_KEY_MAX + 1];
  key_of(key, sizeof(key), s);
  int rc = an_series_table_seed(live, key, s->state, s->last_t, s->points, 0);
  if (rc != 0 && rc != EEXIST)
    return; /* not there yet: it stays pending */
  an_series_table_remove(m->pending, key);
  out->pending--;
  if (rc == 0)
    out->attached++;
  else
    out->older++;
}

int an_models_apply(an_models_t *m, an_series_table_t *live, const void *blob,
                    size_t len, an_models_result_t *out, char *err,
                    size_t errlen) {
  an_model_t *model = NULL;
  an_series_table_t *pending = NULL;
  unsigned char *waiting = NULL;
  memset(out, 0, sizeof(*out));
  int rc = an_model_decode(blob, len, &model, err, errlen);
  if (rc == 0 && model->detector != m->cls) {
    snprintf(err, errlen,
             "the model is of detector \"%s\"; the plugin scores with \"%s\"",
             model->detector->name, m->cls->name);
    rc = EINVAL;
  }
  if (rc == 0) {
    pending = an_series_table_create(m->cls);
    waiting = malloc(model->n > 0 ? model->n : 1);
    if (pending == NULL || waiting == NULL) {
      snprintf(err, errlen, "out of memory");
      rc = ENOMEM;
    }
  }
  for (size_t i = 0; rc == 0 && i < model->n; i++)
    rc = attach_one(m, live, pending, &model->series[i], &waiting[i], out);
  if (rc == ENOMEM)
    snprintf(err, errlen, "out of memory");
  if (rc == 0) {
    out->series = model->n;
    pthread_mutex_lock(&m->lock);
    an_series_table_t *old = m->pending;
    m->pending = pending;
    pending = old; /* freed below */
    for (size_t i = 0; i < model->n; i++)
      if (waiting[i])
        recheck_nolock(m, live, &model->series[i], out);
    m->other_hosts = out->other > 0;
    m->stale = 0;
    pthread_mutex_unlock(&m->lock);
  }
  an_series_table_destroy(pending);
  free(waiting);
  an_model_free(model);
  return rc;
}

/* ---- a series' first value ---- */

int an_models_first_value(an_models_t *m, an_series_table_t *live,
                          const char *key, size_t host_len) {
  double last_t;
  uint32_t seen;
  int attached = 0;
  pthread_mutex_lock(&m->lock);
  if (host_add_nolock(m, key, host_len) == 1 && m->other_hosts)
    m->stale = 1;
  if (m->pending != NULL && an_series_table_count(m->pending) > 0 &&
      an_series_table_take(m->pending, key, m->scratch, &last_t, &seen) == 0 &&
      an_series_table_seed(live, key, m->scratch, last_t, seen, 0) == 0) {
    m->attached_since++;
    attached = 1;
  }
  pthread_mutex_unlock(&m->lock);
  return attached;
}

void an_models_poll(an_models_t *m, size_t *attached, size_t *pending,
                    int *stale) {
  pthread_mutex_lock(&m->lock);
  *attached = m->attached_since;
  m->attached_since = 0;
  *pending = m->pending != NULL ? an_series_table_count(m->pending) : 0;
  *stale = m->stale;
  m->stale = 0;
  pthread_mutex_unlock(&m->lock);
}
