/* api_tuning.c: GET /v1/tuning — the per-series sensitivity that feedback
 * has set, which the plugin pulls and applies. */
#include "api/api.h"
#include "store/store_tuning.h"
#include "timefmt.h"

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
static int run_tuning(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  (void)j;
  an_jw_map_open(w);
  an_jw_key(w, "series");
  an_jw_array_open(w);
  int rc = an_store_each_tuning(db, write_series, w);
  an_jw_array_close(w);
  an_jw_map_close(w);
  return rc;
}

void an_api_tuning_get(an_request_t *req) {
  an_api_submit(req, run_tuning, 200, NULL, NULL, "tuning");
}
