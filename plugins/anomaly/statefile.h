/* statefile.h: every series' detector state in one file, so a collectd
 * restart keeps what was learned. zstd-compressed, versioned, written to a
 * temporary file and renamed over the old one. */
#ifndef AN_STATEFILE_H
#define AN_STATEFILE_H

#include "series.h"

#include <stddef.h>

/* Writes the table to path. Returns 0, or an errno with the reason in
 * err. */
int an_statefile_save(an_series_table_t *table, const char *detector,
                      const char *path, char *err, size_t errlen);

/* Restores the states in path into the table. Returns the number of
 * series restored, or -1 with the reason in err when the file is missing,
 * truncated, of another version or detector, or damaged (the table then
 * has what could be read before the damage, or nothing). When some series
 * were refused (saved by another version of the detector's state), err
 * says how many, and is empty otherwise. */
long an_statefile_load(an_series_table_t *table, const char *detector,
                       const char *path, char *err, size_t errlen);

#endif
