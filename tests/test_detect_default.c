/* The default detector catches what it should and stays quiet otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "detector.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define THRESHOLD 0.7 /* the product's default */
#define INTERVAL 10.0 /* seconds, collectd's default */

typedef struct series {
  const an_detector_class_t *cls;
  void *state;
  double t;
  an_result_t last;
} series_t;

/* A series of values of collectd's type (NULL: unknown). Its clock starts
 * at a midnight. */
static void series_init_type(series_t *s, const char *type) {
  an_hint_t hint;
  an_hint_of_type(type, &hint);
  s->cls = an_detector_find("default");
  s->state = malloc(s->cls->state_size);
  s->cls->init(s->state, &hint);
  s->t = 1700006400; /* 2023-11-15 00:00 UTC */
}

static void series_init(series_t *s) { series_init_type(s, NULL); }

static double feed(series_t *s, double x) {
  s->t += INTERVAL;
  s->cls->update(s->state, s->t, x, &s->last);
  assert_true(s->last.score >= 0 && s->last.score <= 1);
  return s->last.score;
}

/* Seconds since the series' first midnight. */
static double clock_of(const series_t *s) { return s->t - 1700006400; }

/* Feeds n values of draw() and returns how many scored >= THRESHOLD;
 * draw gets the time of day in seconds. */
static int run(series_t *s, int n, test_rng_t *rng,
               double (*draw)(test_rng_t *, double day_seconds)) {
  int alarms = 0;
  for (int i = 0; i < n; i++)
    alarms +=
        feed(s, draw(rng, fmod(clock_of(s) + INTERVAL, 86400))) >= THRESHOLD;
  return alarms;
}

/* Feeds up to n values of draw() and returns the index of the first that
 * scores >= THRESHOLD (feeding stops there), -1 if none does. */
static int first_alarm(series_t *s, int n, test_rng_t *rng,
                       double (*draw)(test_rng_t *, double day_seconds)) {
  for (int i = 0; i < n; i++)
    if (feed(s, draw(rng, fmod(clock_of(s) + INTERVAL, 86400))) >= THRESHOLD)
      return i;
  return -1;
}

static void warm(series_t *s, test_rng_t *rng, int n, double mu, double sd) {
  for (int i = 0; i < n; i++)
    feed(s, mu + sd * test_rng_normal(rng));
}

static void test_spike_and_dip(void **unused) {
  for (int sign = -1; sign <= 1; sign += 2) {
    series_t s;
    test_rng_t rng = {11};
    series_init(&s);
    warm(&s, &rng, 1000, 100, 5);
    assert_true(feed(&s, 100 + sign * 60) >= THRESHOLD);
    assert_int_equal(s.last.kind, sign > 0 ? AN_KIND_SPIKE : AN_KIND_DIP);
    assert_true(fabs(s.last.expected - 100) < 2);
    assert_true(sign * s.last.deviation > 8);
    /* One spike teaches nothing: the next normal value is normal. */
    assert_true(feed(&s, 100) < 0.5);
    free(s.state);
  }
}

/* A shift of 5 spreads is caught at once; the new level then becomes
 * normal instead of alarming for ever. */
static void test_level_shift(void **unused) {
  series_t s;
  test_rng_t rng = {12};
  int caught = -1, late_alarms = 0;
  series_init(&s);
  warm(&s, &rng, 1000, 100, 5);
  for (int i = 0; i < 2000; i++) {
    double score = feed(&s, 125 + 5 * test_rng_normal(&rng));
    if (score >= THRESHOLD && caught < 0)
      caught = i;
    if (i >= 100 && score >= 0.5)
      late_alarms++;
  }
  assert_true(caught >= 0 && caught < 3);
  assert_int_equal(late_alarms, 0);
  free(s.state);
}

/* A smaller sustained shift (3 spreads) is at least noticed (a non-zero
 * score) within 20 values. */
static void test_small_shift_noticed(void **unused) {
  series_t s;
  test_rng_t rng = {18};
  double best = 0;
  series_init(&s);
  warm(&s, &rng, 1000, 100, 5);
  for (int i = 0; i < 20; i++)
    best = fmax(best, feed(&s, 115 + 5 * test_rng_normal(&rng)));
  assert_true(best > 0);
  free(s.state);
}

/* The spread growing fivefold is caught within 50 values. */
static void test_variance_change(void **unused) {
  series_t s;
  test_rng_t rng = {13};
  int caught = -1;
  series_init(&s);
  warm(&s, &rng, 1000, 100, 2);
  for (int i = 0; i < 50 && caught < 0; i++)
    if (feed(&s, 100 + 10 * test_rng_normal(&rng)) >= THRESHOLD)
      caught = i;
  assert_true(caught >= 0);
  free(s.state);
}

/* Twice the spread with the same mean, on a series with bursts of its own
 * (one value in a hundred is a burst: bursts alone are no wider spread),
 * is found by the variance test within 30 minutes. */
static void test_wider_spread_same_mean(void **unused) {
  series_t s;
  test_rng_t rng = {21};
  series_init(&s);
  for (int i = 0; i < 6000; i++) { /* the first bursts are news */
    double burst =
        test_rng_uniform(&rng) < 0.01 ? 15 * test_rng_uniform(&rng) : 0;
    double score = feed(&s, 100 + 2 * test_rng_normal(&rng) + burst);
    assert_true(i < 2000 || score < THRESHOLD);
  }
  int caught = -1;
  for (int i = 0; i < 180 && caught < 0; i++)
    if (feed(&s, 100 + 4 * test_rng_normal(&rng)) >= THRESHOLD)
      caught = i;
  assert_true(caught >= 0);
  assert_int_equal(s.last.kind, AN_KIND_VARIANCE);
  free(s.state);
}

/* The false-alarm budget: on stationary Gaussian noise at a 10 s interval,
 * fewer than one anomaly per series per day. */
static void test_noise_false_alarms(void **unused) {
  const int nseries = 10, days = 7, per_day = 86400 / (int)INTERVAL;
  int alarms = 0;
  for (int k = 0; k < nseries; k++) {
    series_t s;
    test_rng_t rng = {100 + (uint64_t)k};
    series_init(&s);
    for (int i = 0; i < days * per_day; i++)
      alarms += feed(&s, 50 + 4 * test_rng_normal(&rng)) >= THRESHOLD;
    free(s.state);
  }
  print_message("noise: %d anomalies in %d series-days\n", alarms,
                nseries * days);
  assert_true(alarms < nseries * days);
}

static void test_constant_and_drift_are_quiet(void **unused) {
  const double constants[] = {0, 42, -7.5, 1e300, -1e-300, 3e-310};
  for (size_t c = 0; c < sizeof(constants) / sizeof(constants[0]); c++) {
    series_t s;
    series_init(&s);
    for (int i = 0; i < 5000; i++)
      assert_true(feed(&s, constants[c]) == 0);
    free(s.state);
  }
  series_t s;
  test_rng_t rng = {14};
  series_init(&s);
  for (int i = 0; i < 20000; i++) /* a disk filling up, slowly and noisily */
    assert_true(feed(&s, 1000 + 0.05 * i + test_rng_normal(&rng)) < THRESHOLD);
  free(s.state);
  series_init(&s);
  for (int i = 0; i < 20000; i++) /* a counter's steady climb, no noise */
    assert_true(feed(&s, 3.0 * i) < THRESHOLD);
  free(s.state);
}

/* A change off a perfectly constant series is an anomaly. */
static void test_constant_then_change(void **unused) {
  series_t s;
  series_init(&s);
  for (int i = 0; i < 500; i++)
    feed(&s, 42);
  assert_true(feed(&s, 43) >= THRESHOLD);
  free(s.state);
}

/* Scores depend on the shape of a series, not its units. */
static void test_scale_invariance(void **unused) {
  const double scales[] = {1e-200, 1e-6, 1, 1e6, 1e200};
  double reference[1200];
  for (size_t k = 0; k < sizeof(scales) / sizeof(scales[0]); k++) {
    series_t s;
    test_rng_t rng = {15};
    series_init(&s);
    for (int i = 0; i < 1200; i++) {
      double x = (i == 1100 ? 30 : 10 + test_rng_normal(&rng)) * scales[k];
      double score = feed(&s, x);
      if (k == 0)
        reference[i] = score;
      else
        assert_true(fabs(score - reference[i]) < 1e-6);
    }
    assert_true(reference[1100] >= THRESHOLD);
    free(s.state);
  }
}

/* NaN and infinities are skipped; huge values and gaps do not poison the
 * state: the series scores afterwards exactly as its twin that never saw
 * them, or at least stays finite and sane. */
static void test_bad_values_do_not_poison(void **unused) {
  series_t a, b;
  test_rng_t ra = {16}, rb = {16};
  series_init(&a);
  series_init(&b);
  warm(&a, &ra, 500, 20, 1);
  warm(&b, &rb, 500, 20, 1);
  const double bad[] = {NAN, INFINITY, -INFINITY, -NAN};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_true(feed(&a, bad[i]) == 0);
    assert_int_equal(a.last.kind, AN_KIND_INVALID);
    b.t += INTERVAL;
  }
  for (int i = 0; i < 100; i++) {
    double x = 20 + test_rng_normal(&ra);
    test_rng_normal(&rb);
    assert_true(feed(&a, x) == feed(&b, x));
  }

  assert_true(feed(&a, 1e308) >= THRESHOLD);
  assert_int_equal(a.cls->check(a.state), 0);
  for (int i = 0; i < 200; i++) /* the incident passes; all is normal */
    assert_true(feed(&a, 20 + test_rng_normal(&ra)) < THRESHOLD);
  assert_true(feed(&a, -1e308) >= THRESHOLD);
  assert_int_equal(a.cls->check(a.state), 0);
  a.t += 1e7; /* a long gap */
  for (int i = 0; i < 200; i++)
    feed(&a, 20 + test_rng_normal(&ra));
  assert_int_equal(a.cls->check(a.state), 0);
  assert_true(isfinite(a.last.expected));
  assert_true(feed(&a, 20) < THRESHOLD);
  free(a.state);
  free(b.state);
}

static void test_explanation_fields(void **unused) {
  series_t s;
  test_rng_t rng = {17};
  char buf[200];
  series_init(&s);
  warm(&s, &rng, 1000, 12.3, 0.5);
  feed(&s, 30);
  assert_true(s.last.score >= THRESHOLD);
  assert_true(s.last.horizon > 0);
  an_explain(&s.last, 30, "cpu/user", buf, sizeof(buf));
  print_message("%s\n", buf);
  assert_non_null(strstr(buf, "cpu/user rose "));
  assert_non_null(strstr(buf, "above its usual 12."));
  assert_non_null(strstr(buf, ", to 30 (2.4\xc3\x97)"));
  free(s.state);
}

/* ---- failure shapes and normal behaviour of collectd-like series ---- */

static double temperature(test_rng_t *rng, double unused) {
  return floor((38 + 0.4 * test_rng_normal(rng)) * 8) / 8; /* 0.125 steps */
}

static double stuck_at;
static double stuck(test_rng_t *unused, double unused_too) { return stuck_at; }

/* A sensor stuck at its last reading is a flatline within the hour. */
static void test_flatline(void **unused) {
  series_t s;
  test_rng_t rng = {21};
  char buf[200];
  series_init_type(&s, "temperature");
  assert_int_equal(run(&s, 8640, &rng, temperature), 0);
  stuck_at = temperature(&rng, 0);
  double x = stuck_at;
  int caught = first_alarm(&s, 360, &rng, stuck);
  assert_true(caught >= 0);
  assert_int_equal(s.last.kind, AN_KIND_FLATLINE);
  an_explain(&s.last, x, "temp", buf, sizeof(buf));
  print_message("flatline after %d values: %s\n", caught, buf);
  assert_non_null(strstr(buf, "temp stuck at "));
  assert_non_null(strstr(buf, " \xc2\xb0"
                              "C for "));
  free(s.state);
}

/* Traffic with heavy-tailed bursts: lognormal around 5 MB/s, and now and
 * then a burst many times that. */
static double traffic(test_rng_t *rng, double unused) {
  double x = 5e6 * exp(0.3 * test_rng_normal(rng));
  if (test_rng_uniform(rng) < 0.002) /* Pareto bursts, alpha 1.5 */
    x *= 1 + 3 * pow(test_rng_uniform(rng), -1 / 1.5);
  return x;
}

static double keepalive(test_rng_t *rng, double unused) {
  return 300 + 50 * test_rng_uniform(rng);
}

/* Bursts the series has always had are normal; a dip to a tenth, which
 * its bursts hide in a linear spread, is a dip; a link that goes down to
 * keepalive traffic is an outage within a minute. */
static void test_bursts_quiet_outage_caught(void **unused) {
  series_t s;
  test_rng_t rng = {22};
  char buf[200];
  series_init_type(&s, "if_octets");
  run(&s, 8640, &rng, traffic); /* the first day: learning */
  int alarms = run(&s, 3 * 8640, &rng, traffic);
  print_message("bursty traffic: %d alarms in 3 days\n", alarms);
  assert_true(alarms <= 1);
  assert_true(feed(&s, traffic(&rng, 0) / 10) >= THRESHOLD);
  assert_int_equal(s.last.kind, AN_KIND_DIP);
  run(&s, 60, &rng, traffic);
  int caught = first_alarm(&s, 30, &rng, keepalive);
  assert_true(caught >= 0 && caught < 6);
  assert_int_equal(s.last.kind, AN_KIND_OUTAGE);
  an_explain(&s.last, 300, "eth0 rx", buf, sizeof(buf));
  print_message("%s\n", buf);
  assert_non_null(strstr(buf, "eth0 rx dropped to 3"));
  assert_non_null(strstr(buf, " B/s from a usual "));
  assert_non_null(strstr(buf, " MB/s"));
  free(s.state);
}

/* A JVM heap: a sawtooth from 1 GiB, rising by half a GiB in three
 * minutes, dropped by the collector. */
static double heap(test_rng_t *rng, double day_seconds) {
  double gib = 1073741824.0;
  return gib + fmod(day_seconds, 180) / 180 * gib / 2 +
         2e6 * test_rng_normal(rng);
}

/* A garbage collector's sawtooth is normal. (A leak is not yet caught
 * while it climbs: docs/detector.md, known limits.) */
static void test_sawtooth_quiet(void **unused) {
  series_t s;
  test_rng_t rng = {23};
  series_init_type(&s, "memory");
  run(&s, 8640, &rng, heap);
  int alarms = run(&s, 8640, &rng, heap);
  print_message("sawtooth: %d alarms in a day\n", alarms);
  assert_true(alarms <= 1);
  free(s.state);
}

/* CPU with a nightly job at 02:00 for half an hour. */
static double job_at; /* seconds after midnight */
static double cpu_with_job(test_rng_t *rng, double day_seconds) {
  double x = 20 + 2 * test_rng_normal(rng);
  if (day_seconds >= job_at && day_seconds < job_at + 1800)
    x += 50;
  return x;
}

/* A job that recurs at the same time becomes normal once it has recurred;
 * the same burst at an unusual time is still an anomaly. */
static void test_daily_job(void **unused) {
  series_t s;
  test_rng_t rng = {24};
  series_init_type(&s, "percent");
  job_at = 2 * 3600;
  int first = run(&s, 2 * 8640, &rng, cpu_with_job);
  int later = run(&s, 3 * 8640, &rng, cpu_with_job);
  print_message("daily job: %d alarms in days 1-2, %d in days 3-5\n", first,
                later);
  assert_int_equal(later, 0);
  job_at = 14 * 3600;
  assert_true(run(&s, 8640, &rng, cpu_with_job) > 0);
  free(s.state);
}

/* Cron at :00 for a minute, every hour: normal after its first hours. */
static double cpu_with_cron(test_rng_t *rng, double day_seconds) {
  double x = 10 + test_rng_normal(rng);
  return fmod(day_seconds, 3600) < 60 ? x + 30 : x;
}

static void test_hourly_cron(void **unused) {
  series_t s;
  test_rng_t rng = {25};
  series_init_type(&s, "percent");
  run(&s, 360 * 3, &rng, cpu_with_cron); /* three hours */
  int alarms = run(&s, 2 * 8640, &rng, cpu_with_cron);
  print_message("hourly cron: %d alarms in two days\n", alarms);
  assert_int_equal(alarms, 0);
  free(s.state);
}

static double pinned(test_rng_t *rng, double unused) {
  return 99.6 + 0.3 * test_rng_uniform(rng);
}

/* CPU pinned at 100 % is a saturation. */
static void test_saturation(void **unused) {
  series_t s;
  test_rng_t rng = {26};
  series_init_type(&s, "percent");
  warm(&s, &rng, 3000, 40, 3);
  int caught = first_alarm(&s, 60, &rng, pinned);
  assert_true(caught >= 0 && caught < 5);
  assert_int_equal(s.last.kind, AN_KIND_SATURATION);
  free(s.state);
}

/* cpu-nice on an idle host sits at 0; a move to 1 % or of a point or
 * two is no page (noticed at most as low). */
static void test_immaterial_change(void **unused) {
  series_t s;
  test_rng_t rng = {27};
  series_init_type(&s, "cpu");
  for (int i = 0; i < 3000; i++)
    feed(&s, test_rng_uniform(&rng) < 0.01 ? 0.1 : 0);
  assert_true(feed(&s, 1.0) < THRESHOLD);
  for (int i = 0; i < 100; i++)
    feed(&s, 0);
  double score = feed(&s, 3.0);
  assert_true(score > 0 && score < THRESHOLD);
  free(s.state);
  /* a 128 MiB file on an 80 GiB disk: noticed, no page */
  series_init_type(&s, "df_complex");
  for (int i = 0; i < 3000; i++)
    feed(&s, 85899345920.0 + 4096 * (i / 100));
  score = feed(&s, 85899345920.0 + 4096 * 30 + 134217728.0);
  assert_true(score > 0 && score < THRESHOLD);
  /* the same incident pages once the change matters: 10 GiB more */
  assert_true(feed(&s, 85899345920.0 + 10737418240.0) >= THRESHOLD);
  free(s.state);
}

/* An incident ends with a silence: the first value after a long gap
 * alarms at once. */
static void test_incident_ends_with_silence(void **unused) {
  series_t s;
  test_rng_t rng = {29};
  series_init(&s);
  warm(&s, &rng, 300, 50, 2);
  assert_true(feed(&s, 500) >= THRESHOLD);
  s.t += 6000;
  feed(&s, 50);
  assert_true(feed(&s, 700) >= THRESHOLD);
  free(s.state);
}

/* A gross outlier alarms from the 30th value; before, nothing does. */
static void test_gross_warmup(void **unused) {
  series_t s;
  test_rng_t rng = {28};
  series_init(&s);
  warm(&s, &rng, 10, 50, 1);
  assert_true(feed(&s, 5000) == 0);
  free(s.state);
  series_init(&s);
  warm(&s, &rng, 40, 50, 1);
  assert_true(feed(&s, 5000) >= THRESHOLD);
  free(s.state);
}

/* The end of the warm-up is not an alarm: the first values the full stack
 * scores, on plain noise, are quiet (the variance test once alarmed at
 * the 120th value of about one series in 250). */
static void test_warmup_end_quiet(void **unused) {
  int alarms = 0;
  for (int k = 0; k < 1000; k++) {
    series_t s;
    test_rng_t rng = {7000 + (uint64_t)k};
    series_init(&s);
    for (int i = 0; i < 200; i++)
      alarms += feed(&s, 50 + test_rng_normal(&rng)) >= THRESHOLD;
    free(s.state);
  }
  assert_int_equal(alarms, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spike_and_dip),
      cmocka_unit_test(test_level_shift),
      cmocka_unit_test(test_small_shift_noticed),
      cmocka_unit_test(test_variance_change),
      cmocka_unit_test(test_wider_spread_same_mean),
      cmocka_unit_test(test_noise_false_alarms),
      cmocka_unit_test(test_constant_and_drift_are_quiet),
      cmocka_unit_test(test_constant_then_change),
      cmocka_unit_test(test_scale_invariance),
      cmocka_unit_test(test_bad_values_do_not_poison),
      cmocka_unit_test(test_explanation_fields),
      cmocka_unit_test(test_flatline),
      cmocka_unit_test(test_bursts_quiet_outage_caught),
      cmocka_unit_test(test_sawtooth_quiet),
      cmocka_unit_test(test_daily_job),
      cmocka_unit_test(test_hourly_cron),
      cmocka_unit_test(test_saturation),
      cmocka_unit_test(test_immaterial_change),
      cmocka_unit_test(test_gross_warmup),
      cmocka_unit_test(test_warmup_end_quiet),
      cmocka_unit_test(test_incident_ends_with_silence),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
