/* mem.c: per-thread caches of small blocks for libevent (see mem.h). */
#include "mem.h"

#include <event2/event.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CLASS 16   /* a class's blocks are CLASS * k - 8 usable bytes */
#define CLASSES 65 /* k up to 64: up to 1016 bytes */
#define KEEP 256   /* free blocks kept per class and thread */

typedef struct cache {
  void *head[CLASSES]; /* free blocks, linked through their first word */
  unsigned n[CLASSES];
} cache_t;

static __thread cache_t *cache;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void drain(void *arg) {
  cache_t *c = arg;
  for (int k = 0; k < CLASSES; k++)
    while (c->head[k] != NULL) {
      void *p = c->head[k];
      c->head[k] = *(void **)p;
      free(p);
    }
  free(c);
}

static void make_key(void) { pthread_key_create(&key, drain); }

static cache_t *thread_cache(void) {
  if (cache == NULL) {
    pthread_once(&once, make_key);
    if ((cache = calloc(1, sizeof(*cache))) != NULL)
      pthread_setspecific(key, cache);
  }
  return cache;
}

/* The class whose blocks hold size bytes: malloc(CLASS * k - 8) gives a
 * chunk of CLASS * k bytes with CLASS * k - 8 usable (k >= 2). */
static size_t class_of_request(size_t size) {
  size_t k = (size + 8 + CLASS - 1) / CLASS;
  return k < 2 ? 2 : k;
}

static void *mem_malloc(size_t size) {
  size_t k = class_of_request(size);
  if (k >= CLASSES)
    return malloc(size);
  cache_t *c = thread_cache();
  if (c != NULL && c->head[k] != NULL) {
    void *p = c->head[k];
    c->head[k] = *(void **)p;
    c->n[k]--;
    return p;
  }
  return malloc(CLASS * k - 8);
}

static void mem_free(void *p) {
  if (p == NULL)
    return;
  size_t k = (malloc_usable_size(p) + 8) / CLASS;
  cache_t *c = k >= 2 && k < CLASSES ? thread_cache() : NULL;
  if (c == NULL || c->n[k] >= KEEP) {
    free(p);
    return;
  }
  /* a block that came from elsewhere may hold more than its class says,
   * never less: usable sizes below are rounded down to the class */
  *(void **)p = c->head[k];
  c->head[k] = p;
  c->n[k]++;
}

static void *mem_realloc(void *p, size_t size) {
  if (p == NULL)
    return mem_malloc(size);
  if (size <= malloc_usable_size(p))
    return p;
  return realloc(p, size);
}

void an_mem_use_for_libevent(void) {
  event_set_mem_functions(mem_malloc, mem_realloc, mem_free);
}

void an_mem_release(void) {
  if (cache != NULL) {
    pthread_setspecific(key, NULL);
    drain(cache);
    cache = NULL;
  }
}
