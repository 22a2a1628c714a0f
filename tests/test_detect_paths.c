/* The default detector's two paths agree, and its state never goes
 * subnormal.
 *
 * update() takes a shortcut for the common case (a calm value of a series
 * past its first FIXED_N values, outside an incident) and leaves every other
 * value to update_any(). This test includes the detector's source to reach
 * both, feeds them the same values and requires the same bits out of each. */
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
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->warming_up, b->warming_up);
  assert_int_equal(a->seen, b->seen);
}

/* Would update() take its shortcut for x? */
static int shortcut(const state_t *s, double x) {
  if (!(fixed(s->n) && s->quiet == 0 && isfinite(x)))
    return 0;
  measure_t m;
  measure(s, x, &m);
  return m.calm;
}

/* A value of a series that does everything: noise whose level and spread
 * change, spikes, dips, bursts, a flat stretch, bad values and huge ones. */
static double wild_value(test_rng_t *rng, int i) {
  int phase = (i / 5000) % 6;
  double level = 100 * (1 + phase % 3), sd = phase == 4 ? 20 : 2;
  if (phase == 5 && i % 5000 < 1500)
    return 42; /* a flat stretch */
  double u = test_rng_uniform(rng);
  if (u < 0.002)
    return level + sd * 40 * (u < 0.001 ? 1 : -1); /* spike or dip */
  if (u < 0.0025)
    return u < 0.0022 ? NAN : u < 0.0024 ? INFINITY : -INFINITY;
  if (u < 0.0027)
    return 1e300;
  return level + sd * test_rng_normal(rng);
}

static void test_paths_agree(void **unused) {
  state_t a, b;
  init(&a);
  init(&b);
  test_rng_t rng = {2026};
  double t = 1.7e9;
  int shortcuts = 0;
  const int n = 60000;
  for (int i = 0; i < n; i++) {
    double x = wild_value(&rng, i);
    t += i % 977 == 0 ? 5000 : 10; /* now and then a gap */
    shortcuts += shortcut(&a, x);
    an_result_t ra, rb;
    an_detect_default_update(&a, t, x, &ra);
    update_any(&b, t, x, &rb);
    assert_same_result(&ra, &rb);
    assert_memory_equal(&a, &b, sizeof(a));
  }
  /* both paths were really taken */
  assert_true(shortcuts > n / 2);
  assert_true(shortcuts < n - 1000);
}

/* A series fed at a 10 s interval: its state, its values' source, its
 * clock and its last result. */
typedef struct sim {
  state_t s;
  test_rng_t rng;
  double t;
  an_result_t r;
} sim_t;

static void sim_start(sim_t *m, uint64_t seed) {
  init(&m->s);
  m->rng = (test_rng_t){seed};
  m->t = 0;
}

/* Feeds count values drawn by draw() (NULL: zeros). */
static void feed(sim_t *m, double (*draw)(test_rng_t *), uint32_t count) {
  for (uint32_t i = 0; i < count; i++)
    an_detect_default_update(&m->s, m->t += 10,
                             draw != NULL ? draw(&m->rng) : 0, &m->r);
}

/* A series that moved, then stopped: its spreads decay towards 0 and
 * stop at DEV_FLOOR instead of going subnormal. A bounded series (never
 * 3 spreads out) does the same to its tails' rates. */
static void test_no_subnormal_state(void **unused) {
  sim_t m;
  sim_start(&m, 7);
  feed(&m, test_rng_normal, 1000);
  feed(&m, NULL, 300000);
  assert_true(m.s.fast_dev == DEV_FLOOR && m.s.slow_dev == DEV_FLOOR);
  assert_int_equal(fpclassify(m.r.spread), FP_NORMAL);
  assert_true(m.r.score == 0);

  sim_start(&m, 8);
  feed(&m, test_rng_uniform, 800000);
  assert_true(m.s.unsettled > 700000); /* the calm values' decay, pending */
  settle_tails(&m.s);
  for (int i = 0; i < NTESTS; i++) {
    assert_true(m.s.tails[i].rate == RATE_FLOOR);
    assert_int_equal(fpclassify(m.s.tails[i].rate), FP_NORMAL);
  }
  assert_int_equal(check(&m.s), 0);
  /* a value far out still scores as the rarest thing seen */
  an_detect_default_update(&m.s, m.t += 10, 50, &m.r);
  assert_true(m.r.score > 0.99);
}

/* The thresholds are where rate_of() really changes. */
static void test_fixed_rates(void **unused) {
  assert_true(rate_of(RATE_ALPHA, tail_count(TAILS_FIXED_N - 1)) != RATE_ALPHA);
  assert_true(rate_of(RATE_ALPHA, tail_count(TAILS_FIXED_N)) == RATE_ALPHA);
  const double alphas[] = {FAST_ALPHA, SLOW_ALPHA, SPREAD_ALPHA};
  for (int i = 0; i < 3; i++)
    assert_true(rate_of(alphas[i], FIXED_N) == alphas[i]);
}

/* Calm values' decay, counted and applied at once by settle_tails(), is
 * what applying it value by value gives: through the running average and
 * into exponential forgetting. */
static void test_settle_tails(void **unused) {
  sim_t m;
  sim_start(&m, 11);
  feed(&m, test_rng_uniform, 3000);
  settle_tails(&m.s);
  tail_t start[NTESTS];
  memcpy(start, m.s.tails, sizeof(start));
  uint32_t first = m.s.n;
  const uint32_t k = 2 * TAILS_FIXED_N;
  feed(&m, test_rng_uniform, k);
  assert_int_equal(m.s.unsettled, k); /* a bounded series: every value calm */
  settle_tails(&m.s);
  assert_int_equal(m.s.unsettled, 0);
  for (int i = 0; i < NTESTS; i++) {
    float rate = start[i].rate;
    for (uint32_t n = first; n < first + k; n++)
      rate += (float)rate_of(RATE_ALPHA, tail_count(n)) * (0.0f - rate);
    assert_true(fabs(m.s.tails[i].rate / rate - 1) < 1e-5);
    assert_true(m.s.tails[i].excess == start[i].excess);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_paths_agree),
      cmocka_unit_test(test_fixed_rates),
      cmocka_unit_test(test_settle_tails),
      cmocka_unit_test(test_no_subnormal_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
