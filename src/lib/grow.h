/* grow.h: room for one more item in a malloc'd array that doubles; used
 * by the library and the daemon. */
#ifndef AN_GROW_H
#define AN_GROW_H

#include <errno.h>
#include <stdlib.h>

/* Makes *items (n used of *cap, each size bytes) hold at least n + 1.
 * Returns 0, or ENOMEM with *items unchanged. */
static inline int an_grow(void **items, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return 0;
  size_t c = *cap ? 2 * *cap : 16;
  void *p = realloc(*items, c * size);
  if (p == NULL)
    return ENOMEM;
  *items = p;
  *cap = c;
  return 0;
}

#endif
