/* severity.h: severity as a band of the anomaly score. */
#ifndef AN_SEVERITY_H
#define AN_SEVERITY_H

typedef enum an_severity {
  AN_SEVERITY_NONE = 0, /* below the lowest band: not an anomaly */
  AN_SEVERITY_LOW,
  AN_SEVERITY_MEDIUM,
  AN_SEVERITY_HIGH,
  AN_SEVERITY_CRITICAL,
} an_severity_t;

/* The lowest score of each band; each must be above the one before. */
typedef struct an_severity_bands {
  double low, medium, high, critical;
} an_severity_bands_t;

/* The defaults: low 0.5, medium 0.7, high 0.85, critical 0.95. */
extern const an_severity_bands_t an_severity_default_bands;

/* Returns 0 when the bands are in (0, 1] and strictly increasing, EINVAL
 * otherwise. */
int an_severity_check_bands(const an_severity_bands_t *bands);

/* The band score falls in; bands NULL means the defaults. */
an_severity_t an_severity_of(const an_severity_bands_t *bands, double score);

/* "none", "low", "medium", "high" or "critical". Never NULL. */
const char *an_severity_name(an_severity_t severity);

/* Parses a name (case-insensitive) into *out. Returns 0, or EINVAL for an
 * unknown name ("none" is not accepted). */
int an_severity_parse(const char *name, an_severity_t *out);

#endif
