/* detector.h: the streaming detector interface and the table of detectors.
 *
 * A detector scores one series, one value at a time, strictly online: the
 * score of a value depends only on the values before it. Its state is a
 * fixed-size block of plain data (no pointers), so the series table can
 * hold it inline and saving it is a copy; a detector is one file
 * (detect_<name>.c) and one line in the table in detector.c. */
#ifndef AN_DETECTOR_H
#define AN_DETECTOR_H

#include "units.h"

#include <stddef.h>
#include <stdint.h>

/* What kind of departure from normal a score reflects. */
typedef enum an_kind {
  AN_KIND_NONE = 0,   /* normal, or not scored */
  AN_KIND_SPIKE,      /* a value far above the expected one */
  AN_KIND_DIP,        /* a value far below the expected one */
  AN_KIND_LEVEL_UP,   /* the recent level moved up and stayed */
  AN_KIND_LEVEL_DOWN, /* the recent level moved down and stayed */
  AN_KIND_VARIANCE,   /* the spread of recent values grew */
  AN_KIND_INVALID,    /* NaN or infinite value: skipped, state untouched */
  AN_KIND_TREND,      /* a slow ramp: a leak, a filling disk */
  AN_KIND_FLATLINE,   /* the same value, longer than the series explains */
  AN_KIND_OUTAGE,     /* near zero, on a series that rarely is */
  AN_KIND_SATURATION, /* pinned at the series' ceiling */
} an_kind_t;

/* The outcome of scoring one value. */
typedef struct an_result {
  double score;     /* calibrated anomaly score in [0, 1] */
  double p_value;   /* chance of a value this unusual under normal */
  double expected;  /* the model's prediction for this value */
  double deviation; /* (value - expected) in units of normal spread */
  double spread;    /* the normal spread (one sigma) of the series */
  double horizon;   /* seconds of history "normal" reflects; 0 unknown */
  an_kind_t kind;
  int warming_up;  /* 1 while the detector has seen too little to judge */
  uint32_t seen;   /* values the series has seen, this one included; filled
                      by the series table (detectors leave 0) */
  an_unit_t unit;  /* of value, expected and spread */
  double duration; /* seconds the shape has lasted (a run, a trend), 0 */
  double slope;    /* a trend's change per second, 0 */
} an_result_t;

typedef struct an_detector_class {
  const char *name;        /* as in the plugin's Detector option */
  const char *description; /* one line for --list */
  uint32_t version;        /* bumped when the state layout changes */
  size_t state_size;       /* bytes of state per series */
  /* Sets a fresh state for a series whose values hint describes (NULL:
   * nothing is known of them). */
  void (*init)(void *state, const an_hint_t *hint);
  /* Scores value (seen at time t, in seconds; NaN when unknown) and learns
   * from it. Fills every field of *result. */
  void (*update)(void *state, double t, double value, an_result_t *result);
  /* Returns 0 when a restored state is one update could have produced,
   * EINVAL otherwise. May be NULL when any bytes are valid. */
  int (*check)(const void *state);
} an_detector_class_t;

/* The default detector, and its update by name: the series table calls
 * it directly rather than through the class, so a build with link-time
 * optimisation inlines it there. */
extern const an_detector_class_t an_detect_default;
void an_detect_default_update(void *state, double t, double value,
                              an_result_t *result);

/* The detector registered under name (case-insensitive), NULL if none.
 * "default" names the recommended detector. */
const an_detector_class_t *an_detector_find(const char *name);

/* The i-th registered detector, NULL past the end; for listing. */
const an_detector_class_t *an_detector_at(size_t i);

/* Bytes an_detector_save() writes for this class. */
size_t an_detector_saved_size(const an_detector_class_t *cls);

/* Writes state with a header naming the class and version into buf.
 * Returns the bytes written, 0 if buf is too small. */
size_t an_detector_save(const an_detector_class_t *cls, const void *state,
                        void *buf, size_t len);

/* Restores a state saved by an_detector_save(). Returns 0 on success,
 * EINVAL when buf is not a valid state of this class and version (the
 * caller then starts fresh), ENOMEM; state is only written on success. */
int an_detector_restore(const an_detector_class_t *cls, void *state,
                        const void *buf, size_t len);

/* Writes a sentence a person reads about result, e.g. "cpu/user 3.5σ above
 * its 1 h normal of 12.3"; metric may be NULL. Returns buf. */
char *an_explain(const an_result_t *result, double value, const char *metric,
                 char *buf, size_t len);

/* The kind's name as DESIGN.md lists them ("spike", "shift", "outage",
 * …). Never NULL. */
const char *an_kind_name(an_kind_t kind);

#endif
