/* notify.c: the delivery thread that empties the outbox. */
#include "notify.h"
#include "backoff.h"
#include "conf.h"
#include "config.h"
#include "json.h"
#include "metrics.h"
#include "sql.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define BATCH 16             /* deliveries read from the outbox at a time */
#define POLL_SECONDS 1.0     /* the longest the thread sleeps */
#define BACKOFF_FIRST 1.0    /* seconds before the first retry */
#define BACKOFF_MAX 60.0     /* the longest wait between retries */
#define RETRY_AFTER_MAX 3600 /* a 429's Retry-After is honoured up to this */
#define ANSWER_MAX 300       /* bytes of a receiver's answer kept */

struct an_notify {
  an_daemon_t *daemon;
  sqlite3 *db; /* the thread's own connection */
  CURL *curl;
  pthread_t thread;
  int started;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int stopping;      /* guarded by lock */
  int woken;         /* guarded by lock */
  atomic_int queued; /* the worker queued deliveries not yet committed */
  atomic_int abort;  /* stopping: abandon the request in flight */
  unsigned short rand48[3];
  int storage_failing; /* to log a failing database once */
};

/* ---- one HTTP delivery ---- */

typedef struct answer {
  char body[ANSWER_MAX + 1];
  size_t len;
  char retry_after[64];
} answer_t;

static size_t keep_body(char *data, size_t size, size_t n, void *arg) {
  answer_t *a = arg;
  size_t add = size * n, room = ANSWER_MAX - a->len;
  memcpy(a->body + a->len, data, add < room ? add : room);
  a->len += add < room ? add : room;
  a->body[a->len] = '\0';
  return add; /* read the rest, keep the start */
}

static size_t keep_header(char *data, size_t size, size_t n, void *arg) {
  answer_t *a = arg;
  size_t len = size * n;
  static const char name[] = "retry-after:";
  if (len > sizeof(name) - 1 &&
      strncasecmp(data, name, sizeof(name) - 1) == 0) {
    size_t v = len - (sizeof(name) - 1);
    if (v >= sizeof(a->retry_after))
      v = sizeof(a->retry_after) - 1;
    memcpy(a->retry_after, data + sizeof(name) - 1, v);
    a->retry_after[v] = '\0';
    a->retry_after[strcspn(a->retry_after, "\r\n")] = '\0';
  }
  return len;
}

static int keep_going(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                      curl_off_t un) {
  an_notify_t *n = arg;
  return atomic_load(&n->abort); /* non-zero aborts the transfer */
}

/* Posts body to url. Returns the HTTP status (0 when nothing was
 * answered, with curl's reason in err), -1 when stopping cut it short. */
static long post(an_notify_t *n, const char *url, const char *body,
                 answer_t *answer, char *err, size_t errlen) {
  CURL *c = n->curl;
  struct curl_slist *headers =
      curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   (long)(n->daemon->config->notify_timeout * 1000));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "anomalyd/" PACKAGE_VERSION);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, answer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, keep_going);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, n);
  long status = 0;
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  else if (rc == CURLE_ABORTED_BY_CALLBACK)
    status = -1;
  else
    snprintf(err, errlen, "%s", curl_easy_strerror(rc));
  curl_slist_free_all(headers);
  return status;
}

/* The channel's body for a delivery's notice, malloc'd; NULL with the
 * reason in err. */
static char *render(const an_delivery_t *dl, const an_channel_t *ch, char *err,
                    size_t errlen) {
  an_render_fn fn = an_notify_renderer(ch->type);
  if (fn == NULL) {
    snprintf(err, errlen, "channel type \"%s\" is unknown", ch->type);
    return NULL;
  }
  yajl_val notice = yajl_tree_parse(dl->notice, NULL, 0);
  yajl_gen g = an_json_gen();
  char *body = NULL;
  if (notice != NULL && g != NULL && fn(notice, ch, g) == 0) {
    body = an_json_gen_take(g);
    g = NULL;
  }
  if (g != NULL)
    yajl_gen_free(g);
  if (body == NULL)
    snprintf(err, errlen, "the notice cannot be rendered for %s", ch->type);
  yajl_tree_free(notice);
  return body;
}

/* Makes an answer one printable line for the history and the log. */
static void printable(char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20)
      *s = ' ';
}

/* Sends one delivery and records what happened. */
static void deliver(an_notify_t *n, const an_delivery_t *dl, double now) {
  const an_config_t *conf = n->daemon->config;
  an_metrics_t *m = n->daemon->metrics;
  char err[512] = "";
  an_channel_t ch;
  answer_t answer = {0};
  long status = 0;
  int state = AN_DELIVERY_FAILED;
  double next_at = now;

  int rc = an_store_get_channel(n->db, dl->channel, &ch);
  if (rc == ENOENT) {
    snprintf(err, sizeof(err), "channel \"%s\" no longer exists", dl->channel);
  } else if (rc != 0) {
    return; /* the database: the next round tries again */
  } else if (now - dl->created_at > conf->notify_give_up) {
    snprintf(err, sizeof(err),
             "gave up after %d attempts over %.0f s; last: %s", dl->attempts,
             now - dl->created_at,
             dl->last_error != NULL ? dl->last_error : "none");
  } else {
    char *body = render(dl, &ch, err, sizeof(err));
    if (body != NULL) {
      status = post(n, ch.url, body, &answer, err, sizeof(err));
      free(body);
      if (status < 0) { /* stopping: it stays pending */
        an_channel_clear(&ch);
        return;
      }
      printable(answer.body);
      an_http_outcome_t out = an_http_outcome(status);
      if (status != 0)
        snprintf(err, sizeof(err), "HTTP %ld: %s", status, answer.body);
      if (out == AN_HTTP_DELIVERED) {
        state = AN_DELIVERY_DELIVERED;
      } else if (out == AN_HTTP_RETRY) {
        double wait;
        state = AN_DELIVERY_PENDING;
        if (status == 429 && answer.retry_after[0] != '\0' &&
            an_retry_after_parse(answer.retry_after, now, &wait) == 0)
          /* "0", or a date a clock behind ours puts in the past, must not
           * make a loop of posts */
          wait = fmax(BACKOFF_FIRST, fmin(wait, RETRY_AFTER_MAX));
        else
          wait =
              an_backoff_delay(BACKOFF_FIRST, BACKOFF_MAX,
                               (unsigned)dl->attempts + 1, erand48(n->rand48));
        next_at = now + wait;
      }
    }
  }
  an_channel_clear(&ch);

  if (state == AN_DELIVERY_DELIVERED) {
    an_metrics_add(m, AN_COUNTER_NOTIFY_DELIVERED, 1);
    syslog(LOG_INFO, "notify: alert %s: %s delivered to %s", dl->alert_id,
           dl->event, dl->channel);
  } else if (state == AN_DELIVERY_PENDING) {
    an_metrics_add(m, AN_COUNTER_NOTIFY_RETRIED, 1);
    syslog(LOG_WARNING,
           "notify: alert %s: %s to %s failed (%s); retry in %.1f s",
           dl->alert_id, dl->event, dl->channel, err, next_at - now);
  } else {
    an_metrics_add(m, AN_COUNTER_NOTIFY_FAILED, 1);
    syslog(LOG_ERR, "notify: alert %s: %s to %s failed for good: %s",
           dl->alert_id, dl->event, dl->channel, err);
  }
  if (an_store_outbox_result(n->db, dl->id, state, next_at, (int)status,
                             state == AN_DELIVERY_DELIVERED ? NULL : err,
                             an_daemon_now()) != 0)
    syslog(LOG_ERR,
           "notify: cannot record the delivery of alert %s to %s; "
           "it will be sent again",
           dl->alert_id, dl->channel);
}

/* ---- the thread ---- */

static int stopping(an_notify_t *n) {
  pthread_mutex_lock(&n->lock);
  int s = n->stopping;
  pthread_mutex_unlock(&n->lock);
  return s;
}

/* Sleeps until t (seconds since the epoch), at most POLL_SECONDS, or
 * until woken or stopped. */
static void sleep_until(an_notify_t *n, double t) {
  double wait = fmax(0, fmin(t - an_daemon_now(), POLL_SECONDS));
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double until = (double)ts.tv_sec + ts.tv_nsec / 1e9 + wait;
  ts.tv_sec = (time_t)until;
  ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
  pthread_mutex_lock(&n->lock);
  while (!n->stopping && !n->woken &&
         pthread_cond_timedwait(&n->wake, &n->lock, &ts) == 0)
    ;
  n->woken = 0;
  pthread_mutex_unlock(&n->lock);
}

/* One pass: sends what is due. Returns 1 when more may be due at once. */
static int round_of_deliveries(an_notify_t *n) {
  an_delivery_t *due = NULL;
  size_t count = 0;
  double now = an_daemon_now();
  int rc = an_store_outbox_due(n->db, now, BATCH, &due, &count);
  if (rc != 0) {
    if (!n->storage_failing)
      syslog(LOG_ERR, "notify: cannot read the outbox; retrying");
    n->storage_failing = 1;
    return 0;
  }
  n->storage_failing = 0;
  for (size_t i = 0; i < count && !stopping(n); i++)
    deliver(n, &due[i], an_daemon_now());
  for (size_t i = 0; i < count; i++)
    an_delivery_clear(&due[i]);
  free(due);
  return count == BATCH;
}

static void *run(void *arg) {
  an_notify_t *n = arg;
  while (!stopping(n)) {
    if (round_of_deliveries(n))
      continue;
    double next = NAN;
    long long pending = 0;
    if (an_store_outbox_next(n->db, &next, &pending) == 0)
      an_metrics_notify_pending(n->daemon->metrics, (size_t)pending);
    sleep_until(n, isnan(next) ? an_daemon_now() + POLL_SECONDS : next);
  }
  return NULL;
}

void an_notify_queued(an_notify_t *n) {
  if (n != NULL)
    atomic_store(&n->queued, 1);
}

void an_notify_committed(void *arg) {
  an_notify_t *n = arg;
  if (n == NULL || !atomic_exchange(&n->queued, 0))
    return;
  pthread_mutex_lock(&n->lock);
  n->woken = 1;
  pthread_cond_signal(&n->wake);
  pthread_mutex_unlock(&n->lock);
}

int an_notify_start(an_daemon_t *d, an_notify_t **out, char *err,
                    size_t errlen) {
  char path[4096];
  an_notify_t *n = calloc(1, sizeof(*n));
  if (n == NULL) {
    snprintf(err, errlen, "out of memory");
    return ENOMEM;
  }
  n->daemon = d;
  pthread_mutex_init(&n->lock, NULL);
  pthread_cond_init(&n->wake, NULL);
  unsigned long seed = (unsigned long)time(NULL) ^ (unsigned long)getpid();
  n->rand48[0] = (unsigned short)seed;
  n->rand48[1] = (unsigned short)(seed >> 16);
  n->rand48[2] = 0x330e;
  snprintf(path, sizeof(path), "%s/anomalyd.db", d->config->data_dir);
  if (sqlite3_open_v2(path, &n->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                      NULL) != SQLITE_OK) {
    snprintf(err, errlen, "notify: %s: %s", path,
             n->db != NULL ? sqlite3_errmsg(n->db) : "cannot open");
    goto fail;
  }
  /* the worker holds the write lock only for one group commit */
  sqlite3_busy_timeout(n->db, 10000);
  if (an_sql_exec(n->db, "PRAGMA synchronous=FULL") != 0) {
    snprintf(err, errlen, "notify: %s: %s", path, sqlite3_errmsg(n->db));
    goto fail;
  }
  if ((n->curl = curl_easy_init()) == NULL) {
    snprintf(err, errlen, "notify: cannot set up libcurl");
    goto fail;
  }
  int rc = pthread_create(&n->thread, NULL, run, n);
  if (rc != 0) {
    snprintf(err, errlen, "notify: cannot start the delivery thread: %s",
             strerror(rc));
    goto fail;
  }
  n->started = 1;
  *out = n;
  return 0;
fail:
  an_notify_stop(n);
  return EIO;
}

void an_notify_stop(an_notify_t *n) {
  if (n == NULL)
    return;
  pthread_mutex_lock(&n->lock);
  n->stopping = 1;
  pthread_cond_signal(&n->wake);
  pthread_mutex_unlock(&n->lock);
  atomic_store(&n->abort, 1);
  if (n->started)
    pthread_join(n->thread, NULL);
  if (n->curl != NULL)
    curl_easy_cleanup(n->curl);
  sqlite3_close(n->db);
  pthread_mutex_destroy(&n->lock);
  pthread_cond_destroy(&n->wake);
  free(n);
}
