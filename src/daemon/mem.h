/* mem.h: the memory functions libevent allocates with.
 *
 * evhttp allocates and frees some forty small blocks per request (the
 * request, each header's entry, name and value, buffer chains). That is
 * more blocks of one size than glibc's per-thread cache keeps (7), so most
 * of them went through malloc's slower bins and consolidation: a fifth of
 * the event loop's own instructions. These functions keep up to 256 freed
 * blocks per size (16-byte classes up to 1 KiB) per thread and hand them
 * out again. The blocks are glibc's own, sized by malloc_usable_size(), so
 * a block freed with plain free() (evhttp_uridecode's result, say) or
 * allocated elsewhere and freed here is still right. */
#ifndef AN_MEM_H
#define AN_MEM_H

/* Makes libevent allocate with these functions. Call before anything of
 * libevent allocates (event_base_new, evthread_use_pthreads). */
void an_mem_use_for_libevent(void);

/* Frees the blocks the calling thread keeps (other threads' are freed
 * when they exit). For the end of main, after event_base_free. */
void an_mem_release(void);

#endif
