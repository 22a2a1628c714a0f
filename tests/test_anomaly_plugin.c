/* The collectd plugin (anomaly.c) driven through the callbacks it
 * registers, with collectd mocked (collectd_mock.c): its config, scoring,
 * rates, notifications, score values, Select and state file, and the
 * seasonal model it pulls. Values carry fixed times; the forwarder's URL
 * is a closed loopback port, so what it is handed ends in the spool, but
 * for the model's tests, where it is a stand-in for anomalyd (a thread
 * answering HTTP on loopback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "collectd_mock.h"
#include "models/model.h"
#include "testutil.h"
#include <collectd/core/utils/common/common.h>
#include <collectd/core/utils/metadata/meta_data.h>

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void module_register(void);

static data_source_t gauge_ds[] = {{"value", DS_TYPE_GAUGE, NAN, NAN}};
static data_set_t gauge = {"gauge", 1, gauge_ds};
/* types.db's derive has min 0; this one has none, so a reset is a
 * negative rate */
static data_source_t derive_ds[] = {{"value", DS_TYPE_DERIVE, NAN, NAN}};
static data_set_t derive = {"derive", 1, derive_ds};
static data_source_t counter_ds[] = {{"value", DS_TYPE_COUNTER, 0, NAN}};
static data_set_t counter = {"counter", 1, counter_ds};
static data_source_t score_ds[] = {{"value", DS_TYPE_GAUGE, 0, 1}};
static data_set_t score_type = {"anomaly_score", 1, score_ds};

#define T0 1700000000.0 /* the first value's time; a value every 10 s */

static char dir[64], state[128], url[64];

static int group_setup(void **unused) {
  module_register();
  mock_register_data_set(&gauge);
  mock_register_data_set(&derive);
  mock_register_data_set(&counter);
  mock_register_data_set(&score_type);
  return test_tmpdir_create(dir, "test_anomaly_plugin");
}

static int group_teardown(void **unused) {
  mock_reset();
  return test_tmpdir_remove(dir);
}

/* Every test gets its own state file (and so its own spool). */
static int setup(void **unused) {
  static int n;
  mock_reset();
  snprintf(state, sizeof(state), "%s/state%d", dir, n++);
  int port = test_free_port();
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
  return port > 0 ? 0 : -1;
}

static void stub_stop(void);

static int teardown(void **unused) {
  mock_shutdown();
  stub_stop();
  mock_reset();
  return 0;
}

static void opt_string(oconfig_item_t *ci, const char *key, const char *v) {
  mock_ci_string(mock_ci_add(ci, key), v);
}

static void opt_number(oconfig_item_t *ci, const char *key, double v) {
  mock_ci_number(mock_ci_add(ci, key), v);
}

static void opt_boolean(oconfig_item_t *ci, const char *key, bool v) {
  mock_ci_boolean(mock_ci_add(ci, key), v);
}

/* The block every test starts from: every option the plugin reads is set,
 * since its settings outlive a shutdown. */
static oconfig_item_t *block(bool dispatch_scores) {
  oconfig_item_t *ci = mock_ci_create("Plugin");
  mock_ci_string(ci, "anomaly");
  opt_string(ci, "URL", url);
  opt_string(ci, "Detector", "default");
  opt_number(ci, "Threshold", 0.7);
  opt_number(ci, "WarmUp", 30);
  opt_number(ci, "TuningInterval", 0);
  opt_number(ci, "ModelInterval", 0);
  opt_boolean(ci, "DispatchScores", dispatch_scores);
  opt_boolean(ci, "Notify", true);
  opt_string(ci, "StateFile", state);
  return ci;
}

static void start(oconfig_item_t *ci) {
  assert_int_equal(mock_config(ci), 0);
  mock_ci_free(ci);
  assert_int_equal(mock_init(), 0);
}

/* Dispatches one value of host-a/plugin/ds->type at time t. */
static int put(const data_set_t *ds, const char *plugin, double t, value_t v) {
  value_list_t vl = {.values = &v,
                     .values_len = 1,
                     .time = DOUBLE_TO_CDTIME_T(t),
                     .interval = DOUBLE_TO_CDTIME_T(10)};
  sstrncpy(vl.host, "host-a", sizeof(vl.host));
  sstrncpy(vl.plugin, plugin, sizeof(vl.plugin));
  sstrncpy(vl.type, ds->type, sizeof(vl.type));
  return mock_write(ds, &vl);
}

/* n gauge values around 50 from time index i0. */
static void put_normal(test_rng_t *rng, int i0, int n) {
  for (int i = i0; i < i0 + n; i++)
    assert_int_equal(put(&gauge, "load", T0 + 10 * i,
                         (value_t){.gauge = 50 + test_rng_normal(rng)}),
                     0);
}

/* The spool's whole text ("" when there is none); free() it. */
static char *spool_text(void) {
  char path[160];
  snprintf(path, sizeof(path), "%s.spool", state);
  char *buf = calloc(1, 1 << 16);
  assert_non_null(buf);
  FILE *f = fopen(path, "r");
  if (f != NULL) {
    fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
  }
  return buf;
}

static void test_config_valid(void **unused) {
  oconfig_item_t *ci = block(false);
  opt_string(ci, "ApiKey", "k");
  oconfig_item_t *sel = mock_ci_add(ci, "Select");
  opt_string(sel, "Plugin", "cpu");
  opt_string(sel, "TypeInstance", "/^(user|system)$/");
  start(ci);
  assert_false(mock_logged(LOG_ERR, ""));
}

static void test_config_unknown_key(void **unused) {
  oconfig_item_t *ci = block(false);
  opt_string(ci, "Colour", "blue");
  assert_int_not_equal(mock_config(ci), 0);
  mock_ci_free(ci);
  assert_true(mock_logged(LOG_ERR, "unknown option \"Colour\""));

  ci = block(false);
  opt_string(mock_ci_add(ci, "Select"), "Colour", "blue");
  assert_int_not_equal(mock_config(ci), 0);
  mock_ci_free(ci);
  assert_true(mock_logged(LOG_ERR, "unknown option Colour in <Select>"));
}

static void test_config_bad_threshold(void **unused) {
  oconfig_item_t *ci = block(false);
  opt_number(ci, "Threshold", 1.5);
  assert_int_not_equal(mock_config(ci), 0);
  mock_ci_free(ci);
  assert_true(mock_logged(LOG_ERR, "Threshold must be in (0, 1], not 1.5"));

  ci = block(false);
  opt_string(ci, "Threshold", "high");
  assert_int_not_equal(mock_config(ci), 0);
  mock_ci_free(ci);
  assert_true(mock_logged(LOG_ERR, "\"Threshold\""));
}

static void test_config_bad_interval(void **unused) {
  const char *keys[] = {"TuningInterval", "ModelInterval"};
  for (int i = 0; i < 2; i++) {
    char message[100];
    oconfig_item_t *ci = block(false);
    opt_number(ci, keys[i], -1);
    assert_int_not_equal(mock_config(ci), 0);
    mock_ci_free(ci);
    snprintf(message, sizeof(message),
             "%s must be 0 (never) or more seconds, not -1", keys[i]);
    assert_true(mock_logged(LOG_ERR, message));
  }
}

/* Normal values are scored quietly; a gross one after warm-up is a
 * notification with the anomaly's meta and a record for anomalyd. */
static void test_gauge_anomaly(void **unused) {
  test_rng_t rng = {2};
  start(block(false));
  put_normal(&rng, 0, 300);
  assert_int_equal(mock_notifications_num(), 0);

  assert_int_equal(put(&gauge, "load", T0 + 3000, (value_t){.gauge = 500}), 0);
  assert_int_equal(mock_notifications_num(), 1);
  const notification_t *n = mock_notification(0);
  assert_int_equal(n->severity, NOTIF_FAILURE);
  assert_string_equal(n->host, "host-a");
  assert_string_equal(n->plugin, "load");
  assert_string_equal(n->type, "gauge");
  assert_true(n->time == DOUBLE_TO_CDTIME_T(T0 + 3000));
  assert_non_null(strstr(n->message, "load/gauge rose"));
  const notification_meta_t *score = mock_notification_meta(n, "anomaly:score");
  const notification_meta_t *expected =
      mock_notification_meta(n, "anomaly:expected");
  const notification_meta_t *severity =
      mock_notification_meta(n, "anomaly:severity");
  assert_non_null(score);
  assert_non_null(expected);
  assert_non_null(severity);
  assert_true(score->nm_value.nm_double >= 0.85);
  assert_true(fabs(expected->nm_value.nm_double - 50) < 2);
  assert_true(strcmp(severity->nm_value.nm_string, "high") == 0 ||
              strcmp(severity->nm_value.nm_string, "critical") == 0);

  /* the forwarder cannot reach anomalyd: the record waits in the spool */
  mock_shutdown();
  char *text = spool_text();
  assert_non_null(strstr(text, "\"sourceId\":\"host-a\""));
  assert_non_null(strstr(text, "\"metric\":\"load/gauge\""));
  assert_non_null(strstr(text, "\"value\":500"));
  assert_non_null(strstr(text, "\"kind\":\"spike\""));
  free(text);
}

/* A series collectd reports missing is one "stopped reporting" anomaly. */
static void test_missing(void **unused) {
  start(block(false));
  value_list_t vl = {.time = DOUBLE_TO_CDTIME_T(T0)};
  sstrncpy(vl.host, "host-a", sizeof(vl.host));
  sstrncpy(vl.plugin, "load", sizeof(vl.plugin));
  sstrncpy(vl.type, "gauge", sizeof(vl.type));
  assert_int_equal(mock_missing(&vl), 0);
  assert_int_equal(mock_notifications_num(), 1);
  assert_string_equal(mock_notification(0)->message,
                      "load/gauge stopped reporting");
  mock_shutdown();
  char *text = spool_text();
  assert_non_null(strstr(text, "\"kind\":\"stopped\""));
  free(text);
}

/* DERIVE and COUNTER values are scored as rates: the first value has
 * none, a counter's wrap is a rate like any other, a DERIVE's reset (a
 * negative rate) is skipped, and an anomaly carries the rate. */
static void test_rates(void **unused) {
  test_rng_t rng = {5};
  start(block(true));
  int64_t d = 0;
  counter_t c = UINT32_MAX - 150000;
  for (int i = 0; i < 300; i++) {
    d += 1000 + (int64_t)(30 * test_rng_normal(&rng));
    c = (c + 1000) % 4294967296ull; /* a 32-bit counter */
    assert_int_equal(put(&derive, "disk", T0 + 10 * i, (value_t){.derive = d}),
                     0);
    assert_int_equal(put(&counter, "net", T0 + 10 * i, (value_t){.counter = c}),
                     0);
  }
  /* one score per value of each, but for the first two (no rate yet) */
  assert_int_equal(mock_values_num(), 2 * 300 - 2);
  assert_true(c < 150000); /* the counter wrapped on the way */
  assert_int_equal(mock_notifications_num(), 0);

  size_t scores = mock_values_num();
  assert_int_equal(put(&derive, "disk", T0 + 3000, (value_t){.derive = 0}), 0);
  assert_int_equal(mock_values_num(), scores); /* the reset is not scored */
  assert_int_equal(mock_notifications_num(), 0);

  /* 100 000 in 10 s after 1 000: a rate of 10 000 a second */
  assert_int_equal(put(&derive, "disk", T0 + 3010, (value_t){.derive = 100000}),
                   0);
  assert_int_equal(mock_values_num(), scores + 1);
  assert_int_equal(mock_notifications_num(), 1);
  mock_shutdown();
  char *text = spool_text();
  assert_non_null(strstr(text, "\"metric\":\"disk/derive\""));
  assert_non_null(strstr(text, "\"value\":10000"));
  free(text);
}

/* DispatchScores: one anomaly_score value per scored value, tagged, and
 * never scored itself when it comes back through the write chain. */
static void test_dispatch_scores(void **unused) {
  test_rng_t rng = {3};
  start(block(true));
  put_normal(&rng, 0, 10);
  assert_int_equal(mock_values_num(), 10);
  const value_list_t *v = mock_value(9);
  assert_string_equal(v->host, "host-a");
  assert_string_equal(v->plugin, "load");
  assert_string_equal(v->type, "anomaly_score");
  assert_string_equal(v->type_instance, "gauge");
  assert_int_equal(v->values_len, 1);
  assert_true(v->values[0].gauge >= 0 && v->values[0].gauge <= 1);
  assert_true(v->time == DOUBLE_TO_CDTIME_T(T0 + 90));
  bool tagged = false;
  assert_int_equal(meta_data_get_boolean(v->meta, "anomaly:score", &tagged), 0);
  assert_true(tagged);

  value_list_t again = *v;
  assert_int_equal(mock_write(&score_type, &again), 0);
  assert_int_equal(mock_values_num(), 10);
}

/* With a Select block only the series it matches are scored. */
static void test_select(void **unused) {
  oconfig_item_t *ci = block(true);
  opt_string(mock_ci_add(ci, "Select"), "Plugin", "cpu");
  start(ci);
  assert_int_equal(put(&gauge, "memory", T0, (value_t){.gauge = 1}), 0);
  assert_int_equal(mock_values_num(), 0);
  assert_int_equal(put(&gauge, "cpu", T0, (value_t){.gauge = 1}), 0);
  assert_int_equal(mock_values_num(), 1);
  assert_string_equal(mock_value(0)->plugin, "cpu");
}

/* The state written at shutdown is read at the next init: the series is
 * past its warm-up at once, so a gross value alarms straight away. */
static void test_state_file(void **unused) {
  test_rng_t rng = {4};
  start(block(false));
  put_normal(&rng, 0, 300);
  assert_int_equal(mock_shutdown(), 0);
  assert_int_equal(access(state, F_OK), 0);

  start(block(false));
  assert_true(mock_logged(LOG_INFO, "restored the state of 1 series"));
  assert_int_equal(mock_notifications_num(), 0);
  assert_int_equal(put(&gauge, "load", T0 + 3000, (value_t){.gauge = 500}), 0);
  assert_int_equal(mock_notifications_num(), 1);
}

/* ---- anomalyd's model pull, stood in for ---- */

/* Answers GET …/models/active/seasonal as the test sets it (an ETag sent
 * back in If-None-Match gets a 304), anything else 200 "{}"; one request
 * per connection. What the test sets and what the stub saw are under
 * lock. */
static struct {
  pthread_t thread;
  int fd; /* listening; -1 when stopped */
  atomic_int stop;
  pthread_mutex_t lock;
  int status;
  char etag[64], version[32];
  void *blob;
  size_t len;
  int pulls;              /* model requests seen */
  char if_none_match[64]; /* of the last, "" when none */
} stub = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

static void send_all(int c, const void *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(c, p, n, MSG_NOSIGNAL);
    if (k <= 0)
      return;
    p = (const char *)p + k;
    n -= (size_t)k;
  }
}

static void stub_answer(int c) {
  char req[8192], head[512];
  size_t n = 0;
  char *end = NULL;
  while (end == NULL && n < sizeof(req) - 1) {
    ssize_t k = recv(c, req + n, sizeof(req) - 1 - n, 0);
    if (k <= 0)
      return;
    n += (size_t)k;
    req[n] = '\0';
    end = strstr(req, "\r\n\r\n");
  }
  if (end == NULL)
    return;
  /* a POST's body is read and dropped */
  const char *cl = strstr(req, "\r\nContent-Length: ");
  long left = cl != NULL ? atol(cl + 18) - (long)(n - (end + 4 - req)) : 0;
  while (left > 0) {
    char sink[4096];
    ssize_t k = recv(c, sink, sizeof(sink), 0);
    if (k <= 0)
      return;
    left -= k;
  }
  if (strstr(req, "/models/active/seasonal") == NULL) {
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\nConnection: close\r\n"
                      "Content-Length: 2\r\n\r\n{}");
    send_all(c, head, (size_t)hl);
    return;
  }
  char inm[64] = "";
  const char *h = strstr(req, "\r\nIf-None-Match: ");
  if (h != NULL)
    sscanf(h + 17, "%63[^\r]", inm);
  pthread_mutex_lock(&stub.lock);
  stub.pulls++;
  snprintf(stub.if_none_match, sizeof(stub.if_none_match), "%s", inm);
  int status = stub.status;
  if (status == 200 && strcmp(inm, stub.etag) == 0)
    status = 304;
  const char *body = status == 200   ? stub.blob
                     : status == 401 ? "{\"error\":{\"code\":\"UNAUTHORIZED\"}}"
                                     : "";
  size_t len = status == 200 ? stub.len : strlen(body);
  int hl = snprintf(head, sizeof(head),
                    "HTTP/1.1 %d X\r\nConnection: close\r\nETag: %s\r\n"
                    "X-Model-Id: m1\r\nX-Model-Version: %s\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    status, stub.etag, stub.version, len);
  send_all(c, head, (size_t)hl);
  send_all(c, body, len);
  pthread_mutex_unlock(&stub.lock);
}

static void *stub_run(void *unused) {
  while (!atomic_load(&stub.stop)) {
    struct pollfd p = {.fd = stub.fd, .events = POLLIN};
    if (poll(&p, 1, 20) <= 0)
      continue;
    int c = accept(stub.fd, NULL, NULL);
    if (c < 0)
      continue;
    struct timeval tv = {2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    stub_answer(c);
    close(c);
  }
  return NULL;
}

/* Serves status (with blob, len bytes, owned by the stub from now on, for
 * a 200) under etag and version. */
static void stub_serve(int status, const char *etag, const char *version,
                       void *blob, size_t len) {
  pthread_mutex_lock(&stub.lock);
  free(stub.blob);
  stub.status = status;
  snprintf(stub.etag, sizeof(stub.etag), "%s", etag);
  snprintf(stub.version, sizeof(stub.version), "%s", version);
  stub.blob = blob;
  stub.len = len;
  pthread_mutex_unlock(&stub.lock);
}

/* Starts the stub (serving 204) and points url at it. */
static void stub_start(void) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  stub.fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(stub.fd >= 0);
  assert_int_equal(bind(stub.fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(stub.fd, (struct sockaddr *)&a, &len), 0);
  assert_int_equal(listen(stub.fd, 16), 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
  stub.pulls = 0;
  stub.if_none_match[0] = '\0';
  atomic_store(&stub.stop, 0);
  stub_serve(204, "", "", NULL, 0);
  assert_int_equal(pthread_create(&stub.thread, NULL, stub_run, NULL), 0);
}

static void stub_stop(void) {
  if (stub.fd < 0)
    return;
  atomic_store(&stub.stop, 1);
  pthread_join(stub.thread, NULL);
  close(stub.fd);
  stub.fd = -1;
  stub_serve(204, "", "", NULL, 0);
}

static int stub_pulls(void) {
  pthread_mutex_lock(&stub.lock);
  int n = stub.pulls;
  pthread_mutex_unlock(&stub.lock);
  return n;
}

/* Waits (up to 5 s) until the plugin has pulled n more times. */
static void wait_pulls(int n) {
  int until = stub_pulls() + n;
  for (int i = 0; i < 500 && stub_pulls() < until; i++)
    usleep(10000);
  assert_true(stub_pulls() >= until);
}

/* Waits (up to 5 s) for a log line at level containing needle. */
static void wait_logged(int level, const char *needle) {
  for (int i = 0; i < 500 && !mock_logged(level, needle); i++)
    usleep(10000);
  if (!mock_logged(level, needle))
    fail_msg("not logged: %s", needle);
}

/* 20 by night and 80 by day (06:00 to 18:00 UTC), a little noise: what
 * the model's series learned. Their history ends at NIGHT, 02:00 UTC. */
#define NIGHT (1700006400.0 + 2 * 3600)

/* A model whose series ("source", "metric" pairs, NULL-ended) each
 * learned the cycle every 10 s for a week up to NIGHT. */
static void *week_model(const char *const *names, size_t *len) {
  const an_detector_class_t *d = an_detector_find("default");
  an_model_t *m = an_model_new(d);
  void *learned = malloc(d->state_size), *blob;
  test_rng_t rng = {9};
  an_result_t r;
  assert_non_null(m);
  assert_non_null(learned);
  d->init(learned, NULL);
  size_t n = 0;
  for (double t = NIGHT - 7 * 86400.0 + 10; t <= NIGHT; t += 10, n++) {
    double hour = fmod(t, 86400) / 3600;
    double level = hour >= 6 && hour < 18 ? 80 : 20;
    d->update(learned, t, level + 2 * test_rng_normal(&rng), &r);
  }
  for (size_t i = 0; names[i] != NULL; i += 2)
    assert_int_equal(an_model_add(m, names[i], names[i + 1], NIGHT, n, learned),
                     0);
  assert_int_equal(an_model_encode(m, &blob, len), 0);
  an_model_free(m);
  free(learned);
  return blob;
}

/* A value of host-a/plugin/gauge. */
static void put_gauge(const char *plugin, double t, double x) {
  assert_int_equal(put(&gauge, plugin, t, (value_t){.gauge = x}), 0);
}

static oconfig_item_t *pulling_block(void) {
  oconfig_item_t *ci = block(false);
  opt_number(ci, "ModelInterval", 0.05);
  return ci;
}

/* The model is pulled and attached: to a series still warming up at
 * once, to a series of this host the plugin has no values of yet at its
 * first value, not to another host's. Both then score with what the
 * model learned from their first value on: 80 at 02:00 is far from the
 * 20 every night brought (a series without a model is still warming up
 * and says nothing). The model is not sent again while unchanged. */
static void test_model_pull(void **unused) {
  stub_start();
  start(pulling_block());
  wait_logged(LOG_INFO, "anomalyd has no active seasonal model");
  for (int i = 0; i < 5; i++)
    put_gauge("load", NIGHT - 50 + 10 * i, 20);

  const char *const names[] = {"host-a", "load/gauge", "host-a", "cpu/gauge",
                               "host-b", "load/gauge", NULL};
  size_t len;
  void *blob = week_model(names, &len);
  stub_serve(200, "\"m1-1\"", "v1.0.0", blob, len);
  wait_logged(LOG_INFO, "model v1.0.0 from anomalyd: 1 series attached (1 "
                        "pending, 0 older than live, 1 of hosts not seen "
                        "here)");

  put_gauge("fresh", NIGHT + 10, 80);
  assert_int_equal(mock_notifications_num(), 0);
  put_gauge("load", NIGHT + 10, 80);
  assert_int_equal(mock_notifications_num(), 1);
  put_gauge("cpu", NIGHT + 10, 80); /* its first value */
  assert_int_equal(mock_notifications_num(), 2);
  assert_string_equal(mock_notification(1)->plugin, "cpu");
  const notification_meta_t *expected =
      mock_notification_meta(mock_notification(1), "anomaly:expected");
  assert_true(fabs(expected->nm_value.nm_double - 20) < 2);
  wait_logged(LOG_INFO, "model v1.0.0: 1 more series attached at their "
                        "first value (0 pending)");

  wait_pulls(2);
  pthread_mutex_lock(&stub.lock);
  assert_string_equal(stub.if_none_match, "\"m1-1\"");
  pthread_mutex_unlock(&stub.lock);
  assert_int_equal(mock_logged_count(LOG_INFO, "from anomalyd"), 1);
}

/* A blob that is not a valid model is logged once, naming the problem,
 * and changes nothing: the series keeps what it learned. */
static void test_model_bad_blob(void **unused) {
  test_rng_t rng = {6};
  stub_start();
  char *garbage = strdup("not a model at all");
  stub_serve(200, "\"bad\"", "v9.0.0", garbage, strlen(garbage));
  start(pulling_block());
  put_normal(&rng, 0, 300);
  wait_logged(LOG_WARNING, "model v9.0.0 from anomalyd not used: the model "
                           "is damaged");
  wait_pulls(3);
  assert_int_equal(mock_logged_count(LOG_WARNING, "not used"), 1);

  const char *const names[] = {"host-a", "load/gauge", NULL};
  size_t len;
  void *blob = week_model(names, &len);
  stub_serve(200, "\"cut\"", "v10.0.0", blob, len - 7);
  wait_logged(LOG_WARNING, "model v10.0.0 from anomalyd not used: the model "
                           "is truncated; every series keeps its state");
  assert_false(mock_logged(LOG_INFO, "from anomalyd"));
  put_gauge("load", T0 + 3000, 500);
  assert_int_equal(mock_notifications_num(), 1);
  const notification_meta_t *expected =
      mock_notification_meta(mock_notification(0), "anomaly:expected");
  assert_true(fabs(expected->nm_value.nm_double - 50) < 2);
}

/* A pull that fails is logged when it starts failing and when it works
 * again, not at every interval. */
static void test_model_pull_failures(void **unused) {
  char line[160];
  stub_start();
  stub_serve(401, "", "", NULL, 0);
  start(pulling_block());
  snprintf(line, sizeof(line),
           "cannot pull %s/models/active/seasonal: HTTP 401", url);
  wait_logged(LOG_WARNING, line);
  assert_true(mock_logged(LOG_WARNING, "UNAUTHORIZED"));
  wait_pulls(3);
  assert_int_equal(mock_logged_count(LOG_WARNING, "cannot pull"), 1);

  stub_serve(204, "", "", NULL, 0);
  wait_logged(LOG_INFO, "/models/active/seasonal works again");
  wait_logged(LOG_INFO, "anomalyd has no active seasonal model");
  stub_serve(401, "", "", NULL, 0);
  wait_pulls(3);
  assert_int_equal(mock_logged_count(LOG_WARNING, line), 2);

  stub_stop(); /* anomalyd down */
  wait_logged(LOG_WARNING, "seasonal: Couldn't connect to server");
  usleep(300000);
  assert_int_equal(mock_logged_count(LOG_WARNING, "Couldn't connect"), 1);
}

/* A state attached from the model is an ordinary series state: the state
 * file keeps it, and after a restart the series scores with it at once;
 * the model pulled again then has nothing newer for it. */
static void test_model_state_survives_restart(void **unused) {
  const char *const names[] = {"host-a", "cpu/gauge", NULL};
  size_t len;
  stub_start();
  void *blob = week_model(names, &len);
  stub_serve(200, "\"m1-1\"", "v1.0.0", blob, len);
  start(pulling_block());
  wait_logged(LOG_INFO, "1 pending");
  put_gauge("cpu", NIGHT + 10, 21);
  wait_logged(LOG_INFO, "1 more series attached");
  assert_int_equal(mock_shutdown(), 0);
  mock_reset();

  start(pulling_block());
  assert_true(mock_logged(LOG_INFO, "restored the state of 1 series"));
  wait_logged(LOG_INFO, "model v1.0.0 from anomalyd: 0 series attached (0 "
                        "pending, 1 older than live)");
  put_gauge("cpu", NIGHT + 20, 80);
  assert_int_equal(mock_notifications_num(), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_config_valid, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_unknown_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_bad_threshold, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_config_bad_interval, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gauge_anomaly, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dispatch_scores, setup, teardown),
      cmocka_unit_test_setup_teardown(test_select, setup, teardown),
      cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_model_pull, setup, teardown),
      cmocka_unit_test_setup_teardown(test_model_bad_blob, setup, teardown),
      cmocka_unit_test_setup_teardown(test_model_pull_failures, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_model_state_survives_restart, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
