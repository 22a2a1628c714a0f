/* api_tuning.c: GET /v1/tuning — the per-series sensitivity that feedback
 * has set, which the plugin pulls and applies. */
#include "api/api.h"
#include "timefmt.h"

#include <stdlib.h>

typedef struct tuning_job {
  an_request_t *req;
  an_jw_t w;
} tuning_job_t;

static int write_series(void *ctx, const char *source, const char *metric,
                        double sensitivity, double at) {
  an_jw_t *w = ctx;
  char stamp[40];
  an_jw_map_open(w);
  an_jw_str(w, "sourceId", source);
  an_jw_str(w, "metric", metric);
  an_jw_num(w, "sensitivity", sensitivity);
  an_jw_str(w, "updatedAt", an_time_format(at, stamp, sizeof(stamp)));
  an_jw_map_close(w);
  return 0;
}

/* The document is written on the worker: a writer is only a buffer. */
static int run_tuning(sqlite3 *db, void *arg) {
  tuning_job_t *j = arg;
  an_jw_free(&j->w); /* from a first run of the batch */
  an_jw_map_open(&j->w);
  an_jw_key(&j->w, "series");
  an_jw_array_open(&j->w);
  int rc = an_store_each_tuning(db, write_series, &j->w);
  an_jw_array_close(&j->w);
  an_jw_map_close(&j->w);
  return rc;
}

static void tuning_done(void *arg, int rc) {
  tuning_job_t *j = arg;
  if (rc != 0) {
    an_api_reply_store_error(j->req, rc, "tuning");
    an_jw_free(&j->w);
  } else {
    an_api_reply_jw(j->req, 200, &j->w);
  }
  free(j);
}

void an_api_tuning_get(an_request_t *req) {
  tuning_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  j->req = req;
  int rc = an_store_submit(an_request_daemon(req)->store, run_tuning,
                           tuning_done, j);
  if (rc != 0) {
    an_api_reply_store_error(req, rc, "tuning");
    free(j);
  }
}
