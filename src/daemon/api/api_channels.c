/* api_channels.c: /v1/channels (admin): the channels of anomalyd.conf and
 * those added through the API. Webhook URLs and routing keys are secrets:
 * answers show the URL's scheme and host only, and the routing key's last
 * four characters. */
#include "api/api.h"
#include "conf.h"
#include "store/store_alerts.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 100

static void channel_free(void *data) {
  if (data != NULL)
    an_channel_clear(data);
  free(data);
}

/* The URL as shown: scheme and host only. The rest, and any user:password@
 * before the host, are secrets (docs/alerts.md). */
static void shown_url(const char *url, char *shown, size_t len) {
  const char *sep = strstr(url, "://");
  if (sep == NULL) {
    snprintf(shown, len, "…");
    return;
  }
  const char *host = sep + 3;
  size_t authority = strcspn(host, "/?#");
  for (size_t i = authority; i > 0;
       i--) /* the last @: a password may hold one */
    if (host[i - 1] == '@') {
      host += i;
      authority -= i;
      break;
    }
  /* at most 200 bytes of host, cut between characters */
  if (authority > 200)
    for (authority = 200; (host[authority] & 0xC0) == 0x80; authority--)
      ;
  snprintf(shown, len, "%.*s://%.*s/…", (int)(sep - url), url, (int)authority,
           host);
}

static void write_channel(an_jw_t *w, const an_channel_t *c) {
  char shown[300];
  shown_url(c->url, shown, sizeof(shown));
  an_jw_map_open(w);
  an_jw_str(w, "name", c->name);
  an_jw_str(w, "type", c->type);
  an_jw_str(w, "url", shown);
  if (c->routing_key != NULL) {
    size_t n = strlen(c->routing_key);
    snprintf(shown, sizeof(shown), "…%s", n > 4 ? c->routing_key + n - 4 : "");
    an_jw_str(w, "routingKey", shown);
  } else {
    an_jw_str(w, "routingKey", NULL);
  }
  an_jw_str(w, "origin", c->from_config ? "config" : "api");
  an_jw_time(w, "createdAt", c->created_at);
  an_jw_map_close(w);
}

static int valid_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MAX_NAME)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && strchr("-_.", s[i]) == NULL)
      return 0;
  return 1;
}

/* A string field, or NULL; *bad is set when present but not a string. */
static const char *text(yajl_val body, const char *key, int *bad) {
  yajl_val v = an_json_get(body, key);
  if (v == NULL || YAJL_IS_NULL(v))
    return NULL;
  if (!YAJL_IS_STRING(v)) {
    *bad = 1;
    return NULL;
  }
  return v->u.string;
}

static int read_channel(yajl_val body, double now, an_channel_t *c, char *err,
                        size_t errlen) {
  int bad = 0;
  const char *name = text(body, "name", &bad);
  if (name == NULL || !valid_name(name)) {
    snprintf(err, errlen,
             "name must be 1 to %d letters, digits, '-', '_' or '.'", MAX_NAME);
    return EINVAL;
  }
  const char *type = text(body, "type", &bad);
  if (type == NULL || !an_config_channel_type_valid(type)) {
    snprintf(err, errlen, "type must be slack, pagerduty or webhook");
    return EINVAL;
  }
  const char *url = text(body, "url", &bad);
  if (url == NULL || !an_config_channel_url_valid(url)) {
    snprintf(err, errlen,
             "url must be an http:// or https:// URL with a host, at most %d "
             "bytes",
             AN_CHANNEL_URL_MAX);
    return EINVAL;
  }
  const char *key = text(body, "routingKey", &bad);
  if (bad || (strcmp(type, "pagerduty") == 0 && (key == NULL || !key[0]))) {
    snprintf(err, errlen,
             "routingKey must be a string; a pagerduty channel needs it "
             "(the integration key of the service)");
    return EINVAL;
  }
  c->name = strdup(name);
  c->type = strdup(type);
  c->url = strdup(url);
  c->routing_key = key != NULL ? strdup(key) : NULL;
  c->created_at = now;
  return 0;
}

static int run_create(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  an_channel_t *c = j->data;
  int rc = an_store_add_channel(db, c);
  if (rc == EEXIST)
    snprintf(j->err, sizeof(j->err), "a channel named \"%s\" exists already",
             c->name);
  if (rc == 0)
    write_channel(w, c);
  return rc;
}

void an_api_channel_create(an_request_t *req) {
  yajl_val body = an_api_body_or_empty(req);
  if (body == NULL)
    return;
  an_channel_t *c = calloc(1, sizeof(*c));
  char err[300];
  int rc = c != NULL
               ? read_channel(body, an_request_now(req), c, err, sizeof(err))
               : ENOMEM;
  yajl_tree_free(body);
  if (rc != 0) {
    if (rc == ENOMEM)
      an_reply_error(req, 500, "INTERNAL", "out of memory");
    else
      an_reply_error(req, 400, "INVALID_DATA", "%s", err);
    channel_free(c);
    return;
  }
  an_api_submit(req, run_create, 201, c, channel_free, NULL);
}

static int run_list(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  an_channel_t *rows;
  size_t n;
  int rc = an_store_list_channels(db, &rows, &n);
  if (rc == 0) {
    an_jw_map_open(w);
    an_jw_key(w, "channels");
    an_jw_array_open(w);
    for (size_t i = 0; i < n; i++)
      write_channel(w, &rows[i]);
    an_jw_array_close(w);
    an_jw_map_close(w);
  }
  for (size_t i = 0; i < n; i++)
    an_channel_clear(&rows[i]);
  free(rows);
  return rc;
}

void an_api_channels_list(an_request_t *req) {
  an_api_submit(req, run_list, 200, NULL, NULL, NULL);
}

static int run_delete(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  char rule[256] = "";
  int rc = an_store_delete_channel(db, j->data, rule, sizeof(rule));
  if (rc == EPERM)
    snprintf(j->err, sizeof(j->err),
             "channel \"%s\" is defined in anomalyd.conf: remove it there",
             (const char *)j->data);
  else if (rc == EBUSY)
    snprintf(j->err, sizeof(j->err),
             "channel \"%s\" is used by the alert rule \"%s\"",
             (const char *)j->data, rule);
  return rc;
}

void an_api_channel_delete(an_request_t *req) {
  an_api_submit_for_path(req, "name", "channel", run_delete, 204);
}
