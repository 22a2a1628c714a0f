/* bucket.h: a token bucket: at most rate events a second, in bursts of up
 * to burst. anomalyd limits requests per API key and wrong keys per client
 * address with it (http/ratelimit.h), the plugin its notifications. The
 * caller passes the time (seconds on the monotonic clock, clock.h) and
 * holds the lock, if any, that guards the bucket. */
#ifndef AN_BUCKET_H
#define AN_BUCKET_H

typedef struct an_bucket {
  double tokens;
  double last; /* seconds, monotonic; 0 before first use */
} an_bucket_t;

/* Takes one token at time now (seconds) from a bucket refilled at rate
 * per second up to burst; a bucket of zeroes starts full. Returns 1 when
 * allowed; 0 when not, with the whole seconds to wait until a token is
 * there in *retry_after (which may be NULL). */
int an_bucket_take(an_bucket_t *b, double rate, double burst, double now,
                   int *retry_after);

/* Like an_bucket_take, but leaves the token where it is: whether one is
 * there at time now. */
int an_bucket_peek(an_bucket_t *b, double rate, double burst, double now,
                   int *retry_after);

#endif
