/* routes.c: every route of the /v1 API, in one table. */
#include "api.h"

const an_route_t an_routes[] = {
    {"GET", "/v1/health", AN_ROLE_NONE, an_api_health_get},
    {"GET", "/metrics", AN_ROLE_NONE, an_api_metrics_get},
    {"POST", "/v1/data", AN_ROLE_STREAM, an_api_data_post},
    {"GET", "/v1/anomalies", AN_ROLE_STREAM, an_api_anomalies_list},
    {"POST", "/v1/anomalies", AN_ROLE_STREAM, an_api_anomalies_ingest},
    {"GET", "/v1/anomalies/{id}", AN_ROLE_STREAM, an_api_anomaly_get},
    {"PATCH", "/v1/anomalies/{id}", AN_ROLE_STREAM, an_api_anomaly_patch},
    {"POST", "/v1/anomalies/{id}/feedback", AN_ROLE_STREAM,
     an_api_anomaly_feedback},
    {"GET", "/v1/tuning", AN_ROLE_STREAM, an_api_tuning_get},
    {NULL, NULL, AN_ROLE_NONE, NULL},
};
