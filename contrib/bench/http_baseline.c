/* http-baseline: the least an evhttp server can do per request — read it
 * and answer a small JSON body — for contrib/bench/http-bench to compare
 * anomalyd against on the same machine.
 *
 *   http-baseline PORT */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>

static void reply(struct evhttp_request *req, void *arg) {
  static const char body[] = "{\"dataPointId\":\"00000000-0000-4000-8000-"
                             "000000000000\",\"anomalyScore\":0,"
                             "\"isAnomaly\":false,\"severity\":\"none\"}";
  struct evbuffer *buf = evbuffer_new();
  evbuffer_add(buf, body, sizeof(body) - 1);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                    "application/json");
  evhttp_send_reply(req, 202, "Accepted", buf);
  evbuffer_free(buf);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: http-baseline PORT\n");
    return 2;
  }
  struct event_base *base = event_base_new();
  struct evhttp *http = evhttp_new(base);
  evhttp_set_gencb(http, reply, NULL);
  if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])) != 0) {
    fprintf(stderr, "http-baseline: cannot listen on port %s\n", argv[1]);
    return 1;
  }
  event_base_dispatch(base);
  return 0;
}
