/* frontdoor.h: every connection's bytes pass the front door before evhttp
 * sees them. It reads each request's head itself and
 *  - refuses a head evhttp would answer with HTML (not HTTP/1.x, unknown
 *    method, bad Content-Length, headers over MaxHeaderSize, chunked or
 *    unexpected Expect) by handing evhttp a small request that carries the
 *    refusal in AN_FRONTDOOR_REFUSAL, which the server answers as JSON;
 *  - withholds the body of a request whose key is missing or wrong, or
 *    that announces more than MaxBodySize, so that it is refused (401,
 *    413) without being read, and closes the connection after the answer;
 *  - closes a connection whose headers take over HeaderTimeout or whose
 *    body takes over Timeout;
 *  - counts connections; at MaxConnections a new one takes the place of
 *    the oldest still waiting for its request's head, and when none is
 *    waiting it stops accepting; pauses accepting for a second when accept
 *    fails (no file descriptors left) instead of retrying at once. */
#ifndef AN_FRONTDOOR_H
#define AN_FRONTDOOR_H

#include "conf.h"

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stddef.h>

/* "STATUS CODE message": the refusal of a request's head. The front door
 * refuses a request that sends this header itself. */
#define AN_FRONTDOOR_REFUSAL "X-Anomalyd-Refusal"

typedef struct an_frontdoor an_frontdoor_t;

/* Puts the front door before every connection http accepts from now on.
 * c must outlive it. Returns NULL when out of memory. */
an_frontdoor_t *an_frontdoor_new(struct event_base *base, struct evhttp *http,
                                 const an_config_t *c);

/* Lets the front door pause and resume listener (MaxConnections, accept
 * errors); NULL detaches it (before the listener is freed). */
void an_frontdoor_set_listener(an_frontdoor_t *f,
                               struct evconnlistener *listener);

/* Client connections open now. */
size_t an_frontdoor_connections(const an_frontdoor_t *f);

/* Frees the front door; call after evhttp_free (which closes the
 * connections it counts). Accepts NULL. */
void an_frontdoor_free(an_frontdoor_t *f);

#endif
