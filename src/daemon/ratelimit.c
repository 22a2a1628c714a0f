#include "ratelimit.h"

#include <math.h>

int an_bucket_take(an_bucket_t *b, double rate, double burst, double now,
                   int *retry_after) {
  if (b->last == 0) {
    b->tokens = burst;
  } else if (now > b->last) {
    b->tokens = fmin(burst, b->tokens + (now - b->last) * rate);
  }
  b->last = now;
  if (b->tokens >= 1) {
    b->tokens -= 1;
    return 1;
  }
  double wait = (1 - b->tokens) / rate;
  *retry_after = (int)ceil(wait);
  if (*retry_after < 1)
    *retry_after = 1;
  return 0;
}
