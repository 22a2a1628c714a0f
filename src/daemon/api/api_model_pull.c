/* api_model_pull.c: GET /v1/models/active/seasonal — the active seasonal
 * model's blob as it is stored (one zstd frame, models/model.h), which
 * the collectd plugin pulls and scores with (docs/models.md).
 *
 * The ETag names the model (its id and version; a model's blob never
 * changes), so a pull that sends it back in If-None-Match is answered 304
 * without the blob until another model is activated. 204 when no seasonal
 * model is active. When several scopes each have an active seasonal
 * model, the one created last is served. The blob is read on the store
 * worker, never on the loop. */
#include "api/api.h"
#include "store/store_models.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pull {
  char *if_none_match; /* the request's, NULL when none */
  char id[AN_UUID_LEN + 1];
  char etag[AN_UUID_LEN + 32];
  char version[32];
  int not_modified;
  void *blob;
  size_t len;
} pull_t;

static void pull_free(void *data) {
  pull_t *p = data;
  free(p->if_none_match);
  free(p->blob);
  free(p);
}

/* Whether an If-None-Match list ("a", W/"b", or *) names etag. */
static int etag_listed(const char *list, const char *etag) {
  size_t n = strlen(etag);
  for (const char *p = list; p != NULL && *p != '\0';) {
    p += strspn(p, " \t,");
    size_t len = strcspn(p, ",");
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
      len--;
    const char *tag = p;
    if (len >= 2 && strncmp(tag, "W/", 2) == 0)
      tag += 2, len -= 2; /* a weak comparison, as RFC 9110 asks of GET */
    if ((len == 1 && tag[0] == '*') || (len == n && memcmp(tag, etag, n) == 0))
      return 1;
    p = strchr(p, ',');
  }
  return 0;
}

/* The model, and unless the caller has it, its blob. */
static int run_pull(sqlite3 *db, an_api_job_t *job, an_jw_t *unused) {
  pull_t *p = job->data;
  an_model_info_t m;
  free(p->blob); /* from a first run of the batch */
  p->blob = NULL;
  p->len = 0;
  int rc = an_store_get_newest_active_model(db, "seasonal", &m);
  if (rc == 0) {
    snprintf(p->id, sizeof(p->id), "%s", m.id);
    snprintf(p->etag, sizeof(p->etag), "\"%s-%lld\"", m.id, m.version);
    an_api_model_version(m.version, p->version, sizeof(p->version));
    p->not_modified = etag_listed(p->if_none_match, p->etag);
    if (!p->not_modified)
      rc = an_store_get_model_blob(db, m.id, &p->blob, &p->len);
  }
  an_model_info_clear(&m);
  return rc;
}

static void reply_pull(an_api_job_t *job, int rc) {
  pull_t *p = job->data;
  an_request_t *req = job->req;
  if (rc == ENOENT) {
    an_reply_raw(req, 204, "application/octet-stream", "", 0);
    return;
  }
  if (rc != 0) {
    an_api_reply_store_error(req, rc, job->what);
    return;
  }
  an_reply_header(req, "ETag", p->etag);
  an_reply_header(req, "X-Model-Id", p->id);
  an_reply_header(req, "X-Model-Version", p->version);
  if (p->not_modified)
    an_reply_raw(req, 304, "application/octet-stream", "", 0);
  else
    an_reply_raw(req, 200, "application/octet-stream", p->blob, p->len);
}

void an_api_model_pull(an_request_t *req) {
  pull_t *p = calloc(1, sizeof(*p));
  const char *inm = an_request_header(req, "If-None-Match");
  if (p == NULL || (inm != NULL && (p->if_none_match = strdup(inm)) == NULL)) {
    if (p != NULL)
      pull_free(p);
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  an_api_submit_reply(req, run_pull, reply_pull, p, pull_free,
                      "the active seasonal model");
}
