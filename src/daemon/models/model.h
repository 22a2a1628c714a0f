/* model.h: a trained model in memory, and its blob: what the models
 * table stores and what the plugin will pull.
 *
 * A model is of one of two kinds: one detector state per series, warmed
 * up on the series' history (default, seasonal), or one isolation forest
 * per source over its metrics together (isolation_forest, iforest.h). Its
 * blob is one zstd frame (with zstd's checksum) of:
 *
 *   magic "ANMODEL\0" (8 bytes), format version (u16, now 2),
 *   kind (u8: 1 detector states, 2 forests), then the kind's payload.
 *
 *   Detector states: detector name (u8 length, bytes), detector version
 *   (u32), state size (u32), series count (u32), then per series:
 *   sourceId (u16 length, bytes), metric (u16 length, bytes), time of its
 *   last value (f64), values learned (u64), the state (state size bytes,
 *   as the detector keeps it).
 *
 *   Forests: source count (u32), then per source, in increasing order of
 *   sourceId: sourceId (u16 length, bytes), metric count (u16, 2 to
 *   AN_IFOREST_MAX_METRICS), each metric's name (u16 length, bytes) in
 *   increasing order (the forest's columns), rows fitted on (u64), the
 *   forest's length (u32) and its bytes (an_iforest_save()).
 *
 * all little-endian. Format 1 was the detector states without the kind
 * byte; it is still read, so models stored before forests keep loading.
 * Decoding checks every length against what is left, the detector
 * against libanomaly's (name, version and state size), each state with
 * the detector's check(), each forest with an_iforest_load() and against
 * its metric count, the order of names, and that nothing is left over: a
 * damaged or hostile blob is an error, never a crash. */
#ifndef AN_MODELS_MODEL_H
#define AN_MODELS_MODEL_H

#include "detector.h"
#include "iforest.h"

#include <stddef.h>
#include <stdint.h>

#define AN_MODEL_FORMAT 2
#define AN_MODEL_NAME_MAX 1024 /* bytes of a sourceId or metric */

typedef struct an_model_series {
  char *source_id, *metric;
  double last_t;   /* time of the last value learned, NaN when none */
  uint64_t points; /* values learned */
  void *state;     /* detector->state_size bytes */
} an_model_series_t;

typedef enum an_model_kind {
  AN_MODEL_DETECTOR = 1, /* detector states per series */
  AN_MODEL_FOREST = 2,   /* isolation forests per source */
} an_model_kind_t;

typedef struct an_model_forest {
  char *source_id;
  char **metrics;  /* the forest's columns, in strictly increasing order */
  size_t nmetrics; /* the forest's d */
  uint64_t rows;   /* rows it was fitted on */
  an_iforest_t *forest;
} an_model_forest_t;

typedef struct an_model {
  an_model_kind_t kind;
  const an_detector_class_t *detector; /* AN_MODEL_DETECTOR: the states' */
  an_model_series_t *series;           /* AN_MODEL_DETECTOR */
  size_t n, cap;
  an_model_forest_t *forests; /* AN_MODEL_FOREST, by sourceId */
  size_t nforests, forests_cap;
} an_model_t;

/* An empty model of detector's states; NULL when out of memory. */
an_model_t *an_model_new(const an_detector_class_t *detector);
/* An empty model of forests; NULL when out of memory. */
an_model_t *an_model_new_forests(void);
/* Frees m, its series and forests. Accepts NULL. */
void an_model_free(an_model_t *m);

/* The series m covers: its series, or its forests' metrics. */
size_t an_model_series_count(const an_model_t *m);

/* Appends a series, copying the strings and the state. Returns 0,
 * EINVAL (a name empty or over AN_MODEL_NAME_MAX) or ENOMEM. */
int an_model_add(an_model_t *m, const char *source_id, const char *metric,
                 double last_t, uint64_t points, const void *state);

/* Appends source_id's forest over metrics (nmetrics names, strictly
 * increasing: the forest's columns), copying the names. The forest is m's
 * from the call on, whatever the result (destroyed on failure). Returns
 * 0, EINVAL (a name empty or over AN_MODEL_NAME_MAX, names out of order,
 * a source not after the last one, nmetrics not the forest's) or
 * ENOMEM. */
int an_model_add_forest(an_model_t *m, const char *source_id,
                        const char *const *metrics, size_t nmetrics,
                        uint64_t rows, an_iforest_t *forest);

/* The blob of m: *blob malloc'd (the caller's), *len bytes. Returns 0 or
 * ENOMEM. */
int an_model_encode(const an_model_t *m, void **blob, size_t *len);

/* Reads a blob into a new *out (the caller frees it with
 * an_model_free()). Returns 0, or EINVAL with the reason in err (not a
 * model, damaged, truncated, another detector or version, or a forest
 * that does not load), or ENOMEM;
 * *out is then NULL. */
int an_model_decode(const void *blob, size_t len, an_model_t **out, char *err,
                    size_t errlen);

#endif
