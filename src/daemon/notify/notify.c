/* notify.c: the delivery thread that empties the outbox. */
#include "notify/notify.h"
#include "backoff.h"
#include "clock.h"
#include "conf.h"
#include "config.h"
#include "json.h"
#include "metrics.h"
#include "store/store.h"
#include "store/store_alerts.h"
#include "store/store_outbox.h"

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
#include <unistd.h>

#define MAX_TRANSFERS 64     /* deliveries in flight at once */
#define PER_CHANNEL 4        /* of them to one channel: a dead one holds few */
#define POLL_SECONDS 1.0     /* the longest between two looks at the outbox */
#define BACKOFF_FIRST 1.0    /* seconds before the first retry */
#define BACKOFF_MAX 60.0     /* the longest wait between retries */
#define RETRY_AFTER_MAX 3600 /* a 429's Retry-After is honoured up to this */
#define ANSWER_MAX 300       /* bytes of a receiver's answer kept */

typedef struct answer {
  char body[ANSWER_MAX + 1];
  size_t len;
  char retry_after[64];
} answer_t;

/* A delivery in flight: one easy handle in the multi handle. */
typedef struct transfer {
  an_delivery_t dl;
  CURL *easy;
  struct curl_slist *headers;
  char *body;
  answer_t answer;
} transfer_t;

struct an_notify {
  an_daemon_t *daemon;
  sqlite3 *db; /* the thread's own connection */
  CURLM *multi;
  pthread_t thread;
  int started;
  atomic_int stopping;
  atomic_int woken;  /* deliveries were committed: look at the outbox */
  atomic_int queued; /* the worker queued deliveries not yet committed */
  transfer_t *flight[MAX_TRANSFERS];
  size_t nflight;
  unsigned short rand48[3];
  int storage_failing; /* to log a failing database once */
};

/* ---- what an attempt comes to ---- */

/* Makes an answer one printable line for the history and the log. */
static void printable(char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20)
      *s = ' ';
}

/* Logs and counts the outcome of an attempt at dl and records it in the
 * outbox: state, when it is due again (next_at, while pending), the
 * receiver's status (0: none) and what went wrong. */
static void record(an_notify_t *n, const an_delivery_t *dl, int state,
                   double next_at, long status, const char *err, double now) {
  an_metrics_t *m = n->daemon->metrics;
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
                             now) != 0)
    syslog(LOG_ERR,
           "notify: cannot record the delivery of alert %s to %s; "
           "it will be sent again",
           dl->alert_id, dl->channel);
}

/* Records the end of transfer t at now: curl's result rc, and the
 * receiver's answer when there was one. */
static void finish(an_notify_t *n, transfer_t *t, CURLcode rc, double now) {
  const an_delivery_t *dl = &t->dl;
  char err[512];
  long status = 0;
  if (rc == CURLE_OK)
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  printable(t->answer.body);
  if (status != 0)
    snprintf(err, sizeof(err), "HTTP %ld: %s", status, t->answer.body);
  else
    snprintf(err, sizeof(err), "%s", curl_easy_strerror(rc));

  an_http_outcome_t out = an_http_outcome(status);
  if (out == AN_HTTP_DELIVERED) {
    record(n, dl, AN_DELIVERY_DELIVERED, now, status, err, now);
    return;
  }
  if (out != AN_HTTP_RETRY) {
    record(n, dl, AN_DELIVERY_FAILED, now, status, err, now);
    return;
  }
  double wait;
  if (status == 429 && t->answer.retry_after[0] != '\0' &&
      an_retry_after_parse(t->answer.retry_after, now, &wait) == 0)
    /* "0", or a date a clock behind ours puts in the past, must not
     * make a loop of posts */
    wait = fmax(BACKOFF_FIRST, fmin(wait, RETRY_AFTER_MAX));
  else
    wait = an_backoff_delay(BACKOFF_FIRST, BACKOFF_MAX,
                            (unsigned)dl->attempts + 1, erand48(n->rand48));
  record(n, dl, AN_DELIVERY_PENDING, now + wait, status, err, now);
}

/* ---- transfers ---- */

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
  an_jw_t w;
  an_jw_init(&w);
  char *body = NULL;
  if (notice != NULL && fn(notice, ch, &w) == 0)
    body = an_jw_take(&w);
  an_jw_free(&w);
  if (body == NULL)
    snprintf(err, errlen, "the notice cannot be rendered for %s", ch->type);
  yajl_tree_free(notice);
  return body;
}

/* Frees t (out of the multi handle already). Accepts NULL. */
static void transfer_free(transfer_t *t) {
  if (t == NULL)
    return;
  if (t->easy != NULL)
    curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  free(t->body);
  an_delivery_clear(&t->dl);
  free(t);
}

/* A transfer posting body to url, which it takes; NULL when out of
 * memory. */
static transfer_t *transfer_new(an_notify_t *n, const char *url, char *body) {
  transfer_t *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    free(body);
    return NULL;
  }
  t->body = body;
  t->headers = curl_slist_append(NULL, "Content-Type: application/json");
  CURL *c = t->easy = curl_easy_init();
  if (t->headers == NULL || c == NULL) {
    transfer_free(t);
    return NULL;
  }
  curl_easy_setopt(c, CURLOPT_PRIVATE, t);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   (long)(n->daemon->config->notify_timeout * 1000));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "anomalyd/" PACKAGE_VERSION);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t->answer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t->answer);
  return t;
}

/* The transfer of delivery dl (whose strings it takes). NULL when it
 * cannot be sent: then the failure is recorded, or for a database or
 * memory error it stays pending for the next look. */
static transfer_t *prepare(an_notify_t *n, an_delivery_t *dl, double now) {
  const an_config_t *conf = n->daemon->config;
  char err[512] = "";
  an_channel_t ch;
  char *body = NULL;
  transfer_t *t = NULL;

  int rc = an_store_get_channel(n->db, dl->channel, &ch);
  if (rc == ENOENT)
    snprintf(err, sizeof(err), "channel \"%s\" no longer exists", dl->channel);
  else if (rc == 0 && now - dl->created_at > conf->notify_give_up)
    snprintf(err, sizeof(err),
             "gave up after %d attempts over %.0f s; last: %s", dl->attempts,
             now - dl->created_at,
             dl->last_error != NULL ? dl->last_error : "none");
  else if (rc == 0)
    body = render(dl, &ch, err, sizeof(err));
  if (body != NULL && (t = transfer_new(n, ch.url, body)) != NULL) {
    t->dl = *dl;
    memset(dl, 0, sizeof(*dl));
  } else if (body != NULL) {
    syslog(LOG_ERR, "notify: cannot start a transfer: out of memory");
  } else if (rc != EIO) {
    record(n, dl, AN_DELIVERY_FAILED, now, 0, err, now);
  }
  an_channel_clear(&ch);
  return t;
}

/* Starts delivery dl (whose strings it takes) or records why not. */
static void start(an_notify_t *n, an_delivery_t *dl, double now) {
  transfer_t *t = prepare(n, dl, now);
  if (t == NULL)
    return;
  if (curl_multi_add_handle(n->multi, t->easy) != CURLM_OK) {
    syslog(LOG_ERR, "notify: cannot start a transfer: out of memory");
    transfer_free(t); /* it stays pending for the next look */
    return;
  }
  n->flight[n->nflight++] = t;
}

/* Whether delivery id is in flight, and how many are to channel. */
static int in_flight(const an_notify_t *n, long long id, const char *channel,
                     size_t *to_channel) {
  int found = 0;
  *to_channel = 0;
  for (size_t i = 0; i < n->nflight; i++) {
    found |= n->flight[i]->dl.id == id;
    *to_channel += strcmp(n->flight[i]->dl.channel, channel) == 0;
  }
  return found;
}

/* Starts what is due at now, as far as the limits allow. Returns when to
 * look again at the latest. */
static double look(an_notify_t *n, double now) {
  an_delivery_t *due = NULL;
  size_t count = 0;
  if (an_store_outbox_due(n->db, now, PER_CHANNEL, &due, &count) != 0) {
    if (!n->storage_failing)
      syslog(LOG_ERR, "notify: cannot read the outbox; retrying");
    n->storage_failing = 1;
    return now + POLL_SECONDS;
  }
  n->storage_failing = 0;
  for (size_t i = 0; i < count; i++) {
    size_t to_channel;
    if (n->nflight < MAX_TRANSFERS &&
        !in_flight(n, due[i].id, due[i].channel, &to_channel) &&
        to_channel < PER_CHANNEL)
      start(n, &due[i], now);
    an_delivery_clear(&due[i]);
  }
  free(due);
  /* what is due but waits for room is looked at when a transfer ends */
  double next = NAN;
  long long pending = 0;
  if (an_store_outbox_next(n->db, now, &next, &pending) == 0)
    an_metrics_notify_pending(n->daemon->metrics, (size_t)pending);
  return isnan(next) ? now + POLL_SECONDS : fmin(next, now + POLL_SECONDS);
}

/* Records the transfers that ended, at now. Returns how many. */
static int reap(an_notify_t *n, double now) {
  int ended = 0, left;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(n->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    transfer_t *t = NULL;
    CURLcode rc = msg->data.result;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    curl_multi_remove_handle(n->multi, t->easy);
    for (size_t i = 0; i < n->nflight; i++)
      if (n->flight[i] == t) {
        n->flight[i] = n->flight[--n->nflight];
        break;
      }
    finish(n, t, rc, now);
    transfer_free(t);
    ended++;
  }
  return ended;
}

/* ---- the thread ---- */

static void *run(void *arg) {
  an_notify_t *n = arg;
  double look_at = 0; /* when to look at the outbox next */
  while (!atomic_load(&n->stopping)) {
    double now = an_clock_wall(); /* the one of this turn */
    if (atomic_exchange(&n->woken, 0) || now >= look_at)
      look_at = look(n, now);
    int running;
    curl_multi_perform(n->multi, &running);
    if (reap(n, now) > 0) {
      look_at = 0; /* room for more, or the next of the same alert */
      continue;
    }
    double wait = fmax(0, fmin(look_at - now, POLL_SECONDS));
    curl_multi_poll(n->multi, NULL, 0, (int)(wait * 1000), NULL);
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
  atomic_store(&n->woken, 1);
  curl_multi_wakeup(n->multi);
}

int an_notify_start(an_daemon_t *d, an_notify_t **out, char *err,
                    size_t errlen) {
  char why[512];
  an_notify_t *n = calloc(1, sizeof(*n));
  if (n == NULL) {
    snprintf(err, errlen, "out of memory");
    return ENOMEM;
  }
  n->daemon = d;
  unsigned long seed = (unsigned long)an_clock_wall() ^ (unsigned long)getpid();
  n->rand48[0] = (unsigned short)seed;
  n->rand48[1] = (unsigned short)(seed >> 16);
  n->rand48[2] = 0x330e;
  if ((n->db = an_store_connect(d->config->data_dir, 0, why, sizeof(why))) ==
      NULL) {
    snprintf(err, errlen, "notify: %s", why);
    goto fail;
  }
  if ((n->multi = curl_multi_init()) == NULL) {
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
  atomic_store(&n->stopping, 1);
  if (n->started) {
    curl_multi_wakeup(n->multi);
    pthread_join(n->thread, NULL);
  }
  /* what is in flight is abandoned: it stays pending in the outbox */
  for (size_t i = 0; i < n->nflight; i++) {
    curl_multi_remove_handle(n->multi, n->flight[i]->easy);
    transfer_free(n->flight[i]);
  }
  if (n->multi != NULL)
    curl_multi_cleanup(n->multi);
  sqlite3_close(n->db);
  free(n);
}
