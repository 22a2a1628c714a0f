/* backoff.h: when to try a delivery again, shared by the plugin's forwarder
 * and anomalyd's notifications: exponential backoff with jitter, what an
 * HTTP status means for a retry, and Retry-After. */
#ifndef AN_BACKOFF_H
#define AN_BACKOFF_H

typedef enum an_http_outcome {
  AN_HTTP_DELIVERED = 0, /* 2xx */
  AN_HTTP_RETRY,         /* no answer (0), 408, 429 or 5xx: try again */
  AN_HTTP_REJECTED,      /* any other status: retrying cannot help */
} an_http_outcome_t;

/* What status (0: no answer at all) means for the sender. */
an_http_outcome_t an_http_outcome(long status);

/* The delay before try number failures + 1, after failures >= 1 failed
 * tries in a row: first, doubling each time, capped at max, then scaled by
 * a jitter in [0.5, 1) from u in [0, 1) so that senders do not retry in
 * step after an outage. */
double an_backoff_delay(double first, double max, unsigned failures, double u);

/* Parses a Retry-After header value, delay-seconds ("120") or an HTTP
 * date ("Wed, 21 Oct 2015 07:28:00 GMT"), into seconds from now (never
 * negative). Returns 0, or EINVAL when value is neither. */
int an_retry_after_parse(const char *value, double now, double *seconds);

#endif
