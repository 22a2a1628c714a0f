/* http.h: what a request handler sees. The server (server.c) parses the
 * request, checks the key and its role against the route, and calls the
 * handler on the event loop thread. Every handler ends in exactly one
 * reply, now or later: it may keep the request, hand work to the store
 * (an_store_submit) and reply when the store hands it back on the loop. */
#ifndef AN_HTTP_H
#define AN_HTTP_H

#include "conf.h"
#include "daemon.h"

#include <stddef.h>

typedef struct an_request an_request_t;

typedef void (*an_handler_fn)(an_request_t *req);

typedef struct an_route {
  const char *method;  /* "GET", "POST", "PATCH", "PUT", "DELETE" */
  const char *pattern; /* "/v1/anomalies/{id}/feedback": {name} is one
                          path segment, read with an_request_param() */
  an_role_t role;      /* the least role that may call it */
  an_handler_fn handler;
} an_route_t;

/* The route table, in routes.c; ends with a NULL method. */
extern const an_route_t an_routes[];

an_daemon_t *an_request_daemon(an_request_t *req);

/* The wall clock (an_clock_wall) read once when the request was
 * dispatched: the one now of the request and of the store work it queues,
 * so that none of it reads the clock again. */
double an_request_now(an_request_t *req);

/* The path segment named in the route pattern, URL-decoded; NULL if none. */
const char *an_request_param(an_request_t *req, const char *name);

/* The query string parameter, URL-decoded; NULL when absent. */
const char *an_request_query(an_request_t *req, const char *name);

/* Calls fn for every query parameter in order; stops at and returns the
 * first non-zero result (handlers use it to reject unknown parameters). */
int an_request_query_each(an_request_t *req,
                          int (*fn)(void *ctx, const char *key,
                                    const char *value),
                          void *ctx);

/* The body, NUL-terminated (embedded NULs are possible: use *len), "" when
 * there is none. Owned by the request. The server has already refused
 * bodies over MaxBodySize with 413. */
const char *an_request_body(an_request_t *req, size_t *len);

/* A header of the request (the name is case-insensitive); NULL when it
 * has none. Owned by the request. */
const char *an_request_header(an_request_t *req, const char *name);

/* The name of the ApiKey used, "" when the API needs no key. */
const char *an_request_key_name(an_request_t *req);

/* Whether the caller's key has at least role (for handlers whose rule is
 * finer than the route's, e.g. admin-only fields). */
int an_request_has_role(an_request_t *req, an_role_t role);

/* Replies with a JSON body and ends the request (req is freed; if the
 * client went away meanwhile only the bookkeeping happens). */
void an_reply_json(an_request_t *req, int status, const char *json, size_t len);

/* Replies {"error":{"code":code,"message":…}} and ends the request. The
 * message names the field or parameter at fault. 429 adds Retry-After. */
void an_reply_error(an_request_t *req, int status, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Adds a header (ETag, …) to the reply that follows. Returns 0, or
 * EINVAL when evhttp refuses it (a line break) or it is out of memory. */
int an_reply_header(an_request_t *req, const char *name, const char *value);

/* Replies with any body and content type (PNG, Prometheus text). */
void an_reply_raw(an_request_t *req, int status, const char *content_type,
                  const void *body, size_t len);

#endif
