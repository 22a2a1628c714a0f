/* server.c: evhttp, routing, authentication, limits and replies. */
#include "http/server.h"
#include "clock.h"
#include "conf.h"
#include "http/auth.h"
#include "http/frontdoor.h"
#include "http/http.h"
#include "http/ratelimit.h"
#include "json.h"
#include "jsonw.h"
#include "metrics.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <syslog.h>
#include <time.h>

#define MAX_PARAMS 4
/* Wrong API keys an address may send at once, and then one per 10 s:
 * guessing stays hopeless while a host with a stale key retrying now and
 * then is not locked out for long. */
#define AUTH_FAILURE_BURST 10
#define AUTH_FAILURE_RATE 0.1
/* addresses whose failures are remembered (a fixed table) */
#define AUTH_FAILURE_ADDRESSES 4096

struct an_server {
  an_daemon_t *daemon;
  struct evhttp *http;
  struct evhttp_bound_socket *socket;
  an_frontdoor_t *door; /* reads each head before evhttp */
  an_bucket_t *buckets; /* one per key, the last for callers without one */
  an_bucket_map_t *auth_failures; /* wrong keys per client address */
  size_t pending;
};

struct an_request {
  struct evhttp_request *req;
  an_server_t *server;
  const char *route; /* the pattern, for metrics */
  const char *method;
  double now; /* an_request_now() */
  char *param_names[MAX_PARAMS];
  char *param_values[MAX_PARAMS];
  int nparams;
  struct evkeyvalq query;
  int have_query;
  char *body;
  size_t body_len;
  const an_api_key_t *key; /* NULL when the API needs no key */
  an_role_t role;
};

/* evhttp passes a malformed escape ("%zz") through as it is: refuse it. */
static int valid_escapes(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] == '%' && !(i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
                         isxdigit((unsigned char)s[i + 2])))
      return 0;
  return 1;
}

/* The text of a query key or value percent-decoded, '+' as a space, in
 * *out (the caller frees it). Returns 0, ENOMEM, or EINVAL with the
 * reason in err: a bad escape, a NUL (%00), invalid UTF-8. what names it
 * in the reason, e.g. "query parameter \"limit\"". */
static int query_decode(const char *s, size_t len, const char *what, char **out,
                        char *err, size_t errlen) {
  *out = NULL;
  if (!valid_escapes(s, len)) {
    snprintf(err, errlen, "%s has a malformed percent-escape", what);
    return EINVAL;
  }
  char *raw = strndup(s, len);
  size_t n = 0;
  char *text = raw != NULL ? evhttp_uridecode(raw, 1, &n) : NULL;
  free(raw);
  if (text == NULL)
    return ENOMEM;
  if (strlen(text) != n) {
    snprintf(err, errlen, "%s contains a NUL byte (%%00)", what);
  } else if (!an_json_utf8_valid(text)) {
    snprintf(err, errlen, "%s is not valid UTF-8", what);
  } else {
    *out = text;
    return 0;
  }
  free(text);
  return EINVAL;
}

/* Splits the query string into r->query. A member without '=' is
 * ignored like an unknown parameter. Returns 0, ENOMEM, or EINVAL with a
 * reason naming the parameter (never quoting its bytes) in err. */
static int parse_query(an_request_t *r, const char *query, char *err,
                       size_t errlen) {
  for (const char *p = query; *p != '\0';) {
    size_t n = strcspn(p, "&");
    const char *eq = memchr(p, '=', n);
    if (eq != NULL) {
      char *key, *value = NULL;
      int rc = query_decode(p, (size_t)(eq - p), "a query parameter name", &key,
                            err, errlen);
      if (rc != 0)
        return rc;
      char what[96];
      snprintf(what, sizeof(what), "query parameter \"%.60s\"", key);
      rc = query_decode(eq + 1, n - (size_t)(eq - p) - 1, what, &value, err,
                        errlen);
      if (rc == 0 && evhttp_add_header(&r->query, key, value) != 0) {
        /* evhttp refuses a line break, or is out of memory */
        rc = strpbrk(value, "\r\n") != NULL ? EINVAL : ENOMEM;
        if (rc == EINVAL)
          snprintf(err, errlen, "%s has a line break", what);
      }
      free(key);
      free(value);
      if (rc != 0)
        return rc;
    }
    p += n;
    if (*p == '&')
      p++;
  }
  return 0;
}

/* ---- the request as handlers see it ---- */

an_daemon_t *an_request_daemon(an_request_t *r) { return r->server->daemon; }

double an_request_now(an_request_t *r) { return r->now; }

const char *an_request_param(an_request_t *r, const char *name) {
  for (int i = 0; i < r->nparams; i++)
    if (strcmp(r->param_names[i], name) == 0)
      return r->param_values[i];
  return NULL;
}

const char *an_request_query(an_request_t *r, const char *name) {
  return r->have_query ? evhttp_find_header(&r->query, name) : NULL;
}

int an_request_query_each(an_request_t *r,
                          int (*fn)(void *, const char *, const char *),
                          void *ctx) {
  struct evkeyval *kv;
  if (!r->have_query)
    return 0;
  TAILQ_FOREACH(kv, &r->query, next) {
    int rc = fn(ctx, kv->key, kv->value);
    if (rc != 0)
      return rc;
  }
  return 0;
}

const char *an_request_body(an_request_t *r, size_t *len) {
  *len = r->body_len;
  return r->body;
}

const char *an_request_header(an_request_t *r, const char *name) {
  return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

const char *an_request_key_name(an_request_t *r) {
  return r->key != NULL ? r->key->name : "";
}

int an_request_has_role(an_request_t *r, an_role_t role) {
  return r->role >= role;
}

static void request_free(an_request_t *r) {
  for (int i = 0; i < r->nparams; i++) {
    free(r->param_names[i]);
    free(r->param_values[i]);
  }
  if (r->have_query)
    evhttp_clear_headers(&r->query);
  free(r->body);
  free(r);
}

/* ---- replies ---- */

/* What an error says when there is no memory to say more. */
static const char out_of_memory[] =
    "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"out of memory\"}}";

/* evhttp writes a reply's head with evbuffer_add_printf and ignores a
 * failure (the client then gets nothing): room for the head, made
 * beforehand, lets a failure answer 500 instead. Returns 0 or ENOMEM. */
static int reserve_head(struct evhttp_request *req) {
  struct evhttp_connection *evcon = evhttp_request_get_connection(req);
  if (evcon == NULL)
    return 0;     /* the client went away */
  size_t n = 256; /* the status line and the headers evhttp adds */
  struct evkeyval *kv;
  TAILQ_FOREACH(kv, evhttp_request_get_output_headers(req), next) {
    n += strlen(kv->key) + strlen(kv->value) + 4;
  }
  struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
  return evbuffer_expand(bufferevent_get_output(bev), n) == 0 ? 0 : ENOMEM;
}

int an_reply_header(an_request_t *r, const char *name, const char *value) {
  return evhttp_add_header(evhttp_request_get_output_headers(r->req), name,
                           value) == 0
             ? 0
             : EINVAL;
}

void an_reply_raw(an_request_t *r, int status, const char *content_type,
                  const void *body, size_t len) {
  static time_t date_of;
  static char date[64];
  time_t now = (time_t)an_clock_wall();
  if (now != date_of) { /* what evhttp would format on every reply */
    struct tm tm;
    gmtime_r(&now, &tm);
    evutil_date_rfc1123(date, sizeof(date), &tm);
    date_of = now;
  }
  struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
  evhttp_add_header(h, "Content-Type", content_type);
  evhttp_add_header(h, "Date", date);
  if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD) {
    /* the length the GET answer has; evhttp adds none to a HEAD answer
     * and would send the body */
    char length[24];
    snprintf(length, sizeof(length), "%zu", len);
    evhttp_add_header(h, "Content-Length", length);
  } else {
    /* straight into the request's own buffer: no evbuffer of our own to
     * make, fill, move and free on every reply */
    struct evbuffer *out = evhttp_request_get_output_buffer(r->req);
    if (evbuffer_add(out, body, len) != 0) { /* say why the answer is lost */
      status = 500;
      evbuffer_add(out, out_of_memory, sizeof(out_of_memory) - 1);
    }
  }
  if (reserve_head(r->req) != 0 &&
      evhttp_request_get_command(r->req) != EVHTTP_REQ_HEAD) {
    struct evbuffer *out = evhttp_request_get_output_buffer(r->req);
    status = 500;
    evbuffer_drain(out, evbuffer_get_length(out));
    evbuffer_add(out, out_of_memory, sizeof(out_of_memory) - 1);
    reserve_head(r->req);
  }
  /* If the client went away, libevent detached the request and this
   * only frees it. */
  evhttp_send_reply(r->req, status, NULL, NULL);
  an_metrics_request(r->server->daemon->metrics, r->method, r->route, status);
  r->server->pending--;
  request_free(r);
}

void an_reply_json(an_request_t *r, int status, const char *json, size_t len) {
  an_reply_raw(r, status, "application/json", json, len);
}

/* The message may quote what the client sent: the JSON writer replaces
 * any invalid UTF-8 in it, so the answer is always valid JSON. */
static void reply_error_v(an_request_t *r, int status, const char *code,
                          const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  an_jw_t w;
  an_jw_init(&w);
  an_jw_map_open(&w);
  an_jw_key(&w, "error");
  an_jw_map_open(&w);
  an_jw_str(&w, "code", code);
  an_jw_str(&w, "message", msg);
  an_jw_map_close(&w);
  an_jw_map_close(&w);
  if (an_jw_failed(&w))
    an_reply_json(r, 500, out_of_memory, sizeof(out_of_memory) - 1);
  else
    an_reply_json(r, status, w.buf, w.len);
  an_jw_free(&w);
}

void an_reply_error(an_request_t *r, int status, const char *code,
                    const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reply_error_v(r, status, code, fmt, ap);
  va_end(ap);
}

/* ---- routing ---- */

/* Matches path against pattern, collecting {name} segments. Returns 1 on a
 * match, 0 when it does not match, -1 when out of memory. */
static int match(const char *pattern, const char *path, an_request_t *r) {
  const char *p = pattern, *s = path;
  int found = 0;
  r->nparams = 0;
  while (*p != '\0' && *s != '\0') {
    if (*p == '{') {
      const char *close = strchr(p, '}');
      size_t seg = strcspn(s, "/");
      if (close == NULL || seg == 0 || r->nparams == MAX_PARAMS)
        return 0;
      char *raw = strndup(s, seg);
      char *value = raw != NULL ? evhttp_uridecode(raw, 0, NULL) : NULL;
      char *name = strndup(p + 1, (size_t)(close - p - 1));
      free(raw);
      if (value == NULL || name == NULL) {
        free(value);
        free(name);
        found = -1;
        goto no;
      }
      r->param_names[r->nparams] = name;
      r->param_values[r->nparams] = value;
      r->nparams++;
      p = close + 1;
      s += seg;
    } else if (*p++ != *s++) {
      goto no;
    }
  }
  if (*p == '\0' && *s == '\0')
    return 1;
no:
  for (int i = 0; i < r->nparams; i++) {
    free(r->param_names[i]);
    free(r->param_values[i]);
  }
  r->nparams = 0;
  return found;
}

static const char *method_name(enum evhttp_cmd_type cmd) {
  switch (cmd) {
  case EVHTTP_REQ_GET:
    return "GET";
  case EVHTTP_REQ_POST:
    return "POST";
  case EVHTTP_REQ_PUT:
    return "PUT";
  case EVHTTP_REQ_PATCH:
    return "PATCH";
  case EVHTTP_REQ_DELETE:
    return "DELETE";
  case EVHTTP_REQ_HEAD:
    return "HEAD";
  case EVHTTP_REQ_OPTIONS:
    return "OPTIONS";
  default:
    return "OTHER";
  }
}

static const char *presented_key(struct evhttp_request *req) {
  struct evkeyvalq *h = evhttp_request_get_input_headers(req);
  return an_auth_presented(evhttp_find_header(h, "Authorization"),
                           evhttp_find_header(h, "X-Api-Key"));
}

/* 429 with Retry-After; the message says which limit. */
static void reply_rate_limited(an_request_t *r, int retry, const char *why) {
  char value[16];
  snprintf(value, sizeof(value), "%d", retry);
  evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After",
                    value);
  an_reply_error(r, 429, "RATE_LIMITED", "%s; retry after %d s", why, retry);
}

/* The bucket of failed authentications of the request's client address. */
static an_bucket_t *failures_of(an_request_t *r, double now) {
  char *address = NULL;
  ev_uint16_t port;
  struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
  if (evcon != NULL)
    evhttp_connection_get_peer(evcon, &address, &port);
  return an_bucket_map_get(r->server->auth_failures,
                           address != NULL ? address : "?", now);
}

/* Authenticates, rate-limits and reads the body. Returns 0 to go on, or
 * 1 when it has already replied. */
static int admit(an_request_t *r, an_role_t need) {
  an_server_t *s = r->server;
  const an_config_t *c = s->daemon->config;
  size_t bucket = c->nkeys; /* callers without a key share the last */
  double now = an_clock_monotonic();
  int retry = 1;

  r->role = AN_ROLE_ADMIN;
  if (c->nkeys > 0 && (need > AN_ROLE_NONE || c->metrics_need_key ||
                       presented_key(r->req) != NULL)) {
    const char *given = presented_key(r->req);
    /* an address over its failures is refused before its key is looked
     * at, or a right guess would still show */
    an_bucket_t *failures = failures_of(r, now);
    if (need > AN_ROLE_NONE &&
        !an_bucket_peek(failures, AUTH_FAILURE_RATE, AUTH_FAILURE_BURST, now,
                        &retry)) {
      reply_rate_limited(r, retry,
                         "too many requests with a wrong API key from this "
                         "address");
      return 1;
    }
    r->key = an_auth_find(c, given);
    if (r->key == NULL && need > AN_ROLE_NONE) {
      if (given != NULL)
        an_bucket_take(failures, AUTH_FAILURE_RATE, AUTH_FAILURE_BURST, now,
                       &retry);
      an_reply_error(r, 401, "UNAUTHORIZED",
                     given == NULL ? "an API key is required (Authorization: "
                                     "Bearer KEY or X-Api-Key: KEY)"
                                   : "the API key is not valid");
      return 1;
    }
    r->role = r->key != NULL ? r->key->role : AN_ROLE_NONE;
    if (r->key != NULL)
      bucket = (size_t)(r->key - c->keys);
    if (r->role < need) {
      an_reply_error(r, 403, "FORBIDDEN",
                     "API key \"%s\" has role %s; this needs role %s",
                     r->key->name, an_config_role_name(r->role),
                     an_config_role_name(need));
      return 1;
    }
  }
  if (c->rate_limit > 0 && need > AN_ROLE_NONE &&
      !an_bucket_take(&s->buckets[bucket], c->rate_limit, c->rate_burst, now,
                      &retry)) {
    char why[64];
    snprintf(why, sizeof(why), "more than %g requests per second",
             c->rate_limit);
    reply_rate_limited(r, retry, why);
    return 1;
  }
  struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
  size_t len = evbuffer_get_length(in);
  if (len > c->max_body_size) {
    an_reply_error(r, 413, "PAYLOAD_TOO_LARGE",
                   "the body is %zu bytes; MaxBodySize is %zu", len,
                   c->max_body_size);
    return 1;
  }
  r->body = malloc(len + 1);
  if (r->body == NULL) {
    an_reply_error(r, 500, "INTERNAL", "out of memory");
    return 1;
  }
  evbuffer_remove(in, r->body, len);
  r->body[len] = '\0';
  r->body_len = len;
  return 0;
}

static void handle(struct evhttp_request *req, void *arg) {
  an_server_t *s = arg;
  an_request_t *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    /* no an_request_t to reply through: the same JSON, by hand */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), out_of_memory,
                 sizeof(out_of_memory) - 1);
    evhttp_send_reply(req, 500, NULL, NULL);
    return;
  }
  r->req = req;
  r->server = s;
  r->now = an_clock_wall();
  r->route = "unmatched";
  r->method = method_name(evhttp_request_get_command(req));
  s->pending++;

  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
  const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
  if (path == NULL || path[0] == '\0')
    path = "/";
  TAILQ_INIT(&r->query);
  r->have_query = 1;
  const char *refusal = evhttp_find_header(
      evhttp_request_get_input_headers(req), AN_FRONTDOOR_REFUSAL);
  if (refusal != NULL) { /* "STATUS CODE message", from the front door */
    int status = 400, n = 0;
    char code[32] = "INVALID_DATA";
    sscanf(refusal, "%d %31s %n", &status, code, &n);
    an_reply_error(r, status, code, "%s", n > 0 ? refusal + n : "bad request");
    return;
  }
  char err[160], *decoded;
  int rc =
      query_decode(path, strlen(path), "the path", &decoded, err, sizeof(err));
  free(decoded);
  if (rc == 0 && query != NULL)
    rc = parse_query(r, query, err, sizeof(err));
  if (rc != 0) {
    if (rc == ENOMEM)
      an_reply_error(r, 500, "INTERNAL", "out of memory");
    else
      an_reply_error(r, 400, "INVALID_DATA", "%s", err);
    return;
  }

  const an_route_t *route = NULL;
  int path_known = 0;
  char allow[64] = "";
  /* HEAD is GET without the body (an_reply_raw leaves it out) */
  const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
  for (const an_route_t *rt = an_routes; rt->method != NULL; rt++) {
    int m = match(rt->pattern, path, r);
    if (m < 0) {
      an_reply_error(r, 500, "INTERNAL", "out of memory");
      return;
    }
    if (m == 0)
      continue;
    path_known = 1;
    if (strcmp(rt->method, method) == 0) {
      route = rt;
      break;
    }
    if (strlen(allow) + strlen(rt->method) + 3 < sizeof(allow)) {
      if (allow[0] != '\0')
        strcat(allow, ", ");
      strcat(allow, rt->method);
    }
    for (int i = 0; i < r->nparams; i++) { /* keep only the winner's */
      free(r->param_names[i]);
      free(r->param_values[i]);
    }
    r->nparams = 0;
  }
  if (route == NULL) {
    if (path_known) {
      evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
      an_reply_error(r, 405, "METHOD_NOT_ALLOWED",
                     "%s is not allowed on %s; allowed: %s", r->method, path,
                     allow);
    } else {
      an_reply_error(r, 404, "NOT_FOUND", "no such path: %s", path);
    }
    return;
  }
  r->route = route->pattern;
  an_role_t need = route->role;
  if (strcmp(route->pattern, "/metrics") == 0 &&
      s->daemon->config->metrics_need_key)
    need = AN_ROLE_STREAM;
  if (admit(r, need) != 0)
    return;
  route->handler(r);
}

int an_server_start(an_daemon_t *d, char *err, size_t errlen) {
  const an_config_t *c = d->config;
  an_server_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    snprintf(err, errlen, "out of memory");
    return ENOMEM;
  }
  s->daemon = d;
  s->buckets = calloc(c->nkeys + 1, sizeof(*s->buckets));
  s->auth_failures = an_bucket_map_new(AUTH_FAILURE_ADDRESSES);
  s->http = evhttp_new(d->base);
  if (s->http == NULL || s->buckets == NULL || s->auth_failures == NULL) {
    snprintf(err, errlen, "out of memory");
    an_server_free(s);
    return ENOMEM;
  }
  s->door = an_frontdoor_new(d->base, s->http, c);
  if (s->door == NULL) {
    snprintf(err, errlen, "out of memory");
    an_server_free(s);
    return ENOMEM;
  }
  /* the front door refuses an announced body over MaxBodySize with JSON
   * before evhttp would, with HTML */
  evhttp_set_max_body_size(s->http, (ev_ssize_t)c->max_body_size);
  evhttp_set_max_headers_size(s->http, (ev_ssize_t)c->max_header_size);
  evhttp_set_timeout(s->http, c->timeout);
  evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                          EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                          EVHTTP_REQ_OPTIONS);
  evhttp_set_gencb(s->http, handle, s);
  s->socket = evhttp_bind_socket_with_handle(s->http, c->listen_host,
                                             (ev_uint16_t)c->listen_port);
  if (s->socket == NULL) {
    int e = errno ? errno : EADDRINUSE;
    snprintf(err, errlen, "cannot listen on %s:%d: %s", c->listen_host,
             c->listen_port, strerror(e));
    an_server_free(s);
    return e;
  }
  /* Answers go out at once: with Nagle's algorithm a large answer on a
   * kept-alive connection waits ~40 ms for the client's delayed ACK.
   * Accepted sockets inherit the option from the listener. */
  int one = 1;
  setsockopt(evhttp_bound_socket_get_fd(s->socket), IPPROTO_TCP, TCP_NODELAY,
             &one, sizeof(one));
  an_frontdoor_set_listener(s->door,
                            evhttp_bound_socket_get_listener(s->socket));
  d->server = s;
  return 0;
}

void an_server_stop_listening(an_server_t *s) {
  if (s != NULL && s->socket != NULL) {
    an_frontdoor_set_listener(s->door, NULL);
    evhttp_del_accept_socket(s->http, s->socket);
    s->socket = NULL;
  }
}

size_t an_server_pending(const an_server_t *s) { return s->pending; }

void an_server_free(an_server_t *s) {
  if (s == NULL)
    return;
  if (s->http != NULL)
    evhttp_free(s->http);
  an_frontdoor_free(s->door); /* after the connections it counts */
  free(s->buckets);
  an_bucket_map_free(s->auth_failures);
  free(s);
}
