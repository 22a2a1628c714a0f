/* The alert lifecycle (alerts.c) on a real database, at chosen times:
 * pending, firing at minHits, acknowledged, resolved by hand and when
 * quiet, escalated, silenced; and the outbox rows each step queues. The
 * store is opened as anomalyd opens it, without its worker (each step runs
 * in its own transaction) nor a delivery thread (the outbox only fills). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alerts/alerts.h"
#include "conf.h"
#include "store/store.h"
#include "store/store_alerts.h"
#include "store/store_anomalies.h"
#include "store/store_outbox.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000.0
#define RULE "11111111-1111-4111-8111-111111111111"

typedef struct world {
  char dir[32];
  an_config_t config;
  an_daemon_t daemon;
  an_store_t *store;
} world_t;

/* The rule of a test (RULE: cpu of any source, score 0.8 or more, to the
 * channel "ops"). */
typedef struct rule_spec {
  int min_hits;
  double window, resolve_after, escalation_timeout;
  const char *escalate_to;
} rule_spec_t;

/* One call into the lifecycle, run by the store in its own transaction. */
typedef struct call {
  world_t *w;
  double now;
  const char *id; /* an alert's, or a source's */
  const rule_spec_t *rule;
  an_anomaly_t anomaly;
  int inserted;
  int false_positive;
  an_alert_t alert;
  an_alert_feedback_t feedback;
  char text[512];
} call_t;

static int run(world_t *w, an_store_fn fn, call_t *c) {
  c->w = w;
  return an_store_run_now(w->store, fn, c);
}

static int add_channels(sqlite3 *db, void *arg) {
  an_channel_t ops = {.name = "ops",
                      .type = "webhook",
                      .url = "http://127.0.0.1:9/ops",
                      .created_at = T0};
  an_channel_t boss = {.name = "boss",
                       .type = "webhook",
                       .url = "http://127.0.0.1:9/boss",
                       .created_at = T0};
  int rc = an_store_add_channel(db, &ops);
  return rc != 0 ? rc : an_store_add_channel(db, &boss);
}

static int set_up(void **state) {
  world_t *w = calloc(1, sizeof(*w));
  char err[256];
  snprintf(w->dir, sizeof(w->dir), "/tmp/test_alerts.XXXXXX");
  if (mkdtemp(w->dir) == NULL)
    return -1;
  w->config.data_dir = w->dir;
  w->config.public_url = "http://anomalyd.test:8427";
  w->daemon.config = &w->config;
  if (an_store_open(&w->daemon, &w->store, err, sizeof(err)) != 0) {
    print_error("%s\n", err);
    return -1;
  }
  w->daemon.store = w->store;
  call_t c = {0};
  if (run(w, add_channels, &c) != 0)
    return -1;
  *state = w;
  return 0;
}

static int tear_down(void **state) {
  world_t *w = *state;
  char cmd[64];
  an_store_close(w->store);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
  int rc = system(cmd) == 0 ? 0 : -1;
  free(w);
  return rc;
}

/* ---- what a test does ---- */

static int put_rule(sqlite3 *db, void *arg) {
  call_t *c = arg;
  const rule_spec_t *spec = c->rule;
  char *channels[] = {"ops"};
  an_rule_t r = {.name = "cpu high",
                 .severity = AN_SEVERITY_HIGH,
                 .metric = "cpu",
                 .threshold = 0.8,
                 .min_hits = spec->min_hits,
                 .window = spec->window,
                 .resolve_after = spec->resolve_after,
                 .channels = channels,
                 .nchannels = 1,
                 .escalation_timeout = spec->escalation_timeout,
                 .escalate_to = (char *)spec->escalate_to,
                 .enabled = 1,
                 .created_at = T0,
                 .updated_at = T0};
  snprintf(r.id, sizeof(r.id), "%s", RULE);
  return an_store_put_rule(db, &r, 0, c->text, sizeof(c->text));
}

static void add_rule(world_t *w, rule_spec_t spec) {
  call_t c = {.rule = &spec};
  assert_int_equal(run(w, put_rule, &c), 0);
}

static int record_fn(sqlite3 *db, void *arg) {
  call_t *c = arg;
  return an_alerts_record_anomaly(db, &c->w->daemon, &c->anomaly, c->now,
                                  &c->inserted);
}

/* An anomaly of source's cpu, detected and stored at now. */
static void record(world_t *w, const char *id, const char *source, double score,
                   double now) {
  call_t c = {.now = now};
  snprintf(c.anomaly.id, sizeof(c.anomaly.id), "%s", id);
  c.anomaly.source = (char *)source;
  c.anomaly.metric = "cpu";
  c.anomaly.value = 97;
  c.anomaly.expected = 20;
  c.anomaly.score = score;
  c.anomaly.severity = AN_SEVERITY_HIGH;
  c.anomaly.detected_at = c.anomaly.created_at = now;
  c.anomaly.p_value = c.anomaly.ncd = NAN;
  assert_int_equal(run(w, record_fn, &c), 0);
  assert_true(c.inserted);
}

static int check_fn(sqlite3 *db, void *arg) {
  call_t *c = arg;
  return an_alerts_check(db, &c->w->daemon, c->now);
}

static void check_at(world_t *w, double now) {
  call_t c = {.now = now};
  assert_int_equal(run(w, check_fn, &c), 0);
}

static int acknowledge_fn(sqlite3 *db, void *arg) {
  call_t *c = arg;
  return an_alerts_acknowledge(db, &c->w->daemon, c->id, "looking",
                               c->false_positive, "ops-key", c->now, &c->alert,
                               &c->feedback);
}

static int acknowledge(world_t *w, const char *id, double now) {
  call_t c = {.id = id, .now = now};
  int rc = run(w, acknowledge_fn, &c);
  an_alert_clear(&c.alert);
  an_alert_feedback_clear(&c.feedback);
  return rc;
}

static int resolve_fn(sqlite3 *db, void *arg) {
  call_t *c = arg;
  return an_alerts_resolve(db, &c->w->daemon, c->id, NULL, "ops-key", c->now,
                           &c->alert);
}

static int resolve(world_t *w, const char *id, double now) {
  call_t c = {.id = id, .now = now};
  int rc = run(w, resolve_fn, &c);
  an_alert_clear(&c.alert);
  return rc;
}

static int find_fn(sqlite3 *db, void *arg) {
  call_t *c = arg;
  return an_store_find_open_alert(db, RULE, c->id, "cpu", &c->alert);
}

/* The open alert of source's cpu into *out (cleared by the caller);
 * returns 0 or ENOENT. */
static int open_alert(world_t *w, const char *source, an_alert_t *out) {
  call_t c = {.id = source};
  int rc = run(w, find_fn, &c);
  *out = c.alert;
  return rc;
}

static int get_fn(sqlite3 *db, void *arg) {
  call_t *c = arg;
  return an_store_get_alert(db, c->id, &c->alert);
}

static an_alert_t get_alert(world_t *w, const char *id) {
  call_t c = {.id = id};
  assert_int_equal(run(w, get_fn, &c), 0);
  return c.alert;
}

/* The status of alert id: "pending", "firing", ... */
static const char *status(world_t *w, const char *id) {
  an_alert_t a = get_alert(w, id);
  const char *name = an_alert_status_name(a.status);
  an_alert_clear(&a);
  return name;
}

/* The id of the open alert of source's cpu, which must be there. */
static void open_id(world_t *w, const char *source, char id[AN_UUID_LEN + 1]) {
  an_alert_t a;
  assert_int_equal(open_alert(w, source, &a), 0);
  memcpy(id, a.id, AN_UUID_LEN + 1);
  an_alert_clear(&a);
}

static int outbox_fn(sqlite3 *db, void *arg) {
  call_t *c = arg;
  an_delivery_t *rows;
  size_t n, len = 0;
  int rc = an_store_alert_deliveries(db, c->id, &rows, &n);
  if (rc != 0)
    return rc;
  c->text[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    len += (size_t)snprintf(
        c->text + len, sizeof(c->text) - len, "%s%s>%s %s @%+.0f",
        i > 0 ? ", " : "", rows[i].event, rows[i].channel,
        an_delivery_state_name(rows[i].state), rows[i].created_at - T0);
    an_delivery_clear(&rows[i]);
  }
  free(rows);
  return 0;
}

/* The alert's notifications, oldest first: "event>channel state @t"
 * with t the seconds after T0 it was queued. */
static void assert_outbox(world_t *w, const char *id, const char *expected) {
  call_t c = {.id = id};
  assert_int_equal(run(w, outbox_fn, &c), 0);
  assert_string_equal(c.text, expected);
}

/* That alert id was resolved by by at t. */
static void assert_resolved(world_t *w, const char *id, const char *by,
                            double t) {
  an_alert_t a = get_alert(w, id);
  assert_string_equal(an_alert_status_name(a.status), "resolved");
  assert_string_equal(a.resolved_by, by);
  assert_true(a.resolved_at == t);
  an_alert_clear(&a);
}

/* Adds the rule of spec, records web-1's first anomaly (a1) at T0, and
 * gives the id of the alert it opened. */
static void first_alert(world_t *w, rule_spec_t spec,
                        char id[AN_UUID_LEN + 1]) {
  add_rule(w, spec);
  record(w, "a1", "web-1", 0.9, T0);
  open_id(w, "web-1", id);
}

/* ---- the tests ---- */

/* Pending until minHits anomalies came, then firing: one trigger per
 * channel, none for the anomalies after. */
static void test_fires_at_min_hits(void **state) {
  world_t *w = *state;
  char id[AN_UUID_LEN + 1];
  first_alert(w, (rule_spec_t){.min_hits = 3, .window = 600}, id);
  an_alert_t a = get_alert(w, id);
  assert_string_equal(an_alert_status_name(a.status), "pending");
  assert_int_equal(a.hits, 1);
  assert_true(a.created_at == T0);
  assert_true(isnan(a.fired_at));
  an_alert_clear(&a);
  assert_outbox(w, id, "");
  record(w, "a2", "web-1", 0.5, T0 + 5); /* under the threshold */
  record(w, "a3", "web-1", 0.85, T0 + 10);
  a = get_alert(w, id);
  assert_string_equal(an_alert_status_name(a.status), "pending");
  assert_int_equal(a.hits, 2);
  an_alert_clear(&a);
  /* acknowledging what has paged nobody is refused */
  assert_int_equal(acknowledge(w, id, T0 + 12), EBUSY);
  record(w, "a4", "web-1", 0.95, T0 + 20);
  a = get_alert(w, id);
  assert_string_equal(an_alert_status_name(a.status), "firing");
  assert_true(a.fired_at == T0 + 20);
  assert_int_equal(a.hits, 3);
  assert_true(a.max_score == 0.95);
  assert_string_equal(a.first_anomaly_id, "a1");
  assert_string_equal(a.last_anomaly_id, "a4");
  an_alert_clear(&a);
  assert_outbox(w, id, "trigger>ops pending @+20");
  record(w, "a5", "web-1", 0.9, T0 + 30); /* attaches, pages nobody */
  a = get_alert(w, id);
  assert_int_equal(a.hits, 4);
  assert_true(a.updated_at == T0 + 30);
  an_alert_clear(&a);
  assert_outbox(w, id, "trigger>ops pending @+20");
}

static int anomaly_fn(sqlite3 *db, void *arg) {
  call_t *c = arg;
  return an_store_get_anomaly(db, c->id, &c->anomaly);
}

/* A pending alert whose window passes is dropped; its anomalies stay. */
static void test_pending_expires(void **state) {
  world_t *w = *state;
  char id[AN_UUID_LEN + 1];
  an_alert_t a;
  add_rule(w, (rule_spec_t){.min_hits = 2, .window = 60});
  record(w, "a1", "web-1", 0.9, T0);
  check_at(w, T0 + 60); /* the window is still open */
  open_id(w, "web-1", id);
  check_at(w, T0 + 61);
  assert_int_equal(open_alert(w, "web-1", &a), ENOENT);
  call_t c = {.id = "a1"};
  assert_int_equal(run(w, anomaly_fn, &c), 0);
  an_anomaly_clear(&c.anomaly);
  /* the next anomaly starts counting again */
  record(w, "a2", "web-1", 0.9, T0 + 70);
  assert_int_equal(open_alert(w, "web-1", &a), 0);
  assert_string_not_equal(a.id, id);
  assert_int_equal(a.hits, 1);
  assert_string_equal(a.first_anomaly_id, "a2");
  an_alert_clear(&a);
}

/* Acknowledged, then resolved by hand: each step notifies the channels
 * the trigger went to, at the time it happened. */
static void test_acknowledge_and_resolve(void **state) {
  world_t *w = *state;
  char id[AN_UUID_LEN + 1], next[AN_UUID_LEN + 1];
  first_alert(w, (rule_spec_t){.min_hits = 1, .window = 600}, id);
  assert_string_equal(status(w, id), "firing");

  assert_int_equal(acknowledge(w, id, T0 + 30), 0);
  an_alert_t a = get_alert(w, id);
  assert_string_equal(an_alert_status_name(a.status), "acknowledged");
  assert_true(a.acknowledged_at == T0 + 30);
  assert_string_equal(a.acknowledged_by, "ops-key");
  assert_string_equal(a.notes, "looking");
  an_alert_clear(&a);
  assert_outbox(w, id, "trigger>ops pending @+0, acknowledge>ops pending @+30");
  /* again: nothing moves, nobody is told twice */
  assert_int_equal(acknowledge(w, id, T0 + 40), 0);
  a = get_alert(w, id);
  assert_true(a.acknowledged_at == T0 + 30);
  an_alert_clear(&a);
  assert_outbox(w, id, "trigger>ops pending @+0, acknowledge>ops pending @+30");

  assert_int_equal(resolve(w, id, T0 + 60), 0);
  assert_resolved(w, id, "ops-key", T0 + 60);
  assert_outbox(w, id,
                "trigger>ops pending @+0, acknowledge>ops pending @+30, "
                "resolve>ops pending @+60");
  /* a resolved alert stays so */
  assert_int_equal(acknowledge(w, id, T0 + 70), EALREADY);
  assert_int_equal(resolve(w, id, T0 + 80), 0);
  a = get_alert(w, id);
  assert_true(a.resolved_at == T0 + 60);
  an_alert_clear(&a);
  assert_outbox(w, id,
                "trigger>ops pending @+0, acknowledge>ops pending @+30, "
                "resolve>ops pending @+60");
  /* the next anomaly opens a new alert */
  record(w, "a2", "web-1", 0.9, T0 + 90);
  open_id(w, "web-1", next);
  assert_string_not_equal(next, id);
}

/* Acknowledged as a false positive: feedback on the anomaly that fired. */
static void test_acknowledge_false_positive(void **state) {
  world_t *w = *state;
  char id[AN_UUID_LEN + 1];
  first_alert(w, (rule_spec_t){.min_hits = 1, .window = 600}, id);
  call_t c = {.id = id, .now = T0 + 10, .false_positive = 1};
  assert_int_equal(run(w, acknowledge_fn, &c), 0);
  assert_true(c.alert.false_positive);
  assert_true(c.feedback.given);
  assert_string_equal(c.feedback.source, "web-1");
  assert_true(c.feedback.sensitivity < 1);
  an_alert_clear(&c.alert);
  an_alert_feedback_clear(&c.feedback);
}

/* Resolved once its series has been quiet for resolveAfter, measured from
 * its last anomaly. */
static void test_auto_resolve(void **state) {
  world_t *w = *state;
  char id[AN_UUID_LEN + 1];
  first_alert(
      w, (rule_spec_t){.min_hits = 1, .window = 600, .resolve_after = 300}, id);
  check_at(w, T0 + 200);
  record(w, "a2", "web-1", 0.9, T0 + 200);
  check_at(w, T0 + 300); /* quiet for 100 s only */
  check_at(w, T0 + 499);
  assert_string_equal(status(w, id), "firing");
  check_at(w, T0 + 500);
  assert_resolved(w, id, "auto", T0 + 500);
  assert_outbox(w, id, "trigger>ops pending @+0, resolve>ops pending @+500");
}

/* Unacknowledged past the rule's timeout: escalated once, and the
 * escalation's channel hears what follows. */
static void test_escalation(void **state) {
  world_t *w = *state;
  char a[AN_UUID_LEN + 1], b[AN_UUID_LEN + 1];
  add_rule(w, (rule_spec_t){.min_hits = 1,
                            .window = 600,
                            .escalation_timeout = 120,
                            .escalate_to = "boss"});
  record(w, "a1", "web-1", 0.9, T0);
  record(w, "b1", "web-2", 0.9, T0);
  open_id(w, "web-1", a);
  open_id(w, "web-2", b);
  assert_int_equal(acknowledge(w, b, T0 + 60), 0); /* in time */
  check_at(w, T0 + 119);
  an_alert_t x = get_alert(w, a);
  assert_true(isnan(x.escalated_at));
  an_alert_clear(&x);
  check_at(w, T0 + 120);
  x = get_alert(w, a);
  assert_true(x.escalated_at == T0 + 120);
  an_alert_clear(&x);
  check_at(w, T0 + 200); /* once */
  assert_outbox(w, a, "trigger>ops pending @+0, escalate>boss pending @+120");
  assert_outbox(w, b, "trigger>ops pending @+0, acknowledge>ops pending @+60");
  assert_int_equal(acknowledge(w, a, T0 + 300), 0);
  assert_outbox(w, a,
                "trigger>ops pending @+0, escalate>boss pending @+120, "
                "acknowledge>ops pending @+300, acknowledge>boss pending "
                "@+300");
}

static int silence_fn(sqlite3 *db, void *arg) {
  an_silence_t s = {.source = "web-1",
                    .starts_at = T0 - 10,
                    .ends_at = T0 + 1000,
                    .created_by = "ops-key",
                    .created_at = T0 - 10};
  snprintf(s.id, sizeof(s.id), "22222222-2222-4222-8222-222222222222");
  return an_store_add_silence(db, &s);
}

/* A silence holds the notifications back while it is in force; the alert
 * is recorded all the same. */
static void test_silence(void **state) {
  world_t *w = *state;
  char a[AN_UUID_LEN + 1], b[AN_UUID_LEN + 1], later[AN_UUID_LEN + 1];
  add_rule(w, (rule_spec_t){.min_hits = 1,
                            .window = 600,
                            .escalation_timeout = 120,
                            .escalate_to = "boss"});
  call_t c = {0};
  assert_int_equal(run(w, silence_fn, &c), 0);
  record(w, "a1", "web-1", 0.9, T0);
  record(w, "b1", "web-2", 0.9, T0); /* not matched */
  open_id(w, "web-1", a);
  open_id(w, "web-2", b);
  an_alert_t x = get_alert(w, a);
  assert_string_equal(an_alert_status_name(x.status), "firing");
  assert_true(x.silenced);
  an_alert_clear(&x);
  assert_outbox(w, a, "trigger>ops silenced @+0");
  assert_outbox(w, b, "trigger>ops pending @+0");
  check_at(w, T0 + 120);
  assert_outbox(w, a, "trigger>ops silenced @+0, escalate>boss silenced @+120");
  /* nobody was paged: nobody hears it resolved */
  assert_int_equal(resolve(w, a, T0 + 130), 0);
  assert_outbox(w, a, "trigger>ops silenced @+0, escalate>boss silenced @+120");
  /* once the silence has ended, the series pages again */
  record(w, "a2", "web-1", 0.9, T0 + 1000);
  open_id(w, "web-1", later);
  assert_outbox(w, later, "trigger>ops pending @+1000");
}

static int resolve_rule_fn(sqlite3 *db, void *arg) {
  call_t *c = arg;
  return an_alerts_resolve_rule(db, &c->w->daemon, RULE, c->now);
}

/* Deleting a rule resolves its open alerts where they paged. */
static void test_rule_deleted(void **state) {
  world_t *w = *state;
  char id[AN_UUID_LEN + 1];
  first_alert(w, (rule_spec_t){.min_hits = 1, .window = 600}, id);
  call_t c = {.now = T0 + 45};
  assert_int_equal(run(w, resolve_rule_fn, &c), 0);
  assert_resolved(w, id, "rule deleted", T0 + 45);
  assert_outbox(w, id, "trigger>ops pending @+0, resolve>ops pending @+45");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fires_at_min_hits, set_up,
                                      tear_down),
      cmocka_unit_test_setup_teardown(test_pending_expires, set_up, tear_down),
      cmocka_unit_test_setup_teardown(test_acknowledge_and_resolve, set_up,
                                      tear_down),
      cmocka_unit_test_setup_teardown(test_acknowledge_false_positive, set_up,
                                      tear_down),
      cmocka_unit_test_setup_teardown(test_auto_resolve, set_up, tear_down),
      cmocka_unit_test_setup_teardown(test_escalation, set_up, tear_down),
      cmocka_unit_test_setup_teardown(test_silence, set_up, tear_down),
      cmocka_unit_test_setup_teardown(test_rule_deleted, set_up, tear_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
