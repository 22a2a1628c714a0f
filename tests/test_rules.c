/* Alert rules: reading one from a request body (every error names its
 * field), and which anomalies fire it, with the patterns of match.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alerts/match.h"
#include "alerts/rules.h"
#include "json.h"

#include <errno.h>
#include <string.h>

static void test_patterns(void **unused) {
  assert_true(an_match_metric("cpu", "cpu"));
  assert_true(an_match_metric("cpu", "cpu-0/cpu-user"));
  assert_true(an_match_metric("cpu", "cpu/percent-idle"));
  assert_false(an_match_metric("cpu", "cpufreq-0/cpufreq"));
  assert_false(an_match_metric("cpu", "memory/memory-used"));
  assert_true(an_match_metric("cpu-*/cpu-user", "cpu-3/cpu-user"));
  assert_false(an_match_metric("cpu-*/cpu-user", "cpu-3/cpu-system"));
  assert_true(an_match_metric("*", "anything/at-all"));
  assert_true(an_match_metric(NULL, "x"));
  assert_true(an_match_metric("interface-eth?/if_octets/*",
                              "interface-eth0/if_octets/rx"));
  assert_true(an_match_source("web-*", "web-12"));
  assert_false(an_match_source("web-*", "db-1"));
  assert_true(an_match_source("web-1", "web-1"));
  assert_false(an_match_source("web-1", "web-12")); /* exact, no prefix */
  assert_true(an_match_source(NULL, "any"));
  assert_true(an_match_valid("cpu-[0-3]/*"));
  assert_false(an_match_valid("cpu-[0-3/*")); /* unbalanced */
  assert_false(an_match_valid("cpu\n"));
}

/* Parses json into r; returns an_rule_from_json's result and err. */
static int parse(const char *json, an_rule_t *r, char *err, size_t errlen) {
  char perr[200];
  yajl_val v = an_json_parse(json, strlen(json), perr, sizeof(perr));
  assert_non_null(v);
  int rc = an_rule_from_json(v, 300, r, err, errlen);
  yajl_tree_free(v);
  return rc;
}

static void test_seed_rule(void **unused) {
  an_rule_t r;
  char err[300];
  assert_int_equal(
      parse("{\"name\":\"Critical CPU Alert\",\"severity\":\"critical\","
            "\"conditions\":{\"metric\":\"cpu\",\"threshold\":0.9},"
            "\"channels\":[\"slack\",\"pagerduty\"],"
            "\"escalation\":{\"timeout\":300,\"escalateTo\":\"manager\"}}",
            &r, err, sizeof(err)),
      0);
  assert_string_equal(r.name, "Critical CPU Alert");
  assert_int_equal(r.severity, 4);
  assert_string_equal(r.metric, "cpu");
  assert_true(r.threshold == 0.9);
  assert_null(r.source);
  assert_int_equal(r.min_hits, 1);
  assert_true(r.resolve_after == 300); /* the default given */
  assert_int_equal(r.nchannels, 2);
  assert_string_equal(r.channels[1], "pagerduty");
  assert_true(r.escalation_timeout == 300);
  assert_string_equal(r.escalate_to, "manager");
  assert_true(r.enabled);

  assert_true(an_rule_matches(&r, "web-1", "cpu-0/cpu-user", 0.95));
  assert_true(an_rule_matches(&r, "web-1", "cpu-0/cpu-user", 0.9));
  assert_false(an_rule_matches(&r, "web-1", "cpu-0/cpu-user", 0.89));
  assert_false(an_rule_matches(&r, "web-1", "memory/memory-used", 0.99));
  r.enabled = 0;
  assert_false(an_rule_matches(&r, "web-1", "cpu-0/cpu-user", 0.99));
  an_rule_clear(&r);

  assert_int_equal(
      parse("{\"name\":\"web cpu\",\"severity\":\"low\",\"conditions\":"
            "{\"metric\":\"cpu\",\"threshold\":0.5,\"sourceId\":\"web-*\","
            "\"minHits\":3,\"window\":120},\"resolveAfter\":0}",
            &r, err, sizeof(err)),
      0);
  assert_true(an_rule_matches(&r, "web-2", "cpu", 0.6));
  assert_false(an_rule_matches(&r, "db-2", "cpu", 0.6));
  assert_int_equal(r.min_hits, 3);
  assert_true(r.window == 120);
  assert_true(r.resolve_after == 0);
  assert_int_equal(r.nchannels, 0);
  assert_null(r.escalate_to);
  an_rule_clear(&r);
}

/* Each bad body is refused with a message naming the field. */
static void test_errors_name_the_field(void **unused) {
  static const struct {
    const char *json, *field;
  } cases[] = {
      {"[]", "object"},
      {"{\"severity\":\"low\",\"conditions\":{\"metric\":\"a\","
       "\"threshold\":0.5}}",
       "name"},
      {"{\"name\":\"r\",\"severity\":\"urgent\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":0.5}}",
       "severity"},
      {"{\"name\":\"r\",\"severity\":\"low\"}", "conditions"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"threshold\":0.5}}",
       "conditions.metric"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":-0.1}}",
       "conditions.threshold"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":1.01}}",
       "conditions.threshold"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":0.5,\"minHits\":1.5}}",
       "conditions.minHits"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":0.5,\"sourceId\":7}}",
       "conditions.sourceId"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":0.5},\"channels\":\"slack\"}",
       "channels"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":0.5},\"channels\":[\"a\",\"a\"]}",
       "channels[1]"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":0.5},\"escalation\":"
       "{\"timeout\":-1,\"escalateTo\":\"x\"}}",
       "escalation.timeout"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":0.5},\"escalation\":"
       "{\"timeout\":60}}",
       "escalation.escalateTo"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":0.5},\"resolveAfter\":-3}",
       "resolveAfter"},
      {"{\"name\":\"r\",\"severity\":\"low\",\"conditions\":"
       "{\"metric\":\"a\",\"threshold\":0.5},\"enabled\":\"yes\"}",
       "enabled"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    an_rule_t r;
    char err[300] = "";
    assert_int_equal(parse(cases[i].json, &r, err, sizeof(err)), EINVAL);
    if (strstr(err, cases[i].field) == NULL)
      fail_msg("case %zu: '%s' does not name %s", i, err, cases[i].field);
    assert_null(r.name); /* cleared: nothing to free */
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_patterns),
      cmocka_unit_test(test_seed_rule),
      cmocka_unit_test(test_errors_name_the_field),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
