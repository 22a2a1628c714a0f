/* Every allocation failure is handled: the daemon's parts run in this
 * process as anomalyd.c starts them, and each request below is sent again
 * and again with its 1st, 2nd, ... allocation failing (the daemon's own,
 * libevent's, SQLite's: faultmem.h), until one completes without reaching
 * the fault. Each time the answer must be the normal one or a JSON 500
 * INTERNAL / 503 UNAVAILABLE, the same request must then succeed, and what
 * was acknowledged must still be there; valgrind and ASan see the leaks.
 * The delivery thread and the once-a-second alert check are not started:
 * they would allocate at times of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "engine.h"
#include "faultmem.h"
#include "http/server.h"
#include "metrics.h"
#include "store/store.h"
#include "store/store_alerts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

/* Under valgrind (AN_VALGRIND=1, as tests/valgrind-wrap runs it) a round
 * costs some 100 ms: each request is then tried with its first 16
 * allocations failing and every 16th after; otherwise with every one. */
static long full = -1, stride = 1;

static an_daemon_t d;
/* In memory when it can be: every store commit syncs. */
static char data_dir[64];
static int port;

typedef struct answer {
  int status; /* 0: the connection closed without an answer */
  size_t len;
  const char *body;
  int timed_out;
  char text[1 << 16];
} answer_t;

static answer_t ans;
/* The second mode: the nth allocation fails and every one after it, until
 * the answer; then nothing may be left to answer with, and a connection
 * closed unanswered is all that can be asked. */
static int every_after;
static char faulted[1 << 16]; /* the answer to the faulted request */

static int sync_channels(sqlite3 *db, void *arg) {
  an_daemon_t *daemon = arg;
  return an_store_sync_channels(db, daemon->config, an_clock_wall());
}

static int free_port(void) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    return -1;
  close(fd);
  return ntohs(a.sin_port);
}

static void quiet(int severity, const char *msg) {}

/* The daemon's parts in anomalyd.c's order, on a fresh data directory. */
static int start(void **state) {
  char err[512];
  if (an_faultmem_install() != 0)
    return -1;
  event_set_log_callback(quiet); /* evhttp warns of each failure */
  const char *valgrind = getenv("AN_VALGRIND");
  if (valgrind != NULL && strcmp(valgrind, "1") == 0) {
    full = 16;
    stride = 16;
  }
  snprintf(data_dir, sizeof(data_dir), "%s/an-alloc-fail-XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if (mkdtemp(data_dir) == NULL)
    return -1;
  an_config_t *c = an_config_defaults();
  if (c == NULL)
    return -1;
  free(c->data_dir);
  c->data_dir = strdup(data_dir);
  c->listen_port = port = free_port();
  c->auto_register_sources = 1;
  d.config = c;
  an_api_health_start();
  if (evthread_use_pthreads() != 0 || (d.base = event_base_new()) == NULL ||
      (d.metrics = an_metrics_create()) == NULL ||
      an_store_open(&d, &d.store, err, sizeof(err)) != 0 ||
      an_engine_open(&d, &d.engine, err, sizeof(err)) != 0 ||
      an_store_run_now(d.store, sync_channels, &d) != 0 ||
      an_store_start(d.store) != 0 ||
      an_server_start(&d, err, sizeof(err)) != 0) {
    fprintf(stderr, "cannot start: %s\n", err);
    return -1;
  }
  return 0;
}

/* Shutdown in anomalyd.c's order. */
static int stop(void **state) {
  an_server_free(d.server);
  an_store_stop(d.store);
  an_engine_close(d.engine);
  an_store_close(d.store);
  an_metrics_destroy(d.metrics);
  event_base_free(d.base);
  an_config_free((an_config_t *)d.config);
  libevent_global_shutdown();
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", data_dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Ends the loop once the answer is complete (or the server closed). */
static void readable(evutil_socket_t fd, short what, void *arg) {
  answer_t *a = arg;
  if (what & EV_TIMEOUT) {
    a->timed_out = 1;
    event_base_loopbreak(d.base);
    return;
  }
  ssize_t n = recv(fd, a->text + a->len, sizeof(a->text) - 1 - a->len, 0);
  if (n > 0)
    a->len += (size_t)n;
  a->text[a->len] = '\0';
  const char *end = strstr(a->text, "\r\n\r\n");
  const char *cl = strstr(a->text, "Content-Length: ");
  if (n <= 0 || (end != NULL && cl != NULL && cl < end &&
                 a->len >= (size_t)(end + 4 - a->text) + atol(cl + 16)))
    event_base_loopbreak(d.base);
}

/* Sends a request on a new connection and runs the loop until it is
 * answered, with the nth allocation from its first byte failing (n 0:
 * none). Returns the number of allocations that failed. */
static long send_request(const char *method, const char *path, const char *body,
                         long n) {
  static char req[1 << 16];
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int len = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Connection: close\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, strlen(body), body);
  assert_true(len > 0 && len < (int)sizeof(req));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(send(fd, req, (size_t)len, 0), len);
  memset(&ans, 0, offsetof(answer_t, text));
  ans.text[0] = '\0';
  struct event ev;
  struct timeval limit = {5, 0};
  event_assign(&ev, d.base, fd, EV_READ | EV_PERSIST, readable, &ans);
  assert_int_equal(event_add(&ev, &limit), 0);
  if (n > 0)
    an_faultmem_arm(n, every_after);
  event_base_dispatch(d.base);
  long failed = an_faultmem_disarm();
  event_del(&ev);
  close(fd);
  if (ans.timed_out)
    fail_msg("%s %s with allocation %ld failing: no answer in 5 s", method,
             path, n);
  if (strncmp(ans.text, "HTTP/1.1 ", 9) == 0)
    ans.status = atoi(ans.text + 9);
  const char *end = strstr(ans.text, "\r\n\r\n");
  ans.body = end != NULL ? end + 4 : "";
  return failed;
}

/* The answer's body, parsed (the caller frees it). */
static yajl_val answer_json(void) {
  char err[128];
  yajl_val v = yajl_tree_parse(ans.body, err, sizeof(err));
  if (v == NULL)
    fail_msg("%d answer is not JSON (%s): %s", ans.status, err, ans.text);
  return v;
}

static const char *str_at(yajl_val v, const char *a, const char *b,
                          const char *c) {
  const char *path[] = {a, b, c, NULL};
  yajl_val s = yajl_tree_get(v, path, yajl_t_string);
  return s != NULL ? YAJL_GET_STRING(s) : NULL;
}

/* Sends a request that must succeed with status ok; returns its JSON. */
static yajl_val must(const char *method, const char *path, const char *body,
                     int ok) {
  send_request(method, path, body, 0);
  if (ans.status != ok)
    fail_msg("%s %s: %d, not %d: %s", method, path, ans.status, ok, ans.text);
  return answer_json();
}

/* A step of the test: make() writes the request of round i (fresh ids,
 * doing unfaulted set-up first when it needs some); kept() checks, after
 * an answer ok, that what it acknowledged is there. */
typedef struct step {
  const char *name;
  void (*make)(int i, const char **method, char *path, char *body);
  int ok;
  void (*kept)(int i, yajl_val answer);
} step_t;

/* The loop: fail the 1st, 2nd, ... allocation until the request no
 * longer reaches the fault. Returns how many rounds were faulted. */
static int fail_each(const step_t *s) {
  static char path[256], body[1 << 15];
  char saved[1 << 15];
  int rounds = 0, unanswered = 0;
  for (long n = 1;; n += full < 0 || n < full ? 1 : stride) {
    const char *method;
    s->make((int)n, &method, path, body);
    long failed = send_request(method, path, body, n);
    snprintf(faulted, sizeof(faulted), "%s", ans.text);
    /* when libevent alone failed (accepting, reading, parsing the head),
     * it closes the connection or answers its own 400 page */
    int libevent_own = an_faultmem_libevent_alone();
    if (ans.status == 0 && !libevent_own && !every_after)
      fail_msg("%s, allocation %ld failing: closed without an answer", s->name,
               n);
    yajl_val v = (libevent_own || ans.status == 0) && ans.status != s->ok
                     ? NULL
                     : answer_json();
    if (v == NULL) {
      unanswered++;
    } else if (ans.status == s->ok) {
      s->kept((int)n, v);
    } else if (ans.status == 500 || ans.status == 503) {
      const char *code = str_at(v, "error", "code", NULL);
      const char *want = ans.status == 500 ? "INTERNAL" : "UNAVAILABLE";
      if (code == NULL || strcmp(code, want) != 0)
        fail_msg("%s, allocation %ld failing: %d without %s: %s", s->name, n,
                 ans.status, want, ans.text);
    } else {
      fail_msg("%s, allocation %ld failing: %d: %s", s->name, n, ans.status,
               ans.text);
    }
    yajl_tree_free(v);
    if (failed == 0)
      break;
    rounds++;
    if (ans.status != s->ok) { /* the daemon serves on: the retry works */
      snprintf(saved, sizeof(saved), "%s", body);
      v = must(method, path, saved, s->ok);
      s->kept((int)n, v);
      yajl_tree_free(v);
    }
  }
  print_message("%s: %d rounds with an allocation failing, %d of them "
                "unanswered or answered by libevent\n",
                s->name, rounds, unanswered);
  return rounds;
}

/* POST /v1/data, one point, and its resend: the same answer again. */
static void data_one(int i, const char **method, char *path, char *body) {
  *method = "POST";
  strcpy(path, "/v1/data");
  sprintf(body,
          "{\"sourceId\":\"%s\",\"values\":{\"cpu\":%d,\"mem\":%d},"
          "\"timestamp\":%d}",
          every_after ? "all" : "one", 10 + i % 5, 50 + i % 3, 1700000000 + i);
}

static void data_one_kept(int i, yajl_val v) {
  char path[16], body[256];
  const char *method;
  const char *id = str_at(v, "dataPointId", NULL, NULL);
  assert_non_null(id);
  char *first = strdup(id);
  data_one(i, &method, path, body);
  yajl_val again = must(method, path, body, 202);
  assert_string_equal(str_at(again, "dataPointId", NULL, NULL), first);
  yajl_tree_free(again);
  free(first);
}

static void test_data_one(void **state) {
  yajl_tree_free(must("GET", "/v1/health", "", 200));
  step_t s = {"POST /v1/data, one point", data_one, 202, data_one_kept};
  assert_true(fail_each(&s) > 0);
}

/* POST /v1/data, a batch of three points, each the last of its series
 * (the one a resend is answered for). A point may fail alone with its
 * own INTERNAL error, the others stored, as a batch answers. */
static void data_batch(int i, const char **method, char *path, char *body) {
  *method = "POST";
  strcpy(path, "/v1/data");
  sprintf(body,
          "{\"points\":[{\"sourceId\":\"b1\",\"values\":{\"cpu\":%d},"
          "\"timestamp\":%d},{\"sourceId\":\"b2\",\"values\":{\"cpu\":%d,"
          "\"disk\":7.5},\"timestamp\":%d},{\"sourceId\":\"b1\",\"values\":"
          "{\"load\":%d},\"timestamp\":%d}]}",
          20 + i % 4, 1700000000 + 2 * i, 30 + i % 6, 1700000000 + i,
          21 + i % 4, 1700000001 + 2 * i);
}

static void data_batch_kept(int i, yajl_val v) {
  char path[16], body[1024];
  const char *method;
  const char *results[] = {"results", NULL};
  yajl_val r = yajl_tree_get(v, results, yajl_t_array);
  assert_non_null(r);
  assert_int_equal(YAJL_GET_ARRAY(r)->len, 3);
  data_batch(i, &method, path, body);
  yajl_val again = must(method, path, body, 202);
  yajl_val r2 = yajl_tree_get(again, results, yajl_t_array);
  for (size_t k = 0; k < 3; k++) {
    yajl_val first = YAJL_GET_ARRAY(r)->values[k];
    const char *id = str_at(first, "dataPointId", NULL, NULL);
    const char *again_id =
        str_at(YAJL_GET_ARRAY(r2)->values[k], "dataPointId", NULL, NULL);
    const char *code = str_at(first, "error", "code", NULL);
    if (id == NULL && (code == NULL || strcmp(code, "INTERNAL") != 0))
      fail_msg("result %zu neither stored nor INTERNAL: %s", k, faulted);
    /* a point refused for want of memory is taken when sent again */
    if (again_id == NULL || (id != NULL && strcmp(again_id, id) != 0))
      fail_msg("result %zu sent again: %s after %s", k, ans.text, faulted);
  }
  yajl_tree_free(again);
}

static void test_data_batch(void **state) {
  step_t s = {"POST /v1/data, a batch", data_batch, 202, data_batch_kept};
  assert_true(fail_each(&s) > 0);
}

/* Anomaly ids: a fresh one for each use. */
static void anomaly_id(char *out, const char *kind, int i) {
  static int serial;
  sprintf(out, "%08x-0000-4000-8000-%012d", (unsigned)kind[0], ++serial);
  (void)i;
}

/* One anomaly as the plugin sends it. */
static int anomaly_item(char *out, const char *id, const char *source,
                        const char *metric, double score) {
  return sprintf(out,
                 "{\"id\":\"%s\",\"sourceId\":\"%s\",\"metric\":\"%s\","
                 "\"value\":97.5,\"expected\":12.5,\"score\":%g,"
                 "\"severity\":\"high\",\"detectedAt\":"
                 "\"2024-01-20T10:00:00Z\",\"explanation\":\"%s 97.5 is far "
                 "above its normal of 12.5\",\"kind\":\"spike\"}",
                 id, source, metric, score, metric);
}

static char batch_ids[2][40];

/* POST /v1/anomalies, a batch of two: both GET-able once answered. */
static void anomalies(int i, const char **method, char *path, char *body) {
  *method = "POST";
  strcpy(path, "/v1/anomalies");
  anomaly_id(batch_ids[0], "a", i);
  anomaly_id(batch_ids[1], "a", i);
  char *p = body + sprintf(body, "{\"anomalies\":[");
  p += anomaly_item(p, batch_ids[0], "web-1", "memory/percent-used", 0.8);
  *p++ = ',';
  p += anomaly_item(p, batch_ids[1], "web-2", "df-root/percent_bytes-used",
                    0.75);
  strcpy(p, "]}");
}

static void anomalies_kept(int i, yajl_val v) {
  char path[128];
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof(path), "/v1/anomalies/%s", batch_ids[k]);
    send_request("GET", path, "", 0);
    if (ans.status != 200)
      fail_msg("anomaly %d of %s lost: %s", k, faulted, ans.text);
    yajl_val a = answer_json();
    assert_string_equal(str_at(a, "id", NULL, NULL), batch_ids[k]);
    yajl_tree_free(a);
  }
}

static void test_anomalies(void **state) {
  step_t s = {"POST /v1/anomalies", anomalies, 200, anomalies_kept};
  assert_true(fail_each(&s) > 0);
}

/* Stores one anomaly, unfaulted. */
static void store_anomaly(const char *id, const char *source,
                          const char *metric, double score) {
  char body[1024];
  int n = sprintf(body, "{\"anomalies\":[");
  n += anomaly_item(body + n, id, source, metric, score);
  strcpy(body + n, "]}");
  yajl_tree_free(must("POST", "/v1/anomalies", body, 200));
}

static char feedback_id[40];

/* POST /v1/anomalies/{id}/feedback on a fresh anomaly. */
static void feedback(int i, const char **method, char *path, char *body) {
  anomaly_id(feedback_id, "f", i);
  store_anomaly(feedback_id, "fb", "load/load", 0.8);
  *method = "POST";
  sprintf(path, "/v1/anomalies/%s/feedback", feedback_id);
  strcpy(body, "{\"feedback_type\":\"false_positive\",\"reason\":\"deploy\"}");
}

static void feedback_kept(int i, yajl_val v) {
  char path[64];
  snprintf(path, sizeof(path), "/v1/anomalies/%s", feedback_id);
  yajl_val a = must("GET", path, "", 200);
  const char *type = str_at(a, "feedback", "type", NULL);
  if (type == NULL)
    fail_msg("feedback lost: %s after %s", ans.text, faulted);
  assert_string_equal(type, "false_positive");
  yajl_tree_free(a);
}

static void test_feedback(void **state) {
  step_t s = {"POST /v1/anomalies/{id}/feedback", feedback, 200, feedback_kept};
  assert_true(fail_each(&s) > 0);
}

/* The alert lifecycle: a rule on "cpu" sending to a webhook (never
 * delivered here), then for each round a series of its own. */
static char alert_id[40], fire_source[24];

static void alert_of(const char *source, char *out) {
  char path[128];
  snprintf(path, sizeof(path), "/v1/alerts?sourceId=%s", source);
  yajl_val l = must("GET", path, "", 200);
  const char *alerts[] = {"alerts", NULL};
  yajl_val a = yajl_tree_get(l, alerts, yajl_t_array);
  assert_non_null(a);
  assert_int_equal(YAJL_GET_ARRAY(a)->len, 1);
  strcpy(out, str_at(YAJL_GET_ARRAY(a)->values[0], "id", NULL, NULL));
  yajl_tree_free(l);
}

static void alert_status_is(const char *id, const char *status) {
  char path[64];
  snprintf(path, sizeof(path), "/v1/alerts/%s", id);
  yajl_val a = must("GET", path, "", 200);
  assert_string_equal(str_at(a, "status", NULL, NULL), status);
  yajl_tree_free(a);
}

/* An anomaly that fires the rule: the alert is there once answered. */
static void fire(int i, const char **method, char *path, char *body) {
  char id[40];
  anomaly_id(id, "c", i);
  static int series;
  sprintf(fire_source, "fire-%d", ++series); /* a series of its own */
  *method = "POST";
  strcpy(path, "/v1/anomalies");
  int n = sprintf(body, "{\"anomalies\":[");
  n += anomaly_item(body + n, id, fire_source, "cpu-0/cpu-user", 0.95);
  strcpy(body + n, "]}");
}

static void fire_kept(int i, yajl_val v) {
  alert_of(fire_source, alert_id);
  alert_status_is(alert_id, "firing");
}

static void acknowledge(int i, const char **method, char *path, char *body) {
  char source[24];
  fire(i, method, path, body);
  yajl_tree_free(must(*method, path, body, 200));
  snprintf(source, sizeof(source), "%s", fire_source);
  alert_of(source, alert_id);
  *method = "PATCH";
  sprintf(path, "/v1/alerts/%s/acknowledge", alert_id);
  strcpy(body, "{\"notes\":\"looking\",\"isFalsePositive\":true}");
}

static void acknowledge_kept(int i, yajl_val v) {
  alert_status_is(alert_id, "acknowledged");
}

static void resolve(int i, const char **method, char *path, char *body) {
  acknowledge(i, method, path, body);
  yajl_tree_free(must(*method, path, body, 200));
  sprintf(path, "/v1/alerts/%s/resolve", alert_id);
  strcpy(body, "{\"notes\":\"fixed\"}");
}

static void resolve_kept(int i, yajl_val v) {
  alert_status_is(alert_id, "resolved");
}

static void test_alert_lifecycle(void **state) {
  yajl_tree_free(must("POST", "/v1/channels",
                      "{\"name\":\"hook\",\"type\":\"webhook\","
                      "\"url\":\"http://127.0.0.1:9/hook\"}",
                      201));
  yajl_tree_free(must("POST", "/v1/alert-rules",
                      "{\"name\":\"cpu\",\"severity\":\"critical\","
                      "\"conditions\":{\"metric\":\"cpu\",\"threshold\":0.9},"
                      "\"channels\":[\"hook\"]}",
                      201));
  step_t steps[] = {
      {"an anomaly firing an alert", fire, 200, fire_kept},
      {"PATCH /v1/alerts/{id}/acknowledge", acknowledge, 200, acknowledge_kept},
      {"PATCH /v1/alerts/{id}/resolve", resolve, 200, resolve_kept},
  };
  for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
    assert_true(fail_each(&steps[k]) > 0);
}

/* Every allocation from the nth on failing, over the three requests that
 * store: the daemon neither crashes, leaks nor hangs, and serves again. */
static void test_every_after(void **state) {
  step_t steps[] = {
      {"POST /v1/data, every allocation after", data_one, 202, data_one_kept},
      {"POST /v1/anomalies, every allocation after", anomalies, 200,
       anomalies_kept},
      {"an anomaly firing an alert, every allocation after", fire, 200,
       fire_kept},
  };
  every_after = 1;
  for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
    assert_true(fail_each(&steps[k]) > 0);
  every_after = 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_data_one),
      cmocka_unit_test(test_data_batch),
      cmocka_unit_test(test_anomalies),
      cmocka_unit_test(test_feedback),
      cmocka_unit_test(test_alert_lifecycle),
      cmocka_unit_test(test_every_after),
  };
  return cmocka_run_group_tests(tests, start, stop);
}
