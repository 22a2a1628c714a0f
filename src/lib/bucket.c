#include "bucket.h"

#include <math.h>
#include <stddef.h>

/* Refills b up to time now. */
static void refill(an_bucket_t *b, double rate, double burst, double now) {
  if (b->last == 0) {
    b->tokens = burst;
  } else if (now > b->last) {
    b->tokens = fmin(burst, b->tokens + (now - b->last) * rate);
  }
  b->last = now;
}

static int wait_for_token(const an_bucket_t *b, double rate, int *retry_after) {
  if (retry_after == NULL)
    return 0;
  double wait = (1 - b->tokens) / rate;
  *retry_after = (int)ceil(wait);
  if (*retry_after < 1)
    *retry_after = 1;
  return 0;
}

int an_bucket_take(an_bucket_t *b, double rate, double burst, double now,
                   int *retry_after) {
  refill(b, rate, burst, now);
  if (b->tokens >= 1) {
    b->tokens -= 1;
    return 1;
  }
  return wait_for_token(b, rate, retry_after);
}

int an_bucket_peek(an_bucket_t *b, double rate, double burst, double now,
                   int *retry_after) {
  refill(b, rate, burst, now);
  return b->tokens >= 1 ? 1 : wait_for_token(b, rate, retry_after);
}
