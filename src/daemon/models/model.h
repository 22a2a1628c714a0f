/* model.h: a trained model in memory, and its blob: what the models
 * table stores and what the plugin will pull.
 *
 * A model is one detector state per series, warmed up on the series'
 * history. Its blob is one zstd frame (with zstd's checksum) of:
 *
 *   magic "ANMODEL\0" (8 bytes), format version (u16, now 1),
 *   detector name (u8 length, bytes), detector version (u32),
 *   state size (u32), series count (u32), then per series:
 *   sourceId (u16 length, bytes), metric (u16 length, bytes),
 *   time of its last value (f64), values learned (u64), the state
 *   (state size bytes, as the detector keeps it)
 *
 * all little-endian. Decoding checks every length against what is left,
 * the detector against libanomaly's (name, version and state size), each
 * state with the detector's check(), and that nothing is left over: a
 * damaged or hostile blob is an error, never a crash. */
#ifndef AN_MODELS_MODEL_H
#define AN_MODELS_MODEL_H

#include "detector.h"

#include <stddef.h>
#include <stdint.h>

#define AN_MODEL_FORMAT 1
#define AN_MODEL_NAME_MAX 1024 /* bytes of a sourceId or metric */

typedef struct an_model_series {
  char *source_id, *metric;
  double last_t;   /* time of the last value learned, NaN when none */
  uint64_t points; /* values learned */
  void *state;     /* detector->state_size bytes */
} an_model_series_t;

typedef struct an_model {
  const an_detector_class_t *detector;
  an_model_series_t *series;
  size_t n, cap;
} an_model_t;

/* An empty model of detector's states; NULL when out of memory. */
an_model_t *an_model_new(const an_detector_class_t *detector);
/* Frees m and its series. Accepts NULL. */
void an_model_free(an_model_t *m);

/* Appends a series, copying the strings and the state. Returns 0,
 * EINVAL (a name empty or over AN_MODEL_NAME_MAX) or ENOMEM. */
int an_model_add(an_model_t *m, const char *source_id, const char *metric,
                 double last_t, uint64_t points, const void *state);

/* The blob of m: *blob malloc'd (the caller's), *len bytes. Returns 0 or
 * ENOMEM. */
int an_model_encode(const an_model_t *m, void **blob, size_t *len);

/* Reads a blob into a new *out (the caller frees it with
 * an_model_free()). Returns 0, or EINVAL with the reason in err (not a
 * model, damaged, truncated, or another detector or version), or ENOMEM;
 * *out is then NULL. */
int an_model_decode(const void *blob, size_t len, an_model_t **out, char *err,
                    size_t errlen);

#endif
