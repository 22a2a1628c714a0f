/* timefmt.h: parsing and printing timestamps. */
#ifndef AN_TIMEFMT_H
#define AN_TIMEFMT_H

#include <stddef.h>

/* Parses an ISO 8601 date or date-time ("2024-01-20", "2024-01-20T10:00:00Z",
 * "2024-01-20 10:00:00.25+02:00"; no zone means UTC) into seconds since the
 * epoch. Returns 0, or EINVAL when s is not such a date or a field is out of
 * range; *out is only written on success. */
int an_time_parse_iso8601(const char *s, double *out);

/* Like an_time_parse_iso8601(), but also accepts a plain number of seconds
 * since the epoch ("1700000000", "1.7e9"). */
int an_time_parse(const char *s, double *out);

/* Writes t as "2024-01-20T10:00:00Z" (".123Z" when t has milliseconds) into
 * buf. Returns buf, or NULL when len is too small or t out of range. */
char *an_time_format(double t, char *buf, size_t len);

#endif
