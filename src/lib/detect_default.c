/* detect_default.c: the default detector.
 *
 * Exponentially weighted level and spread at a slow and a fast rate. Three
 * tests run on every value: the value against the slow level (spikes and
 * dips), the fast level against the slow one (level shifts) and the fast
 * spread against the slow one (variance changes). The smallest p-value,
 * corrected for the three looks, is the value's improbability; the score is
 * a fixed map of it, so one threshold means the same on every series.
 * Learning is clipped so one spike does not teach the model that spikes are
 * normal, while a shift that persists is adopted as the new normal. */
#include "detector.h"
#include "score.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define SLOW_ALPHA 0.01 /* slow level: about 100 values of memory */
#define FAST_ALPHA 0.2  /* fast level: about 5 values */
#define WARMUP 20       /* values before any score */
#define CLIP_SIGMA 4.0  /* residuals are learned at most this large */
#define MAD_TO_SIGMA 1.2533141373155001 /* sigma / mean |x - mu| (normal) */
#define SHIFT_ADOPT 10 /* values a shift must last to become normal */

typedef struct state {
  uint32_t n;       /* values learned from, saturating */
  uint32_t shifted; /* consecutive values on the far side of a shift */
  double last_t;    /* time of the last value, NaN if none */
  double interval;  /* mean seconds between values, 0 if unknown */
  double level;     /* slow mean */
  double dev;       /* slow mean absolute residual */
  double fast;      /* fast mean */
  double fast_dev;  /* fast mean absolute residual */
} state_t;

static void init(void *p) {
  state_t *s = p;
  memset(s, 0, sizeof(*s));
  s->last_t = NAN;
}

/* The smallest spread we believe in: a series that never moved would
 * otherwise turn float rounding into infinite deviations. */
static double spread_floor(const state_t *s) {
  return 1e-9 * fabs(s->level) + 1e-300;
}

static void learn(state_t *s, double x, double t) {
  if (s->n == 0) {
    s->level = s->fast = x;
    s->dev = s->fast_dev = 0;
  } else {
    double a = s->n < 1.0 / SLOW_ALPHA ? 1.0 / (s->n + 1) : SLOW_ALPHA;
    double sigma = MAD_TO_SIGMA * s->dev + spread_floor(s);
    double r = x - s->level;
    double clip = CLIP_SIGMA * sigma;
    double rc = s->n < WARMUP ? r : fmax(-clip, fmin(clip, r));
    s->level += a * rc;
    s->dev += a * (fabs(rc) - s->dev);
    double rf =
        s->n < WARMUP ? x - s->fast : fmax(-clip, fmin(clip, x - s->fast));
    s->fast += FAST_ALPHA * rf;
    s->fast_dev += FAST_ALPHA * (fabs(rf) - s->fast_dev);
  }
  if (isfinite(t)) {
    if (isfinite(s->last_t) && t > s->last_t) {
      double dt = t - s->last_t;
      s->interval =
          s->interval > 0 ? s->interval + 0.05 * (dt - s->interval) : dt;
    }
    s->last_t = t;
  }
  if (s->n < UINT32_MAX)
    s->n++;
}

static void update(void *p, double t, double x, an_result_t *r) {
  state_t *s = p;
  memset(r, 0, sizeof(*r));
  if (!isfinite(x)) {
    r->kind = AN_KIND_INVALID;
    r->p_value = 1;
    r->expected = s->level;
    return;
  }
  double sigma = MAD_TO_SIGMA * s->dev + spread_floor(s);
  r->expected = s->level;
  r->spread = sigma;
  r->horizon = s->interval > 0 ? s->interval / SLOW_ALPHA : 0;
  r->p_value = 1;
  if (s->n < WARMUP) {
    r->warming_up = 1;
    learn(s, x, t);
    return;
  }

  double z = (x - s->level) / sigma;
  double clip = CLIP_SIGMA * sigma;
  double fast_next =
      s->fast + FAST_ALPHA * fmax(-clip, fmin(clip, x - s->fast));
  double se_fast = sigma * sqrt(FAST_ALPHA / (2 - FAST_ALPHA));
  double zl = (fast_next - s->level) / se_fast;
  double p_point = an_normal_two_sided_p(z);
  double p_level = an_normal_two_sided_p(zl);

  r->deviation = z;
  if (p_point <= p_level) {
    r->p_value = p_point;
    r->kind = z >= 0 ? AN_KIND_SPIKE : AN_KIND_DIP;
  } else {
    r->p_value = p_level;
    r->kind = zl >= 0 ? AN_KIND_LEVEL_UP : AN_KIND_LEVEL_DOWN;
  }
  r->p_value = fmin(1.0, 2 * r->p_value); /* two looks at the same value */
  r->score = an_score_from_p(r->p_value);
  if (r->score <= 0)
    r->kind = AN_KIND_NONE;

  /* A shift that lasts is the new normal: adopt it instead of alarming on
   * every later value. */
  if (fabs(zl) > CLIP_SIGMA) {
    if (++s->shifted >= SHIFT_ADOPT) {
      s->level = fast_next;
      s->shifted = 0;
    }
  } else {
    s->shifted = 0;
  }
  learn(s, x, t);
}

static int check(const void *p) {
  const state_t *s = p;
  if (!isfinite(s->level) || !isfinite(s->dev) || s->dev < 0 ||
      !isfinite(s->fast) || !isfinite(s->fast_dev) || s->fast_dev < 0 ||
      !(s->interval >= 0) || isinf(s->last_t))
    return EINVAL;
  return 0;
}

const an_detector_class_t an_detect_default = {
    .name = "default",
    .description = "EWMA level and spread with spike, dip and shift tests",
    .version = 1,
    .state_size = sizeof(state_t),
    .init = init,
    .update = update,
    .check = check,
};
