/* api_tuning.c: GET /v1/tuning — the per-series sensitivity that feedback
 * has set, which the plugin pulls and applies. */
#include "api/api.h"
#include "store/store_tuning.h"
#include "timefmt.h"

#include <stdlib.h>

typedef struct tuning_job {
  an_request_t *req;
  yajl_gen g;
} tuning_job_t;

static int write_series(void *ctx, const char *source, const char *metric,
                        double sensitivity, double at) {
  yajl_gen g = ctx;
  char stamp[40];
  yajl_gen_map_open(g);
  an_json_str(g, "sourceId", source);
  an_json_str(g, "metric", metric);
  an_json_num(g, "sensitivity", sensitivity);
  an_json_str(g, "updatedAt", an_time_format(at, stamp, sizeof(stamp)));
  yajl_gen_map_close(g);
  return 0;
}

/* The document is written on the worker: a generator is only a buffer. */
static int run_tuning(sqlite3 *db, void *arg) {
  tuning_job_t *j = arg;
  yajl_gen_clear(j->g); /* from a first run of the batch */
  yajl_gen_reset(j->g, NULL);
  yajl_gen_map_open(j->g);
  an_json_key(j->g, "series");
  yajl_gen_array_open(j->g);
  int rc = an_store_each_tuning(db, write_series, j->g);
  yajl_gen_array_close(j->g);
  yajl_gen_map_close(j->g);
  return rc;
}

static void tuning_done(void *arg, int rc) {
  tuning_job_t *j = arg;
  if (rc != 0) {
    an_api_reply_store_error(j->req, rc, "tuning");
    yajl_gen_free(j->g);
  } else {
    an_api_reply_gen(j->req, 200, j->g);
  }
  free(j);
}

void an_api_tuning_get(an_request_t *req) {
  tuning_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL || (j->g = an_json_gen()) == NULL) {
    free(j);
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  j->req = req;
  int rc = an_store_submit(an_request_daemon(req)->store, run_tuning,
                           tuning_done, j);
  if (rc != 0) {
    an_api_reply_store_error(req, rc, "tuning");
    yajl_gen_free(j->g);
    free(j);
  }
}
