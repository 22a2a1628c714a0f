/* The HTTP server (server.c) in-process: evhttp on 127.0.0.1, a client on
 * the same event base, and a route table of the test's own handlers in
 * place of routes.c. Routing and path parameters, 404, 405 with Allow,
 * keys and roles (401, 403), and that every error is JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf.h"
#include "http/http.h"
#include "http/server.h"
#include "metrics.h"
#include "testutil.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

/* ---- the handlers the routes below call ---- */

static void reply_text(an_request_t *req, const char *text) {
  an_reply_json(req, 200, text, strlen(text));
}

static void health(an_request_t *req) { reply_text(req, "{\"ok\":true}"); }

/* {"id": the path parameter, "q": the query parameter, "key": the key} */
static void item_get(an_request_t *req) {
  char out[256];
  const char *q = an_request_query(req, "q");
  snprintf(out, sizeof(out), "{\"id\":\"%s\",\"q\":\"%s\",\"key\":\"%s\"}",
           an_request_param(req, "id"), q != NULL ? q : "",
           an_request_key_name(req));
  reply_text(req, out);
}

static void item_delete(an_request_t *req) { reply_text(req, "{}"); }

static void echo(an_request_t *req) {
  size_t len;
  const char *body = an_request_body(req, &len);
  an_reply_json(req, 200, body, len);
}

/* an error whose message quotes bytes that are not UTF-8 */
static void bad_bytes(an_request_t *req) {
  an_reply_error(req, 400, "INVALID_DATA", "field \"name\" is bad: %s",
                 "a\xff\xfe"
                 "b");
}

const an_route_t an_routes[] = {
    {"GET", "/v1/health", AN_ROLE_NONE, health},
    {"GET", "/t/items/{id}", AN_ROLE_STREAM, item_get},
    {"DELETE", "/t/items/{id}", AN_ROLE_ADMIN, item_delete},
    {"POST", "/t/echo", AN_ROLE_INGEST, echo},
    {"GET", "/t/bad", AN_ROLE_NONE, bad_bytes},
    {NULL, NULL, AN_ROLE_NONE, NULL},
};

/* ---- the daemon around the server, and a client ---- */

static an_daemon_t daemon_;
static an_config_t *config;
static int port;

static void add_key(const char *name, const char *secret, an_role_t role) {
  config->keys =
      realloc(config->keys, (config->nkeys + 1) * sizeof(an_api_key_t));
  assert_non_null(config->keys);
  config->keys[config->nkeys++] =
      (an_api_key_t){strdup(name), strdup(secret), role};
}

static int setup(void **unused) {
  char err[256];
  config = an_config_defaults();
  assert_non_null(config);
  free(config->listen_host);
  config->listen_host = strdup("127.0.0.1");
  config->listen_port = port = test_free_port();
  add_key("ops", "admin-secret", AN_ROLE_ADMIN);
  add_key("reader", "stream-secret", AN_ROLE_STREAM);
  add_key("host", "ingest-secret", AN_ROLE_INGEST);
  daemon_ = (an_daemon_t){.base = event_base_new(),
                          .config = config,
                          .metrics = an_metrics_create()};
  assert_non_null(daemon_.base);
  assert_non_null(daemon_.metrics);
  assert_int_equal(an_server_start(&daemon_, err, sizeof(err)), 0);
  return 0;
}

static int teardown(void **unused) {
  an_server_free(daemon_.server);
  an_metrics_destroy(daemon_.metrics);
  event_base_free(daemon_.base);
  an_config_free(config);
  return 0;
}

typedef struct answer {
  int status;
  char allow[64];
  char content_type[64];
  char body[1024];
  yajl_val json; /* the body parsed; NULL when it is not JSON */
} answer_t;

static void on_answer(struct evhttp_request *req, void *arg) {
  answer_t *a = arg;
  if (req != NULL) {
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *allow = evhttp_find_header(h, "Allow");
    const char *type = evhttp_find_header(h, "Content-Type");
    a->status = evhttp_request_get_response_code(req);
    snprintf(a->allow, sizeof(a->allow), "%s", allow ? allow : "");
    snprintf(a->content_type, sizeof(a->content_type), "%s", type ? type : "");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_remove(in, a->body, sizeof(a->body) - 1);
    a->body[n] = '\0';
    a->json = yajl_tree_parse(a->body, NULL, 0);
  }
  event_base_loopbreak(daemon_.base);
}

/* Sends one request with the key given (NULL: none) and runs the loop
 * until its answer is in. Free with answer_free(). */
static answer_t request(enum evhttp_cmd_type method, const char *uri,
                        const char *key, const char *body) {
  answer_t a = {0};
  struct evhttp_connection *c =
      evhttp_connection_base_new(daemon_.base, NULL, "127.0.0.1", port);
  assert_non_null(c);
  struct evhttp_request *req = evhttp_request_new(on_answer, &a);
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Host", "127.0.0.1");
  if (key != NULL)
    evhttp_add_header(h, "X-Api-Key", key);
  if (body != NULL)
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
  assert_int_equal(evhttp_make_request(c, req, method, uri), 0);
  event_base_dispatch(daemon_.base);
  evhttp_connection_free(c);
  return a;
}

static void answer_free(answer_t *a) { yajl_tree_free(a->json); }

static const char *json_string(yajl_val v, const char *a, const char *b) {
  const char *path[] = {a, b, NULL};
  yajl_val s = yajl_tree_get(v, path, yajl_t_string);
  return s != NULL ? YAJL_GET_STRING(s) : "";
}

/* The answer is the JSON error {"error":{"code":code,"message":…}} with
 * status and a message containing needle. */
static void assert_error(answer_t *a, int status, const char *code,
                         const char *needle) {
  assert_int_equal(a->status, status);
  assert_string_equal(a->content_type, "application/json");
  assert_non_null(a->json);
  assert_string_equal(json_string(a->json, "error", "code"), code);
  assert_non_null(strstr(json_string(a->json, "error", "message"), needle));
}

/* Sends a request and checks that it is answered with that error. */
static void expect_error(enum evhttp_cmd_type method, const char *uri,
                         const char *key, int status, const char *code,
                         const char *needle) {
  answer_t a =
      request(method, uri, key, method == EVHTTP_REQ_GET ? NULL : "{}");
  assert_error(&a, status, code, needle);
  answer_free(&a);
}

/* Sends a request and checks its status. */
static void expect_status(enum evhttp_cmd_type method, const char *uri,
                          const char *key, int status) {
  answer_t a =
      request(method, uri, key, method == EVHTTP_REQ_GET ? NULL : "{}");
  assert_int_equal(a.status, status);
  answer_free(&a);
}

/* ---- tests ---- */

static void test_routing(void **unused) {
  answer_t a = request(EVHTTP_REQ_GET, "/v1/health", NULL, NULL);
  assert_int_equal(a.status, 200);
  assert_string_equal(a.body, "{\"ok\":true}");
  answer_free(&a);

  /* path parameters and query parameters arrive decoded */
  a = request(EVHTTP_REQ_GET, "/t/items/a%20b?q=x%2By&other=1", "stream-secret",
              NULL);
  assert_int_equal(a.status, 200);
  assert_string_equal(json_string(a.json, "id", NULL), "a b");
  assert_string_equal(json_string(a.json, "q", NULL), "x+y");
  assert_string_equal(json_string(a.json, "key", NULL), "reader");
  answer_free(&a);

  a = request(EVHTTP_REQ_POST, "/t/echo", "ingest-secret", "{\"n\":1}");
  assert_int_equal(a.status, 200);
  assert_string_equal(a.body, "{\"n\":1}");
  answer_free(&a);
}

static void test_not_found(void **unused) {
  expect_error(EVHTTP_REQ_GET, "/t/nowhere", "admin-secret", 404, "NOT_FOUND",
               "/t/nowhere");
  /* a parameter is one whole segment */
  expect_error(EVHTTP_REQ_GET, "/t/items/1/more", "admin-secret", 404,
               "NOT_FOUND", "/t/items/1/more");
}

static void test_method_not_allowed(void **unused) {
  answer_t a = request(EVHTTP_REQ_PUT, "/t/items/1", "admin-secret", "{}");
  assert_error(&a, 405, "METHOD_NOT_ALLOWED", "GET, DELETE");
  assert_string_equal(a.allow, "GET, DELETE");
  answer_free(&a);
  a = request(EVHTTP_REQ_GET, "/t/echo", "admin-secret", NULL);
  assert_error(&a, 405, "METHOD_NOT_ALLOWED", "GET is not allowed");
  assert_string_equal(a.allow, "POST");
  answer_free(&a);
}

static void test_roles(void **unused) {
  expect_error(EVHTTP_REQ_GET, "/t/items/1", NULL, 401, "UNAUTHORIZED",
               "API key is required");
  expect_error(EVHTTP_REQ_GET, "/t/items/1", "wrong", 401, "UNAUTHORIZED",
               "not valid");

  /* a lesser role: 403 naming the key and both roles */
  expect_error(EVHTTP_REQ_GET, "/t/items/1", "ingest-secret", 403, "FORBIDDEN",
               "API key \"host\" has role ingest; this needs role stream");
  expect_error(EVHTTP_REQ_DELETE, "/t/items/1", "stream-secret", 403,
               "FORBIDDEN", "needs role admin");

  /* a greater role may call what a lesser one may */
  expect_status(EVHTTP_REQ_DELETE, "/t/items/1", "admin-secret", 200);
  expect_status(EVHTTP_REQ_POST, "/t/echo", "admin-secret", 200);
}

/* Errors are JSON even when what they quote is not UTF-8 or the query
 * cannot be read. */
static void test_json_errors(void **unused) {
  answer_t a = request(EVHTTP_REQ_GET, "/t/bad", NULL, NULL);
  assert_error(&a, 400, "INVALID_DATA", "field \"name\" is bad: a");
  assert_null(strchr(a.body, '\xff'));
  answer_free(&a);

  expect_error(EVHTTP_REQ_GET, "/t/items/1?q=%zz", "stream-secret", 400,
               "INVALID_DATA",
               "query parameter \"q\" has a malformed percent-escape");
  expect_error(EVHTTP_REQ_GET, "/t/items/1?q=a%00b", "stream-secret", 400,
               "INVALID_DATA", "NUL byte");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_routing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
