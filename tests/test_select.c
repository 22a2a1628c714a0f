/* <Select> rules: exact and /regex/ fields, any rule may match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "select.h"

#include <string.h>

static int match(an_select_t *s, const char *host, const char *plugin,
                 const char *pi, const char *type, const char *ti) {
  const char *f[AN_FIELDS] = {host, plugin, pi, type, ti};
  return an_select_match(s, f);
}

static void test_rules(void **unused) {
  char err[256];
  an_select_t *s = an_select_create();
  assert_true(match(s, "h", "cpu", "0", "cpu", "user")); /* no rule: all */
  assert_int_equal(an_select_add_rule(s), 0);
  assert_int_equal(
      an_select_set(s, an_select_field("Plugin"), "cpu", err, sizeof(err)), 0);
  assert_int_equal(an_select_set(s, an_select_field("typeinstance"),
                                 "/^(user|system)$/", err, sizeof(err)),
                   0);
  assert_int_equal(an_select_add_rule(s), 0);
  assert_int_equal(an_select_set(s, AN_FIELD_HOST, "/^db-/", err, sizeof(err)),
                   0);
  assert_true(match(s, "web-1", "cpu", "0", "cpu", "user"));
  assert_false(match(s, "web-1", "cpu", "0", "cpu", "idle"));
  assert_false(match(s, "web-1", "memory", "", "memory", "used"));
  assert_true(match(s, "db-3", "memory", "", "memory", "used"));
  assert_false(match(s, "web-1", "cpu", NULL, "cpu", NULL));
  an_select_free(s);
  an_select_free(NULL);
}

static void test_errors(void **unused) {
  char err[256] = "";
  an_select_t *s = an_select_create();
  assert_int_not_equal(an_select_set(s, AN_FIELD_HOST, "x", err, sizeof(err)),
                       0);
  an_select_add_rule(s);
  assert_int_not_equal(
      an_select_set(s, AN_FIELD_HOST, "/[unclosed/", err, sizeof(err)), 0);
  assert_non_null(strstr(err, "not a valid regular expression"));
  assert_int_equal(an_select_set(s, AN_FIELD_TYPE, "cpu", err, sizeof(err)), 0);
  assert_int_not_equal(an_select_set(s, AN_FIELD_TYPE, "cpu", err, sizeof(err)),
                       0);
  assert_non_null(strstr(err, "given twice"));
  assert_int_equal(an_select_field("Colour"), -1);
  an_select_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rules),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
