/* faultmem.h: allocation failures on demand, for tests (after SQLite's
 * test_malloc.c). A program linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,
 * --wrap=strndup,--wrap=aligned_alloc sends its own allocations (and those
 * of the static libraries linked in) through a countdown; after
 * an_faultmem_install() libevent's and SQLite's go through it too.
 * Nothing here is linked into anomalyd. */
#ifndef AN_FAULTMEM_H
#define AN_FAULTMEM_H

/* Routes libevent's and SQLite's allocations through the countdown. Call
 * first in main, before anything of libevent or SQLite allocates. Returns
 * 0, or -1 when SQLite refuses (already initialised). */
int an_faultmem_install(void);

/* Makes the nth allocation from now fail (n >= 1), on any thread; with
 * every_after, also every one after it until an_faultmem_disarm(). */
void an_faultmem_arm(long n, int every_after);

/* Stops failing; returns how many allocations failed since the last
 * an_faultmem_arm(). */
long an_faultmem_disarm(void);

/* Whether every allocation that failed since the last an_faultmem_arm()
 * was one libevent made on its own account (accepting a connection,
 * reading or parsing a request), with no function of the program among
 * its callers: libevent then closes the connection or answers its own
 * page, and nothing of the program could have answered. */
int an_faultmem_libevent_alone(void);

#endif
