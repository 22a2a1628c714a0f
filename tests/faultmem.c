/* faultmem.c: allocation failures on demand (see faultmem.h). */
#define _GNU_SOURCE /* dladdr */
#include "faultmem.h"

#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <execinfo.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The allocations left before the one that fails; atomic because the
 * store's thread allocates too. */
static atomic_long countdown;
static atomic_int armed, every_after;
static atomic_long failures;
/* Set when an allocation failed that the program made or asked for; not
 * when libevent failed to allocate on its own account. */
static atomic_int for_program;

/* Whether this allocation is to fail; when it is but spared() says the
 * caller cannot take it, the next allocation fails instead. */
static int fault_now(int (*spared)(void)) {
  if (!atomic_load_explicit(&armed, memory_order_relaxed))
    return 0;
  long left = atomic_fetch_sub(&countdown, 1);
  if (left > 1 || (left < 1 && !atomic_load(&every_after)))
    return 0;
  if (spared != NULL && spared()) {
    atomic_fetch_add(&countdown, 1);
    return 0;
  }
  if (!atomic_load(&every_after))
    atomic_store(&armed, 0);
  atomic_fetch_add(&failures, 1);
  if (getenv("AN_FAULTMEM_TRACE") != NULL) { /* where, without a debugger */
    void *frames[24];
    fprintf(stderr, "faultmem: allocation failed at\n");
    backtrace_symbols_fd(frames, backtrace(frames, 24), 2);
  }
  errno = ENOMEM;
  return 1;
}

/* fault_now() for an allocation the program asked for. */
static int program_fault(void) {
  if (!fault_now(NULL))
    return 0;
  atomic_store(&for_program, 1);
  return 1;
}

void an_faultmem_arm(long n, int after) {
  atomic_store(&failures, 0);
  atomic_store(&for_program, 0);
  atomic_store(&countdown, n);
  atomic_store(&every_after, after);
  atomic_store(&armed, 1);
}

long an_faultmem_disarm(void) {
  atomic_store(&armed, 0);
  return atomic_load(&failures);
}

int an_faultmem_libevent_alone(void) {
  return atomic_load(&failures) > 0 && !atomic_load(&for_program);
}

/* The wrapper the linker's --wrap=name calls instead of name, and the
 * real function under the name --wrap gives it. */
#define WRAP(type, name, params, args)                                         \
  type __real_##name params;                                                   \
  type __wrap_##name params;                                                   \
  type __wrap_##name params {                                                  \
    return program_fault() ? NULL : __real_##name args;                        \
  }

WRAP(void *, malloc, (size_t size), (size))
WRAP(void *, calloc, (size_t n, size_t size), (n, size))
WRAP(void *, realloc, (void *p, size_t size), (p, size))
WRAP(char *, strdup, (const char *s), (s))
WRAP(char *, strndup, (const char *s, size_t n), (s, n))
WRAP(void *, aligned_alloc, (size_t align, size_t size), (align, size))

/* Whether one of names[n] is among the callers (frames 1 to depth), or,
 * with n 0, a function of the program calls the library that allocates
 * (this file's frames come first, then the library's, then its caller's
 * up to event_base_loop). */
static int called_from(const char *const *names, size_t n, int depth) {
  Dl_info self, info;
  void *frames[32];
  int got = backtrace(frames, depth < 32 ? depth : 32), in_library = 0;
  if (dladdr((void *)called_from, &self) == 0)
    return 0;
  for (int i = 1; i < got; i++) {
    if (dladdr(frames[i], &info) == 0)
      continue;
    const char *sym = info.dli_sname != NULL ? info.dli_sname : "";
    for (size_t k = 0; k < n; k++)
      if (strcmp(sym, names[k]) == 0)
        return 1;
    if (n > 0)
      continue;
    if (strcmp(sym, "event_base_loop") == 0)
      return 0;
    if (info.dli_fbase != self.dli_fbase)
      in_library = 1;
    else if (in_library)
      return 1;
  }
  return 0;
}

/* Allocations of libevent 2.1.12 that are never failed, for what it does
 * then: it crashes when evhttp cannot copy a connection's address or make
 * a request's header lists (it frees the half-made object as a whole
 * one), and when evbuffer_readln cannot copy a line evhttp takes it for a
 * line not yet complete and waits for it until the Timeout. */
static int libevent_cannot(void) {
  static const char *const fragile[] = {
      "evhttp_connection_base_bufferevent_new", "evhttp_request_new",
      "evbuffer_readln"};
  return called_from(fragile, sizeof(fragile) / sizeof(fragile[0]), 16);
}

/* fault_now() for libevent: on the program's account when one of its
 * functions is among the callers (a reply being written, a timer added),
 * on libevent's own when not (accepting, reading a socket). */
static int libevent_fault(void) {
  if (!fault_now(libevent_cannot))
    return 0;
  if (called_from(NULL, 0, 32))
    atomic_store(&for_program, 1);
  return 1;
}

static void *libevent_malloc(size_t size) {
  return libevent_fault() ? NULL : __real_malloc(size);
}

static void *libevent_realloc(void *p, size_t size) {
  return libevent_fault() ? NULL : __real_realloc(p, size);
}

static void libevent_free(void *p) { free(p); }

/* SQLite's default methods, consulted after the countdown. */
static sqlite3_mem_methods sqlite_default;

static void *sqlite_malloc(int size) {
  return program_fault() ? NULL : sqlite_default.xMalloc(size);
}

static void *sqlite_realloc(void *p, int size) {
  return program_fault() ? NULL : sqlite_default.xRealloc(p, size);
}

int an_faultmem_install(void) {
  void *frame;
  backtrace(&frame, 1); /* loads the unwinder now, not on a fault */
  event_set_mem_functions(libevent_malloc, libevent_realloc, libevent_free);
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_default) != SQLITE_OK)
    return -1;
  sqlite3_mem_methods m = sqlite_default;
  m.xMalloc = sqlite_malloc;
  m.xRealloc = sqlite_realloc;
  return sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK ? 0 : -1;
}
