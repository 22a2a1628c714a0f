#include "http/ratelimit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDRESS_MAX 64
#define PROBES 8 /* slots an address may use */

typedef struct slot {
  char address[ADDRESS_MAX]; /* "" when free */
  an_bucket_t bucket;
} slot_t;

struct an_bucket_map {
  slot_t *slots;
  size_t mask;
};

an_bucket_map_t *an_bucket_map_new(size_t slots) {
  size_t n = PROBES;
  while (n < slots)
    n *= 2;
  an_bucket_map_t *m = calloc(1, sizeof(*m));
  if (m == NULL || (m->slots = calloc(n, sizeof(*m->slots))) == NULL) {
    free(m);
    return NULL;
  }
  m->mask = n - 1;
  return m;
}

static uint64_t hash(const char *s) { /* FNV-1a */
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

an_bucket_t *an_bucket_map_get(an_bucket_map_t *m, const char *address,
                               double now) {
  char key[ADDRESS_MAX];
  snprintf(key, sizeof(key), "%s", address);
  size_t first = (size_t)hash(key) & m->mask;
  slot_t *pick = NULL;
  for (size_t i = 0; i < PROBES; i++) {
    slot_t *s = &m->slots[(first + i) & m->mask];
    if (strcmp(s->address, key) == 0 && key[0] != '\0')
      return &s->bucket;
    if (pick == NULL ||
        (pick->address[0] != '\0' &&
         (s->address[0] == '\0' || s->bucket.last < pick->bucket.last)))
      pick = s;
  }
  memcpy(pick->address, key, sizeof(key));
  pick->bucket = (an_bucket_t){0};
  return &pick->bucket;
}

void an_bucket_map_free(an_bucket_map_t *m) {
  if (m == NULL)
    return;
  free(m->slots);
  free(m);
}
