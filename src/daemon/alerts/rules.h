/* rules.h: alert rules: reading one from a request body (with errors that
 * name the field) and whether an anomaly fires it. The store keeps them
 * (store_alerts.c), alerts.c applies them, api_alert_rules.c writes them
 * as JSON. */
#ifndef AN_RULES_H
#define AN_RULES_H

#include "uuid.h"

#include <stddef.h>
#include <yajl/yajl_tree.h>

#define AN_RULE_MAX_CHANNELS 20

typedef struct an_rule {
  char id[AN_UUID_LEN + 1];
  char *name;
  int severity;         /* an_severity_t: the severity its alerts carry */
  char *metric;         /* conditions.metric: a pattern (match.h) */
  double threshold;     /* conditions.threshold: the least anomaly score */
  char *source;         /* conditions.sourceId: a pattern; NULL for any */
  int min_hits;         /* conditions.minHits: anomalies before it fires */
  double window;        /* conditions.window: seconds they must come in */
  double resolve_after; /* quiet seconds before auto-resolve; 0: never */
  char **channels;      /* channel names, notified in this order */
  size_t nchannels;
  double escalation_timeout; /* seconds unacknowledged; 0: no escalation */
  char *escalate_to;         /* a channel name, NULL without escalation */
  int enabled;
  double created_at, updated_at;
} an_rule_t;

/* Reads the body of POST or PUT /v1/alert-rules into out (everything but
 * id and the times). Channel names are checked for shape only; whether
 * they exist is the store's check. Returns 0, or EINVAL with a message
 * naming the field in err (out is then cleared). */
int an_rule_from_json(yajl_val body, double default_resolve_after,
                      an_rule_t *out, char *err, size_t errlen);

/* Frees the strings of r and zeroes it. Accepts a zeroed rule. */
void an_rule_clear(an_rule_t *r);

/* Whether an anomaly of score on source/metric fires rule r: r enabled,
 * score >= threshold, source and metric matching r's patterns. */
int an_rule_matches(const an_rule_t *r, const char *source, const char *metric,
                    double score);

#endif
