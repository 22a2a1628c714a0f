#include "forwarder.h"
#include "backoff.h"
#include "clock.h"
#include "spool.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#define BACKOFF_FIRST 1.0
#define BACKOFF_MAX 60.0
#define ANSWER_MAX ((size_t)1 << 20) /* JSON answers are small */
/* A model's blob: about 300 000 series of the default detector. */
#define MODEL_MAX ((size_t)256 << 20)
#define MODEL_TIMEOUT 120.0 /* seconds to download one */

/* How a periodic pull (tuning, model) last went, so that one that fails
 * is logged when it starts failing (or fails otherwise) and when it works
 * again, not at every interval. */
typedef struct pull_log {
  long status; /* of the last answer; 0: none, -1: not pulled yet */
  int failing;
  char failure[CURL_ERROR_SIZE]; /* what the last failure was */
} pull_log_t;

typedef struct item {
  char *record;
  struct item *next;
} item_t;

struct an_forwarder {
  /* conf's strings are the caller's, valid only during start: url and
   * api_key live on in the next three, spool_path in spool_path */
  an_forwarder_conf_t conf;
  char *url_anomalies, *url_tuning, *url_model, *auth_header, *spool_path;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  item_t *head, *tail; /* guarded by lock */
  size_t queued;       /* guarded by lock */
  int stopping;        /* guarded by lock */
  double flush_deadline;
  an_spool_t *spool;
  pthread_mutex_t spool_lock; /* the spool, for enqueue's last resort */
  CURL *curl;
  double retry_at;   /* monotonic time of the next try while down */
  unsigned failures; /* tries failed in a row */
  double next_tuning, next_model;
  uint32_t tuning_hash; /* of the last tuning answer, to log changes */
  pull_log_t tuning_log, model_log;
  char model_etag[160];       /* of the model last handed over, "" when none */
  an_forwarder_stats_t stats; /* guarded by lock */
};

static void logf_(an_forwarder_t *f, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(an_forwarder_t *f, int level, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (f->conf.log != NULL)
    f->conf.log(level, msg);
}

/* ---- HTTP ---- */

/* One request's options and what came back. */
typedef struct response {
  /* set by the caller (0: the defaults) */
  size_t max;                /* bytes of answer taken: ANSWER_MAX */
  double timeout;            /* seconds: the forwarder's timeout */
  const char *if_none_match; /* an ETag, NULL: none */
  int abortable;             /* given up when the forwarder stops */
  /* filled by request() */
  char *body;
  size_t len;
  int too_large; /* the answer was over max: given up */
  char etag[160], model_id[64], model_version[32];
  char error[CURL_ERROR_SIZE]; /* why nothing was answered */
} response_t;

static size_t collect_body(char *data, size_t size, size_t n, void *arg) {
  response_t *r = arg;
  size_t add = size * n;
  if (r->len + add > r->max) { /* refuse a flood */
    r->too_large = 1;
    return 0;
  }
  char *grown = realloc(r->body, r->len + add + 1);
  if (grown == NULL)
    return 0;
  memcpy(grown + r->len, data, add);
  r->body = grown;
  r->len += add;
  r->body[r->len] = '\0';
  return add;
}

/* If the header line (len bytes, "Name: value\r\n") is name's, copies
 * its value into out; a value too long for out is not ours, and left. */
static void copy_header(const char *line, size_t len, const char *name,
                        char *out, size_t size) {
  size_t n = strlen(name);
  if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
    return;
  const char *v = line + n + 1;
  size_t vl = len - n - 1;
  while (vl > 0 && (*v == ' ' || *v == '\t'))
    v++, vl--;
  while (vl > 0 && strchr(" \t\r\n", v[vl - 1]) != NULL)
    vl--;
  if (vl < size) {
    memcpy(out, v, vl);
    out[vl] = '\0';
  }
}

static size_t collect_header(char *data, size_t size, size_t n, void *arg) {
  response_t *r = arg;
  copy_header(data, size * n, "ETag", r->etag, sizeof(r->etag));
  copy_header(data, size * n, "X-Model-Id", r->model_id, sizeof(r->model_id));
  copy_header(data, size * n, "X-Model-Version", r->model_version,
              sizeof(r->model_version));
  return size * n;
}

static int is_stopping(an_forwarder_t *f) {
  pthread_mutex_lock(&f->lock);
  int s = f->stopping;
  pthread_mutex_unlock(&f->lock);
  return s;
}

/* curl's progress callback: non-zero gives the transfer up */
static int give_up_when_stopping(void *arg, curl_off_t dltotal,
                                 curl_off_t dlnow, curl_off_t ultotal,
                                 curl_off_t ulnow) {
  return is_stopping(arg);
}

/* One request: a POST of body, or a GET when body is NULL. Returns the
 * HTTP status, or 0 when nothing was answered (resp->error says why). */
static long request(an_forwarder_t *f, const char *url, const char *body,
                    response_t *resp) {
  char inm[200];
  struct curl_slist *headers = NULL;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  if (f->auth_header != NULL)
    headers = curl_slist_append(headers, f->auth_header);
  if (resp->if_none_match != NULL &&
      snprintf(inm, sizeof(inm), "If-None-Match: %s", resp->if_none_match) <
          (int)sizeof(inm))
    headers = curl_slist_append(headers, inm);
  if (resp->max == 0)
    resp->max = ANSWER_MAX;
  double timeout = resp->timeout > 0 ? resp->timeout : f->conf.timeout;
  curl_easy_reset(f->curl);
  curl_easy_setopt(f->curl, CURLOPT_URL, url);
  curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(f->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(f->curl, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
  curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(f->curl, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(f->curl, CURLOPT_HEADERDATA, resp);
  if (resp->abortable) {
    curl_easy_setopt(f->curl, CURLOPT_XFERINFOFUNCTION, give_up_when_stopping);
    curl_easy_setopt(f->curl, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(f->curl, CURLOPT_NOPROGRESS, 0L);
  }
  if (body != NULL) {
    curl_easy_setopt(f->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, body);
  }
  long status = 0;
  CURLcode rc = curl_easy_perform(f->curl);
  if (rc == CURLE_OK)
    curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
  else
    snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(rc));
  curl_slist_free_all(headers);
  return status;
}

typedef enum outcome { DELIVERED, RETRY, REJECTED } outcome_t;

static void reject(an_forwarder_t *f, char **records, size_t n);

/* A delivered batch's answer lists the items anomalyd refused
 * ("errors": [{"index": i, "error": {…}}]; the others were stored): those
 * are kept in SPOOL.rejected like a refused batch. */
static void reject_refused_items(an_forwarder_t *f, char **records, size_t n,
                                 const char *answer) {
  const char *path[] = {"errors", NULL}, *pi[] = {"index", NULL},
             *pm[] = {"error", "message", NULL};
  yajl_val doc = answer != NULL ? yajl_tree_parse(answer, NULL, 0) : NULL;
  yajl_val errors = doc != NULL ? yajl_tree_get(doc, path, yajl_t_array) : NULL;
  for (size_t i = 0; errors != NULL && i < errors->u.array.len; i++) {
    yajl_val index =
        yajl_tree_get(errors->u.array.values[i], pi, yajl_t_number);
    yajl_val message =
        yajl_tree_get(errors->u.array.values[i], pm, yajl_t_string);
    if (index == NULL || !YAJL_IS_INTEGER(index) ||
        YAJL_GET_INTEGER(index) < 0 || (size_t)YAJL_GET_INTEGER(index) >= n)
      continue;
    logf_(f, LOG_ERR,
          "anomaly: the daemon refused an anomaly: %.300s; moved "
          "to %s.rejected",
          message != NULL ? YAJL_GET_STRING(message) : "", f->conf.spool_path);
    reject(f, &records[YAJL_GET_INTEGER(index)], 1);
  }
  yajl_tree_free(doc);
}

/* Sends records as one batch. */
static outcome_t send_batch(an_forwarder_t *f, char **records, size_t n) {
  size_t len = 32;
  for (size_t i = 0; i < n; i++)
    len += strlen(records[i]) + 1;
  char *body = malloc(len), *p = body;
  if (body == NULL)
    return RETRY;
  p += sprintf(p, "{\"anomalies\":[");
  for (size_t i = 0; i < n; i++)
    p += sprintf(p, "%s%s", i ? "," : "", records[i]);
  sprintf(p, "]}");
  response_t resp = {0};
  long status = request(f, f->url_anomalies, body, &resp);
  free(body);
  if (status == 0)
    logf_(f, LOG_WARNING, "anomaly: %s: %s", f->url_anomalies, resp.error);
  an_http_outcome_t outcome = an_http_outcome(status);
  outcome_t out = outcome == AN_HTTP_DELIVERED  ? DELIVERED
                  : outcome == AN_HTTP_REJECTED ? REJECTED
                                                : RETRY;
  if (out == DELIVERED)
    reject_refused_items(f, records, n, resp.body);
  else if (out == REJECTED)
    logf_(f, LOG_ERR,
          "anomaly: the daemon refused a batch of %zu (HTTP %ld): "
          "%.300s; moved to %s.rejected",
          n, status, resp.body ? resp.body : "", f->conf.spool_path);
  else if (out == RETRY && status != 0)
    logf_(f, LOG_WARNING, "anomaly: the daemon answered HTTP %ld; will retry",
          status);
  free(resp.body);
  return out;
}

static void reject(an_forwarder_t *f, char **records, size_t n) {
  char path[4200], err[256];
  snprintf(path, sizeof(path), "%s.rejected", f->conf.spool_path);
  an_spool_t *sp = an_spool_open(path, err, sizeof(err));
  if (sp == NULL || an_spool_append(sp, records, n) != 0)
    logf_(f, LOG_ERR, "anomaly: cannot keep rejected anomalies in %s", path);
  an_spool_close(sp);
  pthread_mutex_lock(&f->lock);
  f->stats.rejected += n;
  pthread_mutex_unlock(&f->lock);
}

/* ---- the spool ---- */

static int spool_append(an_forwarder_t *f, char **records, size_t n) {
  pthread_mutex_lock(&f->spool_lock);
  int rc = an_spool_append(f->spool, records, n);
  pthread_mutex_unlock(&f->spool_lock);
  pthread_mutex_lock(&f->lock);
  if (rc == 0)
    f->stats.spooled += n;
  pthread_mutex_unlock(&f->lock);
  if (rc != 0)
    logf_(f, LOG_ERR,
          "anomaly: cannot write the spool %s: %s; %zu "
          "anomalies lost",
          f->conf.spool_path, strerror(rc), n);
  return rc;
}

static off_t spool_pending(an_forwarder_t *f) {
  pthread_mutex_lock(&f->spool_lock);
  off_t n = an_spool_pending(f->spool);
  pthread_mutex_unlock(&f->spool_lock);
  return n;
}

static void went_down(an_forwarder_t *f) {
  f->failures++;
  f->retry_at =
      an_clock_monotonic() +
      an_backoff_delay(BACKOFF_FIRST, BACKOFF_MAX, f->failures, drand48());
  pthread_mutex_lock(&f->lock);
  f->stats.failures++;
  pthread_mutex_unlock(&f->lock);
}

/* Replays the spool, oldest first, until it is empty or a send fails.
 * Returns 1 when the spool is empty. */
static int replay(an_forwarder_t *f) {
  while (spool_pending(f) > 0) {
    char **records;
    size_t n;
    off_t next;
    pthread_mutex_lock(&f->spool_lock);
    int rc = an_spool_peek(f->spool, f->conf.batch_max, &records, &n, &next);
    pthread_mutex_unlock(&f->spool_lock);
    if (rc != 0)
      return 0;
    outcome_t out = n > 0 ? send_batch(f, records, n) : DELIVERED;
    if (out == REJECTED)
      reject(f, records, n);
    if (out != RETRY) {
      pthread_mutex_lock(&f->spool_lock);
      an_spool_advance(f->spool, next);
      pthread_mutex_unlock(&f->spool_lock);
      pthread_mutex_lock(&f->lock);
      if (out == DELIVERED)
        f->stats.sent += n;
      pthread_mutex_unlock(&f->lock);
    }
    an_spool_free_records(records, n);
    if (out == RETRY) {
      went_down(f);
      return 0;
    }
    f->failures = 0;
  }
  return 1;
}

/* ---- pulls: tuning, the model ---- */

/* Notes how a pull of url went (ok: it got an answer it can use) and logs
 * a change: the first failure, a failure of another kind, a recovery. */
static void pull_outcome(an_forwarder_t *f, pull_log_t *p, const char *url,
                         int ok, long status, const response_t *resp) {
  char failure[sizeof(p->failure)];
  p->status = status;
  if (ok) {
    if (p->failing)
      logf_(f, LOG_INFO, "anomaly: pulling %s works again", url);
    p->failing = 0;
    return;
  }
  if (resp->too_large)
    snprintf(failure, sizeof(failure), "the answer is over %zu MiB",
             resp->max >> 20);
  else if (status != 0)
    snprintf(failure, sizeof(failure), "HTTP %ld", status);
  else
    snprintf(failure, sizeof(failure), "%s", resp->error);
  if (!p->failing || strcmp(failure, p->failure) != 0)
    logf_(f, LOG_WARNING, "anomaly: cannot pull %s: %s%s%.200s", url, failure,
          status != 0 && resp->body != NULL ? ": " : "",
          status != 0 && resp->body != NULL ? resp->body : "");
  p->failing = 1;
  snprintf(p->failure, sizeof(p->failure), "%s", failure);
}

static void pull_tuning(an_forwarder_t *f) {
  response_t resp = {.abortable = 1};
  long status = request(f, f->url_tuning, NULL, &resp);
  pull_outcome(f, &f->tuning_log, f->url_tuning, status == 200, status, &resp);
  if (status == 200 && resp.body != NULL) {
    char err[128];
    yajl_val doc = yajl_tree_parse(resp.body, err, sizeof(err));
    const char *path[] = {"series", NULL};
    yajl_val series =
        doc != NULL ? yajl_tree_get(doc, path, yajl_t_array) : NULL;
    uint32_t h = 2166136261u;
    for (const char *c = resp.body; *c; c++)
      h = (h ^ (unsigned char)*c) * 16777619u;
    size_t applied = 0;
    for (size_t i = 0; series != NULL && i < series->u.array.len; i++) {
      yajl_val s = series->u.array.values[i];
      const char *ps[] = {"sourceId", NULL}, *pm[] = {"metric", NULL},
                 *pv[] = {"sensitivity", NULL};
      yajl_val src = yajl_tree_get(s, ps, yajl_t_string);
      yajl_val met = yajl_tree_get(s, pm, yajl_t_string);
      yajl_val sen = yajl_tree_get(s, pv, yajl_t_number);
      if (src != NULL && met != NULL && sen != NULL) {
        f->conf.tuning(f->conf.tuning_ctx, YAJL_GET_STRING(src),
                       YAJL_GET_STRING(met), YAJL_GET_DOUBLE(sen));
        applied++;
      }
    }
    if (h != f->tuning_hash && applied > 0)
      logf_(f, LOG_INFO,
            "anomaly: applied the sensitivity of %zu series "
            "from %s",
            applied, f->url_tuning);
    f->tuning_hash = h;
    yajl_tree_free(doc);
  }
  free(resp.body);
}

/* GET {url}/models/active/seasonal: 200 hands the model over, 304 says it
 * is the one handed over last, 204 that none is active. */
static void pull_model(an_forwarder_t *f) {
  int again = f->conf.model_due != NULL && f->conf.model_due(f->conf.model_ctx);
  response_t resp = {
      .max = MODEL_MAX,
      .timeout = MODEL_TIMEOUT,
      .if_none_match =
          !again && f->model_etag[0] != '\0' ? f->model_etag : NULL,
      .abortable = 1,
  };
  long before = f->model_log.status;
  long status = request(f, f->url_model, NULL, &resp);
  pull_outcome(f, &f->model_log, f->url_model,
               status == 200 || status == 204 || status == 304, status, &resp);
  if (status == 204) {
    if (before != 204)
      logf_(f, LOG_INFO, "anomaly: anomalyd has no active seasonal model");
    f->model_etag[0] = '\0';
  } else if (status == 200) {
    int rc =
        f->conf.model(f->conf.model_ctx, resp.body != NULL ? resp.body : "",
                      resp.len, resp.model_id, resp.model_version);
    /* a model that cannot be used is not fetched again until it changes */
    snprintf(f->model_etag, sizeof(f->model_etag), "%s",
             rc != ENOMEM ? resp.etag : "");
  }
  free(resp.body);
}

/* ---- the thread ---- */

static void free_items(item_t *it) {
  while (it != NULL) {
    item_t *next = it->next;
    free(it->record);
    free(it);
    it = next;
  }
}

/* Takes up to max records off the queue. _nolock: the caller holds lock. */
static size_t take_nolock(an_forwarder_t *f, char **out, size_t max) {
  size_t n = 0;
  while (f->head != NULL && n < max) {
    item_t *it = f->head;
    f->head = it->next;
    if (f->head == NULL)
      f->tail = NULL;
    out[n++] = it->record;
    free(it);
    f->queued--;
  }
  return n;
}

static void *run(void *arg) {
  an_forwarder_t *f = arg;
  char **batch = calloc(f->conf.batch_max, sizeof(char *));
  int up = replay(f);
  for (;;) {
    pthread_mutex_lock(&f->lock);
    while (f->head == NULL && !f->stopping) {
      double now = an_clock_monotonic(), until = now + 1.0;
      if (!up)
        until = fmin(until, f->retry_at);
      if (f->conf.tuning_interval > 0)
        until = fmin(until, f->next_tuning);
      if (f->conf.model_interval > 0)
        until = fmin(until, f->next_model);
      if (until <= now)
        break;
      /* the condition variable's deadline is on the wall clock */
      double at = an_clock_wall() + (until - now);
      struct timespec ts = {.tv_sec = (time_t)at,
                            .tv_nsec = (long)((at - floor(at)) * 1e9)};
      pthread_cond_timedwait(&f->wake, &f->lock, &ts);
    }
    int stopping = f->stopping;
    size_t n = take_nolock(f, batch, f->conf.batch_max);
    pthread_mutex_unlock(&f->lock);

    if (stopping && n == 0 && (up || an_clock_monotonic() > f->flush_deadline))
      break;
    if (!up && an_clock_monotonic() >= f->retry_at)
      up = replay(f);
    if (n > 0) {
      outcome_t out = RETRY;
      if (up && spool_pending(f) == 0)
        out = send_batch(f, batch, n);
      if (out == REJECTED)
        reject(f, batch, n);
      if (out == RETRY) {
        /* behind a failure or a non-empty spool: keep the order on disk */
        spool_append(f, batch, n);
        if (up) {
          up = 0;
          went_down(f);
        }
      } else if (out == DELIVERED) {
        pthread_mutex_lock(&f->lock);
        f->stats.sent += n;
        pthread_mutex_unlock(&f->lock);
      }
      for (size_t i = 0; i < n; i++)
        free(batch[i]);
    }
    if (stopping && !up) {
      /* one last try to empty the spool, then leave it for next time */
      if (an_clock_monotonic() <= f->flush_deadline)
        up = replay(f);
      pthread_mutex_lock(&f->lock);
      size_t left = take_nolock(f, batch, f->conf.batch_max);
      pthread_mutex_unlock(&f->lock);
      while (left > 0) {
        spool_append(f, batch, left);
        for (size_t i = 0; i < left; i++)
          free(batch[i]);
        pthread_mutex_lock(&f->lock);
        left = take_nolock(f, batch, f->conf.batch_max);
        pthread_mutex_unlock(&f->lock);
      }
      if (!up)
        break;
    }
    if (f->conf.tuning_interval > 0 && an_clock_monotonic() >= f->next_tuning &&
        up && !stopping) {
      pull_tuning(f);
      f->next_tuning = an_clock_monotonic() + f->conf.tuning_interval;
    }
    if (f->conf.model_interval > 0 && an_clock_monotonic() >= f->next_model &&
        up && !stopping) {
      pull_model(f);
      f->next_model = an_clock_monotonic() + f->conf.model_interval;
    }
  }
  free(batch);
  return NULL;
}

an_forwarder_t *an_forwarder_start(const an_forwarder_conf_t *conf, char *err,
                                   size_t errlen) {
  an_forwarder_t *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  f->conf = *conf;
  f->conf.url = f->conf.api_key = NULL;
  if ((f->spool_path = strdup(conf->spool_path)) == NULL)
    goto oom;
  f->conf.spool_path = f->spool_path;
  if (f->conf.batch_max == 0)
    f->conf.batch_max = 500;
  if (f->conf.queue_max == 0)
    f->conf.queue_max = 100000;
  if (f->conf.timeout <= 0)
    f->conf.timeout = 10;
  if (f->conf.tuning == NULL)
    f->conf.tuning_interval = 0;
  if (f->conf.model == NULL)
    f->conf.model_interval = 0;
  size_t ul = strlen(conf->url);
  f->url_anomalies = malloc(ul + 16);
  f->url_tuning = malloc(ul + 16);
  f->url_model = malloc(ul + 32);
  if (f->url_anomalies == NULL || f->url_tuning == NULL || f->url_model == NULL)
    goto oom;
  const char *slash = ul > 0 && conf->url[ul - 1] == '/' ? "" : "/";
  sprintf(f->url_anomalies, "%s%sanomalies", conf->url, slash);
  sprintf(f->url_tuning, "%s%stuning", conf->url, slash);
  sprintf(f->url_model, "%s%smodels/active/seasonal", conf->url, slash);
  f->tuning_log.status = f->model_log.status = -1;
  if (conf->api_key != NULL) {
    f->auth_header = malloc(strlen(conf->api_key) + 16);
    if (f->auth_header == NULL)
      goto oom;
    sprintf(f->auth_header, "X-Api-Key: %s", conf->api_key);
  }
  f->spool = an_spool_open(conf->spool_path, err, errlen);
  if (f->spool == NULL)
    goto fail;
  f->curl = curl_easy_init();
  if (f->curl == NULL)
    goto oom;
  pthread_mutex_init(&f->lock, NULL);
  pthread_mutex_init(&f->spool_lock, NULL);
  pthread_cond_init(&f->wake, NULL);
  f->next_tuning = f->next_model = an_clock_monotonic();
  srand48((long)an_clock_wall() ^ (long)(intptr_t)f);
  if (pthread_create(&f->thread, NULL, run, f) != 0) {
    snprintf(err, errlen, "cannot start the forwarder thread");
    goto fail;
  }
  return f;
oom:
  snprintf(err, errlen, "out of memory");
fail:
  an_spool_close(f->spool);
  if (f->curl != NULL)
    curl_easy_cleanup(f->curl);
  free(f->url_anomalies);
  free(f->url_tuning);
  free(f->url_model);
  free(f->auth_header);
  free(f->spool_path);
  free(f);
  return NULL;
}

int an_forwarder_enqueue(an_forwarder_t *f, char *record) {
  pthread_mutex_lock(&f->lock);
  if (f->queued < f->conf.queue_max && !f->stopping) {
    item_t *it = malloc(sizeof(*it));
    if (it != NULL) {
      it->record = record;
      it->next = NULL;
      if (f->tail != NULL)
        f->tail->next = it;
      else
        f->head = it;
      f->tail = it;
      f->queued++;
      f->stats.queued++;
      pthread_cond_signal(&f->wake);
      pthread_mutex_unlock(&f->lock);
      return 0;
    }
  }
  pthread_mutex_unlock(&f->lock);
  /* The queue is full (the forwarder is far behind): spool directly. */
  int rc = spool_append(f, &record, 1);
  free(record);
  return rc;
}

void an_forwarder_stats(an_forwarder_t *f, an_forwarder_stats_t *out) {
  pthread_mutex_lock(&f->lock);
  *out = f->stats;
  pthread_mutex_unlock(&f->lock);
}

void an_forwarder_stop(an_forwarder_t *f, double flush_seconds) {
  if (f == NULL)
    return;
  pthread_mutex_lock(&f->lock);
  f->stopping = 1;
  f->flush_deadline = an_clock_monotonic() + flush_seconds;
  pthread_cond_signal(&f->wake);
  pthread_mutex_unlock(&f->lock);
  pthread_join(f->thread, NULL);
  free_items(f->head);
  an_spool_close(f->spool);
  curl_easy_cleanup(f->curl);
  pthread_mutex_destroy(&f->lock);
  pthread_mutex_destroy(&f->spool_lock);
  pthread_cond_destroy(&f->wake);
  free(f->url_anomalies);
  free(f->url_tuning);
  free(f->url_model);
  free(f->auth_header);
  free(f->spool_path);
  free(f);
}
