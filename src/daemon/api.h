/* api.h: the request handlers, one file per API resource. routes.c maps
 * method and path to them. */
#ifndef AN_API_H
#define AN_API_H

#include "http.h"

/* api_health.c, api_metrics.c */
void an_api_health_get(an_request_t *req);
void an_api_metrics_get(an_request_t *req);

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

#endif
