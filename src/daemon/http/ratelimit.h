/* ratelimit.h: the rate limits' token buckets (bucket.h): one per API
 * key (requests, in server.c), and a table of them per client address
 * (failed authentications). */
#ifndef AN_RATELIMIT_H
#define AN_RATELIMIT_H

#include "bucket.h"

#include <stddef.h>

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
