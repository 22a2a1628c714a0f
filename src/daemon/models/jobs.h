/* jobs.h: the training workers: TrainWorkers threads, each running one
 * job at a time (train.h) on a connection of its own, and the queue of
 * jobs waiting beyond them. Never on the event loop: the loop queues
 * ids, and the store worker sets stop flags, under a mutex held for a
 * few instructions.
 *
 * At start-up (an_jobs_open) a job the last run left running failed,
 * "interrupted by restart": it may be what stopped that run, so it is
 * not tried again; the jobs left queued are queued again, oldest first.
 * At shutdown (an_jobs_close) a running job stops at its next series and
 * fails, "interrupted by shutdown"; queued ones stay queued for the next
 * start. */
#ifndef AN_MODELS_JOBS_H
#define AN_MODELS_JOBS_H

#include "daemon.h"

#include <stddef.h>

typedef struct an_jobs an_jobs_t;

/* Applies the restart rule on the store's connection (so before
 * an_store_start(), like the engine's restore) and starts the workers.
 * Returns 0 with *out, or an errno with the reason in err. */
int an_jobs_open(an_daemon_t *d, an_jobs_t **out, char *err, size_t errlen);

/* Queues job id (stored as queued, committed). Returns 0 or ENOMEM (the
 * job then runs after the next start; so too with j NULL, where no
 * workers run). */
int an_jobs_queue(an_jobs_t *j, const char *id);

/* Asks job id to stop at its next series, cancelled, if a worker runs it
 * (a queued job is cancelled in the store). Returns 1 if one does.
 * Accepts j NULL. */
int an_jobs_cancel(an_jobs_t *j, const char *id);

/* Stops the workers (a running job fails, "interrupted by shutdown") and
 * frees j. Accepts NULL. */
void an_jobs_close(an_jobs_t *j);

#endif
