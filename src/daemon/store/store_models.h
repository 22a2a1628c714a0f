/* store_models.h: the SQL of model training: the jobs (train_jobs) and
 * the models they make (models), with each model's blob.
 *
 * A job's status only moves forward: queued -> running -> succeeded,
 * failed or cancelled, or queued -> cancelled. Every move is one UPDATE
 * conditioned on the status it leaves, so the store worker (the API) and
 * a training worker (models/jobs.c) never both win the same move.
 *
 * Functions take any connection (the store worker's inside its
 * transaction, or a training worker's own) and prepare their statements
 * (never the worker's statement cache). They return 0, ENOENT (no such
 * job or model), EIO (a database error, logged once in sql.c) or ENOMEM.
 * Records hold malloc'd strings the caller clears, on every result. */
#ifndef AN_STORE_MODELS_H
#define AN_STORE_MODELS_H

#include "uuid.h"

#include <sqlite3.h>
#include <stddef.h>

typedef enum an_job_status {
  AN_JOB_QUEUED = 0,
  AN_JOB_RUNNING,
  AN_JOB_SUCCEEDED,
  AN_JOB_FAILED,
  AN_JOB_CANCELLED,
} an_job_status_t;

/* "queued", "running", "succeeded", "failed", "cancelled". */
const char *an_job_status_name(int status);

typedef struct an_train_job {
  char id[AN_UUID_LEN + 1];
  char *algorithm;
  char *hyperparameters; /* JSON text, as validated */
  double range_start, range_end;
  char *scope_source, *scope_metric; /* NULL: every source, metric */
  int status;                        /* an_job_status_t */
  double progress;                   /* 0 to 1 */
  long long series_total, series_done, series_skipped;
  char model_id[AN_UUID_LEN + 1];             /* "" until it succeeded */
  char *error;                                /* NULL unless it failed */
  int scheduled;                              /* queued by TrainInterval */
  double created_at, started_at, finished_at; /* NaN: not yet */
} an_train_job_t;

void an_train_job_clear(an_train_job_t *j);

/* A model's row without its blob. */
typedef struct an_model_info {
  char id[AN_UUID_LEN + 1];
  char *algorithm;
  char *scope_source, *scope_metric;
  long long version; /* 1, 2, … per algorithm and scope */
  double range_start, range_end;
  long long series, skipped, points;
  long long size; /* bytes of the blob */
  int active;
  double created_at;
  char *metrics; /* JSON text (models/evaluate.h), NULL when none */
  char job_id[AN_UUID_LEN + 1];
} an_model_info_t;

void an_model_info_clear(an_model_info_t *m);

/* ---- jobs ---- */

/* Inserts j (queued). */
int an_store_put_train_job(sqlite3 *db, const an_train_job_t *j);
int an_store_get_train_job(sqlite3 *db, const char *id, an_train_job_t *out);
/* A page of jobs, newest first (after (after_t, after_id) when after_id
 * is not NULL), and the count of all. *out: a malloc'd array of *n the
 * caller clears and frees, also after a failure. */
int an_store_list_train_jobs(sqlite3 *db, int limit, double after_t,
                             const char *after_id, an_train_job_t **out,
                             size_t *n, long long *total);

/* queued -> running at now. EALREADY when the job is not queued (it was
 * cancelled meanwhile). */
int an_store_claim_train_job(sqlite3 *db, const char *id, double now);
/* A running job's progress. */
int an_store_set_train_progress(sqlite3 *db, const char *id, double progress,
                                long long total, long long done,
                                long long skipped);
/* running -> status (succeeded, failed or cancelled) at now, with error
 * (NULL unless failed) and model_id (NULL unless succeeded). EALREADY
 * when the job is not running. */
int an_store_finish_train_job(sqlite3 *db, const char *id, int status,
                              const char *error, const char *model_id,
                              double now);
/* queued -> cancelled at now. Returns 0 with *status the job's status
 * before (only a queued one moved), or ENOENT. */
int an_store_cancel_train_job(sqlite3 *db, const char *id, double now,
                              int *status);
/* At start-up: every job left running failed, "interrupted by restart";
 * *n says how many. */
int an_store_interrupt_train_jobs(sqlite3 *db, double now, int *n);
/* Calls fn for each queued job's id, oldest first. */
int an_store_each_queued_train_job(sqlite3 *db,
                                   int (*fn)(void *ctx, const char *id),
                                   void *ctx);
/* How many scheduled jobs are queued or running. */
int an_store_count_scheduled_pending(sqlite3 *db, long long *n);

/* ---- models ---- */

/* Inserts m with its blob (len bytes), giving m->version the next
 * version of its algorithm and scope. m->active is stored as it is. */
int an_store_put_model(sqlite3 *db, an_model_info_t *m, const void *blob,
                       size_t len);
int an_store_get_model(sqlite3 *db, const char *id, an_model_info_t *out);
/* The blob of model id: *blob malloc'd (the caller's), *len bytes. */
int an_store_get_model_blob(sqlite3 *db, const char *id, void **blob,
                            size_t *len);
/* Like an_store_list_train_jobs(), for models. */
int an_store_list_models(sqlite3 *db, int limit, double after_t,
                         const char *after_id, an_model_info_t **out, size_t *n,
                         long long *total);
/* Deletes model id; EBUSY when it is the active one. */
int an_store_delete_model(sqlite3 *db, const char *id);
/* Makes model id the active one of its algorithm and scope; the one
 * active before stays, inactive. */
int an_store_activate_model(sqlite3 *db, const char *id);
/* The active model of an algorithm and scope (NULL: every), or ENOENT. */
int an_store_get_active_model(sqlite3 *db, const char *algorithm,
                              const char *scope_source,
                              const char *scope_metric, an_model_info_t *out);
/* Of the active models of an algorithm, whatever their scope, the one
 * created last (the one the plugin pulls), or ENOENT. */
int an_store_get_newest_active_model(sqlite3 *db, const char *algorithm,
                                     an_model_info_t *out);
/* Calls fn with the id and blob (len bytes, fn's to read until it
 * returns) of each active model of algorithm, newest first; a non-zero
 * result of fn ends the walk and is returned. */
int an_store_each_active_model_blob(sqlite3 *db, const char *algorithm,
                                    int (*fn)(void *ctx, const char *id,
                                              const void *blob, size_t len),
                                    void *ctx);
/* How many models are stored. */
int an_store_count_models(sqlite3 *db, long long *n);

#endif
