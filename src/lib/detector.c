#include "detector.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Adding a detector: its file, and one line here (with its extern
 * declaration). The first is "default". */
static const an_detector_class_t *const detectors[] = {
    &an_detect_default,
};

#define NDETECTORS (sizeof(detectors) / sizeof(detectors[0]))

const an_detector_class_t *an_detector_find(const char *name) {
  if (name == NULL)
    return NULL;
  for (size_t i = 0; i < NDETECTORS; i++)
    if (strcasecmp(name, detectors[i]->name) == 0)
      return detectors[i];
  return NULL;
}

const an_detector_class_t *an_detector_at(size_t i) {
  return i < NDETECTORS ? detectors[i] : NULL;
}

/* The saved form: a fixed header, then the state bytes. The checksum makes a
 * truncated or bit-flipped state fail to restore instead of scoring with
 * garbage. */
#define SAVE_MAGIC 0x53444e41u /* "ANDS" */
#define SAVE_NAME_LEN 24

typedef struct save_header {
  uint32_t magic;
  uint32_t version;
  uint32_t state_size;
  uint32_t checksum;
  char name[SAVE_NAME_LEN];
} save_header_t;

static uint32_t fnv1a32(const void *data, size_t len) {
  const unsigned char *p = data;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

size_t an_detector_saved_size(const an_detector_class_t *cls) {
  return sizeof(save_header_t) + cls->state_size;
}

size_t an_detector_save(const an_detector_class_t *cls, const void *state,
                        void *buf, size_t len) {
  size_t need = an_detector_saved_size(cls);
  if (len < need)
    return 0;
  save_header_t h = {.magic = SAVE_MAGIC,
                     .version = cls->version,
                     .state_size = (uint32_t)cls->state_size,
                     .checksum = fnv1a32(state, cls->state_size)};
  strncpy(h.name, cls->name, SAVE_NAME_LEN - 1);
  memcpy(buf, &h, sizeof(h));
  memcpy((char *)buf + sizeof(h), state, cls->state_size);
  return need;
}

int an_detector_restore(const an_detector_class_t *cls, void *state,
                        const void *buf, size_t len) {
  save_header_t h;
  char name[SAVE_NAME_LEN] = {0};
  strncpy(name, cls->name, SAVE_NAME_LEN - 1);
  if (buf == NULL || len != an_detector_saved_size(cls))
    return EINVAL;
  memcpy(&h, buf, sizeof(h));
  const char *body = (const char *)buf + sizeof(h);
  if (h.magic != SAVE_MAGIC || h.version != cls->version ||
      h.state_size != cls->state_size ||
      memcmp(h.name, name, SAVE_NAME_LEN) != 0 ||
      h.checksum != fnv1a32(body, cls->state_size))
    return EINVAL;
  /* check() reads the state's fields, so it needs them aligned: body
   * sits anywhere in the caller's buffer. */
  void *aligned = malloc(cls->state_size);
  if (aligned == NULL)
    return ENOMEM;
  memcpy(aligned, body, cls->state_size);
  int rc = cls->check != NULL && cls->check(aligned) != 0 ? EINVAL : 0;
  if (rc == 0)
    memcpy(state, aligned, cls->state_size);
  free(aligned);
  return rc;
}

static const char *const kind_names[] = {
    [AN_KIND_NONE] = "none",
    [AN_KIND_SPIKE] = "spike",
    [AN_KIND_DIP] = "dip",
    /* DESIGN.md's kinds; the direction is in the explanation */
    [AN_KIND_LEVEL_UP] = "shift",
    [AN_KIND_LEVEL_DOWN] = "shift",
    [AN_KIND_VARIANCE] = "variance",
    [AN_KIND_INVALID] = "invalid",
    [AN_KIND_TREND] = "trend",
    [AN_KIND_FLATLINE] = "flatline",
    [AN_KIND_OUTAGE] = "outage",
    [AN_KIND_SATURATION] = "saturation",
};

const char *an_kind_name(an_kind_t kind) {
  if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
    return "none";
  return kind_names[kind];
}

/* ", 4.2σ" for a deviation a person can weigh; nothing for one so large
 * (a series that never moved) that the number means nothing. */
static void format_sigma(double deviation, char *buf, size_t len) {
  double d = fabs(deviation);
  if (!(d < 1000))
    buf[0] = '\0';
  else
    snprintf(buf, len, ", %.*f\xcf\x83", d < 100 ? 1 : 0, d);
}

/* " (3.2×)" when value is a clear multiple of a positive expected one. */
static void format_ratio(double value, double expected, char *buf, size_t len) {
  double r = value / expected;
  if (!(expected > 0 && value > 0 && r >= 1.5 && isfinite(r)))
    buf[0] = '\0';
  else if (r < 1e6)
    snprintf(buf, len, " (%.*f\xc3\x97)", r < 10 ? 1 : 0, r);
  else /* 1e308 over 21: not three hundred digits */
    snprintf(buf, len, " (%.1e\xc3\x97)", r);
}

char *an_explain(const an_result_t *r, double value, const char *metric,
                 char *buf, size_t len) {
  char v[48], e[48], d[48], sigma[32], ratio[32], dur[32], slope[64];
  const char *name = metric != NULL ? metric : "value";

  an_unit_format(r->unit, value, v, sizeof(v));
  an_unit_format(r->unit, r->expected, e, sizeof(e));
  an_unit_format(r->unit, fabs(value - r->expected), d, sizeof(d));
  an_duration_format(r->duration, dur, sizeof(dur));
  format_sigma(r->deviation, sigma, sizeof(sigma));
  format_ratio(value, r->expected, ratio, sizeof(ratio));
  switch (r->kind) {
  case AN_KIND_INVALID:
    snprintf(buf, len, "%s is not a finite number", name);
    break;
  case AN_KIND_SPIKE:
    snprintf(buf, len, "%s rose %s above its usual %s, to %s%s%s", name, d, e,
             v, ratio, sigma);
    break;
  case AN_KIND_DIP:
    snprintf(buf, len, "%s fell %s below its usual %s, to %s%s", name, d, e, v,
             sigma);
    break;
  case AN_KIND_LEVEL_UP:
  case AN_KIND_LEVEL_DOWN:
    snprintf(buf, len, "%s shifted %s %s from its usual %s, to %s%s%s", name,
             r->kind == AN_KIND_LEVEL_UP ? "up" : "down", d, e, v,
             r->kind == AN_KIND_LEVEL_UP ? ratio : "", sigma);
    break;
  case AN_KIND_VARIANCE:
    snprintf(buf, len, "%s swings wider than usual around %s: %s%s", name, e, v,
             sigma);
    break;
  case AN_KIND_TREND:
    an_unit_format_slope(r->unit, r->slope, slope, sizeof(slope));
    snprintf(buf, len, "%s %s %s for %s, now %s", name,
             r->slope >= 0 ? "rising" : "falling", slope, dur, v);
    break;
  case AN_KIND_FLATLINE:
    snprintf(buf, len, "%s stuck at %s for %s", name, v, dur);
    break;
  case AN_KIND_OUTAGE:
    if (r->duration > 0)
      snprintf(buf, len, "%s dropped to %s from a usual %s, for %s", name, v, e,
               dur);
    else
      snprintf(buf, len, "%s dropped to %s from a usual %s", name, v, e);
    break;
  case AN_KIND_SATURATION:
    if (r->duration > 0)
      snprintf(buf, len, "%s pinned at its ceiling, %s, for %s", name, v, dur);
    else
      snprintf(buf, len, "%s hit its ceiling, %s (usually %s)", name, v, e);
    break;
  default:
    snprintf(buf, len, "%s at %s, usually %s%s", name, v, e, sigma);
    break;
  }
  return buf;
}
