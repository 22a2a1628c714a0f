/* api_alert_rules.c: /v1/alert-rules: create, list, get, replace and
 * delete alert rules (admin). The body is read by rules.c; the store
 * checks the channels named exist. Deleting a rule resolves its open
 * alerts, so what was paged is also resolved. */
#include "alerts/alerts.h"
#include "alerts/rules.h"
#include "api/api.h"
#include "conf.h"
#include "ids.h"
#include "severity.h"
#include "store/store_alerts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rule_free(void *data) {
  if (data != NULL)
    an_rule_clear(data);
  free(data);
}

/* A rule as its JSON object: the request's shape plus id and times. */
static void write_rule(an_jw_t *w, const an_rule_t *r) {
  an_jw_map_open(w);
  an_jw_str(w, "id", r->id);
  an_jw_str(w, "name", r->name);
  an_jw_str(w, "severity", an_severity_name((an_severity_t)r->severity));
  an_jw_key(w, "conditions");
  an_jw_map_open(w);
  an_jw_str(w, "metric", r->metric);
  an_jw_num(w, "threshold", r->threshold);
  an_jw_str(w, "sourceId", r->source);
  an_jw_int(w, "minHits", r->min_hits);
  an_jw_num(w, "window", r->window);
  an_jw_map_close(w);
  an_jw_key(w, "channels");
  an_jw_array_open(w);
  for (size_t i = 0; i < r->nchannels; i++)
    an_jw_string(w, r->channels[i]);
  an_jw_array_close(w);
  an_jw_key(w, "escalation");
  if (r->escalate_to == NULL) {
    an_jw_null(w);
  } else {
    an_jw_map_open(w);
    an_jw_num(w, "timeout", r->escalation_timeout);
    an_jw_str(w, "escalateTo", r->escalate_to);
    an_jw_map_close(w);
  }
  an_jw_num(w, "resolveAfter", r->resolve_after);
  an_jw_bool(w, "enabled", r->enabled);
  an_jw_time(w, "createdAt", r->created_at);
  an_jw_time(w, "updatedAt", r->updated_at);
  an_jw_map_close(w);
}

/* The rule in the body, or NULL after replying 400. */
static an_rule_t *body_rule(an_request_t *req) {
  yajl_val body = an_api_body(req);
  if (body == NULL)
    return NULL;
  an_rule_t *r = calloc(1, sizeof(*r));
  char err[300];
  if (r == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
  } else if (an_rule_from_json(body,
                               an_request_daemon(req)->config->resolve_after, r,
                               err, sizeof(err)) != 0) {
    an_reply_error(req, 400, "INVALID_DATA", "%s", err);
    free(r);
    r = NULL;
  }
  yajl_tree_free(body);
  return r;
}

static int run_put(sqlite3 *db, an_api_job_t *j, an_jw_t *w, int replace) {
  an_rule_t *r = j->data;
  int rc = an_store_put_rule(db, r, replace, j->err, sizeof(j->err));
  an_rule_t stored;
  if (rc == 0)
    rc = an_store_get_rule(db, r->id, &stored);
  if (rc == 0) {
    write_rule(w, &stored);
    an_rule_clear(&stored);
  }
  return rc;
}

static int run_create(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  return run_put(db, j, w, 0);
}

static int run_update(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  an_rule_t *r = j->data, old;
  int rc = an_store_get_rule(db, r->id, &old); /* keeps its creation time */
  if (rc != 0)
    return rc;
  r->created_at = old.created_at;
  an_rule_clear(&old);
  return run_put(db, j, w, 1);
}

void an_api_rule_create(an_request_t *req) {
  an_rule_t *r = body_rule(req);
  if (r == NULL)
    return;
  an_ids_new(r->id);
  r->created_at = r->updated_at = an_request_now(req);
  an_api_submit(req, run_create, 201, r, rule_free, NULL);
}

void an_api_rule_update(an_request_t *req) {
  const char *id = an_api_path_uuid(req, "id", "alert rule");
  if (id == NULL)
    return;
  an_rule_t *r = body_rule(req);
  if (r == NULL)
    return;
  snprintf(r->id, sizeof(r->id), "%s", id);
  r->updated_at = an_request_now(req);
  char what[128];
  snprintf(what, sizeof(what), "alert rule %s", id);
  an_api_submit(req, run_update, 200, r, rule_free, what);
}

static int run_get(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  an_rule_t r;
  int rc = an_store_get_rule(db, j->data, &r);
  if (rc == 0) {
    write_rule(w, &r);
    an_rule_clear(&r);
  }
  return rc;
}

static int run_delete(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  int rc = an_alerts_resolve_rule(db, j->daemon, j->data, j->now);
  return rc != 0 ? rc : an_store_delete_rule(db, j->data);
}

void an_api_rule_get(an_request_t *req) {
  an_api_submit_for_path(req, "id", "alert rule", run_get, 200);
}

void an_api_rule_delete(an_request_t *req) {
  an_api_submit_for_path(req, "id", "alert rule", run_delete, 204);
}

static int run_list(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  an_rule_t *rules;
  size_t n;
  int rc = an_store_list_rules(db, &rules, &n);
  if (rc == 0) {
    an_jw_map_open(w);
    an_jw_key(w, "rules");
    an_jw_array_open(w);
    for (size_t i = 0; i < n; i++)
      write_rule(w, &rules[i]);
    an_jw_array_close(w);
    an_jw_int(w, "total", (long long)n);
    an_jw_map_close(w);
  }
  for (size_t i = 0; i < n; i++)
    an_rule_clear(&rules[i]);
  free(rules);
  return rc;
}

void an_api_rules_list(an_request_t *req) {
  an_api_submit(req, run_list, 200, NULL, NULL, NULL);
}
