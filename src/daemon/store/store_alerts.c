/* store_alerts.c: the SQL of channels, rules, alerts and silences
 * (store_alerts.h). */
#include "store/store_alerts.h"
#include "alerts/match.h"
#include "grow.h"
#include "severity.h"
#include "store/sql.h"
#include "store/store_anomalies.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static void read_id(sqlite3_stmt *st, void *row) {
  an_sql_column_copy(st, 0, row, sizeof(((an_id_list_t *)NULL)->ids[0]));
}

/* Steps st to its end, collecting column 0 of each row as an id. */
static int collect_ids(sqlite3_stmt *st, an_id_list_t *out) {
  int rc =
      an_sql_rows(st, sizeof(*out->ids), read_id, (void **)&out->ids, &out->n);
  if (rc != 0)
    an_id_list_free(out);
  return rc;
}

void an_id_list_free(an_id_list_t *ids) {
  free(ids->ids);
  ids->ids = NULL;
  ids->n = 0;
}

/* ---- channels ---- */

static void read_channel(sqlite3_stmt *st, void *row) {
  an_channel_t *c = row;
  c->name = an_sql_column_text(st, 0);
  c->type = an_sql_column_text(st, 1);
  c->url = an_sql_column_text(st, 2);
  c->routing_key = an_sql_column_text(st, 3);
  c->from_config = sqlite3_column_int(st, 4);
  c->created_at = sqlite3_column_double(st, 5);
}

#define CHANNEL_COLUMNS "name, type, url, routing_key, from_config, created_at"

int an_store_sync_channels(sqlite3 *db, const an_config_t *config, double now) {
  sqlite3_stmt *st;
  int rc = an_sql_exec(db, "UPDATE channels SET from_config = 2"
                           " WHERE from_config = 1");
  for (size_t i = 0; rc == 0 && i < config->nchannels; i++) {
    const an_channel_conf_t *c = &config->channels[i];
    if (an_sql_prepare(db,
                       "INSERT INTO channels(" CHANNEL_COLUMNS
                       ") VALUES (?,?,?,?,1,?) ON CONFLICT(name) DO UPDATE"
                       " SET type = excluded.type, url = excluded.url,"
                       " routing_key = excluded.routing_key, from_config = 1",
                       &st) != 0)
      return EIO;
    an_sql_bind_text(st, 1, c->name);
    an_sql_bind_text(st, 2, c->type);
    an_sql_bind_text(st, 3, c->url);
    an_sql_bind_text(st, 4, c->routing_key);
    sqlite3_bind_double(st, 5, now);
    rc = an_sql_finish(db, st);
  }
  /* 2: was in the config, is no longer */
  if (rc == 0)
    rc = an_sql_exec(db, "DELETE FROM channels WHERE from_config = 2");
  if (rc == 0 && an_sql_prepare(db,
                                "SELECT r.name, c.channel FROM rules r JOIN"
                                " (SELECT rule_id, channel FROM rule_channels"
                                " UNION SELECT id, escalate_to FROM rules"
                                " WHERE escalate_to IS NOT NULL) c"
                                " ON c.rule_id = r.id WHERE c.channel NOT IN"
                                " (SELECT name FROM channels)",
                                &st) == 0) {
    while (sqlite3_step(st) == SQLITE_ROW)
      syslog(LOG_WARNING,
             "alert rule \"%s\" names the channel \"%s\", which no longer "
             "exists: its notifications there will fail",
             sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
    an_sql_release(st);
  }
  return rc;
}

int an_store_get_channel(sqlite3 *db, const char *name, an_channel_t *out) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof(*out));
  /* the notify thread calls this too: not cached */
  if (an_sql_prepare(db,
                     "SELECT " CHANNEL_COLUMNS " FROM channels WHERE name = ?",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, name);
  return an_sql_one(st, read_channel, out);
}

int an_store_list_channels(sqlite3 *db, an_channel_t **out, size_t *n) {
  sqlite3_stmt *st;
  *out = NULL;
  *n = 0;
  if (an_sql_prepare(db,
                     "SELECT " CHANNEL_COLUMNS " FROM channels ORDER BY name",
                     &st) != 0)
    return EIO;
  return an_sql_rows(st, sizeof(**out), read_channel, (void **)out, n);
}

int an_store_add_channel(sqlite3 *db, const an_channel_t *c) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "INSERT OR IGNORE INTO channels(" CHANNEL_COLUMNS
                     ") VALUES (?,?,?,?,0,?)",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, c->name);
  an_sql_bind_text(st, 2, c->type);
  an_sql_bind_text(st, 3, c->url);
  an_sql_bind_text(st, 4, c->routing_key);
  sqlite3_bind_double(st, 5, c->created_at);
  int rc = an_sql_finish(db, st);
  return rc != 0 ? rc : sqlite3_changes(db) > 0 ? 0 : EEXIST;
}

int an_store_delete_channel(sqlite3 *db, const char *name, char *rule,
                            size_t rulelen) {
  an_channel_t c;
  int rc = an_store_get_channel(db, name, &c);
  if (rc != 0)
    return rc;
  int from_config = c.from_config;
  an_channel_clear(&c);
  if (from_config)
    return EPERM;
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "SELECT r.name FROM rules r WHERE r.escalate_to = ?1"
                     " OR r.id IN (SELECT rule_id FROM rule_channels"
                     " WHERE channel = ?1) LIMIT 1",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, name);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    snprintf(rule, rulelen, "%s", sqlite3_column_text(st, 0));
  an_sql_release(st);
  if (rc == SQLITE_ROW)
    return EBUSY;
  if (rc != SQLITE_DONE)
    return EIO;
  if (an_sql_prepare(db, "DELETE FROM channels WHERE name = ?", &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, name);
  return an_sql_finish(db, st);
}

/* ---- rules ---- */

#define RULE_COLUMNS                                                           \
  "id, name, severity, metric, threshold, source, min_hits, hit_window,"       \
  " resolve_after, escalation_timeout, escalate_to, enabled, created_at,"      \
  " updated_at"

static int channel_exists(sqlite3 *db, const char *name, int *exists) {
  sqlite3_stmt *st;
  if (an_sql_cached(db, "SELECT 1 FROM channels WHERE name = ?", &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, name);
  int rc = sqlite3_step(st);
  an_sql_release(st);
  *exists = rc == SQLITE_ROW;
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : EIO;
}

/* EINVAL with the field in err when a channel r names does not exist. */
static int check_channels(sqlite3 *db, const an_rule_t *r, char *err,
                          size_t errlen) {
  int exists, rc;
  for (size_t i = 0; i < r->nchannels; i++) {
    if ((rc = channel_exists(db, r->channels[i], &exists)) != 0)
      return rc;
    if (!exists) {
      snprintf(err, errlen,
               "channels[%zu]: unknown channel \"%s\" (GET /v1/channels "
               "lists them)",
               i, r->channels[i]);
      return EINVAL;
    }
  }
  if (r->escalate_to != NULL) {
    if ((rc = channel_exists(db, r->escalate_to, &exists)) != 0)
      return rc;
    if (!exists) {
      snprintf(err, errlen,
               "escalation.escalateTo: unknown channel \"%s\" (GET "
               "/v1/channels lists them)",
               r->escalate_to);
      return EINVAL;
    }
  }
  return 0;
}

int an_store_put_rule(sqlite3 *db, const an_rule_t *r, int replace, char *err,
                      size_t errlen) {
  int rc = check_channels(db, r, err, errlen);
  if (rc != 0)
    return rc;
  sqlite3_stmt *st;
  if (an_sql_prepare(
          db,
          replace ? "UPDATE rules SET name = ?2, severity = ?3, metric = ?4,"
                    " threshold = ?5, source = ?6, min_hits = ?7,"
                    " hit_window = ?8, resolve_after = ?9,"
                    " escalation_timeout = ?10, escalate_to = ?11,"
                    " enabled = ?12, updated_at = ?14 WHERE id = ?1"
                  : "INSERT INTO rules(" RULE_COLUMNS ") VALUES"
                    " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
          &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, r->id);
  an_sql_bind_text(st, 2, r->name);
  sqlite3_bind_int(st, 3, r->severity);
  an_sql_bind_text(st, 4, r->metric);
  sqlite3_bind_double(st, 5, r->threshold);
  an_sql_bind_text(st, 6, r->source);
  sqlite3_bind_int(st, 7, r->min_hits);
  sqlite3_bind_double(st, 8, r->window);
  sqlite3_bind_double(st, 9, r->resolve_after);
  sqlite3_bind_double(st, 10, r->escalation_timeout);
  an_sql_bind_text(st, 11, r->escalate_to);
  sqlite3_bind_int(st, 12, r->enabled);
  if (!replace)
    sqlite3_bind_double(st, 13, r->created_at);
  sqlite3_bind_double(st, 14, r->updated_at);
  if ((rc = an_sql_finish(db, st)) != 0)
    return rc;
  if (replace && sqlite3_changes(db) == 0)
    return ENOENT;
  if (an_sql_prepare(db, "DELETE FROM rule_channels WHERE rule_id = ?", &st) !=
      0)
    return EIO;
  an_sql_bind_text(st, 1, r->id);
  if ((rc = an_sql_finish(db, st)) != 0)
    return rc;
  for (size_t i = 0; i < r->nchannels; i++) {
    if (an_sql_prepare(db,
                       "INSERT INTO rule_channels(rule_id, position, channel)"
                       " VALUES (?,?,?)",
                       &st) != 0)
      return EIO;
    an_sql_bind_text(st, 1, r->id);
    sqlite3_bind_int(st, 2, (int)i);
    an_sql_bind_text(st, 3, r->channels[i]);
    if ((rc = an_sql_finish(db, st)) != 0)
      return rc;
  }
  return 0;
}

/* Reads a rules row (RULE_COLUMNS) and its channels. */
static int read_rule(sqlite3 *db, sqlite3_stmt *row, an_rule_t *r) {
  memset(r, 0, sizeof(*r));
  an_sql_column_copy(row, 0, r->id, sizeof(r->id));
  r->name = an_sql_column_text(row, 1);
  r->severity = sqlite3_column_int(row, 2);
  r->metric = an_sql_column_text(row, 3);
  r->threshold = sqlite3_column_double(row, 4);
  r->source = an_sql_column_text(row, 5);
  r->min_hits = sqlite3_column_int(row, 6);
  r->window = sqlite3_column_double(row, 7);
  r->resolve_after = sqlite3_column_double(row, 8);
  r->escalation_timeout = sqlite3_column_double(row, 9);
  r->escalate_to = an_sql_column_text(row, 10);
  r->enabled = sqlite3_column_int(row, 11);
  r->created_at = sqlite3_column_double(row, 12);
  r->updated_at = sqlite3_column_double(row, 13);
  if (r->name == NULL || r->metric == NULL)
    return ENOMEM;

  sqlite3_stmt *st;
  if (an_sql_cached(db,
                    "SELECT channel FROM rule_channels WHERE rule_id = ?"
                    " ORDER BY position",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, r->id);
  return an_sql_rows(st, sizeof(char *), an_sql_read_text,
                     (void **)&r->channels, &r->nchannels);
}

int an_store_get_rule(sqlite3 *db, const char *id, an_rule_t *out) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof(*out));
  if (an_sql_cached(db, "SELECT " RULE_COLUMNS " FROM rules WHERE id = ?",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  int step = sqlite3_step(st), rc;
  if (step == SQLITE_ROW)
    rc = read_rule(db, st, out);
  else
    rc = step == SQLITE_DONE ? ENOENT : EIO;
  an_sql_release(st);
  if (rc != 0)
    an_rule_clear(out);
  return rc;
}

/* Calls fn for each rule row st yields, until fn returns non-zero. */
static int each_rule(sqlite3 *db, sqlite3_stmt *st,
                     int (*fn)(void *, an_rule_t *), void *ctx) {
  int rc = 0, step = SQLITE_DONE;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    an_rule_t r;
    rc = read_rule(db, st, &r);
    if (rc == 0)
      rc = fn(ctx, &r);
    an_rule_clear(&r);
  }
  return an_sql_done(st, step, rc);
}

typedef struct rule_list {
  an_rule_t *rules;
  size_t n, cap;
} rule_list_t;

static int keep_rule(void *ctx, an_rule_t *r) {
  rule_list_t *l = ctx;
  if (an_grow((void **)&l->rules, &l->cap, l->n, sizeof(*l->rules)) != 0)
    return ENOMEM;
  /* take the strings over: the caller clears the original */
  l->rules[l->n++] = *r;
  memset(r, 0, sizeof(*r));
  return 0;
}

int an_store_list_rules(sqlite3 *db, an_rule_t **out, size_t *n) {
  sqlite3_stmt *st;
  rule_list_t l = {0};
  *out = NULL; /* the caller frees them even on failure */
  *n = 0;
  if (an_sql_prepare(db,
                     "SELECT " RULE_COLUMNS " FROM rules ORDER BY created_at,"
                     " id",
                     &st) != 0)
    return EIO;
  int rc = each_rule(db, st, keep_rule, &l);
  *out = l.rules;
  *n = l.n;
  return rc;
}

int an_store_delete_rule(sqlite3 *db, const char *id) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db, "DELETE FROM rules WHERE id = ?", &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  int rc = an_sql_finish(db, st);
  if (rc != 0)
    return rc;
  if (sqlite3_changes(db) == 0)
    return ENOENT;
  if (an_sql_prepare(db, "DELETE FROM rule_channels WHERE rule_id = ?", &st) !=
      0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  return an_sql_finish(db, st);
}

int an_store_each_rule_upto(sqlite3 *db, double score,
                            int (*fn)(void *, an_rule_t *), void *ctx) {
  sqlite3_stmt *st;
  if (an_sql_cached(db,
                    "SELECT " RULE_COLUMNS " FROM rules WHERE enabled = 1"
                    " AND threshold <= ? ORDER BY created_at, id",
                    &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, score);
  return each_rule(db, st, fn, ctx);
}

/* ---- alerts ---- */

#define ALERT_COLUMNS                                                          \
  "id, rule_id, rule_name, source, metric, severity, status, created_at,"      \
  " started_at, fired_at, updated_at, hits, max_score, first_anomaly_id,"      \
  " last_anomaly_id, acknowledged_at, acknowledged_by, notes,"                 \
  " false_positive, resolved_at, resolved_by, escalated_at, silenced"

static void read_alert(sqlite3_stmt *st, void *row) {
  an_alert_t *a = row;
  memset(a, 0, sizeof(*a));
  an_sql_column_copy(st, 0, a->id, sizeof(a->id));
  an_sql_column_copy(st, 1, a->rule_id, sizeof(a->rule_id));
  a->rule_name = an_sql_column_text(st, 2);
  a->source = an_sql_column_text(st, 3);
  a->metric = an_sql_column_text(st, 4);
  a->severity = sqlite3_column_int(st, 5);
  a->status = sqlite3_column_int(st, 6);
  a->created_at = sqlite3_column_double(st, 7);
  a->started_at = sqlite3_column_double(st, 8);
  a->fired_at = an_sql_column_real(st, 9);
  a->updated_at = sqlite3_column_double(st, 10);
  a->hits = sqlite3_column_int(st, 11);
  a->max_score = sqlite3_column_double(st, 12);
  an_sql_column_copy(st, 13, a->first_anomaly_id, sizeof(a->first_anomaly_id));
  an_sql_column_copy(st, 14, a->last_anomaly_id, sizeof(a->last_anomaly_id));
  a->acknowledged_at = an_sql_column_real(st, 15);
  a->acknowledged_by = an_sql_column_text(st, 16);
  a->notes = an_sql_column_text(st, 17);
  a->false_positive = sqlite3_column_int(st, 18);
  a->resolved_at = an_sql_column_real(st, 19);
  a->resolved_by = an_sql_column_text(st, 20);
  a->escalated_at = an_sql_column_real(st, 21);
  a->silenced = sqlite3_column_int(st, 22);
}

int an_store_save_alert(sqlite3 *db, const an_alert_t *a) {
  sqlite3_stmt *st;
  if (an_sql_cached(db,
                    "INSERT OR REPLACE INTO alerts(" ALERT_COLUMNS ") VALUES"
                    " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, a->id);
  an_sql_bind_text(st, 2, a->rule_id);
  an_sql_bind_text(st, 3, a->rule_name);
  an_sql_bind_text(st, 4, a->source);
  an_sql_bind_text(st, 5, a->metric);
  sqlite3_bind_int(st, 6, a->severity);
  sqlite3_bind_int(st, 7, a->status);
  sqlite3_bind_double(st, 8, a->created_at);
  sqlite3_bind_double(st, 9, a->started_at);
  an_sql_bind_real(st, 10, a->fired_at);
  sqlite3_bind_double(st, 11, a->updated_at);
  sqlite3_bind_int(st, 12, a->hits);
  sqlite3_bind_double(st, 13, a->max_score);
  an_sql_bind_text(st, 14, a->first_anomaly_id);
  an_sql_bind_text(st, 15, a->last_anomaly_id);
  an_sql_bind_real(st, 16, a->acknowledged_at);
  an_sql_bind_text(st, 17, a->acknowledged_by);
  an_sql_bind_text(st, 18, a->notes);
  sqlite3_bind_int(st, 19, a->false_positive);
  an_sql_bind_real(st, 20, a->resolved_at);
  an_sql_bind_text(st, 21, a->resolved_by);
  an_sql_bind_real(st, 22, a->escalated_at);
  sqlite3_bind_int(st, 23, a->silenced);
  return an_sql_finish(db, st);
}

int an_store_get_alert(sqlite3 *db, const char *id, an_alert_t *out) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof(*out));
  if (an_sql_cached(db, "SELECT " ALERT_COLUMNS " FROM alerts WHERE id = ?",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  return an_sql_one(st, read_alert, out);
}

int an_store_find_open_alert(sqlite3 *db, const char *rule_id,
                             const char *source, const char *metric,
                             an_alert_t *out) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof(*out));
  if (an_sql_cached(db,
                    "SELECT " ALERT_COLUMNS " FROM alerts WHERE rule_id = ?"
                    " AND source = ? AND metric = ? AND status < 3",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, rule_id);
  an_sql_bind_text(st, 2, source);
  an_sql_bind_text(st, 3, metric);
  return an_sql_one(st, read_alert, out);
}

int an_store_delete_alert(sqlite3 *db, const char *id) {
  sqlite3_stmt *st;
  int rc;
  if (an_sql_prepare(db, "DELETE FROM alert_anomalies WHERE alert_id = ?",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  if ((rc = an_sql_finish(db, st)) != 0)
    return rc;
  if (an_sql_prepare(db, "DELETE FROM alerts WHERE id = ?", &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  return an_sql_finish(db, st);
}

int an_store_link_anomaly(sqlite3 *db, const char *alert_id,
                          const char *anomaly_id) {
  sqlite3_stmt *st;
  if (an_sql_cached(db,
                    "INSERT OR IGNORE INTO alert_anomalies(alert_id,"
                    " anomaly_id) VALUES (?, ?)",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, alert_id);
  an_sql_bind_text(st, 2, anomaly_id);
  return an_sql_finish(db, st);
}

int an_store_alert_anomalies(sqlite3 *db, const char *alert_id, int limit,
                             an_anomaly_t **out, size_t *n) {
  sqlite3_stmt *st;
  an_id_list_t ids;
  *out = NULL;
  *n = 0;
  if (an_sql_prepare(db,
                     "SELECT l.anomaly_id FROM alert_anomalies l JOIN"
                     " anomalies a ON a.id = l.anomaly_id WHERE l.alert_id = ?"
                     " ORDER BY a.detected_at DESC, a.id DESC LIMIT ?",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, alert_id);
  sqlite3_bind_int(st, 2, limit);
  int rc = collect_ids(st, &ids);
  if (rc != 0)
    return rc;
  if (ids.n > 0 && (*out = calloc(ids.n, sizeof(**out))) == NULL)
    rc = ENOMEM;
  for (size_t i = 0; rc == 0 && i < ids.n; i++)
    if ((rc = an_store_get_anomaly(db, ids.ids[i], &(*out)[*n])) == 0)
      (*n)++;
  an_id_list_free(&ids);
  return rc;
}

/* Collects the ids a statement with now bound as ?1 selects. */
static int ids_at(sqlite3 *db, const char *sql, double now, an_id_list_t *out) {
  sqlite3_stmt *st;
  if (an_sql_cached(db, sql, &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, now);
  return collect_ids(st, out);
}

int an_store_alerts_quiet(sqlite3 *db, double now, an_id_list_t *out) {
  return ids_at(db,
                "SELECT a.id FROM alerts a JOIN rules r ON r.id = a.rule_id"
                " WHERE a.status IN (1, 2) AND r.resolve_after > 0"
                " AND a.updated_at + r.resolve_after <= ?1",
                now, out);
}

int an_store_alerts_unacknowledged(sqlite3 *db, double now, an_id_list_t *out) {
  return ids_at(db,
                "SELECT a.id FROM alerts a JOIN rules r ON r.id = a.rule_id"
                " WHERE a.status = 1 AND a.escalated_at IS NULL"
                " AND r.escalation_timeout > 0 AND r.escalate_to IS NOT NULL"
                " AND a.fired_at + r.escalation_timeout <= ?1",
                now, out);
}

int an_store_alerts_expired(sqlite3 *db, double now, an_id_list_t *out) {
  return ids_at(db,
                "SELECT a.id FROM alerts a LEFT JOIN rules r"
                " ON r.id = a.rule_id WHERE a.status = 0"
                " AND (r.id IS NULL OR a.created_at + r.hit_window < ?1)",
                now, out);
}

int an_store_alerts_of_rule(sqlite3 *db, const char *rule_id,
                            an_id_list_t *out) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "SELECT id FROM alerts WHERE rule_id = ? AND status < 3",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, rule_id);
  return collect_ids(st, out);
}

static void alert_where(const an_alert_filter_t *f, char *sql, size_t len) {
  snprintf(sql + strlen(sql), len - strlen(sql), " WHERE 1");
  if (f->statuses != 0)
    an_sql_add_in(sql, len, "status", f->statuses, AN_ALERT_RESOLVED);
  if (f->severities != 0)
    an_sql_add_in(sql, len, "severity", f->severities, AN_SEVERITY_CRITICAL);
  const struct {
    int on;
    const char *clause;
  } parts[] = {
      {f->rule_id != NULL, " AND rule_id = :rule"},
      {f->source != NULL, " AND source = :source"},
      {f->metric != NULL, " AND metric = :metric"},
      {!isnan(f->start), " AND created_at >= :start"},
      {!isnan(f->end), " AND created_at <= :end"},
  };
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
    if (parts[i].on)
      snprintf(sql + strlen(sql), len - strlen(sql), "%s", parts[i].clause);
}

static void alert_bind(sqlite3_stmt *st, const an_alert_filter_t *f) {
  an_sql_bind_named(st, ":rule", f->rule_id, 0);
  an_sql_bind_named(st, ":source", f->source, 0);
  an_sql_bind_named(st, ":metric", f->metric, 0);
  an_sql_bind_named(st, ":start", NULL, f->start);
  an_sql_bind_named(st, ":end", NULL, f->end);
  an_sql_bind_named(st, ":after_t", NULL, f->after_t);
  an_sql_bind_named(st, ":after_id", f->after_id, 0);
}

static void alert_bind_of(sqlite3_stmt *st, const void *f) {
  alert_bind(st, f);
}

int an_store_list_alerts(sqlite3 *db, const an_alert_filter_t *f,
                         an_alert_t **out, size_t *n, long long *total) {
  char where[1024] = "";
  alert_where(f, where, sizeof(where));
  an_sql_page_t page = {.table = "alerts",
                        .columns = ALERT_COLUMNS,
                        .order_column = "created_at",
                        .where = where,
                        .after = f->after_id != NULL,
                        .limit = f->limit,
                        .bind = alert_bind_of,
                        .filter = f,
                        .row_size = sizeof(an_alert_t),
                        .read = read_alert};
  return an_sql_page(db, &page, (void **)out, n, total);
}

/* ---- silences ---- */

#define SILENCE_COLUMNS                                                        \
  "id, source, metric, starts_at, ends_at, comment, created_by, created_at"

int an_store_add_silence(sqlite3 *db, const an_silence_t *s) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "INSERT INTO silences(" SILENCE_COLUMNS
                     ") VALUES (?,?,?,?,?,?,?,?)",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, s->id);
  an_sql_bind_text(st, 2, s->source);
  an_sql_bind_text(st, 3, s->metric);
  sqlite3_bind_double(st, 4, s->starts_at);
  sqlite3_bind_double(st, 5, s->ends_at);
  an_sql_bind_text(st, 6, s->comment);
  an_sql_bind_text(st, 7, s->created_by);
  sqlite3_bind_double(st, 8, s->created_at);
  return an_sql_finish(db, st);
}

static void read_silence(sqlite3_stmt *st, void *row) {
  an_silence_t *s = row;
  an_sql_column_copy(st, 0, s->id, sizeof(s->id));
  s->source = an_sql_column_text(st, 1);
  s->metric = an_sql_column_text(st, 2);
  s->starts_at = sqlite3_column_double(st, 3);
  s->ends_at = sqlite3_column_double(st, 4);
  s->comment = an_sql_column_text(st, 5);
  s->created_by = an_sql_column_text(st, 6);
  s->created_at = sqlite3_column_double(st, 7);
}

int an_store_list_silences(sqlite3 *db, double active_at, an_silence_t **out,
                           size_t *n) {
  sqlite3_stmt *st;
  *out = NULL;
  *n = 0;
  if (an_sql_prepare(db,
                     isnan(active_at)
                         ? "SELECT " SILENCE_COLUMNS
                           " FROM silences ORDER BY created_at DESC, id"
                         : "SELECT " SILENCE_COLUMNS " FROM silences"
                           " WHERE starts_at <= ?1 AND ends_at > ?1"
                           " ORDER BY created_at DESC, id",
                     &st) != 0)
    return EIO;
  if (!isnan(active_at))
    sqlite3_bind_double(st, 1, active_at);
  return an_sql_rows(st, sizeof(**out), read_silence, (void **)out, n);
}

int an_store_delete_silence(sqlite3 *db, const char *id) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db, "DELETE FROM silences WHERE id = ?", &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  int rc = an_sql_finish(db, st);
  return rc != 0 ? rc : sqlite3_changes(db) > 0 ? 0 : ENOENT;
}

int an_store_silenced(sqlite3 *db, const char *source, const char *metric,
                      double now, int *silenced) {
  sqlite3_stmt *st;
  int rc;
  *silenced = 0;
  if (an_sql_cached(db,
                    "SELECT source, metric FROM silences"
                    " WHERE starts_at <= ?1 AND ends_at > ?1",
                    &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, now);
  while (!*silenced && (rc = sqlite3_step(st)) == SQLITE_ROW)
    *silenced =
        an_match_source((const char *)sqlite3_column_text(st, 0), source) &&
        an_match_metric((const char *)sqlite3_column_text(st, 1), metric);
  an_sql_release(st);
  return *silenced || rc == SQLITE_DONE ? 0 : EIO;
}
