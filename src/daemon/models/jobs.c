/* jobs.c: the training workers and their queue (jobs.h). */
#include "models/jobs.h"
#include "clock.h"
#include "conf.h"
#include "grow.h"
#include "models/algorithm.h"
#include "models/train.h"
#include "store/store.h"
#include "store/store_models.h"
#include "uuid.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define MAX_WORKERS 4

typedef struct job_id {
  char id[AN_UUID_LEN + 1];
} job_id_t;

typedef struct worker {
  an_jobs_t *jobs;
  pthread_t thread;
  int started;
  char id[AN_UUID_LEN + 1]; /* guarded by jobs->lock: the job it runs */
  atomic_int stop;          /* the running job's flag (algorithm.h) */
} worker_t;

struct an_jobs {
  an_daemon_t *daemon;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  job_id_t *queue; /* guarded by lock: oldest first */
  size_t nqueued, cap;
  int stopping; /* guarded by lock */
  worker_t workers[MAX_WORKERS];
  int nworkers;
};

int an_jobs_queue(an_jobs_t *j, const char *id) {
  int rc = 0;
  if (j == NULL)
    return ENOMEM;
  pthread_mutex_lock(&j->lock);
  if (an_grow((void **)&j->queue, &j->cap, j->nqueued, sizeof(*j->queue)) !=
      0) {
    rc = ENOMEM;
  } else {
    snprintf(j->queue[j->nqueued++].id, sizeof(j->queue[0].id), "%s", id);
    pthread_cond_signal(&j->wake);
  }
  pthread_mutex_unlock(&j->lock);
  return rc;
}

int an_jobs_cancel(an_jobs_t *j, const char *id) {
  int found = 0;
  if (j == NULL)
    return 0;
  pthread_mutex_lock(&j->lock);
  for (int i = 0; i < j->nworkers; i++)
    if (strcmp(j->workers[i].id, id) == 0) {
      atomic_store(&j->workers[i].stop, AN_TRAIN_CANCEL);
      found = 1;
    }
  pthread_mutex_unlock(&j->lock);
  return found;
}

/* Runs job id on a connection of the worker's own. */
static void run(worker_t *w, const char *id) {
  const an_config_t *c = w->jobs->daemon->config;
  char err[512];
  sqlite3 *db = an_store_connect(c->data_dir, 0, err, sizeof(err));
  if (db == NULL) {
    syslog(LOG_ERR, "training: job %s not run: %s", id, err);
    return;
  }
  if (an_train_job_run(db, c, id, &w->stop) == EIO)
    syslog(LOG_ERR, "training: job %s: its status could not be stored", id);
  sqlite3_close(db);
}

static void *work(void *arg) {
  worker_t *w = arg;
  an_jobs_t *j = w->jobs;
  pthread_mutex_lock(&j->lock);
  for (;;) {
    while (j->nqueued == 0 && !j->stopping)
      pthread_cond_wait(&j->wake, &j->lock);
    if (j->stopping)
      break;
    memcpy(w->id, j->queue[0].id, sizeof(w->id));
    memmove(&j->queue[0], &j->queue[1], --j->nqueued * sizeof(*j->queue));
    atomic_store(&w->stop, 0);
    pthread_mutex_unlock(&j->lock);
    run(w, w->id);
    pthread_mutex_lock(&j->lock);
    w->id[0] = '\0';
  }
  pthread_mutex_unlock(&j->lock);
  return NULL;
}

/* ---- start-up ---- */

static int requeue(void *ctx, const char *id) { return an_jobs_queue(ctx, id); }

static int restart_rule(sqlite3 *db, void *arg) {
  an_jobs_t *j = arg;
  int failed;
  int rc = an_store_interrupt_train_jobs(db, an_clock_wall(), &failed);
  if (rc == 0)
    rc = an_store_each_queued_train_job(db, requeue, j);
  if (rc == 0 && (failed > 0 || j->nqueued > 0))
    syslog(LOG_NOTICE,
           "training: %d job(s) interrupted by restart failed, %zu queued "
           "again",
           failed, j->nqueued);
  return rc;
}

int an_jobs_open(an_daemon_t *d, an_jobs_t **out, char *err, size_t errlen) {
  an_jobs_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    snprintf(err, errlen, "out of memory");
    return ENOMEM;
  }
  j->daemon = d;
  pthread_mutex_init(&j->lock, NULL);
  pthread_cond_init(&j->wake, NULL);
  int rc = an_store_run_now(d->store, restart_rule, j);
  if (rc != 0) {
    snprintf(err, errlen, "cannot read the training jobs from the database");
    an_jobs_close(j);
    return rc;
  }
  j->nworkers = d->config->train_workers;
  if (j->nworkers < 1 || j->nworkers > MAX_WORKERS)
    j->nworkers = 1;
  for (int i = 0; i < j->nworkers; i++) {
    worker_t *w = &j->workers[i];
    w->jobs = j;
    if ((rc = pthread_create(&w->thread, NULL, work, w)) != 0) {
      snprintf(err, errlen, "cannot start the training workers");
      an_jobs_close(j);
      return rc;
    }
    w->started = 1;
  }
  *out = j;
  return 0;
}

void an_jobs_close(an_jobs_t *j) {
  if (j == NULL)
    return;
  pthread_mutex_lock(&j->lock);
  j->stopping = 1;
  for (int i = 0; i < j->nworkers; i++)
    if (j->workers[i].id[0] != '\0')
      atomic_store(&j->workers[i].stop, AN_TRAIN_SHUTDOWN);
  pthread_cond_broadcast(&j->wake);
  pthread_mutex_unlock(&j->lock);
  for (int i = 0; i < j->nworkers; i++)
    if (j->workers[i].started)
      pthread_join(j->workers[i].thread, NULL);
  pthread_mutex_destroy(&j->lock);
  pthread_cond_destroy(&j->wake);
  free(j->queue);
  free(j);
}
