/* testutil.h: seeded random numbers, scratch directories and free ports
 * for repeatable tests. */
#ifndef AN_TESTUTIL_H
#define AN_TESTUTIL_H

#include "iforest.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct test_rng {
  uint64_t s;
} test_rng_t;

static inline uint64_t test_rng_next(test_rng_t *r) {
  /* splitmix64: good enough for noise, identical on every machine. */
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double test_rng_uniform(test_rng_t *r) {
  return ((test_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

/* Standard normal, by Box-Muller. */
static inline double test_rng_normal(test_rng_t *r) {
  double u = test_rng_uniform(r), v = test_rng_uniform(r);
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Whether forests a and b are the same: the same saved bytes. */
static inline int test_same_forest(const an_iforest_t *a,
                                   const an_iforest_t *b) {
  size_t len = an_iforest_saved_size(a);
  if (an_iforest_saved_size(b) != len)
    return 0;
  unsigned char *ba = malloc(len), *bb = malloc(len);
  int same = ba != NULL && bb != NULL && an_iforest_save(a, ba, len) == len &&
             an_iforest_save(b, bb, len) == len && memcmp(ba, bb, len) == 0;
  free(ba);
  free(bb);
  return same;
}

/* A fresh directory /tmp/NAME.XXXXXX in dir (64 bytes); 0 or -1. */
static inline int test_tmpdir_create(char dir[64], const char *name) {
  snprintf(dir, 64, "/tmp/%s.XXXXXX", name);
  return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Removes a directory from test_tmpdir_create() and all it holds. */
static inline int test_tmpdir_remove(const char *dir) {
  char cmd[100];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* A loopback TCP port nobody listens on (bound, then closed); -1 on
 * error. Another process could take it meanwhile: tests accept that. */
static inline int test_free_port(void) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

#endif
