/* spool.h: anomalies waiting for the daemon, on disk, in order.
 *
 * An append-only file of records, one per line, and beside it the offset
 * of the first record not yet delivered (PATH.offset, replaced atomically).
 * Appends are fsync'd, so what the spool has taken survives a crash; a
 * record torn by a crash (no final newline) is dropped at open. When every
 * record is delivered both files are emptied. Not thread-safe: one thread
 * (the forwarder) owns a spool. */
#ifndef AN_SPOOL_H
#define AN_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

typedef struct an_spool an_spool_t;

/* Opens or creates the spool at path. Returns NULL with the reason in err. */
an_spool_t *an_spool_open(const char *path, char *err, size_t errlen);

/* Closes the spool. Accepts NULL. */
void an_spool_close(an_spool_t *sp);

/* Appends n records (each without newlines) and syncs. Returns 0 or an
 * errno. */
int an_spool_append(an_spool_t *sp, char *const *records, size_t n);

/* Bytes of records not yet delivered; 0 when empty. */
off_t an_spool_pending(const an_spool_t *sp);

/* Reads up to max undelivered records from the oldest. *records is a
 * malloc'd array of malloc'd strings (free with an_spool_free_records);
 * *next is the offset to pass to an_spool_advance() once they are
 * delivered. Returns 0 or an errno. */
int an_spool_peek(an_spool_t *sp, size_t max, char ***records, size_t *n,
                  off_t *next);

/* Marks everything before next delivered. Returns 0 or an errno. */
int an_spool_advance(an_spool_t *sp, off_t next);

void an_spool_free_records(char **records, size_t n);

#endif
