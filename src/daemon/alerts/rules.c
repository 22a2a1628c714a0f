#include "alerts/rules.h"
#include "alerts/match.h"
#include "json.h"
#include "severity.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 200
#define MAX_CHANNEL_NAME 100
#define DEFAULT_WINDOW 600.0
#define MAX_SECONDS (366 * 86400.0)

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return EINVAL;
}

static int absent(yajl_val v) { return v == NULL || YAJL_IS_NULL(v); }

/* A number of seconds in [0, MAX_SECONDS]. */
static int seconds(yajl_val v, double *out) {
  if (!YAJL_IS_NUMBER(v))
    return EINVAL;
  double d = YAJL_GET_DOUBLE(v);
  if (!isfinite(d) || d < 0 || d > MAX_SECONDS)
    return EINVAL;
  *out = d;
  return 0;
}

static int read_channels(yajl_val v, an_rule_t *r, char *err, size_t errlen) {
  if (absent(v))
    return 0;
  if (!YAJL_IS_ARRAY(v) || v->u.array.len > AN_RULE_MAX_CHANNELS)
    return bad(err, errlen,
               "channels must be an array of at most %d channel names",
               AN_RULE_MAX_CHANNELS);
  r->channels = calloc(v->u.array.len + 1, sizeof(char *));
  if (r->channels == NULL)
    return ENOMEM;
  for (size_t i = 0; i < v->u.array.len; i++) {
    yajl_val c = v->u.array.values[i];
    if (!YAJL_IS_STRING(c) || c->u.string[0] == '\0' ||
        strlen(c->u.string) > MAX_CHANNEL_NAME)
      return bad(err, errlen, "channels[%zu] must be a channel name", i);
    for (size_t k = 0; k < r->nchannels; k++)
      if (strcmp(r->channels[k], c->u.string) == 0)
        return bad(err, errlen, "channels[%zu]: \"%s\" is listed twice", i,
                   c->u.string);
    if ((r->channels[r->nchannels] = strdup(c->u.string)) == NULL)
      return ENOMEM;
    r->nchannels++;
  }
  return 0;
}

static int read_conditions(yajl_val c, an_rule_t *r, char *err, size_t errlen) {
  if (!YAJL_IS_OBJECT(c))
    return bad(err, errlen,
               "conditions is required: an object with metric and threshold");
  yajl_val v = an_json_get(c, "metric");
  if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0' ||
      !an_match_valid(v->u.string))
    return bad(err, errlen,
               "conditions.metric must be a metric name or pattern "
               "(\"cpu\", \"cpu-*/cpu-user\", \"*\")");
  if ((r->metric = strdup(v->u.string)) == NULL)
    return ENOMEM;
  v = an_json_get(c, "threshold");
  if (!YAJL_IS_NUMBER(v) || !(YAJL_GET_DOUBLE(v) >= 0) ||
      !(YAJL_GET_DOUBLE(v) <= 1))
    return bad(err, errlen,
               "conditions.threshold must be a number from 0 to 1 (the "
               "least anomaly score)");
  r->threshold = YAJL_GET_DOUBLE(v);
  v = an_json_get(c, "sourceId");
  if (!absent(v)) {
    if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0' ||
        !an_match_valid(v->u.string))
      return bad(err, errlen,
                 "conditions.sourceId must be a source name or pattern");
    if ((r->source = strdup(v->u.string)) == NULL)
      return ENOMEM;
  }
  v = an_json_get(c, "minHits");
  r->min_hits = 1;
  if (!absent(v)) {
    if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 1 ||
        YAJL_GET_INTEGER(v) > 1000000)
      return bad(err, errlen,
                 "conditions.minHits must be a whole number from 1 to "
                 "1000000");
    r->min_hits = (int)YAJL_GET_INTEGER(v);
  }
  v = an_json_get(c, "window");
  r->window = DEFAULT_WINDOW;
  if (!absent(v) && (seconds(v, &r->window) != 0 || r->window == 0))
    return bad(err, errlen,
               "conditions.window must be a number of seconds above 0");
  return 0;
}

static int read_escalation(yajl_val e, an_rule_t *r, char *err, size_t errlen) {
  if (absent(e))
    return 0;
  if (!YAJL_IS_OBJECT(e))
    return bad(err, errlen,
               "escalation must be an object with timeout and escalateTo");
  yajl_val v = an_json_get(e, "timeout");
  if (seconds(v, &r->escalation_timeout) != 0)
    return bad(err, errlen,
               "escalation.timeout must be a number of seconds, 0 or more");
  v = an_json_get(e, "escalateTo");
  if (absent(v)) {
    if (r->escalation_timeout > 0)
      return bad(err, errlen,
                 "escalation.escalateTo is required: the channel to "
                 "escalate to");
    return 0;
  }
  if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0' ||
      strlen(v->u.string) > MAX_CHANNEL_NAME)
    return bad(err, errlen, "escalation.escalateTo must be a channel name");
  r->escalate_to = strdup(v->u.string);
  return r->escalate_to != NULL ? 0 : ENOMEM;
}

static int read_rule(yajl_val body, double default_resolve_after, an_rule_t *r,
                     char *err, size_t errlen) {
  if (!YAJL_IS_OBJECT(body))
    return bad(err, errlen, "the body must be a JSON object (a rule)");
  yajl_val v = an_json_get(body, "name");
  if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0' ||
      strlen(v->u.string) > MAX_NAME)
    return bad(err, errlen, "name must be a string of 1 to %d characters",
               MAX_NAME);
  if ((r->name = strdup(v->u.string)) == NULL)
    return ENOMEM;
  v = an_json_get(body, "severity");
  an_severity_t sev;
  if (!YAJL_IS_STRING(v) || an_severity_parse(v->u.string, &sev) != 0)
    return bad(err, errlen, "severity must be low, medium, high or critical");
  r->severity = (int)sev;
  int rc = read_conditions(an_json_get(body, "conditions"), r, err, errlen);
  if (rc == 0)
    rc = read_channels(an_json_get(body, "channels"), r, err, errlen);
  if (rc == 0)
    rc = read_escalation(an_json_get(body, "escalation"), r, err, errlen);
  if (rc != 0)
    return rc;
  v = an_json_get(body, "resolveAfter");
  r->resolve_after = default_resolve_after;
  if (!absent(v) && seconds(v, &r->resolve_after) != 0)
    return bad(err, errlen,
               "resolveAfter must be a number of seconds, 0 (never) or more");
  v = an_json_get(body, "enabled");
  r->enabled = 1;
  if (!absent(v)) {
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
      return bad(err, errlen, "enabled must be true or false");
    r->enabled = YAJL_IS_TRUE(v);
  }
  return 0;
}

int an_rule_from_json(yajl_val body, double default_resolve_after,
                      an_rule_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof(*out));
  int rc = read_rule(body, default_resolve_after, out, err, errlen);
  if (rc == ENOMEM)
    snprintf(err, errlen, "out of memory");
  if (rc != 0)
    an_rule_clear(out);
  return rc != 0 ? EINVAL : 0;
}

void an_rule_clear(an_rule_t *r) {
  free(r->name);
  free(r->metric);
  free(r->source);
  for (size_t i = 0; i < r->nchannels; i++)
    free(r->channels[i]);
  free(r->channels);
  free(r->escalate_to);
  memset(r, 0, sizeof(*r));
}

int an_rule_matches(const an_rule_t *r, const char *source, const char *metric,
                    double score) {
  return r->enabled && score >= r->threshold &&
         an_match_source(r->source, source) &&
         an_match_metric(r->metric, metric);
}
