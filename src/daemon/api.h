/* api.h: the request handlers, one file per API resource. routes.c maps
 * method and path to them. */
#ifndef AN_API_H
#define AN_API_H

#include "http.h"
#include "json.h"
#include "store.h"

/* api_health.c, api_metrics.c */
void an_api_health_get(an_request_t *req);
void an_api_metrics_get(an_request_t *req);
/* Marks the start of the process, for the uptime health reports. */
void an_api_health_start(void);

/* api_data.c: POST /v1/data */
void an_api_data_post(an_request_t *req);

/* api_anomalies.c */
void an_api_anomalies_list(an_request_t *req);   /* GET /v1/anomalies */
void an_api_anomalies_ingest(an_request_t *req); /* POST /v1/anomalies */
void an_api_anomaly_get(an_request_t *req);      /* GET …/{id} */
void an_api_anomaly_patch(an_request_t *req);    /* PATCH …/{id} */
void an_api_anomaly_feedback(an_request_t *req); /* POST …/{id}/feedback */

/* api_tuning.c: GET /v1/tuning */
void an_api_tuning_get(an_request_t *req);

/* api_common.c: what every resource needs. */

/* The body parsed strictly as JSON; on failure replies 400 INVALID_DATA
 * naming the problem and returns NULL. */
yajl_val an_api_body(an_request_t *req);

/* Replies with the generator's document and frees it. */
void an_api_reply_gen(an_request_t *req, int status, yajl_gen g);

/* Replies for a store result that is not success: EIO → 503 UNAVAILABLE,
 * ENOENT → 404 NOT_FOUND (naming what), others → 500 INTERNAL. */
void an_api_reply_store_error(an_request_t *req, int rc, const char *what);

/* A number of a JSON value when finite; returns 0 or EINVAL. */
int an_api_number(yajl_val v, double *out);

/* Writes an anomaly as its JSON object (api_anomalies.c). */
void an_api_write_anomaly(yajl_gen g, const an_anomaly_t *a);

#endif
