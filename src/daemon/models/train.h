/* train.h: one training job, from claiming it to storing its model, on a
 * training worker's own connection (jobs.c runs it on its threads).
 *
 * The job's row moves queued -> running when it starts, its progress as
 * each series is done (at most a few writes a second), then to succeeded
 * (its model stored in the same transaction), failed (with the reason)
 * or cancelled. Each write is a short transaction of its own, waiting for
 * the store worker's group commits as the busy timeout allows; the points
 * are read in a read transaction per series, which never blocks a
 * writer (WAL). */
#ifndef AN_MODELS_TRAIN_H
#define AN_MODELS_TRAIN_H

#include "conf.h"

#include <sqlite3.h>
#include <stdatomic.h>

/* Runs job id on db. stop is the job's flag (algorithm.h): set to
 * AN_TRAIN_CANCEL the job ends cancelled at the next series; to
 * AN_TRAIN_SHUTDOWN it fails, "interrupted by shutdown", or if it had
 * not started it stays queued. A succeeded scheduled job's model is
 * activated when AutoActivate allows. Returns 0 (whatever the job's
 * outcome), EALREADY when the job was not queued, or EIO when its row
 * could not be read or written (it is then left as it was: a running
 * job fails at the next start). */
int an_train_job_run(sqlite3 *db, const an_config_t *config, const char *id,
                     const atomic_int *stop);

#endif
