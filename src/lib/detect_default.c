/* detect_default.c: the default detector, a stack of cheap tests.
 *
 * Two baselines follow the series: a fast one (the one-step prediction)
 * and a slow one (the recent level), each with its spread (the mean
 * absolute residual). On them stand tests, one per failure shape, each a
 * statistic u that is large when its shape is present:
 *
 *   spike, dip    the value far from the one-step prediction; for a
 *                 bursty type (traffic, disk, latency: noise that
 *                 multiplies) ln x far from the recent level of ln x
 *   shift         CUSUM of the residual from the slow baseline, up or down
 *   variance      a CUSUM of how much more often than usual residuals are
 *                 wide (a burst is one wide residual, however large)
 *   flatline      a run of identical values, weighed by how rarely the
 *                 series repeats itself
 *   outage        a run of near-zero values, weighed by how rarely the
 *                 series is near zero
 *   trend         CUSUMs of the steps between blocks' minima (a leak under
 *                 a sawtooth still raises its minima) and maxima
 *
 * A rise that stops at the type's maximum is reported as a saturation,
 * a dip to near zero as an outage.
 *
 * Each test's u becomes a p-value through a tail learned from the series'
 * own u (peaks over a threshold u0: how often u exceeds u0 and the mean
 * excess when it does: an exponential tail, or for the spikes of a bursty
 * type a generalised Pareto one), so a series whose bursts are large needs
 * a larger one to alarm and one threshold means about one false-alarm
 * rate everywhere. The value's p is the smallest test's.
 *
 * Seasonality is an envelope: the largest surprise (-log10 p) seen at each
 * five minutes of the day and each minute of the hour, a little of it
 * forgotten at each visit. A value no more surprising than its time
 * usually brings (a backup at 02:00, cron at :00) is normal; the same
 * burst at another time is not. What a visit finds becomes precedent
 * once the visit is past, so a change that grows slowly at a quiet time
 * (a wider spread) is not its own precedent; at a job's time it is at
 * once (a job that runs longer or harder than it did stays the job).
 * What is normal for its time still runs as a silent incident, so the
 * series is followed through it as on the days it was learned.
 *
 * One incident, one alarm per severity band: an alarm opens an incident,
 * during which the slow baseline follows the series quickly (a lasting
 * change becomes the new normal) and a value scores only when the
 * incident grows a band worse or another test finds something far rarer;
 * it ends once the series has been normal for CALM_TO_END values. */
#include "detector.h"
#include "score.h"
#include "severity.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

#define FAST_ALPHA 0.5     /* the one-step prediction */
#define SLOW_ALPHA 0.02    /* the recent level: about 50 values */
#define SPREAD_ALPHA 0.005 /* spreads: about 200 values */
#define SCALE_ALPHA 1e-3   /* the series' magnitude: about 1 000 values */
#define RATE_ALPHA 1e-4    /* how often u > u0: about 10 000 values */
#define LOG_RATE_KEEP (-1.0000500033334732e-4) /* log(1 - RATE_ALPHA) */
#define LOG_RATE_MIN (-69.07755278982137)      /* log(1e-30) */
#define EXCESS_ALPHA 0.01 /* the excess moments: about 100 exceedances */
#define COUNT_ALPHA 2e-3  /* how often a run's condition holds */
#define LOG_COUNT_KEEP (-2.0020026706730793e-3) /* log(1 - COUNT_ALPHA) */
#define FREQ_MIN 1e-4f /* how rare or common a condition is believed */
#define FREQ_MAX 0.9999f
#define PRIOR_WEIGHT 10 /* a prior tail counts as 10 observations */
#define CLIP 5.0        /* residuals are learned at most 5 spreads */
#define WARMUP 120      /* values before the full stack may score */
#define GROSS_WARMUP 30 /* values before a gross outlier may score */
#define GROSS 20.0      /* spreads from the recent level that are gross */
#define MAD_TO_SIGMA 1.2533141373155001
#define CUSUM_K 0.5     /* the CUSUMs' allowance, in spreads */
#define WIDE 1.5        /* mean deviations beyond which a residual is wide */
#define WIDE_ALPHA 1e-3 /* how often one is: about 1 000 values */
#define VAR_RATIO 2.5   /* the more often the variance test looks for */
#define LOG_VAR_P_MIN (-27.631021115928547) /* log(1e-12): its rarest p */
#define BLOCK 30           /* values per block of the trend test */
#define CALM_TO_END 30     /* normal values in a row that end an incident */
#define INCIDENT_ALPHA 0.2 /* the slow baseline's rate in an incident */
#define OPEN_P 3.9e-5      /* p that opens an incident: score 0.5 */
#define ESCALATION 1e-3    /* in an incident, another test must be rarer */
#define NORMAL_P 1e-2      /* p at and above which a value is calm */
#define LOG_EXACT_P (-2.302585092994046) /* log(0.1) */
#define NEAR_ZERO 0.02        /* of the series' magnitude: an outage */
#define AT_CEILING 0.01       /* of the ceiling: at it */
#define MATERIAL 10.0         /* floors of change below which none pages */
#define IMMATERIAL_SCORE 0.69 /* such a change scores at most: never 0.7 */
#define MAX_SURPRISE 250.0    /* -log10 p beyond this is all alike */
#define SCORED_P 1e-2         /* the score is 0 from here up */
#define U_MAX 1e6             /* spreads beyond which a value is all huge */
#define EXCESS_CAP 3.0        /* an excess teaches at most 3 mean excesses */
#define LOG_FLOOR 0.01        /* the least spread believed of ln x: 1 % */
#define LOG_DEV_MIN 1e-6 /* log_dev once learning: above 0, normal floats */
#define SHAPE_MAX 0.45   /* a bursty tail's heaviest shape */

/* The seasonal envelope's bins: 5 minutes of the day, a minute of the
 * hour (only for a series sampled at least once a minute). Each visit to
 * a bin keeps ENV_KEEP of its surprise, so a one-off incident fades in
 * about two weeks and a daily job is refreshed daily. */
#define DAY_BINS 288
#define HOUR_BINS 60
#define DAY 86400
#define HOUR 3600
#define ENV_KEEP 0.875
#define ENV_MARGIN 1.0 /* surprise beyond the usual that still alarms */
#define ENV_NEAR 2     /* neighbouring bins each side that count */
#define ENV_JOB 4.0    /* usual surprise that marks a job's time */

enum {
  T_SPIKE,
  T_DIP,
  T_SHIFT_UP,
  T_SHIFT_DOWN,
  T_VARIANCE,
  T_FLAT,
  T_OUTAGE,
  T_TREND_UP,
  T_TREND_DOWN,
  NTESTS
};

/* Each test: where its tail starts (u0), its prior (the rate at which u
 * exceeds u0, the mean excess) and what it reports. */
static const struct {
  double u0;
  float rate, excess;
  an_kind_t kind;
} tests[NTESTS] = {
    [T_SPIKE] = {3, 0.00135f, 0.31f, AN_KIND_SPIKE},
    [T_DIP] = {3, 0.00135f, 0.31f, AN_KIND_DIP},
    [T_SHIFT_UP] = {5, 0.001f, 1.0f, AN_KIND_LEVEL_UP},
    [T_SHIFT_DOWN] = {5, 0.001f, 1.0f, AN_KIND_LEVEL_DOWN},
    [T_VARIANCE] = {4, 0.001f, 1.0f, AN_KIND_VARIANCE},
    [T_FLAT] = {6, 0.001f, 1.0f, AN_KIND_FLATLINE},
    [T_OUTAGE] = {6, 0.001f, 1.0f, AN_KIND_OUTAGE},
    [T_TREND_UP] = {4, 0.001f, 1.0f, AN_KIND_TREND},
    [T_TREND_DOWN] = {4, 0.001f, 1.0f, AN_KIND_TREND},
};

/* A test's learned tail: P(u > u0), and the first two moments of u - u0
 * when it is. */
typedef struct tail {
  float lrate; /* log of the rate before value number since */
  float excess, excess2;
  uint32_t count; /* exceedances, saturating */
  uint32_t since; /* the rate only decays between exceedances: it is
                     brought up to date when read, not at every value */
} tail_t;

/* A run of values in a rare condition (repeating, near zero, at the
 * ceiling): its length, and how rare the condition was when it began. */
typedef struct run {
  float freq;     /* how often the condition holds, learned, as it was
                     before value number since: it decays by itself
                     while the condition does not hold */
  float weight;   /* -ln(freq) when the run began */
  uint32_t count; /* values in the run */
  uint32_t since;
} run_t;

/* Where a series is on one of the envelope's rings, and what its visits
 * found. A visit's surprise enters its bin only once the series has left
 * ENV_NEAR more bins: until then the bin and its neighbours hold earlier
 * cycles only, so a lasting anomaly is never its own precedent. */
typedef struct ring {
  int16_t bin;                /* this visit's bin, -1 if none */
  int16_t past_bin[ENV_NEAR]; /* the visits before, latest first, -1 */
  uint8_t now;                /* this visit's surprise so far */
  uint8_t past[ENV_NEAR];
  uint8_t usual; /* of the bin and its neighbours, kept as they change */
} ring_t;

typedef struct envelope {
  double minute; /* the start of the minute the rings are in, NaN if none:
                    within it neither ring's bin changes */
  ring_t day_at, hour_at;
  uint8_t day[DAY_BINS]; /* surprise, whole units, saturating */
  uint8_t hour[HOUR_BINS];
} envelope_t;

typedef struct state {
  uint32_t n;        /* values learned from, saturating */
  uint32_t calm;     /* in an incident: calm values in a row */
  int32_t incident;  /* the test that opened the incident, -1 if none */
  int32_t band;      /* the worst severity band the incident reported */
  double incident_p; /* the p of the incident's last alarm */
  double last_t;     /* time of the last value, NaN if none */
  double interval;   /* mean seconds between values, 0 while unknown */
  double last_x;     /* the last value */
  double fast, slow;
  double fast_dev, slow_dev; /* mean absolute residuals */
  double var_cusum;          /* of the fast residuals' widening */
  double wide_rate;          /* how often a residual is beyond WIDE */
  float llr_wide, llr_calm;  /* the variance CUSUM's steps */
  float var_peak;            /* the variance CUSUM's excursion, its peak */
  double scale;              /* the series' magnitude: mean |x| */
  double log_level, log_dev; /* a bursty type's level and spread in ln x,
                                log_dev 0 until its first value */
  double cusum_up, cusum_down;
  double block_min, block_max, last_min, last_max, step_dev;
  double trend_up, trend_down; /* CUSUMs of the blocks' steps */
  double trend_since;          /* when both were last 0, NaN if unknown */
  double trend_base;           /* the middle of the block then */
  uint32_t block_n;
  an_hint_t hint;
  run_t flat, zero, sat;
  tail_t tails[NTESTS];
  envelope_t env;
} state_t;

static double at_least(double x, double floor) { return x > floor ? x : floor; }

/* fmin() is a call into libm; the values here are never NaN */
static double at_most(double x, double ceiling) {
  return x < ceiling ? x : ceiling;
}

static void ring_leave(ring_t *r) {
  r->bin = -1;
  for (int i = 0; i < ENV_NEAR; i++)
    r->past_bin[i] = -1;
}

/* The variance CUSUM's steps for a wide residual and a narrow one: the
 * log-likelihood ratios of wide_rate times VAR_RATIO against it. */
static void var_ratios(state_t *s) {
  double p0 = s->wide_rate, p1 = at_most(VAR_RATIO * p0, 0.9);
  s->llr_wide = (float)log(p1 / p0);
  s->llr_calm = (float)log((1 - p1) / (1 - p0));
}

static void init(void *p, const an_hint_t *hint) {
  state_t *s = p;
  memset(s, 0, sizeof(*s));
  s->last_t = NAN;
  s->trend_since = NAN;
  s->incident = -1;
  /* field by field: a struct copy would bring the caller's padding into
   * the state, which is saved and compared as bytes */
  const an_hint_t *h = hint != NULL ? hint : &an_hint_none;
  s->hint.unit = h->unit;
  s->hint.floor = h->floor;
  s->hint.min = h->min;
  s->hint.max = h->max;
  s->hint.bursty = h->bursty;
  for (int i = 0; i < NTESTS; i++)
    s->tails[i] = (tail_t){.lrate = logf(tests[i].rate),
                           .excess = tests[i].excess,
                           .excess2 = 2 * tests[i].excess * tests[i].excess,
                           .since = 1};
  /* until the series shows otherwise, repeating itself and sitting at 0
   * are taken as common; the first value is measured by nothing, so the
   * learning starts with the second */
  s->flat = (run_t){.freq = 0.99f, .since = 1};
  s->zero = (run_t){.freq = 0.5f, .since = 1};
  s->sat = (run_t){.freq = 0.5f, .since = 1};
  s->wide_rate = 0.18; /* a normal residual's chance of being wide */
  var_ratios(s);
  ring_leave(&s->env.day_at);
  ring_leave(&s->env.hour_at);
  s->env.minute = NAN;
}

static double clip(double r, double c) { return r < -c ? -c : r > c ? c : r; }

/* What decays geometrically while nothing happens (a spread, a baseline
 * heading for 0) is flushed to 0 short of the subnormal numbers:
 * arithmetic on those is a hundred times slower on x86. */
static double tidy(double x) { return fabs(x) < DBL_MIN ? 0 : x; }

/* A running average while young, exponential forgetting once old. */
static double rate_of(double alpha, double count) {
  return count + 1 >= 1 / alpha ? alpha : 1.0 / (count + 1);
}

/* No spread is believed below the type's floor (the smallest change that
 * matters), nor below float rounding of the series' magnitude. */
static double floor_of(const state_t *s) {
  return s->hint.floor + 1e-9 * s->scale + 1e-300;
}

static double spread(const state_t *s, double dev) {
  return MAD_TO_SIGMA * dev + floor_of(s);
}

/* Whether test i of s may have a heavy tail: the spikes and dips of a
 * bursty type. Its tail is then a generalised Pareto one, and its excess
 * is learned uncapped: bursts hundreds of spreads high are its normal. */
static int heavy(const state_t *s, int i) {
  return s->hint.bursty && (i == T_SPIKE || i == T_DIP);
}

/* The log of the rate before value n is learned: RATE_ALPHA's decay over
 * the values since the last exceedance, at once. Tails work in logs: a
 * value's p costs no exp(), and only a rare one's is ever taken out of
 * them. */
static double lrate_at(const tail_t *t, uint32_t n) {
  double l = t->lrate + (double)(n - t->since) * LOG_RATE_KEEP;
  return l > LOG_RATE_MIN ? l : LOG_RATE_MIN;
}

/* log P(U >= u) under the tail, lrate its log rate now. A heavy one is a
 * generalised Pareto distribution of the excess, its shape and scale
 * from the excess' first two moments (the method of moments, as SPOT
 * does), the shape kept in [0, SHAPE_MAX]; any other is exponential. */
static double tail_logp(const tail_t *t, double lrate, double u0, double u,
                        int is_heavy) {
  double m1 = t->excess, var = t->excess2 - m1 * m1;
  double shape = is_heavy && var > 0 ? 0.5 * (1 - m1 * m1 / var) : 0;
  shape = shape < 0 ? 0 : shape > SHAPE_MAX ? SHAPE_MAX : shape;
  double z = (u - u0) / (m1 * (1 - shape));
  if (shape < 1e-3)
    return lrate - z;
  return lrate - log1p(shape * z) / shape;
}

/* The variance CUSUM stops where its p is exp(LOG_VAR_P_MIN): a wider spread
 * that lasts (a nightly job) then peaks alike each time it recurs, and
 * the seasonal envelope learns it. */
static double var_cap(const state_t *s) {
  const tail_t *t = &s->tails[T_VARIANCE];
  return tests[T_VARIANCE].u0 + t->excess * (lrate_at(t, s->n) - LOG_VAR_P_MIN);
}

/* Learns one exceedance e = u - u0 into the tail's excess moments. */
static void excess_learn(tail_t *t, double e, int is_heavy) {
  double cap = EXCESS_CAP * t->excess;
  if (!is_heavy && e > cap) /* one outlier does not make a tail heavy */
    e = cap;
  double a = rate_of(EXCESS_ALPHA, t->count + PRIOR_WEIGHT);
  /* floors far below anything that matters keep floats normal */
  t->excess = (float)at_least(t->excess + a * (e - t->excess), 1e-6);
  t->excess2 = (float)at_least(t->excess2 + a * (e * e - t->excess2), 1e-12);
  t->count += t->count < UINT32_MAX;
}

/* Value n exceeded u0. */
static void rate_learn(tail_t *t, uint32_t n) {
  t->lrate = (float)log(exp(lrate_at(t, n)) * (1 - RATE_ALPHA) + RATE_ALPHA);
  t->since = n + 1;
}

/* The rate learns at RATE_ALPHA from the start: its prior, worth
 * PRIOR_WEIGHT exceedances at a rate near 1/1 000, is worth about
 * 1 / RATE_ALPHA values already. */
static void tail_learn(tail_t *t, uint32_t n, double u0, double u,
                       int is_heavy) {
  if (u > u0) {
    rate_learn(t, n);
    excess_learn(t, u - u0, is_heavy);
  }
}

/* The same for a statistic that stays high for many values once high (a
 * CUSUM): an excursion above u0 is one exceedance, its peak the excess,
 * so a long one does not teach the tail that it is normal while it lasts.
 * The rate is then how often an excursion begins. */
static void tail_learn_peaks(tail_t *t, uint32_t n, double u0, double u,
                             float *peak) {
  if (u > u0 && *peak == 0)
    rate_learn(t, n);
  if (u > u0) {
    *peak = (float)at_least(*peak, u);
  } else if (*peak > 0) {
    excess_learn(t, *peak - u0, 0);
    *peak = 0;
  }
}

/* Extends or ends the run, and returns its statistic: the run's length
 * weighed by how rare its condition was when the run began, 0 if it held
 * more often than common (a series that never moved is not stuck). */
static double run_step(run_t *r, uint32_t n, int holds, float common) {
  if (!holds) {
    r->count = 0;
    return 0;
  }
  float f = r->freq;
  if (n != r->since) /* the values between held not */
    f = (float)at_least(f * exp((double)(n - r->since) * LOG_COUNT_KEEP),
                        FREQ_MIN);
  if (r->count == 0)
    r->weight = f < common ? -logf(f) : 0;
  r->count++;
  f += COUNT_ALPHA * (1 - f);
  r->freq = f < FREQ_MAX ? f : FREQ_MAX;
  r->since = n + 1;
  return r->count > 1 ? (r->count - 1) * r->weight : 0;
}

/* t's bin of a period of whole seconds: integer arithmetic, as fmod()
 * costs tens of nanoseconds. t must be finite. */
static int bin_of(double t, int period, int bins) {
  int64_t whole = t > -9e18 && t < 9e18 ? (int64_t)floor(t) : 0;
  int32_t phase = (int32_t)(whole % period);
  return (phase < 0 ? phase + period : phase) * bins / period;
}

/* The largest of bin b and its ENV_NEAR neighbours each side: a job's
 * start and end jitter. */
static int env_near(const uint8_t *env, int bins, int b) {
  int m = env[b];
  for (int d = 1; d <= ENV_NEAR; d++) {
    int lo = env[(b + bins - d) % bins], hi = env[(b + d) % bins];
    m = m > lo ? m : lo;
    m = m > hi ? m : hi;
  }
  return m;
}

/* Moves the series to bin b of ring r over bins: the oldest pending
 * visit enters its bin, a bin entered anew keeps ENV_KEEP of its
 * surprise, and r->usual becomes what b and its neighbours hold. */
static void ring_enter(ring_t *r, uint8_t *env, int bins, int b) {
  if (b != r->bin) {
    int oldest = r->past_bin[ENV_NEAR - 1];
    if (oldest >= 0 && r->past[ENV_NEAR - 1] > env[oldest])
      env[oldest] = r->past[ENV_NEAR - 1];
    for (int i = ENV_NEAR - 1; i > 0; i--) {
      r->past_bin[i] = r->past_bin[i - 1];
      r->past[i] = r->past[i - 1];
    }
    r->past_bin[0] = r->bin;
    r->past[0] = r->now;
    r->now = 0;
    r->bin = (int16_t)b;
    env[b] = (uint8_t)(env[b] * ENV_KEEP);
    r->usual = (uint8_t)env_near(env, bins, b);
  }
}

/* This visit found surprise q, and carry of it is an earlier cycle's
 * precedent: that much enters the bin at once (a job that runs longer
 * than it did stays the job), the rest only once the visit is past. */
static void ring_learn(ring_t *r, uint8_t *env, int q, int carry) {
  if (r->bin < 0)
    return;
  if (q > r->now)
    r->now = (uint8_t)q;
  if (carry > env[r->bin])
    env[r->bin] = (uint8_t)carry;
  if (carry > r->usual)
    r->usual = (uint8_t)carry;
}

/* Enters t's bins and returns the surprise usual at t. */
static double envelope_at(envelope_t *e, double t, double interval) {
  if (!isfinite(t)) {
    ring_leave(&e->day_at);
    ring_leave(&e->hour_at);
    e->minute = NAN;
    return 0;
  }
  if (!(t >= e->minute && t < e->minute + 60)) {
    e->minute = floor(t / 60) * 60;
    ring_enter(&e->day_at, e->day, DAY_BINS, bin_of(t, DAY, DAY_BINS));
    ring_enter(&e->hour_at, e->hour, HOUR_BINS, bin_of(t, HOUR, HOUR_BINS));
  }
  int usual = e->day_at.usual, hu = e->hour_at.usual;
  /* minutes of the hour mean nothing to a series sampled less often */
  if (interval > 0 && interval <= 60 && hu > usual)
    usual = hu;
  return usual / ENV_KEEP;
}

/* Learns a value's surprise, usual being what its time brought on
 * earlier cycles. At a job's time all of it is precedent at once;
 * elsewhere as much as earlier cycles vouch for (nothing when the value
 * was more surprising than they were), and the rest once the visit is
 * past. */
static void envelope_learn(envelope_t *e, double surprise, double usual,
                           int expected) {
  int q = surprise < 255 ? (int)surprise : 255;
  int carry = usual >= ENV_JOB ? q : !expected ? 0 : usual < q ? (int)usual : q;
  ring_learn(&e->day_at, e->day, q, carry);
  ring_learn(&e->hour_at, e->hour, q, carry);
}

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

/* What scoring x found: the spreads and residuals, each test's u. */
typedef struct measure {
  double sf, ss, rf, rs;
  double lx; /* ln x, for a bursty type's value far from zero; else NaN */
  double u[NTESTS];
  unsigned over; /* bit i: u[i] is beyond the start of test i's tail */
  int near_zero, at_ceiling;
} measure_t;

/* The trend test's blocks: each block's minimum and maximum, and CUSUMs
 * of the steps from block to block. Under a sawtooth (a garbage
 * collector) the minima stay put unless something leaks. */
static void trend_step(state_t *s, double x, double t) {
  if (s->block_n == 0 || x < s->block_min)
    s->block_min = x;
  if (s->block_n == 0 || x > s->block_max)
    s->block_max = x;
  if (++s->block_n < BLOCK)
    return;
  s->block_n = 0;
  if (s->n >= BLOCK) {
    double up = s->block_min - s->last_min, down = s->last_max - s->block_max;
    double sd = MAD_TO_SIGMA * s->step_dev + floor_of(s);
    s->trend_up = at_least(s->trend_up + clip(up / sd, 3) - CUSUM_K, 0);
    s->trend_down = at_least(s->trend_down + clip(down / sd, 3) - CUSUM_K, 0);
    double step = fabs(up) < fabs(down) ? fabs(up) : fabs(down);
    s->step_dev = tidy(s->step_dev + rate_of(0.05, s->n / BLOCK) *
                                         (at_most(step, 5 * sd) - s->step_dev));
    if (s->trend_up + s->trend_down == 0) {
      s->trend_since = t;
      s->trend_base = (s->block_min + s->block_max) / 2;
    }
  }
  s->last_min = s->block_min;
  s->last_max = s->block_max;
}

static void measure(state_t *s, double x, double t, measure_t *m) {
  m->sf = spread(s, s->fast_dev);
  m->ss = spread(s, s->slow_dev);
  m->rf = x - s->fast;
  m->rs = x - s->slow;
  double uf = m->rf / m->sf, us = m->rs / m->ss;
  /* a bursty type's value near zero, or before ln x is learned, must
   * stand out from both baselines: the end of a burst is a return */
  double spike = !s->hint.bursty ? uf
                 : uf * us > 0   ? (fabs(uf) < fabs(us) ? uf : us)
                                 : 0;
  /* beyond U_MAX spreads all is huge; a bounded excess squares finitely */
  m->u[T_SPIKE] = spike > 0 ? at_most(spike, U_MAX) : 0;
  m->u[T_DIP] = spike < 0 ? at_most(-spike, U_MAX) : 0;
  m->near_zero = fabs(x) <= NEAR_ZERO * s->scale + floor_of(s);
  m->lx = NAN;
  /* a bursty type's noise is multiplicative: its spikes and dips are
   * measured in ln x, where a Pareto burst has an exponential tail and a
   * drop to a tenth is as plain as a rise tenfold. A drop to near zero is
   * the outage test's. */
  if (s->hint.bursty && x > 0 && !m->near_zero) {
    m->lx = log(x);
    if (s->log_dev > 0) {
      /* no change smaller than the type's floor is believed either */
      double floor = s->hint.floor / at_least(s->slow, s->hint.floor);
      double ul = (m->lx - s->log_level) /
                  (MAD_TO_SIGMA * s->log_dev + floor + LOG_FLOOR);
      m->u[T_SPIKE] = ul > 0 ? at_most(ul, U_MAX) : 0;
      m->u[T_DIP] = ul < 0 ? at_most(-ul, U_MAX) : 0;
    }
  }
  double z = clip(us, 4);
  s->cusum_up = at_least(s->cusum_up + z - CUSUM_K, 0);
  s->cusum_down = at_least(s->cusum_down - z - CUSUM_K, 0);
  m->u[T_SHIFT_UP] = s->cusum_up;
  m->u[T_SHIFT_DOWN] = s->cusum_down;
  /* a wider spread with the same mean: residuals beyond WIDE mean
   * deviations come more often than they used to. A CUSUM of the
   * log-likelihood ratio of that rate against VAR_RATIO times it; a
   * burst is one such residual, however large. */
  int wide = fabs(m->rf) > WIDE * (s->fast_dev + floor_of(s));
  double llr = wide ? s->llr_wide : s->llr_calm;
  /* "the same mean": while the level moves, or another failure runs,
   * wider residuals are its doing, and the variance test only waits */
  int level_moves = s->cusum_up > tests[T_SHIFT_UP].u0 ||
                    s->cusum_down > tests[T_SHIFT_DOWN].u0 ||
                    (s->incident >= 0 && s->incident != T_VARIANCE);
  /* nor before the spreads are learned: "wider than usual" needs a usual
   * (it alarmed on plain noise at the first value after the warm-up) */
  if ((level_moves || s->n < WARMUP) && llr > 0)
    llr = 0;
  double v = s->var_cusum + llr;
  if (v > tests[T_VARIANCE].u0) /* rare: the cap costs a log */
    v = at_most(v, var_cap(s));
  s->var_cusum = v > 0 ? v : 0;
  if (s->n >= 20)
    s->wide_rate += WIDE_ALPHA * (wide - s->wide_rate);
  s->wide_rate = at_most(at_least(s->wide_rate, 0.01), 0.5);
  if (s->block_n == 0) /* the rate moves slowly: its logs once a block */
    var_ratios(s);
  m->u[T_VARIANCE] = s->var_cusum;
  m->u[T_OUTAGE] = run_step(&s->zero, s->n, m->near_zero, 0.5f);
  /* a stuck value near zero is the outage test's to report */
  m->u[T_FLAT] =
      run_step(&s->flat, s->n, x == s->last_x && !m->near_zero, 0.9f);
  /* at the type's maximum (a series' own largest value is no ceiling:
   * a rising one is always at it) */
  double ceiling = s->hint.max;
  m->at_ceiling =
      isfinite(ceiling) && ceiling > 0 && x >= ceiling * (1 - AT_CEILING);
  run_step(&s->sat, s->n, m->at_ceiling, 1);
  trend_step(s, x, t);
  m->u[T_TREND_UP] = s->trend_up;
  m->u[T_TREND_DOWN] = s->trend_down;
  m->over = 0;
  for (int i = 0; i < NTESTS; i++)
    m->over |= (unsigned)(m->u[i] > tests[i].u0) << i;
}

/* Learns x. In an incident the slow baseline follows x quickly: a lasting
 * change becomes the new normal within the incident. */
static void learn(state_t *s, double x, const measure_t *m, int in_incident) {
  int young = s->n < 20; /* too young to tell outliers from normal */
  double rf = young ? m->rf : clip(m->rf, CLIP * m->sf);
  double rs = young ? m->rs : clip(m->rs, CLIP * m->ss);
  double a_slow = rate_of(SLOW_ALPHA, s->n);
  double a_spread = rate_of(SPREAD_ALPHA, s->n);
  s->fast_dev = tidy(s->fast_dev + a_spread * (fabs(rf) - s->fast_dev));
  s->slow_dev = tidy(s->slow_dev + a_spread * (fabs(rs) - s->slow_dev));
  if (in_incident)
    a_slow = a_slow > INCIDENT_ALPHA ? a_slow : INCIDENT_ALPHA;
  /* the magnitude learns the value as clipped: one outlier does not make
   * every later value look near zero */
  double clipped = s->slow + rs;
  s->scale =
      tidy(s->scale + rate_of(SCALE_ALPHA, s->n) * (fabs(clipped) - s->scale));
  s->fast = tidy(s->fast + rate_of(FAST_ALPHA, s->n) * rf);
  s->slow = tidy(s->slow + a_slow * rs);
  s->last_x = x;
  if (s->log_dev > 0) {
    if (!isnan(m->lx)) {
      double rl = m->lx - s->log_level;
      if (!young)
        rl = clip(rl, CLIP * (MAD_TO_SIGMA * s->log_dev + LOG_FLOOR));
      s->log_dev = at_least(s->log_dev + a_spread * (fabs(rl) - s->log_dev),
                            LOG_DEV_MIN);
      s->log_level += a_slow * rl;
    }
  } else if (!isnan(m->lx)) {
    s->log_level = m->lx;
    s->log_dev = LOG_DEV_MIN;
  }
  if (young)
    return;
  if (m->over & 1u << T_VARIANCE || s->var_peak > 0)
    tail_learn_peaks(&s->tails[T_VARIANCE], s->n, tests[T_VARIANCE].u0,
                     m->u[T_VARIANCE], &s->var_peak);
  /* the others learn only what exceeded: the rates decay by themselves */
  for (unsigned over = m->over & ~(1u << T_VARIANCE); over; over &= over - 1) {
    int i = __builtin_ctz(over);
    tail_learn(&s->tails[i], s->n, tests[i].u0, m->u[i], heavy(s, i));
  }
}

/* The log of the smallest p of the tests, and which gave it. */
static double worst_logp(const state_t *s, const measure_t *m, int *worst) {
  double lp = 0;
  for (unsigned over = m->over; over; over &= over - 1) {
    int i = __builtin_ctz(over);
    const tail_t *t = &s->tails[i];
    double li =
        tail_logp(t, lrate_at(t, s->n), tests[i].u0, m->u[i], heavy(s, i));
    if (li < lp) {
      lp = li;
      *worst = i;
    }
  }
  return lp;
}

static void fill(const state_t *s, double x, double t, const measure_t *m,
                 int test, double pv, double score, an_result_t *r) {
  /* the usual level a person compares with is the recent one, whichever
   * baseline the test used; a flatline's is the value it left */
  int slow = test != T_FLAT;
  double expected = slow ? s->slow : s->fast;
  double sd = slow ? m->ss : m->sf;
  *r = (an_result_t){
      .score = score,
      .p_value = pv,
      .expected = expected,
      .deviation = (x - expected) / sd,
      .spread = sd,
      .horizon = s->interval / SPREAD_ALPHA,
      .kind = tests[test].kind,
      .unit = s->hint.unit,
  };
  if (test == T_FLAT) {
    r->duration = (s->flat.count - 1) * s->interval;
  } else if (test == T_OUTAGE) {
    r->expected = s->scale;
    r->duration = (s->zero.count - 1) * s->interval;
  } else if (test == T_TREND_UP || test == T_TREND_DOWN) {
    r->duration = isfinite(s->trend_since) ? t - s->trend_since : 0;
    r->slope = r->duration > 0 ? (x - s->trend_base) / r->duration : 0;
  } else if ((test == T_SPIKE || test == T_SHIFT_UP) && m->at_ceiling) {
    r->kind = AN_KIND_SATURATION;
    r->duration = (s->sat.count - 1) * s->interval;
  } else if (test == T_DIP && m->near_zero) {
    r->kind = AN_KIND_OUTAGE;
    r->expected = s->scale;
  }
}

/* A change of level too small to matter never pages: in the type's
 * units (ten floors), or for the series' size (a hundredth of its
 * magnitude: a 128 MiB file on an 80 GiB disk). A value stuck, near zero
 * or at the ceiling is no change of level. Returns whether r was capped. */
static int cap_immaterial(const state_t *s, double x, an_result_t *r) {
  double floor =
      s->hint.floor > 1e-3 * s->scale ? s->hint.floor : 1e-3 * s->scale;
  int level = r->kind == AN_KIND_SPIKE || r->kind == AN_KIND_DIP ||
              r->kind == AN_KIND_LEVEL_UP || r->kind == AN_KIND_LEVEL_DOWN;
  if (!level || s->hint.floor <= 0 || r->score <= IMMATERIAL_SCORE ||
      fabs(x - r->expected) >= MATERIAL * floor)
    return 0;
  r->score = IMMATERIAL_SCORE;
  r->p_value = an_p_from_score(IMMATERIAL_SCORE);
  return 1;
}

/* Decides whether r, found by test worst with p pv (score score), is
 * reported, and keeps the incident. Returns whether the series is in an
 * incident. */
static int incident_step(state_t *s, int worst, double pv, double score,
                         an_result_t *r) {
  /* the band of p itself: an incident silent for what its time usually
   * brings grows only beyond that */
  int band = score > 0 ? an_severity_of(NULL, score) : 0;
  if (s->incident >= 0) {
    /* the incident grows a band worse, or another failure begins */
    if (band > s->band ||
        (worst != s->incident && pv < s->incident_p * ESCALATION)) {
      s->incident = worst;
      s->incident_p = pv;
      s->band = band > s->band ? band : s->band;
    } else {
      r->score = 0;
    }
    s->calm = pv >= NORMAL_P ? s->calm + 1 : 0;
    if (s->calm >= CALM_TO_END) {
      s->incident = -1;
      return 0;
    }
    return 1;
  }
  if (!(pv < OPEN_P))
    return 0;
  s->incident = worst;
  s->incident_p = pv;
  s->band = band;
  s->calm = 0;
  return 1;
}

void an_detect_default_update(void *p, double t, double x, an_result_t *r) {
  state_t *s = p;
  if (!isfinite(x)) {
    *r = (an_result_t){.p_value = 1,
                       .expected = s->fast,
                       .kind = AN_KIND_INVALID,
                       .unit = s->hint.unit};
    return;
  }
  if (s->n == 0) {
    *r = (an_result_t){
        .p_value = 1, .expected = x, .warming_up = 1, .unit = s->hint.unit};
    s->fast = s->slow = s->last_x = x;
    s->scale = fabs(x);
    s->n = 1;
    note_time(s, t);
    return;
  }
  /* an incident also ends with a silence as long as its calm would be */
  if (s->incident >= 0 && s->interval > 0 && isfinite(t) &&
      t - s->last_t > CALM_TO_END * s->interval)
    s->incident = -1;
  measure_t m;
  measure(s, x, t, &m);
  int worst = T_SPIKE;
  double lp = worst_logp(s, &m, &worst);
  /* p itself matters only when it is rare: taken out of its log below
   * 0.1 (enough for feedback's sensitivity, at most 2: p squared), 1
   * above */
  double pv = lp < LOG_EXACT_P ? exp(lp) : 1;

  /* no more surprising than this time of day usually is: normal (a
   * value stuck is never a job's doing) */
  double usual = envelope_at(&s->env, t, s->interval);
  double surprise = at_most(-lp / M_LN10, MAX_SURPRISE);
  int expected = surprise <= usual + ENV_MARGIN && worst != T_FLAT;
  if (s->n < WARMUP) {
    /* a gross outlier may alarm early; nothing else yet */
    int gross = s->n >= GROSS_WARMUP && (worst == T_SPIKE || worst == T_DIP) &&
                fabs(m.rs) > GROSS * m.ss;
    if (!gross)
      pv = 1;
  }
  double score = pv < SCORED_P ? an_score_from_surprise(surprise) : 0;
  fill(s, x, t, &m, worst, expected ? 1 : pv, expected ? 0 : score, r);
  r->warming_up = s->n < WARMUP;
  /* a change too small to matter opens an incident in the band it is
   * reported in, so that the same incident may page once it matters */
  if (r->score > 0 && cap_immaterial(s, x, r))
    score = r->score;
  /* what this time usually brings still runs as an incident, a silent
   * one: the series is followed through it as on the days it was
   * learned, and the envelope's precedent stays a fair one */
  int in_incident = incident_step(s, worst, pv, score, r);
  if (r->score <= 0)
    r->kind = AN_KIND_NONE;
  if (in_incident) {
    /* what alarmed starts over: the change it saw is being learned */
    if (s->incident == T_SHIFT_UP || s->incident == T_SHIFT_DOWN)
      s->cusum_up = s->cusum_down = 0;
    if (s->incident == T_TREND_UP || s->incident == T_TREND_DOWN)
      s->trend_up = s->trend_down = 0;
    /* a wider spread is learned slowly: its CUSUM starts over only
     * when the incident opens or grows, and holds it open while the
     * spread stays wide */
    if (s->incident == T_VARIANCE && s->incident_p == pv)
      s->var_cusum = s->var_peak = 0; /* not a normal excursion */
  }
  if (s->n >= WARMUP)
    envelope_learn(&s->env, surprise, usual, expected);
  learn(s, x, &m, in_incident);
  note_time(s, t);
  s->n += s->n < UINT32_MAX;
}

static int finite_nonneg(double x) { return x >= 0 && isfinite(x); }

static int ring_valid(const ring_t *r, int bins) {
  int ok = r->bin >= -1 && r->bin < bins;
  for (int i = 0; i < ENV_NEAR; i++)
    ok &= r->past_bin[i] >= -1 && r->past_bin[i] < bins;
  return ok;
}

static int check(const void *p) {
  const state_t *s = p;
  if (!isfinite(s->fast) || !isfinite(s->slow) || !isfinite(s->last_x) ||
      !finite_nonneg(s->fast_dev) || !finite_nonneg(s->slow_dev) ||
      !finite_nonneg(s->var_cusum) ||
      !(s->wide_rate >= 0.01 && s->wide_rate <= 0.5) ||
      !(s->llr_wide >= 0 && s->llr_wide < 10) ||
      !(s->llr_calm <= 0 && s->llr_calm > -10) || !finite_nonneg(s->var_peak) ||
      !finite_nonneg(s->scale) || !isfinite(s->log_level) ||
      !finite_nonneg(s->log_dev) || !finite_nonneg(s->interval) ||
      isinf(s->last_t) || !finite_nonneg(s->cusum_up) ||
      !finite_nonneg(s->cusum_down) || !finite_nonneg(s->trend_up) ||
      !finite_nonneg(s->trend_down) || !finite_nonneg(s->step_dev) ||
      s->incident < -1 || s->incident >= NTESTS || s->band < 0 ||
      s->band > AN_SEVERITY_CRITICAL ||
      !(s->incident_p >= 0 && s->incident_p <= 1) || s->block_n >= BLOCK ||
      !finite_nonneg(s->hint.floor) || s->hint.unit > AN_UNIT_LOAD ||
      !ring_valid(&s->env.day_at, DAY_BINS) ||
      !ring_valid(&s->env.hour_at, HOUR_BINS) || isinf(s->env.minute))
    return EINVAL;
  const run_t *runs[] = {&s->flat, &s->zero, &s->sat};
  for (int i = 0; i < 3; i++)
    if (!(runs[i]->freq > 0 && runs[i]->freq < 1) ||
        runs[i]->since > (uint64_t)s->n + 1 || !finite_nonneg(runs[i]->weight))
      return EINVAL;
  for (int i = 0; i < NTESTS; i++)
    if (!(s->tails[i].lrate >= LOG_RATE_MIN && s->tails[i].lrate <= 0) ||
        s->tails[i].since > (uint64_t)s->n + 1 || !(s->tails[i].excess > 0) ||
        !isfinite(s->tails[i].excess) || !(s->tails[i].excess2 > 0) ||
        !isfinite(s->tails[i].excess2))
      return EINVAL;
  return 0;
}

const an_detector_class_t an_detect_default = {
    .name = "default",
    .description = "baselines, a learned-tail test per failure shape, a "
                   "seasonal envelope, incidents",
    .version = 5,
    .state_size = sizeof(state_t),
    .init = init,
    .update = an_detect_default_update,
    .check = check,
};
