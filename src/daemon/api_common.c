/* api_common.c: helpers every API resource uses. */
#include "api.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

yajl_val an_api_body(an_request_t *req) {
  size_t len;
  const char *body = an_request_body(req, &len);
  char err[256];
  yajl_val v = an_json_parse(body, len, err, sizeof(err));
  if (v == NULL)
    an_reply_error(req, 400, "INVALID_DATA", "%s", err);
  return v;
}

void an_api_reply_gen(an_request_t *req, int status, yajl_gen g) {
  const unsigned char *buf;
  size_t len;
  if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
    yajl_gen_free(g);
    an_reply_error(req, 500, "INTERNAL", "could not encode the answer");
    return;
  }
  an_reply_json(req, status, (const char *)buf, len);
  yajl_gen_free(g);
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

int an_api_number(yajl_val v, double *out) {
  double d;
  if (YAJL_IS_INTEGER(v))
    d = (double)YAJL_GET_INTEGER(v);
  else if (YAJL_IS_DOUBLE(v))
    d = YAJL_GET_DOUBLE(v);
  else if (YAJL_IS_NUMBER(v))
    d = strtod(v->u.number.r, NULL); /* yajl calls underflow invalid: a
                                         tiny p-value is 0, not an error;
                                         overflow is caught below */
  else
    return EINVAL;
  if (!isfinite(d))
    return EINVAL;
  *out = d;
  return 0;
}
