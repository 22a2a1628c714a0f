/* ratelimit.h: a token bucket per API key. */
#ifndef AN_RATELIMIT_H
#define AN_RATELIMIT_H

typedef struct an_bucket {
  double tokens;
  double last; /* seconds, monotonic; 0 before first use */
} an_bucket_t;

/* Takes one token at time now (seconds) from a bucket refilled at rate
 * per second up to burst. Returns 1 when allowed; 0 when not, with the
 * whole seconds to wait until a token is there in *retry_after. */
int an_bucket_take(an_bucket_t *b, double rate, double burst, double now,
                   int *retry_after);

#endif
