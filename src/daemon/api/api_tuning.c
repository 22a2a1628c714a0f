/* api_tuning.c: GET /v1/tuning — the per-series sensitivity that feedback
 * has set, which the plugin pulls and applies. */
#include "api/api.h"
#include "store/store_tuning.h"
#include "timefmt.h"

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
static int run_tuning(sqlite3 *db, an_api_job_t *j, yajl_gen g) {
  (void)j;
  yajl_gen_map_open(g);
  an_json_key(g, "series");
  yajl_gen_array_open(g);
  int rc = an_store_each_tuning(db, write_series, g);
  yajl_gen_array_close(g);
  yajl_gen_map_close(g);
  return rc;
}

void an_api_tuning_get(an_request_t *req) {
  an_api_submit(req, run_tuning, 200, NULL, NULL, "tuning");
}
