/* detect_default.c: the default detector.
 *
 * Two exponentially weighted baselines follow the series: a fast one (the
 * one-step prediction: catches spikes, dips and abrupt jumps) and a slow
 * one (the level of the last ~50 values: catches changes that build up).
 * A third test compares a short average with the slow baseline, so a
 * sustained shift too small for any single value is still caught.
 *
 * Each test turns its deviation u (in units of the series' own spread) into
 * a p-value with a tail learned from the series itself: how often u
 * exceeded 3 (a rate) and by how much when it did (an exponential tail,
 * the peaks-over-threshold method). A series whose deviations are often
 * large therefore needs a larger one to alarm, and a quiet series a
 * smaller one, so one score threshold means one false-alarm rate on every
 * series. The tail starts at the Gaussian's and is learned as a running
 * average at first, then with exponential forgetting.
 *
 * One incident, one alarm: after a value with p below AN_REFRACTORY_P the
 * next REFRACTORY values score 0 while the baselines re-learn (they adopt
 * a new level within a few values). Spikes are learned clipped, so one
 * outlier does not teach the model that outliers are normal. */
#include "detector.h"
#include "score.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define FAST_ALPHA 0.5     /* the fast baseline: about 2 values of memory */
#define SLOW_ALPHA 0.02    /* the slow baseline: about 50 values */
#define MEAN_ALPHA 0.05    /* the short average the level test compares */
#define SPREAD_ALPHA 0.005 /* spreads are learned over ~200 values */
#define RATE_ALPHA 1e-4    /* how often u > 3: over ~10 000 values */
#define EXCESS_ALPHA 0.01  /* the tail's excess: over ~100 exceedances */
#define PRIOR_WEIGHT 10    /* the Gaussian prior counts as 10 observations */
#define CLIP 5.0           /* residuals are learned at most 5 spreads large */
#define U_MAX 3000.0       /* deviations beyond this are all "huge" */
#define WARMUP 120         /* values before any score */
#define REFRACTORY 100     /* values an incident silences after its alarm */
#define ESCALATION 1e-2    /* in an incident, only a far rarer value scores */
#define MAD_TO_SIGMA 1.2533141373155001 /* sigma / E|x - mu| (normal) */
#define U0 3.0                          /* the tail starts at 3 spreads */
#define GAUSS_RATE 0.0027               /* P(|Z| > 3) */
#define GAUSS_EXCESS 0.31               /* E(|Z| - 3 given |Z| > 3) */

/* What decays geometrically while nothing happens (the tails' rates on a
 * calm series, the spreads on one that stopped moving) stops here, short
 * of the subnormal numbers: arithmetic on those is a hundred times slower
 * on x86, and a rate would stay stuck among them. The floors are far
 * below anything that could matter: a rate of 1e-30 is a p of 1e-30, a
 * score of 0.996. */
#define RATE_FLOOR 1e-30f
#define DEV_FLOOR 1e-300

/* an_score_from_p() is 0 at and above this p: no need to call it */
#define SCORED_P 1e-2

/* p below this starts an incident: the p of score 0.5 (an_p_from_score) */
#define AN_REFRACTORY_P 3.9e-5

enum { FAST, SLOW, LEVEL, NTESTS };

/* 1 / the standard error of the short average, in spreads */
#define LEVEL_SE 6.2449979983983983 /* sqrt((2 - 0.05) / 0.05) */

/* max(x, floor), in one maxsd or maxss */
static double at_least(double x, double floor) { return x > floor ? x : floor; }
static float at_least_f(float x, float floor) { return x > floor ? x : floor; }

/* A test's learned tail: P(u > U0) and the mean excess beyond U0. */
typedef struct tail {
  float rate;   /* floats: a tail needs no more precision, and 3 of them */
  float excess; /* fit the state in 2 cache lines */
  uint32_t exceedances;
} tail_t;

typedef struct state {
  uint32_t n;                /* values learned from, saturating */
  uint32_t quiet;            /* values left in the refractory period */
  double incident_p;         /* the p that opened the current incident */
  double last_t;             /* time of the last value, NaN if none */
  double interval;           /* mean seconds between values, 0 while unknown */
  double fast, slow;         /* the baselines */
  double fast_dev, slow_dev; /* mean absolute residual of each */
  double mean;               /* the short average, for the level test */
  tail_t tails[NTESTS];
  /* The calm values just learned (the last ones before n) whose decay of
   * the tails' rates is still to be applied (settle_tails()): a calm value
   * counts here instead of decaying three rates. Saturating. */
  uint32_t unsettled;
} state_t;

static void init(void *p) {
  state_t *s = p;
  memset(s, 0, sizeof(*s));
  s->last_t = NAN;
  for (int i = 0; i < NTESTS; i++)
    s->tails[i] = (tail_t){.rate = GAUSS_RATE, .excess = GAUSS_EXCESS};
}

/* The smallest spread believed: float rounding of a series that never
 * moved must not become an infinite deviation. */
static double spread(double dev, double level) {
  /* the floor first: it does not wait for dev's product */
  return MAD_TO_SIGMA * dev + (1e-9 * fabs(level) + 1e-300);
}

/* |x - level| in spreads, capped, NaN-free. */
static double deviation(double x, double level, double inv_sigma) {
  double u = fabs(x - level) * inv_sigma;
  return u < U_MAX ? u : U_MAX;
}

/* exp() of anything below this is 0 (e^-746 < 2^-1075, half the least
 * subnormal): a new series, its spreads still near 0, has deviations at
 * U_MAX on every test, and the call would be made for nothing. */
#define EXP_ZERO -746.0

static double tail_p(const tail_t *t, double u) {
  if (u < U0)
    return 1.0;
  double z = -(u - U0) / t->excess;
  if (z < EXP_ZERO)
    return 0.0; /* t->rate * exp(z), t->rate being finite and >= 0 */
  return t->rate * exp(z);
}

/* The smallest p of the tests and which test gave it. Out of line: it is
 * only needed once a deviation reaches U0 (below, every p is 1), and its
 * exp() calls would make the common path save and restore registers. */
static __attribute__((noinline)) double
worst_p(const state_t *s, const double u[NTESTS], int *worst) {
  double pv = 1;
  for (int i = 0; i < NTESTS; i++) {
    double pi = tail_p(&s->tails[i], u[i]);
    if (pi < pv) {
      pv = pi;
      *worst = i;
    }
  }
  return pv;
}

/* A running average while young, exponential forgetting once old. */
static double rate_of(double alpha, double count) {
  if (count + 1 >= 1 / alpha) /* the common case: no division */
    return alpha;
  return 1.0 / (count + 1);
}

/* The count the tails' rate_of() is given for a state that has learned n
 * values (n >= 20). */
static double tail_count(uint32_t n) {
  return (n - 20) + PRIOR_WEIGHT / GAUSS_RATE;
}

/* From this n on the tails' rate is RATE_ALPHA: tail_count(n) + 1 >=
 * 1 / RATE_ALPHA holds once n - 20 reaches 1 / RATE_ALPHA - 1 -
 * PRIOR_WEIGHT / GAUSS_RATE (6295.3; the cast rounds down, hence + 1). */
#define TAILS_FIXED_N                                                          \
  (20 + 1 + (uint32_t)(1 / RATE_ALPHA - 1 - PRIOR_WEIGHT / GAUSS_RATE))

/* From this n on the baselines' and spreads' rate_of() is their alpha (the
 * smallest alpha's 1 / alpha, and a margin for its rounding), so learning
 * them needs no division and no comparison. */
#define FIXED_N 201

static int fixed(uint32_t n) { return n >= FIXED_N; }

/* Applies the unsettled calm values' decay to the tails' rates. Each
 * would have multiplied them by 1 - rate, with rate_of()'s running
 * average's 1 / (c + 1) while young (c = tail_count(n), one more for
 * each value: the product telescopes to c_first / c_last), then by
 * 1 - RATE_ALPHA. */
static void settle_tails(state_t *s) {
  if (s->unsettled == 0)
    return;
  /* the values were learned with n from first to s->n - 1; once n has
   * saturated, first is too small, but still past TAILS_FIXED_N, which is
   * all that matters here (and if unsettled is near n then, the rates are
   * at their floor whatever first is) */
  uint32_t first = s->n > s->unsettled ? s->n - s->unsettled : 20;
  uint32_t young_end = first < TAILS_FIXED_N
                           ? (s->n < TAILS_FIXED_N ? s->n : TAILS_FIXED_N)
                           : first;
  double decay = tail_count(first) / tail_count(young_end) *
                 exp((s->n - young_end) * log1p(-RATE_ALPHA));
  for (int i = 0; i < NTESTS; i++)
    s->tails[i].rate = at_least_f(s->tails[i].rate * (float)decay, RATE_FLOOR);
  s->unsettled = 0;
}

/* Learns a value that is not calm (a calm one is counted in unsettled):
 * the tails' rates must be settled. */
static void tail_learn(tail_t *t, uint32_t n, double u) {
  int over = u >= U0;
  double rate = rate_of(RATE_ALPHA, tail_count(n));
  /* in float, as it is stored: no conversions to double and back */
  t->rate += (float)rate * ((float)over - t->rate);
  t->rate = at_least_f(t->rate, RATE_FLOOR);
  if (__builtin_expect(over, 0)) {
    t->excess += rate_of(EXCESS_ALPHA, t->exceedances + PRIOR_WEIGHT) *
                 (u - U0 - t->excess);
    if (t->exceedances < UINT32_MAX)
      t->exceedances++;
  }
}

/* Two steps, each a minsd or maxsd, not branches. */
static double clip(double r, double sigma) {
  double c = CLIP * sigma;
  r = r < c ? r : c;
  return r > -c ? r : -c;
}

/* sf and ss: the spreads x was scored with (learning starts from them, so
 * they are not computed twice). rates_fixed: fixed(s->n); calm:
 * measure()'s calm. Always inlined, so that with both constant 1 the
 * common case is straight-line code. */
static inline __attribute__((always_inline)) void
learn(state_t *s, double x, double sf, double ss, const double u[NTESTS],
      double mean_next, int rates_fixed, int calm) {
  int young = s->n < 20; /* too young to tell outliers from normal */
  double rf = x - s->fast, rs = x - s->slow;
  /* calm: |rf| < U0 sf <= CLIP sf (rounding keeps the order), so the
   * clip would change nothing */
  if (!calm && !young) {
    rf = clip(rf, sf);
    rs = clip(rs, ss);
  }
  double a_fast = rates_fixed ? FAST_ALPHA : rate_of(FAST_ALPHA, s->n);
  double a_slow = rates_fixed ? SLOW_ALPHA : rate_of(SLOW_ALPHA, s->n);
  double a_spread = rates_fixed ? SPREAD_ALPHA : rate_of(SPREAD_ALPHA, s->n);
  s->fast += a_fast * rf;
  s->slow += a_slow * rs;
  s->fast_dev =
      at_least(s->fast_dev + a_spread * (fabs(rf) - s->fast_dev), DEV_FLOOR);
  s->slow_dev =
      at_least(s->slow_dev + a_spread * (fabs(rs) - s->slow_dev), DEV_FLOOR);
  s->mean = mean_next;
  if (young)
    return;
  if (calm) {
    s->unsettled += s->unsettled < UINT32_MAX;
  } else {
    tail_learn(&s->tails[FAST], s->n, u[FAST]);
    tail_learn(&s->tails[SLOW], s->n, u[SLOW]);
    tail_learn(&s->tails[LEVEL], s->n, u[LEVEL]);
  }
}

/* last_t is NaN or finite (check() refuses inf), so t > last_t is false
 * for the first time. */
static void note_time(state_t *s, double t) {
  if (!isfinite(t))
    return;
  if (t > s->last_t) {
    double dt = t - s->last_t;
    s->interval =
        s->interval > 0 ? s->interval + 0.05 * (dt - s->interval) : dt;
  }
  s->last_t = t;
}

/* What scoring x needs of the state: the spreads, the next short average
 * and x's deviation on each test. */
typedef struct measure {
  double fast, slow; /* the baselines x is compared with */
  double sf, ss;     /* their spreads */
  double inv_sf, inv_ss;
  double mean_next; /* the short average once x is in */
  double u[NTESTS];
  /* 1 when every deviation is below U0, decided by multiplying the
   * spreads rather than dividing by them, so the common case waits for no
   * division; where rounding makes the two ways disagree, calm decides. */
  int calm;
} measure_t;

static inline __attribute__((always_inline)) void
measure(const state_t *s, double x, measure_t *m) {
  /* Copies: r may alias *s as far as the compiler knows, so every store
   * to r would otherwise reload the baselines. */
  m->fast = s->fast;
  m->slow = s->slow;
  m->sf = spread(s->fast_dev, m->fast);
  m->ss = spread(s->slow_dev, m->slow);
  m->mean_next = s->mean + MEAN_ALPHA * clip(x - s->mean, m->ss);
  m->inv_sf = 1 / m->sf;
  m->inv_ss = 1 / m->ss;
  m->u[FAST] = deviation(x, m->fast, m->inv_sf);
  m->u[SLOW] = deviation(x, m->slow, m->inv_ss);
  m->u[LEVEL] = deviation(m->mean_next, m->slow, m->inv_ss * LEVEL_SE);
  /* & rather than &&: one branch, not three */
  m->calm = (fabs(x - m->fast) < U0 * m->sf) &
            (fabs(x - m->slow) < U0 * m->ss) &
            (fabs(m->mean_next - m->slow) * LEVEL_SE < U0 * m->ss);
}

/* Fills *r for a value judged normal (score 0), compared with the
 * baseline of test worst. Each field is written once (no memset): at
 * tens of nanoseconds a value, the stores show. */
static inline __attribute__((always_inline)) void
result_normal(const state_t *s, double x, const measure_t *m, int worst,
              an_result_t *r) {
  double expected = worst == FAST ? m->fast : m->slow;
  r->score = 0;
  r->p_value = 1;
  r->expected = expected;
  r->deviation = (x - expected) * (worst == FAST ? m->inv_sf : m->inv_ss);
  r->spread = worst == FAST ? m->sf : m->ss;
  r->horizon = s->interval * (1 / SPREAD_ALPHA);
  r->kind = AN_KIND_NONE;
  r->warming_up = 0;
  r->seen = 0;
}

static void count_value(state_t *s, double t) {
  note_time(s, t);
  if (s->n < UINT32_MAX)
    s->n++;
}

/* Any value, in any state: update() handles the common case itself. Out
 * of line, so that case does not pay for this one's registers. */
static __attribute__((noinline)) void update_any(state_t *s, double t, double x,
                                                 an_result_t *r) {
  if (__builtin_expect(!isfinite(x), 0)) {
    *r = (an_result_t){
        .p_value = 1, .expected = s->fast, .kind = AN_KIND_INVALID};
    return;
  }
  if (__builtin_expect(s->n == 0, 0)) {
    *r = (an_result_t){.p_value = 1, .expected = s->fast, .warming_up = 1};
    s->fast = s->slow = s->mean = x;
    s->n = 1;
    note_time(s, t);
    return;
  }

  /* an incident ends with a silence longer than itself, too */
  if (s->quiet > 0 && s->interval > 0 && isfinite(t) && isfinite(s->last_t) &&
      t - s->last_t > REFRACTORY * s->interval)
    s->quiet = 0;

  measure_t m;
  measure(s, x, &m);
  if (!m.calm)
    settle_tails(s); /* the rates are used below */
  int worst = FAST;
  double pv = 1;
  /* a warming-up value's p is not used: its result is the fast test's */
  if (__builtin_expect(!m.calm, 0) && s->n >= WARMUP)
    pv = worst_p(s, m.u, &worst);

  result_normal(s, x, &m, worst, r);
  if (s->n < WARMUP) {
    r->warming_up = 1;
  } else if (s->quiet > 0 && !(pv < s->incident_p * ESCALATION)) {
    s->quiet--;
  } else {
    r->p_value = pv;
    if (pv < SCORED_P) {
      r->score = an_score_from_p(pv);
      if (pv < AN_REFRACTORY_P) {
        s->quiet = REFRACTORY;
        s->incident_p = pv;
      }
      if (r->score > 0) {
        int up = x >= r->expected;
        if (worst == LEVEL)
          r->kind = up ? AN_KIND_LEVEL_UP : AN_KIND_LEVEL_DOWN;
        else
          r->kind = up ? AN_KIND_SPIKE : AN_KIND_DIP;
      }
    }
  }
  learn(s, x, m.sf, m.ss, m.u, m.mean_next, fixed(s->n), m.calm);
  count_value(s, t);
}

/* Scores x and learns from it. The common case, a calm value of a series
 * past its first FIXED_N values and outside an incident, is update_any()'s
 * path for it with every test that cannot fail left out: straight-line
 * code. */
/* inline (the declaration in detector.h makes this the external
 * definition too): link-time optimisation inlines it into the series
 * table's update, where always_inline overrules its size. */
inline __attribute__((always_inline)) void
an_detect_default_update(void *p, double t, double x, an_result_t *r) {
  state_t *s = p;
  /* no isfinite(x): NaN and inf are never calm, and measure() takes them */
  if (__builtin_expect(fixed(s->n) && s->quiet == 0, 1)) {
    measure_t m;
    measure(s, x, &m);
    if (__builtin_expect(m.calm, 1)) {
      result_normal(s, x, &m, FAST, r);
      learn(s, x, m.sf, m.ss, m.u, m.mean_next, 1, 1);
      count_value(s, t);
      return;
    }
  }
  update_any(s, t, x, r);
}

static int check(const void *p) {
  const state_t *s = p;
  if (!isfinite(s->fast) || !isfinite(s->slow) || !isfinite(s->mean) ||
      !(s->fast_dev >= 0) || !isfinite(s->fast_dev) || !(s->slow_dev >= 0) ||
      !isfinite(s->slow_dev) || !(s->interval >= 0) || isinf(s->last_t) ||
      s->quiet > REFRACTORY || !(s->incident_p >= 0 && s->incident_p <= 1))
    return EINVAL;
  for (int i = 0; i < NTESTS; i++)
    if (!(s->tails[i].rate >= 0 && s->tails[i].rate <= 1) ||
        !(s->tails[i].excess > 0) || !isfinite(s->tails[i].excess))
      return EINVAL;
  return 0;
}

const an_detector_class_t an_detect_default = {
    .name = "default",
    .description = "fast and slow EWMA baselines, level test, learned tails",
    .version = 2,
    .state_size = sizeof(state_t),
    .init = init,
    .update = an_detect_default_update,
    .check = check,
};
