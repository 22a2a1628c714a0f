/* api_common.c: helpers every API resource uses. */
#include "api/api.h"
#include "conf.h"
#include "timefmt.h"
#include "uuid.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* body parsed, or NULL after replying 400 with the parser's reason */
static yajl_val parse_or_reply(an_request_t *req, const char *body,
                               size_t len) {
  char err[256];
  yajl_val v = an_json_parse(body, len, err, sizeof(err));
  if (v == NULL)
    an_reply_error(req, 400, "INVALID_DATA", "%s", err);
  return v;
}

yajl_val an_api_body(an_request_t *req) {
  size_t len;
  const char *body = an_request_body(req, &len);
  return parse_or_reply(req, body, len);
}

void an_api_reply_jw(an_request_t *req, int status, an_jw_t *w) {
  if (an_jw_failed(w))
    an_reply_error(req, 500, "INTERNAL", "could not encode the answer");
  else
    an_reply_json(req, status, w->buf != NULL ? w->buf : "", w->len);
  an_jw_free(w);
}

void an_api_reply_store_error(an_request_t *req, int rc, const char *what) {
  switch (rc) {
  case EIO:
  case ESHUTDOWN:
    an_reply_error(req, 503, "UNAVAILABLE",
                   "storage is failing (disk full or database damaged?); "
                   "nothing was stored, retry later");
    break;
  case ENOENT:
    an_reply_error(req, 404, "NOT_FOUND", "%s not found", what);
    break;
  default:
    an_reply_error(req, 500, "INTERNAL", "internal error (%d)", rc);
    break;
  }
}

yajl_val an_api_body_or_empty(an_request_t *req) {
  size_t len;
  const char *body = an_request_body(req, &len);
  size_t i = 0;
  /* not strchr(): it would take a NUL byte for blank */
  while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' ||
                     body[i] == '\n'))
    i++;
  if (i == len)
    body = "{}", len = 2;
  yajl_val v = parse_or_reply(req, body, len);
  if (v != NULL && !YAJL_IS_OBJECT(v)) {
    an_reply_error(req, 400, "INVALID_DATA", "the body must be a JSON object");
    yajl_tree_free(v);
    v = NULL;
  }
  return v;
}

/* ---- jobs whose answer is built on the store worker ---- */

an_api_job_t *an_api_job_new(an_request_t *req, an_api_run_fn run, int status) {
  an_api_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return NULL;
  }
  j->req = req;
  j->daemon = an_request_daemon(req);
  j->now = an_request_now(req);
  j->run = run;
  j->status = status;
  snprintf(j->what, sizeof(j->what), "the resource");
  return j;
}

static void job_free(an_api_job_t *j) {
  if (j == NULL)
    return;
  if (j->free_data != NULL)
    j->free_data(j->data);
  an_jw_free(&j->answer);
  free(j);
}

static int run_job(sqlite3 *db, void *arg) {
  an_api_job_t *j = arg;
  an_jw_free(&j->answer); /* from a first run of the batch */
  j->err[0] = '\0';
  return j->run(db, j, j->reply == NULL ? &j->answer : NULL);
}

static void job_done(void *arg, int rc) {
  an_api_job_t *j = arg;
  an_request_t *req = j->req;
  if (j->reply != NULL) {
    j->reply(j, rc);
    job_free(j);
    return;
  }
  switch (rc) {
  case 0:
    if (j->after != NULL)
      j->after(j);
    if (j->status == 204) {
      an_reply_raw(req, 204, "application/json", "", 0);
    } else {
      an_api_reply_jw(req, j->status, &j->answer);
    }
    break;
  case EINVAL:
    an_reply_error(req, 400, "INVALID_DATA", "%s", j->err);
    break;
  case EEXIST:
  case EBUSY:
  case EPERM:
  case EALREADY:
    an_reply_error(req, 409, "CONFLICT", "%s", j->err);
    break;
  default:
    an_api_reply_store_error(req, rc, j->what);
    break;
  }
  job_free(j);
}

void an_api_job_submit(an_api_job_t *j) {
  int rc = an_store_submit(j->daemon->store, run_job, job_done, j);
  if (rc != 0) {
    an_api_reply_store_error(j->req, rc, j->what);
    job_free(j);
  }
}

const char *an_api_path_id(an_request_t *req, const char *param,
                           const char *what) {
  const char *id = an_request_param(req, param);
  if (id == NULL || id[0] == '\0' || strlen(id) > 100) {
    an_reply_error(req, 404, "NOT_FOUND", "%s not found", what);
    return NULL;
  }
  return id;
}

const char *an_api_path_uuid(an_request_t *req, const char *param,
                             const char *what) {
  const char *id = an_api_path_id(req, param, what);
  if (id != NULL && strlen(id) > AN_UUID_LEN) {
    an_reply_error(req, 404, "NOT_FOUND", "%s not found", what);
    return NULL;
  }
  return id;
}

static void submit(an_request_t *req, an_api_run_fn run, int status,
                   void (*reply)(an_api_job_t *, int), void *data,
                   void (*free_data)(void *), const char *what) {
  an_api_job_t *j = an_api_job_new(req, run, status);
  if (j == NULL) {
    if (free_data != NULL)
      free_data(data);
    return;
  }
  j->data = data;
  j->free_data = free_data;
  j->reply = reply;
  if (what != NULL)
    snprintf(j->what, sizeof(j->what), "%s", what);
  an_api_job_submit(j);
}

void an_api_submit(an_request_t *req, an_api_run_fn run, int status, void *data,
                   void (*free_data)(void *), const char *what) {
  submit(req, run, status, NULL, data, free_data, what);
}

void an_api_submit_reply(an_request_t *req, an_api_run_fn run,
                         void (*reply)(an_api_job_t *, int), void *data,
                         void (*free_data)(void *), const char *what) {
  submit(req, run, 200, reply, data, free_data, what);
}

void an_api_submit_for_path(an_request_t *req, const char *param,
                            const char *what, an_api_run_fn run, int status) {
  char name[128];
  const char *id = an_api_path_id(req, param, what);
  if (id == NULL)
    return;
  char *data = strdup(id);
  if (data == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  snprintf(name, sizeof(name), "%s %s", what, id);
  an_api_submit(req, run, status, data, free, name);
}

int an_api_time(yajl_val v, double *out) {
  double t;
  if (YAJL_IS_STRING(v) ? an_time_parse(YAJL_GET_STRING(v), &t) != 0
                        : an_json_number(v, &t) != 0)
    return EINVAL;
  if (!(t >= 0 && t <= 253402300799.0)) /* 9999-12-31T23:59:59Z */
    return EINVAL;
  *out = t;
  return 0;
}

int an_api_time_too_far_ahead(const an_config_t *c, double t, double now) {
  return t > now + c->max_future_skew;
}
