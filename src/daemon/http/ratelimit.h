/* ratelimit.h: token buckets: one per API key (requests), and a table of
 * them per client address (failed authentications). */
#ifndef AN_RATELIMIT_H
#define AN_RATELIMIT_H

#include <stddef.h>

typedef struct an_bucket {
  double tokens;
  double last; /* seconds, monotonic; 0 before first use */
} an_bucket_t;

/* Takes one token at time now (seconds) from a bucket refilled at rate
 * per second up to burst. Returns 1 when allowed; 0 when not, with the
 * whole seconds to wait until a token is there in *retry_after. */
int an_bucket_take(an_bucket_t *b, double rate, double burst, double now,
                   int *retry_after);

/* Like an_bucket_take, but leaves the token where it is: whether one is
 * there at time now. */
int an_bucket_peek(an_bucket_t *b, double rate, double burst, double now,
                   int *retry_after);

/* A bucket per client address in a fixed number of slots, so that no
 * number of addresses can make it grow: a new address takes a free slot
 * or the one used longest ago among those it may use. */
typedef struct an_bucket_map an_bucket_map_t;

/* A table of slots buckets (rounded up to a power of two); NULL when out
 * of memory. */
an_bucket_map_t *an_bucket_map_new(size_t slots);

/* The bucket of address (any string; the first 63 bytes count) at time
 * now; a new one is full. Never NULL. The pointer is valid until the next
 * call. */
an_bucket_t *an_bucket_map_get(an_bucket_map_t *m, const char *address,
                               double now);

/* Accepts NULL. */
void an_bucket_map_free(an_bucket_map_t *m);

#endif
