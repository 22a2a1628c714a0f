/* api_silences.c: /v1/silences. A silence holds back the notifications of
 * alerts whose source and metric its matchers match, from startsAt to
 * endsAt: such an alert is still recorded, and its notifications are
 * recorded as silenced instead of sent. */
#include "alerts/match.h"
#include "api/api.h"
#include "http/query.h"
#include "ids.h"
#include "store/store_alerts.h"
#include "timefmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COMMENT 2000
#define MAX_SECONDS (366 * 86400.0)
/* A stream key is what every collectd host used to carry: with it, a
 * silence lasts at most a week and names what it silences; silencing
 * everything, or for longer, is an admin's call (docs/alerts.md). */
#define STREAM_MAX_SECONDS (7 * 86400.0)

static void silence_free(void *data) {
  if (data != NULL)
    an_silence_clear(data);
  free(data);
}

static void write_silence(an_jw_t *w, const an_silence_t *s, double now) {
  an_jw_map_open(w);
  an_jw_str(w, "id", s->id);
  an_jw_key(w, "matchers");
  an_jw_map_open(w);
  an_jw_str(w, "sourceId", s->source);
  an_jw_str(w, "metric", s->metric);
  an_jw_map_close(w);
  an_jw_time(w, "startsAt", s->starts_at);
  an_jw_time(w, "endsAt", s->ends_at);
  an_jw_str(w, "comment", s->comment);
  an_jw_str(w, "createdBy", s->created_by);
  an_jw_time(w, "createdAt", s->created_at);
  an_jw_bool(w, "active", s->starts_at <= now && now < s->ends_at);
  an_jw_map_close(w);
}

/* Reads a matcher pattern; returns 0, ENOMEM, or EINVAL after writing
 * err. */
static int matcher(yajl_val m, const char *key, char **out, char *err,
                   size_t errlen) {
  yajl_val v = an_json_get(m, key);
  if (v == NULL || YAJL_IS_NULL(v))
    return 0;
  if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0' ||
      !an_match_valid(v->u.string)) {
    snprintf(err, errlen,
             "matchers.%s must be a name or pattern (\"web-*\", \"cpu\")", key);
    return EINVAL;
  }
  *out = strdup(v->u.string);
  /* a matcher lost would silence more than was asked */
  return *out != NULL ? 0 : ENOMEM;
}

/* A time field: an ISO 8601 string; absent leaves *t. */
static int time_field(yajl_val body, const char *key, double *t, char *err,
                      size_t errlen) {
  yajl_val v = an_json_get(body, key);
  if (v == NULL || YAJL_IS_NULL(v))
    return 0;
  if (!YAJL_IS_STRING(v) || an_time_parse_iso8601(v->u.string, t) != 0) {
    snprintf(err, errlen,
             "%s must be an ISO 8601 date-time such as 2024-01-20T10:00:00Z",
             key);
    return EINVAL;
  }
  return 0;
}

/* Returns 0, ENOMEM, or EINVAL after writing err. */
static int read_silence(yajl_val body, double now, an_silence_t *s, char *err,
                        size_t errlen) {
  yajl_val m = an_json_get(body, "matchers");
  if (!YAJL_IS_OBJECT(m)) {
    snprintf(err, errlen,
             "matchers is required: an object with sourceId and/or metric "
             "(\"*\" matches everything)");
    return EINVAL;
  }
  int rc = matcher(m, "sourceId", &s->source, err, errlen);
  if (rc == 0)
    rc = matcher(m, "metric", &s->metric, err, errlen);
  if (rc != 0)
    return rc;
  if (s->source == NULL && s->metric == NULL) {
    snprintf(err, errlen,
             "matchers needs sourceId or metric (\"*\" matches everything)");
    return EINVAL;
  }
  s->starts_at = now;
  s->ends_at = NAN;
  if (time_field(body, "startsAt", &s->starts_at, err, errlen) != 0 ||
      time_field(body, "endsAt", &s->ends_at, err, errlen) != 0)
    return EINVAL;
  yajl_val d = an_json_get(body, "duration");
  if (d != NULL && !YAJL_IS_NULL(d)) {
    double seconds;
    if (!isnan(s->ends_at)) {
      snprintf(err, errlen, "give endsAt or duration, not both");
      return EINVAL;
    }
    if (an_json_number(d, &seconds) != 0 || seconds <= 0 ||
        seconds > MAX_SECONDS) {
      snprintf(err, errlen,
               "duration must be a number of seconds above 0, at most a "
               "year");
      return EINVAL;
    }
    s->ends_at = s->starts_at + seconds;
  }
  if (isnan(s->ends_at)) {
    snprintf(err, errlen, "endsAt or duration is required");
    return EINVAL;
  }
  /* named as the caller gave it: endsAt, or duration */
  const char *end = d != NULL && !YAJL_IS_NULL(d) ? "duration" : "endsAt";
  if (s->ends_at <= s->starts_at || s->ends_at <= now) {
    snprintf(err, errlen,
             "%s must end the silence after startsAt and in the "
             "future",
             end);
    return EINVAL;
  }
  if (s->ends_at - fmax(s->starts_at, now) > MAX_SECONDS) {
    snprintf(err, errlen, "%s must end the silence at most a year on", end);
    return EINVAL;
  }
  yajl_val c = an_json_get(body, "comment");
  if (c != NULL && !YAJL_IS_NULL(c)) {
    if (!YAJL_IS_STRING(c) || strlen(c->u.string) > MAX_COMMENT) {
      snprintf(err, errlen, "comment must be a string of at most %d characters",
               MAX_COMMENT);
      return EINVAL;
    }
    if ((s->comment = strdup(c->u.string)) == NULL)
      return ENOMEM;
  }
  return 0;
}

/* Whether a matcher matches every name: absent, or only '*'. */
static int matches_everything(const char *pattern) {
  return pattern == NULL || strspn(pattern, "*") == strlen(pattern);
}

/* What a key below admin may not silence: 0, or EPERM with why in err. */
static int within_stream_rights(const an_silence_t *s, double now, char *err,
                                size_t errlen) {
  if (matches_everything(s->source) && matches_everything(s->metric)) {
    snprintf(err, errlen,
             "a silence of every source and metric needs role admin");
    return EPERM;
  }
  if (s->ends_at - fmax(s->starts_at, now) > STREAM_MAX_SECONDS) {
    snprintf(err, errlen, "a silence longer than 7 days needs role admin");
    return EPERM;
  }
  return 0;
}

static int run_create(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  int rc = an_store_add_silence(db, j->data);
  if (rc == 0)
    write_silence(w, j->data, j->now);
  return rc;
}

void an_api_silence_create(an_request_t *req) {
  yajl_val body = an_api_body_or_empty(req);
  if (body == NULL)
    return;
  an_silence_t *s = calloc(1, sizeof(*s));
  char err[300];
  double now = an_request_now(req);
  if (s == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    yajl_tree_free(body);
    return;
  }
  int rc = read_silence(body, now, s, err, sizeof(err));
  yajl_tree_free(body);
  if (rc == 0 && !an_request_has_role(req, AN_ROLE_ADMIN))
    rc = within_stream_rights(s, now, err, sizeof(err));
  an_ids_new(s->id);
  s->created_at = now;
  s->created_by = strdup(an_request_key_name(req)[0] ? an_request_key_name(req)
                                                     : "anonymous");
  if (rc == 0 && s->created_by == NULL)
    rc = ENOMEM;
  if (rc != 0) {
    if (rc == ENOMEM)
      an_reply_error(req, 500, "INTERNAL", "out of memory");
    else if (rc == EPERM)
      an_reply_error(req, 403, "FORBIDDEN", "%s", err);
    else
      an_reply_error(req, 400, "INVALID_DATA", "%s", err);
    silence_free(s);
    return;
  }
  an_api_submit(req, run_create, 201, s, silence_free, NULL);
}

typedef struct list {
  int active; /* -1 all, 1 in force now, 0 not in force */
  an_query_err_t err;
} list_t;

static int parse_param(void *ctx, const char *key, const char *v) {
  list_t *l = ctx;
  if (strcmp(key, "active") == 0)
    return an_query_bool(key, v, &l->active, &l->err);
  return 0;
}

static int run_list(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  list_t *l = j->data;
  an_silence_t *rows;
  size_t n;
  double now = j->now;
  int rc = an_store_list_silences(db, l->active == 1 ? now : NAN, &rows, &n);
  if (rc == 0) {
    an_jw_map_open(w);
    an_jw_key(w, "silences");
    an_jw_array_open(w);
    for (size_t i = 0; i < n; i++)
      if (l->active != 0 ||
          !(rows[i].starts_at <= now && now < rows[i].ends_at))
        write_silence(w, &rows[i], now);
    an_jw_array_close(w);
    an_jw_map_close(w);
  }
  for (size_t i = 0; i < n; i++)
    an_silence_clear(&rows[i]);
  free(rows);
  return rc;
}

void an_api_silences_list(an_request_t *req) {
  list_t *l = calloc(1, sizeof(*l));
  if (l == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  l->active = -1;
  if (an_request_query_each(req, parse_param, l) != 0) {
    an_reply_error(req, 400, "INVALID_DATA", "%s", l->err.msg);
    free(l);
    return;
  }
  an_api_submit(req, run_list, 200, l, free, NULL);
}

static int run_delete(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  return an_store_delete_silence(db, j->data);
}

void an_api_silence_delete(an_request_t *req) {
  an_api_submit_for_path(req, "id", "silence", run_delete, 204);
}
