/* The collectd plugin (anomaly.c) driven through the callbacks it
 * registers, with collectd mocked (collectd_mock.c): its config, scoring,
 * rates, notifications, score values, Select and state file. Values carry
 * fixed times; the forwarder's URL is a closed loopback port, so what it
 * is handed ends in the spool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "collectd_mock.h"
#include "testutil.h"
#include <collectd/core/utils/common/common.h>
#include <collectd/core/utils/metadata/meta_data.h>

#include <math.h>
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

static int teardown(void **unused) {
  mock_shutdown();
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_config_valid, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_unknown_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_bad_threshold, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gauge_anomaly, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dispatch_scores, setup, teardown),
      cmocka_unit_test_setup_teardown(test_select, setup, teardown),
      cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
