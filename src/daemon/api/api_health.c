/* api_health.c: GET /v1/health and GET /metrics, for monitors. */
#include "clock.h"
#include "config.h"

#include "api/api.h"
#include "metrics.h"

#include <stdlib.h>

static double started; /* monotonic */

void an_api_health_get(an_request_t *req) {
  an_daemon_t *d = an_request_daemon(req);
  int ok = an_store_healthy(d->store);
  an_jw_t w;
  an_jw_init(&w);
  an_jw_map_open(&w);
  an_jw_str(&w, "status", ok ? "ok" : "degraded");
  an_jw_str(&w, "version", PACKAGE_VERSION);
  an_jw_int(&w, "uptimeSeconds", (long long)(an_clock_monotonic() - started));
  if (!ok)
    an_jw_str(&w, "reason", "storage is failing");
  an_jw_map_close(&w);
  an_api_reply_jw(req, ok ? 200 : 503, &w);
}

void an_api_metrics_get(an_request_t *req) {
  size_t len;
  char *text = an_metrics_render(an_request_daemon(req)->metrics, &len);
  if (text == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  an_reply_raw(req, 200, "text/plain; version=0.0.4", text, len);
  free(text);
}

void an_api_health_start(void) { started = an_clock_monotonic(); }
