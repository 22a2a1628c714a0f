/* anomalyd.conf: good files read right, every error names file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static an_config_t *load(const char *text, char *err, size_t len) {
  strcpy(path, "/tmp/test_conf_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  an_config_t *c = an_config_load(path, err, len);
  unlink(path);
  return c;
}

static void test_defaults(void **unused) {
  an_config_t *c = an_config_defaults();
  assert_string_equal(c->listen_host, "127.0.0.1");
  assert_int_equal(c->listen_port, 8427);
  assert_int_equal(c->max_body_size, 1 << 20);
  assert_true(c->threshold == 0.7);
  assert_int_equal(c->nkeys, 0);
  assert_false(c->auto_register_sources);
  assert_string_equal(c->public_url, "http://127.0.0.1:8427");
  assert_true(c->resolve_after == 300);
  assert_true(c->notify_timeout == 10);
  assert_true(c->max_future_skew == 3600);
  assert_int_equal(c->max_metrics_per_point, 1000);
  assert_int_equal(c->max_series_per_source, 10000);
  assert_true(c->retention == 30 * 86400);
  assert_int_equal(c->train_workers, 1);
  assert_true(c->train_interval == 86400);
  assert_true(c->auto_activate);
  an_config_free(c);
  an_config_free(NULL);
}

static void test_full_file(void **unused) {
  char err[256] = "";
  an_config_t *c = load("# comment\n"
                        "Listen \"0.0.0.0\" 9000\n"
                        "DataDir \"/var/lib/x\"   # trailing comment\n"
                        "<ApiKey \"ops\">\n"
                        "  Secret \"s3cr3t-token\"\n"
                        "  Role \"admin\"\n"
                        "</ApiKey>\n"
                        "<Source \"server-01\">\n</Source>\n"
                        "AutoRegisterSources true\n"
                        "<Channel \"slack\">\n  Type \"slack\"\n"
                        "  URL \"https://hooks.example/x\"\n</Channel>\n"
                        "MaxBodySize 2048\nRateLimit 5\n"
                        "<Severity>\n Low 0.4\n Medium 0.6\n</Severity>\n"
                        "Threshold 0.65\n"
                        "AlertResolveAfter 60\nNotifyTimeout 5\n"
                        "NotifyGiveUpAfter 3600\n"
                        "MaxFutureSkew 60\nMaxMetricsPerPoint 10\n"
                        "MaxSeriesPerSource 20\nRetention 86400\n"
                        "TrainWorkers 3\nTrainInterval 3600\n"
                        "AutoActivate false\n",
                        err, sizeof(err));
  assert_non_null(c);
  assert_string_equal(c->listen_host, "0.0.0.0");
  assert_int_equal(c->listen_port, 9000);
  assert_string_equal(c->data_dir, "/var/lib/x");
  assert_int_equal(c->nkeys, 1);
  assert_string_equal(c->keys[0].name, "ops");
  assert_int_equal(c->keys[0].role, AN_ROLE_ADMIN);
  assert_int_equal(c->nsources, 1);
  assert_true(c->auto_register_sources);
  assert_int_equal(c->nchannels, 1);
  assert_int_equal(c->max_body_size, 2048);
  assert_true(c->rate_burst == 10);
  assert_true(c->bands.low == 0.4 && c->bands.medium == 0.6);
  assert_true(c->threshold == 0.65);
  /* links follow Listen unless PublicURL says otherwise */
  assert_string_equal(c->public_url, "http://0.0.0.0:9000");
  assert_true(c->resolve_after == 60);
  assert_true(c->notify_timeout == 5);
  assert_true(c->notify_give_up == 3600);
  assert_true(c->max_future_skew == 60);
  assert_int_equal(c->max_metrics_per_point, 10);
  assert_int_equal(c->max_series_per_source, 20);
  assert_true(c->retention == 86400);
  assert_int_equal(c->train_workers, 3);
  assert_true(c->train_interval == 3600);
  assert_false(c->auto_activate);
  an_config_free(c);
  c = load("TrainInterval 0\n", err, sizeof(err));
  assert_non_null(c);
  assert_true(c->train_interval == 0);
  an_config_free(c);
  c = load("Retention forever\n", err, sizeof(err));
  assert_non_null(c);
  assert_true(c->retention == 0);
  an_config_free(c);
  c = load("PublicURL \"https://anomalyd.example.com/\"\n", err, sizeof(err));
  assert_non_null(c);
  assert_string_equal(c->public_url, "https://anomalyd.example.com");
  an_config_free(c);
}

static void expect(const char *text, const char *want) {
  char err[256] = "";
  an_config_t *c = load(text, err, sizeof(err));
  if (c != NULL || strstr(err, want) == NULL) {
    an_config_free(c);
    fail_msg("for %s\nwanted '%s', got '%s'", text, want, err);
  }
}

static void test_errors(void **unused) {
  expect("Listen \"x\" 1\nColour \"blue\"\n", ":2: unknown option Colour");
  expect("Listen \"127.0.0.1\" 70000\n", ":1: Listen port must be");
  expect("DataDir /tmp\n", ":1: DataDir needs a string");
  expect("DataDir \"/tmp\n", ":1: unterminated string");
  expect("<ApiKey \"k\">\nSecret \"abcdefgh\"\n", "missing </ApiKey>");
  expect("<ApiKey \"k\">\nSecret \"abcdefgh\"\nRole \"root\"\n</ApiKey>\n",
         ":3: Role must be");
  expect("<ApiKey \"k\">\nRole \"admin\"\n</ApiKey>\n", ":1: ApiKey \"k\" has "
                                                        "no Secret");
  expect("<ApiKey \"k\">\nSecret \"short\"\nRole \"admin\"\n</ApiKey>\n",
         "shorter than 8");
  expect("<ApiKey \"a\">\nSecret \"abcdefgh\"\nRole \"admin\"\n</ApiKey>\n"
         "<ApiKey \"b\">\nSecret \"abcdefgh\"\nRole \"stream\"\n</ApiKey>\n",
         ":5: ApiKey \"b\" has the same Secret");
  expect("</Source>\n", ":1: </Source> without an opening block");
  expect("<Source \"a\">\n</ApiKey>\n", ":2: expected </Source>");
  expect("AutoRegisterSources yes\n", "must be true or false");
  expect("MaxBodySize 12.5\n", "MaxBodySize must be between");
  expect("MaxFutureSkew -1\n", ":1: MaxFutureSkew must be between");
  expect("Listen \"x\" 1\nRetention -5\n", ":2: Retention must be between");
  expect("Retention 30d\n", ":1: Retention: '30d' is not a number");
  expect("TrainWorkers 0\n", ":1: TrainWorkers must be between 1 and 4");
  expect("TrainWorkers 5\n", ":1: TrainWorkers must be between 1 and 4");
  expect("TrainWorkers 1.5\n", ":1: TrainWorkers must be a whole number");
  expect("TrainInterval 30\n", ":1: TrainInterval must be 0 (off) or at");
  expect("TrainInterval -1\n", ":1: TrainInterval must be between");
  expect("AutoActivate yes\n", ":1: AutoActivate must be true or false");
  expect("Retention \"forever\"\n", ":1: Retention: 'forever' is not");
  expect("MaxMetricsPerPoint 0\n", ":1: MaxMetricsPerPoint must be between");
  expect("MaxSeriesPerSource 0\n", ":1: MaxSeriesPerSource must be between");
  expect("RateLimit many\n", ":1: RateLimit: 'many' is not a number");
  expect("<Channel \"c\">\nType \"fax\"\nURL \"http://x\"\n</Channel>\n",
         ":2: Type must be");
  expect("<Channel \"pd\">\nType \"pagerduty\"\nURL \"http://x\"\n</Channel>\n",
         ":1: Channel \"pd\" of Type \"pagerduty\" has no RoutingKey");
  expect("PublicURL \"anomalyd.example.com\"\n", ":1: PublicURL must start");
  /* a channel URL curl could not post to is refused at once, each way */
  expect("<Channel \"c\">\nType \"webhook\"\nURL \"https://\"\n</Channel>\n",
         ":3: URL must be an http:// or https:// URL with a host");
  expect("<Channel \"c\">\nType \"webhook\"\nURL \"https://a b/x\"\n"
         "</Channel>\n",
         ":3: URL must be");
  expect("<Channel \"c\">\nType \"webhook\"\nURL \"ftp://a/x\"\n</Channel>\n",
         ":3: URL must be");
  expect("NotifyTimeout 0\n", "NotifyTimeout must be between");
  expect("<Severity>\nLow 0.9\n</Severity>\n", "Severity bands must rise");
  expect("Detector \"magic\"\n", ":1: unknown Detector \"magic\"");
  expect("<Mystery \"x\">\n</Mystery>\n", ":1: unknown block <Mystery>");
  expect("Listen \"127.0.0.1\" 1 2\n", ":1: Listen takes");
  char err[256];
  assert_null(an_config_load("/nonexistent/anomalyd.conf", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/anomalyd.conf"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_full_file),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
