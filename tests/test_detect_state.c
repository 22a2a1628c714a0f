/* The default detector's state: a saved state carries on exactly, every
 * state it reaches passes its own check, and none goes subnormal.
 *
 * The test includes the detector's source to reach its state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* libanomaly has its own copy: this one's names are others */
#define an_detect_default an_detect_default_under_test
#define an_detect_default_update an_detect_default_update_under_test
#include "detect_default.c"

#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int same_double(double a, double b) {
  return memcmp(&a, &b, sizeof(a)) == 0;
}

static void assert_same_result(const an_result_t *a, const an_result_t *b) {
  assert_true(same_double(a->score, b->score));
  assert_true(same_double(a->p_value, b->p_value));
  assert_true(same_double(a->expected, b->expected));
  assert_true(same_double(a->deviation, b->deviation));
  assert_true(same_double(a->spread, b->spread));
  assert_true(same_double(a->horizon, b->horizon));
  assert_true(same_double(a->duration, b->duration));
  assert_true(same_double(a->slope, b->slope));
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->unit, b->unit);
  assert_int_equal(a->warming_up, b->warming_up);
}

/* A value of a series that does everything: noise whose level and spread
 * change, spikes, dips, bursts, a flat stretch, a run of zeros, a ramp,
 * bad values and huge ones. */
static double wild_value(test_rng_t *rng, int i) {
  int phase = (i / 5000) % 8;
  double level = 100 * (1 + phase % 3), sd = phase == 4 ? 20 : 2;
  if (phase == 5 && i % 5000 < 1500)
    return 42; /* a flat stretch */
  if (phase == 6 && i % 5000 < 800)
    return 0; /* an outage */
  if (phase == 7)
    level += 0.05 * (i % 5000); /* a leak */
  double u = test_rng_uniform(rng);
  if (u < 0.002)
    return level + sd * 40 * (u < 0.001 ? 1 : -1); /* spike or dip */
  if (u < 0.0025)
    return u < 0.0022 ? NAN : u < 0.0024 ? INFINITY : -INFINITY;
  if (u < 0.0027)
    return 1e300;
  return level + sd * test_rng_normal(rng);
}

static void assert_normal_or_zero(double x) {
  int c = fpclassify(x);
  assert_true(c == FP_NORMAL || c == FP_ZERO);
}

/* No double or float of the state is subnormal: arithmetic on those is a
 * hundred times slower on x86, and a rate would stay stuck among them. */
static void assert_no_subnormal(const state_t *s) {
  const double d[] = {s->fast,      s->slow,     s->fast_dev,   s->slow_dev,
                      s->var_cusum, s->scale,    s->cusum_up,   s->cusum_down,
                      s->step_dev,  s->trend_up, s->trend_down, s->wide_rate,
                      s->var_peak};
  for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
    assert_normal_or_zero(d[i]);
  for (int i = 0; i < NTESTS; i++) {
    assert_normal_or_zero(s->tails[i].lrate);
    assert_normal_or_zero(s->tails[i].excess);
    assert_normal_or_zero(s->tails[i].excess2);
  }
}

/* A state saved and restored at any point carries on bit for bit as the
 * one that never stopped; every state reached passes check(). Returns the
 * alarms raised. */
static int carry_on(const char *type) {
  const an_detector_class_t *cls = &an_detect_default;
  size_t len = an_detector_saved_size(cls);
  unsigned char *blob = malloc(len);
  state_t a, b;
  an_hint_t hint;
  an_hint_of_type(type, &hint);
  init(&a, &hint);
  init(&b, &hint);
  test_rng_t rng = {2026};
  double t = 1.7e9;
  int alarms = 0;
  for (int i = 0; i < 40000; i++) {
    double x = wild_value(&rng, i);
    t += i % 997 == 0 ? 3600 : 10; /* now and then a gap */
    an_result_t ra, rb;
    cls->update(&a, t, x, &ra);
    cls->update(&b, t, x, &rb);
    assert_same_result(&ra, &rb);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(check(&a), 0);
    alarms += ra.score >= 0.7;
    if (i % 1000 == 999) { /* b goes through a save and a restore */
      assert_int_equal(an_detector_save(cls, &b, blob, len), len);
      memset(&b, 0xa5, sizeof(b));
      assert_int_equal(an_detector_restore(cls, &b, blob, len), 0);
    }
  }
  assert_no_subnormal(&a);
  free(blob);
  print_message("%s: %d alarms\n", type != NULL ? type : "no type", alarms);
  return alarms;
}

static void test_restore_carries_on(void **unused) {
  /* every test had its turn: the wild series did alarm */
  assert_true(carry_on(NULL) > 10);
  /* a bursty type, its heavy tails (and 100 B/s is nothing to page for) */
  assert_true(carry_on("if_octets") > 0);
  assert_true(carry_on("percent") > 10); /* a type with a ceiling */
}

/* What decays while nothing happens stops short of the subnormals: a
 * series that stops moving, for a long time. */
static void test_no_subnormal_state(void **unused) {
  state_t s;
  init(&s, NULL);
  test_rng_t rng = {7};
  an_result_t r;
  double t = 0;
  for (int i = 0; i < 1000; i++)
    an_detect_default.update(&s, t += 10, test_rng_normal(&rng), &r);
  for (int i = 0; i < 300000; i++)
    an_detect_default.update(&s, t += 10, 0, &r);
  assert_no_subnormal(&s);
  assert_int_equal(check(&s), 0);
  for (int i = 0; i < 300000; i++)
    an_detect_default.update(&s, t += 10, test_rng_uniform(&rng), &r);
  assert_no_subnormal(&s);
  assert_int_equal(check(&s), 0);
}

/* check() refuses what no update could have produced. */
static void test_check_refuses_garbage(void **unused) {
  state_t s, bad;
  init(&s, NULL);
  an_result_t r;
  for (int i = 0; i < 500; i++)
    an_detect_default.update(&s, i * 10.0, i % 7, &r);
  assert_int_equal(check(&s), 0);
  bad = s;
  bad.fast = NAN;
  assert_int_equal(check(&bad), EINVAL);
  bad = s;
  bad.slow_dev = -1;
  assert_int_equal(check(&bad), EINVAL);
  bad = s;
  bad.incident = NTESTS;
  assert_int_equal(check(&bad), EINVAL);
  bad = s;
  bad.tails[3].excess = 0;
  assert_int_equal(check(&bad), EINVAL);
  bad = s;
  bad.flat.freq = 1.5f;
  assert_int_equal(check(&bad), EINVAL);
  bad = s;
  bad.env.day_at.bin = DAY_BINS;
  assert_int_equal(check(&bad), EINVAL);
  bad = s;
  bad.env.hour_at.past_bin[ENV_NEAR - 1] = HOUR_BINS;
  assert_int_equal(check(&bad), EINVAL);
  bad = s;
  bad.wide_rate = 0.9;
  assert_int_equal(check(&bad), EINVAL);
  bad = s;
  bad.block_n = BLOCK;
  assert_int_equal(check(&bad), EINVAL);
}

int main(void) {
  const struct CMUnitTest cases[] = {
      cmocka_unit_test(test_restore_carries_on),
      cmocka_unit_test(test_no_subnormal_state),
      cmocka_unit_test(test_check_refuses_garbage),
  };
  return cmocka_run_group_tests(cases, NULL, NULL);
}
