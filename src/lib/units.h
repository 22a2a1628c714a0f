/* units.h: what a series' numbers mean, from collectd's type.
 *
 * A collectd type ("if_octets", "percent", "memory", …) says what unit a
 * value is in, the range it can take and how small a change can still
 * matter. Detectors use the last two (a spread floor, a ceiling); the
 * explanations use the unit to write numbers people read ("75.8 MB/s",
 * "1.1 GiB", "41.25 °C"). */
#ifndef AN_UNITS_H
#define AN_UNITS_H

#include <stddef.h>

typedef enum an_unit {
  AN_UNIT_NONE = 0, /* unknown: plain numbers */
  AN_UNIT_PERCENT,
  AN_UNIT_BYTES,
  AN_UNIT_BYTES_PER_S,
  AN_UNIT_PACKETS_PER_S,
  AN_UNIT_PER_S, /* operations, requests, events per second */
  AN_UNIT_SECONDS,
  AN_UNIT_MILLISECONDS,
  AN_UNIT_CELSIUS,
  AN_UNIT_COUNT, /* processes, users, files */
  AN_UNIT_LOAD,
} an_unit_t;

/* What a series' type tells about its values. */
typedef struct an_hint {
  an_unit_t unit;
  /* The smallest change that matters, in the unit: no spread is believed
   * below it, so a series sitting still does not page for a move of a
   * rounding step. 0 when unknown. */
  double floor;
  double min, max; /* the range values can take; -inf / inf when open */
  /* 1 when the values come in heavy-tailed bursts (traffic, disk
   * operations, latency): a burst many spreads high is ordinary */
  int bursty;
} an_hint_t;

/* The hint for a series of nothing known: no unit, no floor, no range. */
extern const an_hint_t an_hint_none;

/* Fills *hint for collectd's type (as in types.db: "if_octets"), and
 * returns 0; for a type it does not know, or NULL, fills an_hint_none and
 * returns ENOENT. */
int an_hint_of_type(const char *type, an_hint_t *hint);

/* Writes value in its unit at a human scale: "75.8 MB/s", "1.1 GiB",
 * "12.3 %", "350 ms", "41.25 °C", "8200". Returns buf; truncates to len. */
char *an_unit_format(an_unit_t unit, double value, char *buf, size_t len);

/* Writes a change per second as a rate per hour, or per day when that
 * reads better: "1.1 GiB/h", "3.5 %/h", "120 MB/d". Returns buf. */
char *an_unit_format_slope(an_unit_t unit, double per_second, char *buf,
                           size_t len);

/* Writes a duration at a human scale: "40 s", "60 min", "4 h", "3 d".
 * Returns buf. */
char *an_duration_format(double seconds, char *buf, size_t len);

#endif
