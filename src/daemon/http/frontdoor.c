/* frontdoor.c: request heads read before evhttp reads them, and the
 * accept side of the listener.
 *
 * libevent 2.1 has no server-side hook between a request's headers and its
 * body. So each connection's input buffer gets a callback, which runs
 * after every read from the socket and before evhttp's read callback: it
 * takes the bytes just read out of the buffer and gives evhttp back only
 * complete heads (checked) and the bodies that follow them. The bufferevent
 * is the plain socket one evhttp would make, so writing is untouched. */
#include "http/frontdoor.h"
#include "clock.h"
#include "daemon.h"
#include "http/auth.h"
#include "lograte.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <syslog.h>

/* seconds accepting pauses after accept failed */
#define ACCEPT_PAUSE 1
/* connections over MaxConnections while those closed to make room for
 * them are still closing */
#define EVICTION_SLACK 16

typedef struct conn conn_t;

struct an_frontdoor {
  const an_config_t *config;
  struct evconnlistener *listener; /* NULL once detached */
  struct event *resume;            /* ends an accept pause */
  size_t connections;
  size_t max_connections;   /* MaxConnections, or fewer if fds are short */
  TAILQ_HEAD(, conn) conns; /* open, oldest first */
  size_t waiting;           /* of them, waiting for a request's head */
  int freed; /* an_frontdoor_free was called; the last connection frees */
  int paused_for_error; /* accept failed; resume is pending */
  int accepting;        /* the listener is enabled */
};

typedef enum { AT_HEAD, IN_BODY, DRAINING } conn_state_t;

struct conn {
  TAILQ_ENTRY(conn) link;
  an_frontdoor_t *door;
  struct bufferevent *bev;         /* the connection's, evhttp's */
  struct evhttp_connection *evcon; /* NULL until set_up() ran */
  struct evbuffer_cb_entry *watch; /* on bev's input */
  struct evbuffer *pending;        /* read and not yet given to evhttp */
  struct evbuffer *scratch;        /* for moving bytes around */
  struct event *timer;             /* set-up, then head and body deadlines */
  conn_state_t state;
  int in_callback;    /* our own changes to the input call us again */
  int head_started;   /* waiting for the rest of a head (or, fresh, for the
                         first one): one that may be closed to make room */
  int evicted;        /* closed to make room; closing */
  int counted;        /* in door->conns and door->connections */
  uint64_t body_left; /* bytes of the current body still to pass */
};

/* What the head of one request asks for. */
typedef struct verdict {
  int status;        /* 0: pass the request as it is */
  const char *code;  /* the error code of a refusal */
  char message[200]; /* its message */
  int withhold;      /* pass the head without its body: the key is wrong */
  uint64_t body;     /* Content-Length of a passed request */
  char method[8];    /* the request's method, "" when it has none we know */
} verdict_t;

static an_lograte_t accept_log = AN_LOGRATE_INIT(60);
static an_lograte_t deadline_log = AN_LOGRATE_INIT(60);
static an_lograte_t full_log = AN_LOGRATE_INIT(60);

/* ---- the listener ---- */

/* The listener passes its error callback evhttp's argument, not ours; a
 * process has one listening door. */
static an_frontdoor_t *listening_door;

/* Enables or disables accepting as the connection count and an accept
 * pause say. */
static void update_listener(an_frontdoor_t *f) {
  if (f->listener == NULL)
    return;
  /* when full, new connections still come in while some connection is
   * slow to send its request: each takes that one's place */
  int accept = (f->connections < f->max_connections ||
                (f->waiting > 0 &&
                 f->connections < f->max_connections + EVICTION_SLACK)) &&
               !f->paused_for_error;
  if (accept && !f->accepting)
    evconnlistener_enable(f->listener);
  else if (!accept && f->accepting)
    evconnlistener_disable(f->listener);
  f->accepting = accept;
}

static void resume_accepting(evutil_socket_t fd, short what, void *arg) {
  an_frontdoor_t *f = arg;
  f->paused_for_error = 0;
  update_listener(f);
}

/* accept() failed for a reason that retrying at once cannot cure (EMFILE,
 * ENFILE, ENOBUFS): the listening socket stays readable, so without a
 * pause the loop would spin on it. */
static void accept_failed(struct evconnlistener *listener, void *arg) {
  an_frontdoor_t *f = listening_door;
  if (f == NULL || f->listener != listener)
    return;
  int e = EVUTIL_SOCKET_ERROR();
  an_lograte_log(&accept_log, an_clock_monotonic(), LOG_ERR,
                 "cannot accept connections (%zu open): %s; pausing %d s",
                 f->connections, strerror(e), ACCEPT_PAUSE);
  static const struct timeval pause = {ACCEPT_PAUSE, 0};
  f->paused_for_error = 1;
  update_listener(f);
  evtimer_add(f->resume, &pause);
}

void an_frontdoor_set_listener(an_frontdoor_t *f,
                               struct evconnlistener *listener) {
  f->listener = listener;
  f->accepting = 1; /* evhttp binds it enabled */
  listening_door = listener != NULL ? f : NULL;
  if (listener != NULL) {
    evconnlistener_set_error_cb(listener, accept_failed);
    update_listener(f);
  }
}

/* ---- deadlines ---- */

static void arm(conn_t *c, int seconds) {
  struct timeval tv = {seconds, 0};
  evtimer_add(c->timer, &tv);
}

/* Starts (with its deadline) or ends the wait for a request's head. */
static void set_waiting(conn_t *c, int waiting) {
  if (waiting == c->head_started)
    return;
  c->head_started = waiting;
  if (waiting) {
    c->door->waiting++;
    arm(c, c->door->config->header_timeout);
  } else {
    c->door->waiting--;
  }
}

/* Shuts a connection down: the next read sees EOF, on which evhttp frees
 * the connection. */
static void shut(conn_t *c) {
  evutil_socket_t s = bufferevent_getfd(c->bev);
  if (s >= 0)
    shutdown(s, SHUT_RDWR);
}

/* At MaxConnections a new connection takes the place of the oldest one
 * still waiting for its request's head (slowloris holds connections
 * exactly so); one in the middle of a request is never closed. */
static void make_room(an_frontdoor_t *f) {
  conn_t *c;
  TAILQ_FOREACH(c, &f->conns, link) {
    if (c->head_started && !c->evicted) {
      an_lograte_log(&full_log, an_clock_monotonic(), LOG_NOTICE,
                     "MaxConnections (%zu) reached: closing the connections "
                     "slowest to send a request",
                     f->max_connections);
      set_waiting(c, 0);
      c->evicted = 1;
      shut(c);
      return;
    }
  }
}

/* The head or body took too long: shutting the socket down makes the next
 * read see EOF, on which evhttp frees the connection. */
static void deadline_passed(conn_t *c) {
  an_lograte_log(&deadline_log, an_clock_monotonic(), LOG_NOTICE,
                 "closing a connection whose request took longer than "
                 "HeaderTimeout (%d s) or Timeout (%d s)",
                 c->door->config->header_timeout, c->door->config->timeout);
  shut(c);
}

/* ---- the head ---- */

static void refuse(verdict_t *v, int status, const char *code, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void refuse(verdict_t *v, int status, const char *code, const char *fmt,
                   ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v->message, sizeof(v->message), fmt, ap);
  va_end(ap);
  v->status = status;
  v->code = code;
}

static const char *const methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                      "DELETE", "HEAD", "OPTIONS", NULL};

/* The value of a header line after "name:", without the spaces around it
 * (in place). */
static char *header_value(char *colon) {
  char *v = colon + 1;
  while (*v == ' ' || *v == '\t')
    v++;
  size_t n = strlen(v);
  while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    v[--n] = '\0';
  return v;
}

/* Reads the request line of head (NUL-terminated, lines split at '\n' with
 * the '\r' removed). Returns 0, or refuses in v. */
static int check_request_line(const an_config_t *c, char *line, verdict_t *v) {
  char *target = strchr(line, ' ');
  char *version = target != NULL ? strchr(target + 1, ' ') : NULL;
  if (version == NULL || strchr(version + 1, ' ') != NULL ||
      (strcmp(version + 1, "HTTP/1.1") != 0 &&
       strcmp(version + 1, "HTTP/1.0") != 0)) {
    refuse(v, 400, "INVALID_DATA", "not an HTTP/1.0 or HTTP/1.1 request line");
    return EINVAL;
  }
  *target++ = '\0';
  *version = '\0';
  for (int i = 0; methods[i] != NULL; i++)
    if (strcmp(line, methods[i]) == 0)
      snprintf(v->method, sizeof(v->method), "%s", methods[i]);
  if (v->method[0] == '\0') {
    refuse(v, 501, "NOT_IMPLEMENTED", "method %.16s is not supported", line);
    return EINVAL;
  }
  if (target[0] != '/') {
    refuse(v, 400, "INVALID_DATA", "the request target must be a path");
    return EINVAL;
  }
  return 0;
}

/* Decides on one complete head (NUL-terminated, the blank line included).
 * Fills v; v->status stays 0 for a request to pass. */
static void check_head(const an_config_t *c, char *head, verdict_t *v) {
  const char *authorization = NULL, *x_api_key = NULL;
  int have_length = 0;
  char *line = head, *next;
  for (int first = 1; line != NULL && *line != '\0'; line = next, first = 0) {
    next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\r')
      line[--n] = '\0';
    if (first) {
      if (check_request_line(c, line, v) != 0)
        return;
      continue;
    }
    if (n == 0)
      break; /* the blank line */
    char *colon = strchr(line, ':');
    if (line[0] == ' ' || line[0] == '\t' || colon == NULL || colon == line ||
        strcspn(line, " \t") < (size_t)(colon - line)) {
      refuse(v, 400, "INVALID_DATA", "a header line is malformed");
      return;
    }
    *colon = '\0';
    char *value = header_value(colon);
    if (strcasecmp(line, "Content-Length") == 0) {
      char *end = NULL;
      errno = 0;
      unsigned long long len = strtoull(value, &end, 10);
      if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 ||
          (have_length && len != v->body)) {
        refuse(v, 400, "INVALID_DATA", "Content-Length is not valid");
        return;
      }
      v->body = len;
      have_length = 1;
    } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
      refuse(v, 411, "INVALID_DATA",
             "send the body with Content-Length; Transfer-Encoding is not "
             "accepted");
      return;
    } else if (strcasecmp(line, "Expect") == 0) {
      if (strcasecmp(value, "100-continue") != 0) {
        refuse(v, 417, "INVALID_DATA", "only Expect: 100-continue is known");
        return;
      }
    } else if (strcasecmp(line, AN_FRONTDOOR_REFUSAL) == 0) {
      refuse(v, 400, "INVALID_DATA", "header %s is reserved",
             AN_FRONTDOOR_REFUSAL);
      return;
    } else if (strcasecmp(line, "Authorization") == 0) {
      if (authorization == NULL) /* the first, as evhttp_find_header */
        authorization = value;
    } else if (strcasecmp(line, "X-Api-Key") == 0) {
      if (x_api_key == NULL)
        x_api_key = value;
    }
  }
  if (strcmp(v->method, "HEAD") == 0)
    v->body = 0; /* evhttp reads no body after HEAD, and neither do we */
  if (v->body == 0)
    return;
  /* every route that takes a body needs a key: without a valid one the
   * server answers 401 and the body is never wanted */
  if (c->nkeys > 0 &&
      an_auth_find(c, an_auth_presented(authorization, x_api_key)) == NULL) {
    v->withhold = 1;
    return;
  }
  if (v->body > c->max_body_size)
    refuse(v, 413, "PAYLOAD_TOO_LARGE",
           "the body is %llu bytes; MaxBodySize is %zu",
           (unsigned long long)v->body, c->max_body_size);
}

/* Appends to dst the head evhttp gets instead of one the front door
 * refused: bodiless, closing the connection after the answer, with the
 * refusal for the server to answer. Returns 0 or ENOMEM. */
static int write_refusal(struct evbuffer *dst, const verdict_t *v) {
  char message[sizeof(v->message)];
  snprintf(message, sizeof(message), "%s", v->message);
  for (char *p = message; *p != '\0'; p++)
    if ((unsigned char)*p < 0x20)
      *p = '?'; /* a header value holds no line breaks */
  return evbuffer_add_printf(dst,
                             "%s / HTTP/1.1\r\nConnection: close\r\n"
                             "%s: %d %s %s\r\n\r\n",
                             v->method[0] ? v->method : "GET",
                             AN_FRONTDOOR_REFUSAL, v->status, v->code,
                             message) < 0
             ? ENOMEM
             : 0;
}

/* Appends to dst the head (len bytes) without what announces a body, and
 * closing the connection after the answer. */
static void write_without_body(struct evbuffer *dst, const char *head,
                               size_t len) {
  static const char *const dropped[] = {"Content-Length", "Transfer-Encoding",
                                        "Expect", "Connection", NULL};
  const char *line = head, *end = head + len;
  while (line < end) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    size_t n = nl != NULL ? (size_t)(nl - line) + 1 : (size_t)(end - line);
    size_t text = n;
    while (text > 0 && (line[text - 1] == '\n' || line[text - 1] == '\r'))
      text--;
    if (text == 0)
      break; /* the blank line */
    int drop = 0;
    for (int i = 0; dropped[i] != NULL && line != head; i++) {
      size_t k = strlen(dropped[i]);
      if (text > k && line[k] == ':' && strncasecmp(line, dropped[i], k) == 0)
        drop = 1;
    }
    if (!drop) {
      evbuffer_add(dst, line, text);
      evbuffer_add(dst, "\r\n", 2);
    }
    line += n;
  }
  evbuffer_add_printf(dst, "Connection: close\r\n\r\n");
}

/* Offset just past the blank line that ends the head in b, or -1. */
static ev_ssize_t head_end(struct evbuffer *b) {
  struct evbuffer_ptr crlf = evbuffer_search(b, "\n\r\n", 3, NULL);
  struct evbuffer_ptr lf = evbuffer_search(b, "\n\n", 2, NULL);
  if (crlf.pos >= 0 && (lf.pos < 0 || crlf.pos < lf.pos))
    return crlf.pos + 3;
  return lf.pos >= 0 ? lf.pos + 2 : -1;
}

/* Handles the head at the start of c->pending. Returns 0 when it is
 * handled (passed or refused), 1 when more bytes are needed. */
static int read_head(conn_t *c, struct evbuffer *dst) {
  const an_config_t *cf = c->door->config;
  size_t avail = evbuffer_get_length(c->pending);
  ev_ssize_t end = head_end(c->pending);
  verdict_t v = {0};
  size_t len = end >= 0 ? (size_t)end : avail;
  if (len > cf->max_header_size) {
    refuse(&v, 431, "PAYLOAD_TOO_LARGE",
           "the request's headers are over MaxHeaderSize (%zu bytes)",
           cf->max_header_size);
  } else {
    char *head = malloc(len + 1);
    if (head == NULL) {
      refuse(&v, 500, "INTERNAL", "out of memory");
    } else {
      evbuffer_copyout(c->pending, head, len);
      head[len] = '\0';
      if (end >= 0) {
        check_head(cf, head, &v);
      } else {
        /* not complete: refuse a bad request line (HTTP/0.9, garbage)
         * now rather than wait for a blank line that never comes */
        char *nl = strchr(head, '\n');
        if (nl != NULL) {
          *nl = '\0';
          if (nl > head && nl[-1] == '\r')
            nl[-1] = '\0';
          check_request_line(cf, head, &v);
        }
        if (v.status == 0) {
          free(head);
          return 1;
        }
      }
      if (v.withhold) { /* check_head cut head up: copy it again */
        evbuffer_copyout(c->pending, head, len);
        write_without_body(dst, head, len);
      } else if (v.status == 0) {
        /* evbuffer_remove_buffer would lose the part of a chain it
         * cannot copy when out of memory; evbuffer_add fails whole */
        evbuffer_copyout(c->pending, head, len);
        if (evbuffer_add(dst, head, len) != 0)
          refuse(&v, 500, "INTERNAL", "out of memory");
      }
      free(head);
    }
  }
  if (v.status != 0 || v.withhold) {
    if (v.status != 0 && write_refusal(dst, &v) != 0)
      shut(c); /* out of memory: nothing to answer with */
    evbuffer_drain(c->pending, evbuffer_get_length(c->pending));
    set_waiting(c, 0);
    evtimer_del(c->timer);
    c->state = DRAINING;
    return 0;
  }
  evbuffer_drain(c->pending, len);
  set_waiting(c, 0);
  c->body_left = v.body;
  if (v.body > 0) {
    c->state = IN_BODY;
    arm(c, cf->timeout);
  } else {
    evtimer_del(c->timer);
  }
  return 0;
}

/* Moves n bytes from src to dst. Returns 0, or ENOMEM when out of memory
 * evbuffer_remove_buffer lost the part of a chain it had to copy (and
 * still counted it moved). */
static int move(struct evbuffer *src, struct evbuffer *dst, size_t n) {
  size_t had = evbuffer_get_length(dst);
  evbuffer_remove_buffer(src, dst, n);
  return evbuffer_get_length(dst) == had + n ? 0 : ENOMEM;
}

/* Gives evhttp (dst) what of c->pending it may have. */
static void process(conn_t *c, struct evbuffer *dst) {
  while (evbuffer_get_length(c->pending) > 0) {
    if (c->state == DRAINING) {
      /* after a refusal, until the answer is out and evhttp closes */
      evbuffer_drain(c->pending, evbuffer_get_length(c->pending));
    } else if (c->state == IN_BODY) {
      size_t n = evbuffer_get_length(c->pending);
      if (n > c->body_left)
        n = (size_t)c->body_left;
      if (move(c->pending, dst, n) != 0) {
        shut(c); /* evhttp waits for bytes that are gone */
        c->state = DRAINING;
        break;
      }
      c->body_left -= n;
      if (c->body_left == 0) {
        evtimer_del(c->timer);
        c->state = AT_HEAD;
      }
    } else {
      set_waiting(c, 1);
      if (read_head(c, dst) != 0)
        break;
    }
  }
}

/* The input buffer's callback: after a read, before evhttp's. The bytes
 * just read are the last n_added of the buffer; what evhttp has not yet
 * consumed before them stays. */
static void input_changed(struct evbuffer *in,
                          const struct evbuffer_cb_info *info, void *arg) {
  conn_t *c = arg;
  if (c->in_callback || info->n_added == 0)
    return;
  c->in_callback = 1;
  size_t keep = evbuffer_get_length(in) - info->n_added;
  if (move(in, c->scratch, keep) != 0) {
    shut(c); /* what evhttp had not read yet is gone */
    c->state = DRAINING;
  }
  evbuffer_add_buffer(c->pending, in);
  evbuffer_add_buffer(in, c->scratch);
  process(c, in);
  c->in_callback = 0;
}

/* ---- connections ---- */

static void conn_free(conn_t *c) {
  if (c->counted) {
    set_waiting(c, 0);
    TAILQ_REMOVE(&c->door->conns, c, link);
    c->door->connections--;
  }
  if (c->watch != NULL)
    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
  if (c->timer != NULL)
    event_free(c->timer);
  if (c->pending != NULL)
    evbuffer_free(c->pending);
  if (c->scratch != NULL)
    evbuffer_free(c->scratch);
  free(c);
}

/* evhttp's close callback: the connection is being freed. */
static void conn_closed(struct evhttp_connection *evcon, void *arg) {
  conn_t *c = arg;
  an_frontdoor_t *f = c->door;
  conn_free(c);
  if (f->freed && f->connections == 0)
    free(f);
  else if (!f->freed)
    update_listener(f);
}

/* Runs once, right after evhttp has made the connection around bev (it
 * was then the bufferevent's callback argument): from now on evhttp tells
 * us when it frees the connection. The reference taken in new_connection
 * keeps bev readable even if evhttp failed and freed it meanwhile. */
static void set_up(conn_t *c) {
  struct bufferevent *bev = c->bev;
  void *evcon = NULL;
  bufferevent_getcb(bev, NULL, NULL, NULL, &evcon);
  if (evcon == NULL) { /* evhttp could not make the connection */
    an_frontdoor_t *f = c->door;
    conn_free(c);
    bufferevent_decref(bev);
    update_listener(f);
    return;
  }
  bufferevent_decref(bev);
  c->evcon = evcon;
  evhttp_connection_set_closecb(c->evcon, conn_closed, c);
  set_waiting(c, 1); /* for its first request, within HeaderTimeout */
}

static void timer_fired(evutil_socket_t fd, short what, void *arg) {
  conn_t *c = arg;
  if (c->evcon == NULL)
    set_up(c);
  else
    deadline_passed(c);
}

/* evhttp's bevcb: the bufferevent for a connection just accepted, the
 * plain one evhttp would make itself. On NULL evhttp makes that one
 * (only when out of memory). */
static struct bufferevent *new_connection(struct event_base *base, void *arg) {
  an_frontdoor_t *f = arg;
  conn_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->door = f;
  c->pending = evbuffer_new();
  c->scratch = evbuffer_new();
  c->timer = evtimer_new(base, timer_fired, c);
  c->bev = bufferevent_socket_new(base, -1, 0);
  if (c->bev != NULL)
    c->watch = evbuffer_add_cb(bufferevent_get_input(c->bev), input_changed, c);
  if (c->pending == NULL || c->scratch == NULL || c->timer == NULL ||
      c->watch == NULL) {
    if (c->bev != NULL)
      bufferevent_free(c->bev);
    c->watch = NULL;
    c->bev = NULL;
    conn_free(c);
    return NULL;
  }
  bufferevent_incref(c->bev); /* until set_up() */
  event_active(c->timer, EV_TIMEOUT, 1);
  TAILQ_INSERT_TAIL(&f->conns, c, link);
  c->counted = 1;
  if (++f->connections > f->max_connections)
    make_room(f);
  update_listener(f);
  return c->bev;
}

an_frontdoor_t *an_frontdoor_new(struct event_base *base, struct evhttp *http,
                                 const an_config_t *c) {
  an_frontdoor_t *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return NULL;
  f->config = c;
  f->max_connections = c->max_connections;
  TAILQ_INIT(&f->conns);
  /* keep descriptors for the store, deliveries and logs */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < f->max_connections + 64 + 16) {
    f->max_connections = rl.rlim_cur > 64 + 16 ? rl.rlim_cur - 64 : 16;
    syslog(LOG_WARNING,
           "MaxConnections %zu is over what %llu file descriptors allow; "
           "using %zu",
           c->max_connections, (unsigned long long)rl.rlim_cur,
           f->max_connections);
  }
  f->resume = evtimer_new(base, resume_accepting, f);
  if (f->resume == NULL) {
    free(f);
    return NULL;
  }
  evhttp_set_bevcb(http, new_connection, f);
  return f;
}

size_t an_frontdoor_connections(const an_frontdoor_t *f) {
  return f->connections;
}

void an_frontdoor_free(an_frontdoor_t *f) {
  if (f == NULL)
    return;
  if (listening_door == f)
    listening_door = NULL;
  f->listener = NULL;
  event_free(f->resume);
  f->resume = NULL;
  f->freed = 1;
  if (f->connections == 0)
    free(f);
}
