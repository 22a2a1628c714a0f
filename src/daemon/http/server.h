/* server.h: the HTTP server: evhttp on the daemon's event loop, routing,
 * authentication, rate limits, body limits and replies (http.h is what
 * handlers see of it). */
#ifndef AN_SERVER_H
#define AN_SERVER_H

#include "daemon.h"

#include <stddef.h>

/* Listens on the configured address. Returns 0, or an errno with the
 * reason in err (address in use, bad address). */
int an_server_start(an_daemon_t *d, char *err, size_t errlen);

/* Stops accepting connections; requests already received still get their
 * reply. */
void an_server_stop_listening(an_server_t *s);

/* Requests received and not yet replied to. */
size_t an_server_pending(const an_server_t *s);

/* Frees the server and its connections. Accepts NULL. */
void an_server_free(an_server_t *s);

#endif
