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
    [AN_KIND_LEVEL_UP] = "level_up",
    [AN_KIND_LEVEL_DOWN] = "level_down",
    [AN_KIND_VARIANCE] = "variance",
    [AN_KIND_INVALID] = "invalid",
};

const char *an_kind_name(an_kind_t kind) {
  if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
    return "none";
  return kind_names[kind];
}

/* "1 h", "20 min", "3 d": how far back "normal" looks, for explanations. */
static void format_horizon(double seconds, char *buf, size_t len) {
  if (!(seconds > 0) || !isfinite(seconds))
    snprintf(buf, len, "recent");
  else if (seconds < 120)
    snprintf(buf, len, "%.0f s", seconds);
  else if (seconds < 3600)
    snprintf(buf, len, "%.0f min", seconds / 60);
  else if (seconds < 2 * 86400)
    snprintf(buf, len, "%.0f h", seconds / 3600);
  else
    snprintf(buf, len, "%.0f d", seconds / 86400);
}

char *an_explain(const an_result_t *r, double value, const char *metric,
                 char *buf, size_t len) {
  char horizon[32];
  const char *name = metric != NULL ? metric : "value";
  double dev = fabs(r->deviation);
  const char *dir = r->deviation >= 0 ? "above" : "below";

  format_horizon(r->horizon, horizon, sizeof(horizon));
  switch (r->kind) {
  case AN_KIND_INVALID:
    snprintf(buf, len, "%s is not a finite number", name);
    break;
  case AN_KIND_LEVEL_UP:
  case AN_KIND_LEVEL_DOWN:
    snprintf(buf, len,
             "%s shifted %s: %.4g is %.1f\xcf\x83 %s its %s normal of %.4g",
             name, r->kind == AN_KIND_LEVEL_UP ? "up" : "down", value, dev, dir,
             horizon, r->expected);
    break;
  case AN_KIND_VARIANCE:
    snprintf(buf, len,
             "%s became unsteady: %.4g swings %.1f\xcf\x83 from its %s "
             "normal of %.4g",
             name, value, dev, horizon, r->expected);
    break;
  default:
    if (isinf(r->deviation))
      snprintf(buf, len, "%s %.4g left its %s constant value %.4g", name, value,
               horizon, r->expected);
    else
      snprintf(buf, len, "%s %.4g is %.1f\xcf\x83 %s its %s normal of %.4g",
               name, value, dev, dir, horizon, r->expected);
    break;
  }
  return buf;
}
