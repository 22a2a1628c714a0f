/* csv.h: reading "timestamp,value" rows, as NAB and anomaly-score use. */
#ifndef AN_CSV_H
#define AN_CSV_H

#include <stddef.h>

typedef struct an_csv_point {
  const char *timestamp;  /* the first field as written, inside the line */
  const char *value_text; /* the second field as written */
  double t;               /* timestamp in seconds since the epoch */
  double value;           /* may be NaN when written "nan" */
} an_csv_point_t;

/* Parses one row. line is modified in place (fields are cut at the comma
 * and a trailing CR or LF is dropped) and out points into it. Returns 0;
 * EINVAL with a reason naming the field in err ("missing value column",
 * "value 'abc' is not a number", …). */
int an_csv_parse_point(char *line, an_csv_point_t *out, char *err,
                       size_t errlen);

/* Whether line (already stripped of its newline) is a header: its second
 * field is not a number, as in "timestamp,value". */
int an_csv_is_header(const char *line);

#endif
