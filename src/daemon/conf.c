/* conf.c: anomalyd.conf. collectd's block syntax is parsed into a small
 * tree first (so syntax errors and meaning errors are reported the same
 * way, with file and line), then read into an_config_t. */
#include "conf.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

typedef struct value {
  char *text;
  int quoted; /* "…" strings are never numbers or booleans */
} value_t;

typedef struct node {
  char *key;
  value_t *values;
  size_t nvalues;
  struct node *children; /* a <Block> */
  size_t nchildren;
  int is_block;
  int line;
} node_t;

typedef struct parser {
  const char *file;
  char *err;
  size_t errlen;
  int public_url_set; /* else links follow Listen */
} parser_t;

static int fail(parser_t *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(parser_t *p, int line, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  snprintf(p->err, p->errlen, "%s:%d: %s", p->file, line, msg);
  return EINVAL;
}

static void node_free(node_t *n) {
  for (size_t i = 0; i < n->nvalues; i++)
    free(n->values[i].text);
  free(n->values);
  for (size_t i = 0; i < n->nchildren; i++)
    node_free(&n->children[i]);
  free(n->children);
  free(n->key);
}

static int push_value(node_t *n, const char *text, size_t len, int quoted) {
  value_t *v = realloc(n->values, (n->nvalues + 1) * sizeof(*v));
  if (v == NULL)
    return ENOMEM;
  n->values = v;
  v[n->nvalues].text = strndup(text, len);
  v[n->nvalues].quoted = quoted;
  if (v[n->nvalues].text == NULL)
    return ENOMEM;
  n->nvalues++;
  return 0;
}

/* Splits one line into a key and values. Returns 0 (n->key NULL for a
 * blank or comment line) or EINVAL with the reason in p->err. */
static int tokenize(parser_t *p, int line, const char *s, node_t *n) {
  char buf[4096];
  memset(n, 0, sizeof(*n));
  n->line = line;
  while (*s != '\0') {
    while (isspace((unsigned char)*s))
      s++;
    if (*s == '\0' || *s == '#')
      break;
    if (*s == '"') {
      size_t len = 0;
      for (s++; *s != '"'; s++) {
        if (*s == '\0')
          return fail(p, line, "unterminated string");
        if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
          s++;
        if (len + 1 >= sizeof(buf))
          return fail(p, line, "string too long");
        buf[len++] = *s;
      }
      s++;
      if (n->key == NULL)
        return fail(p, line, "a line must start with a key, not a string");
      if (push_value(n, buf, len, 1) != 0)
        return fail(p, line, "out of memory");
    } else {
      const char *start = s;
      while (*s != '\0' && !isspace((unsigned char)*s) && *s != '"' &&
             *s != '#')
        s++;
      if (n->key == NULL) {
        n->key = strndup(start, (size_t)(s - start));
        if (n->key == NULL)
          return fail(p, line, "out of memory");
      } else if (push_value(n, start, (size_t)(s - start), 0) != 0) {
        return fail(p, line, "out of memory");
      }
    }
  }
  return 0;
}

static int add_child(node_t *parent, node_t *child) {
  node_t *c = realloc(parent->children, (parent->nchildren + 1) * sizeof(*c));
  if (c == NULL)
    return ENOMEM;
  parent->children = c;
  c[parent->nchildren++] = *child;
  return 0;
}

/* Reads lines into root's children, descending into <Block> … </Block>. */
static int parse_lines(parser_t *p, FILE *f, int *line, node_t *parent,
                       const char *closing) {
  char *buf = NULL;
  size_t cap = 0;
  int rc = 0;
  while (getline(&buf, &cap, f) != -1) {
    (*line)++;
    node_t n;
    if ((rc = tokenize(p, *line, buf, &n)) != 0) {
      node_free(&n);
      goto done;
    }
    if (n.key == NULL)
      continue;
    if (n.key[0] == '<' && n.key[1] == '/') {
      size_t len = strlen(n.key);
      int ok = closing != NULL && n.key[len - 1] == '>' &&
               strncasecmp(n.key + 2, closing, len - 3) == 0 &&
               strlen(closing) == len - 3 && n.nvalues == 0;
      if (!ok)
        rc = closing != NULL
                 ? fail(p, *line, "expected </%s>, found %s", closing, n.key)
                 : fail(p, *line, "%s without an opening block", n.key);
      node_free(&n);
      goto done;
    }
    if (n.key[0] == '<') {
      /* "<Name" value…">": the last token carries the '>' */
      char *last = n.nvalues > 0 ? n.values[n.nvalues - 1].text : n.key;
      size_t ll = strlen(last);
      if (n.nvalues > 0 && n.values[n.nvalues - 1].quoted) {
        free(n.key);
        n.key = NULL;
        node_free(&n);
        rc = fail(p, *line, "block opening must end with '>'");
        goto done;
      }
      if (ll == 0 || last[ll - 1] != '>') {
        node_free(&n);
        rc = fail(p, *line, "block opening must end with '>'");
        goto done;
      }
      last[ll - 1] = '\0';
      if (n.nvalues > 0 && last[0] == '\0') { /* a lone '>' token */
        free(last);
        n.nvalues--;
      }
      memmove(n.key, n.key + 1, strlen(n.key));
      if (n.key[0] == '\0') {
        node_free(&n);
        rc = fail(p, *line, "block without a name");
        goto done;
      }
      n.is_block = 1;
      if ((rc = parse_lines(p, f, line, &n, n.key)) != 0) {
        node_free(&n);
        goto done;
      }
    }
    if (add_child(parent, &n) != 0) {
      node_free(&n);
      rc = fail(p, *line, "out of memory");
      goto done;
    }
  }
  if (closing != NULL)
    rc = fail(p, *line, "missing </%s> at end of file", closing);
done:
  free(buf);
  return rc;
}

/* ---- typed values ---- */

static int want_values(parser_t *p, const node_t *n, size_t count) {
  if (n->nvalues != count)
    return fail(p, n->line, "%s takes %zu value%s, found %zu", n->key, count,
                count == 1 ? "" : "s", n->nvalues);
  return 0;
}

static int get_string(parser_t *p, const node_t *n, char **out) {
  if (want_values(p, n, 1) != 0)
    return EINVAL;
  if (!n->values[0].quoted)
    return fail(p, n->line, "%s needs a string in double quotes", n->key);
  char *s = strdup(n->values[0].text);
  if (s == NULL)
    return fail(p, n->line, "out of memory");
  free(*out);
  *out = s;
  return 0;
}

static int parse_double(const value_t *v, double *out) {
  char *end;
  if (v->quoted || v->text[0] == '\0')
    return EINVAL;
  errno = 0;
  double d = strtod(v->text, &end);
  if (*end != '\0' || errno != 0 || !isfinite(d))
    return EINVAL;
  *out = d;
  return 0;
}

static int get_number(parser_t *p, const node_t *n, double min, double max,
                      double *out) {
  double d;
  if (want_values(p, n, 1) != 0)
    return EINVAL;
  if (parse_double(&n->values[0], &d) != 0)
    return fail(p, n->line, "%s: '%s' is not a number", n->key,
                n->values[0].text);
  if (d < min || d > max)
    return fail(p, n->line, "%s must be between %g and %g, not %g", n->key, min,
                max, d);
  *out = d;
  return 0;
}

static int get_size(parser_t *p, const node_t *n, double min, double max,
                    size_t *out) {
  double d;
  if (get_number(p, n, min, max, &d) != 0)
    return EINVAL;
  if (d != floor(d))
    return fail(p, n->line, "%s must be a whole number", n->key);
  *out = (size_t)d;
  return 0;
}

/* A whole number of seconds, 1 to an hour: a connection's deadlines. */
static int get_seconds(parser_t *p, const node_t *n, int *out) {
  size_t t;
  if (get_size(p, n, 1, 3600, &t) != 0)
    return EINVAL;
  *out = (int)t;
  return 0;
}

static int get_bool(parser_t *p, const node_t *n, int *out) {
  if (want_values(p, n, 1) != 0)
    return EINVAL;
  const char *t = n->values[0].text;
  if (!n->values[0].quoted && strcasecmp(t, "true") == 0)
    *out = 1;
  else if (!n->values[0].quoted && strcasecmp(t, "false") == 0)
    *out = 0;
  else
    return fail(p, n->line, "%s must be true or false, not '%s'", n->key, t);
  return 0;
}

/* <Block "name">: the one quoted name. */
static int block_name(parser_t *p, const node_t *n, char **out) {
  if (n->nvalues != 1 || !n->values[0].quoted || n->values[0].text[0] == '\0')
    return fail(p, n->line, "<%s> needs one name in double quotes", n->key);
  *out = strdup(n->values[0].text);
  return *out == NULL ? fail(p, n->line, "out of memory") : 0;
}

static int not_block(parser_t *p, const node_t *n) {
  if (n->is_block)
    return fail(p, n->line, "%s is an option, not a block", n->key);
  return 0;
}

/* ---- the sections ---- */

static int read_api_key(parser_t *p, const node_t *b, an_config_t *c) {
  an_api_key_t k = {.role = AN_ROLE_NONE};
  int rc = block_name(p, b, &k.name);
  for (size_t i = 0; rc == 0 && i < b->nchildren; i++) {
    const node_t *n = &b->children[i];
    if ((rc = not_block(p, n)) != 0)
      break;
    if (strcasecmp(n->key, "Secret") == 0) {
      rc = get_string(p, n, &k.secret);
      if (rc == 0 && strlen(k.secret) < 8)
        rc = fail(p, n->line,
                  "Secret of ApiKey \"%s\" is shorter than 8 "
                  "characters",
                  k.name);
    } else if (strcasecmp(n->key, "Role") == 0) {
      char *role = NULL;
      rc = get_string(p, n, &role);
      if (rc == 0 && strcasecmp(role, "admin") == 0)
        k.role = AN_ROLE_ADMIN;
      else if (rc == 0 && strcasecmp(role, "stream") == 0)
        k.role = AN_ROLE_STREAM;
      else if (rc == 0 && strcasecmp(role, "ingest") == 0)
        k.role = AN_ROLE_INGEST;
      else if (rc == 0)
        rc = fail(p, n->line,
                  "Role must be \"admin\", \"stream\" or \"ingest\", not "
                  "\"%s\"",
                  role);
      free(role);
    } else {
      rc = fail(p, n->line, "unknown option %s in <ApiKey>", n->key);
    }
  }
  if (rc == 0 && k.secret == NULL)
    rc = fail(p, b->line, "ApiKey \"%s\" has no Secret", k.name);
  if (rc == 0 && k.role == AN_ROLE_NONE)
    rc = fail(p, b->line, "ApiKey \"%s\" has no Role", k.name);
  for (size_t i = 0; rc == 0 && i < c->nkeys; i++) {
    if (strcmp(c->keys[i].name, k.name) == 0)
      rc = fail(p, b->line, "ApiKey \"%s\" is defined twice", k.name);
    else if (strcmp(c->keys[i].secret, k.secret) == 0)
      rc = fail(p, b->line, "ApiKey \"%s\" has the same Secret as \"%s\"",
                k.name, c->keys[i].name);
  }
  if (rc == 0) {
    an_api_key_t *keys = realloc(c->keys, (c->nkeys + 1) * sizeof(*keys));
    if (keys == NULL)
      rc = fail(p, b->line, "out of memory");
    else {
      c->keys = keys;
      c->keys[c->nkeys++] = k;
      return 0;
    }
  }
  free(k.name);
  free(k.secret);
  return rc;
}

static int read_source(parser_t *p, const node_t *b, an_config_t *c) {
  char *name = NULL;
  if (block_name(p, b, &name) != 0)
    return EINVAL;
  if (b->nchildren > 0) {
    free(name);
    return fail(p, b->children[0].line, "unknown option %s in <Source>",
                b->children[0].key);
  }
  char **s = realloc(c->sources, (c->nsources + 1) * sizeof(*s));
  if (s == NULL) {
    free(name);
    return fail(p, b->line, "out of memory");
  }
  c->sources = s;
  c->sources[c->nsources++] = name;
  return 0;
}

int an_config_channel_type_valid(const char *type) {
  return strcmp(type, "slack") == 0 || strcmp(type, "pagerduty") == 0 ||
         strcmp(type, "webhook") == 0;
}

int an_config_channel_url_valid(const char *url) {
  if (strlen(url) > AN_CHANNEL_URL_MAX)
    return 0;
  /* parsed as curl will when it posts, so what it would refuse (no host,
   * a space, another scheme) fails here, not on every delivery */
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  int ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
           (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
           host[0] != '\0';
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return ok;
}

static int read_channel(parser_t *p, const node_t *b, an_config_t *c) {
  an_channel_conf_t ch = {0};
  int rc = block_name(p, b, &ch.name);
  for (size_t i = 0; rc == 0 && i < b->nchildren; i++) {
    const node_t *n = &b->children[i];
    if ((rc = not_block(p, n)) != 0)
      break;
    if (strcasecmp(n->key, "Type") == 0) {
      rc = get_string(p, n, &ch.type);
      if (rc == 0 && !an_config_channel_type_valid(ch.type))
        rc = fail(p, n->line,
                  "Type must be \"slack\", \"pagerduty\" or "
                  "\"webhook\", not \"%s\"",
                  ch.type);
    } else if (strcasecmp(n->key, "URL") == 0) {
      rc = get_string(p, n, &ch.url);
      if (rc == 0 && !an_config_channel_url_valid(ch.url))
        rc = fail(p, n->line,
                  "URL must be an http:// or https:// URL with a "
                  "host, at most %d bytes",
                  AN_CHANNEL_URL_MAX);
    } else if (strcasecmp(n->key, "RoutingKey") == 0) {
      rc = get_string(p, n, &ch.routing_key);
    } else {
      rc = fail(p, n->line, "unknown option %s in <Channel>", n->key);
    }
  }
  if (rc == 0 && ch.type == NULL)
    rc = fail(p, b->line, "Channel \"%s\" has no Type", ch.name);
  if (rc == 0 && ch.url == NULL)
    rc = fail(p, b->line, "Channel \"%s\" has no URL", ch.name);
  if (rc == 0 && strcmp(ch.type, "pagerduty") == 0 && ch.routing_key == NULL)
    rc =
        fail(p, b->line,
             "Channel \"%s\" of Type \"pagerduty\" has no RoutingKey", ch.name);
  for (size_t i = 0; rc == 0 && i < c->nchannels; i++)
    if (strcmp(c->channels[i].name, ch.name) == 0)
      rc = fail(p, b->line, "Channel \"%s\" is defined twice", ch.name);
  if (rc == 0) {
    an_channel_conf_t *chs =
        realloc(c->channels, (c->nchannels + 1) * sizeof(*chs));
    if (chs != NULL) {
      c->channels = chs;
      c->channels[c->nchannels++] = ch;
      return 0;
    }
    rc = fail(p, b->line, "out of memory");
  }
  free(ch.name);
  free(ch.type);
  free(ch.url);
  free(ch.routing_key);
  return rc;
}

static int read_severity(parser_t *p, const node_t *b, an_config_t *c) {
  if (b->nvalues != 0)
    return fail(p, b->line, "<Severity> takes no name");
  for (size_t i = 0; i < b->nchildren; i++) {
    const node_t *n = &b->children[i];
    double *band = strcasecmp(n->key, "Low") == 0        ? &c->bands.low
                   : strcasecmp(n->key, "Medium") == 0   ? &c->bands.medium
                   : strcasecmp(n->key, "High") == 0     ? &c->bands.high
                   : strcasecmp(n->key, "Critical") == 0 ? &c->bands.critical
                                                         : NULL;
    if (band == NULL)
      return fail(p, n->line, "unknown option %s in <Severity>", n->key);
    if (not_block(p, n) != 0 || get_number(p, n, 0, 1, band) != 0)
      return EINVAL;
  }
  if (an_severity_check_bands(&c->bands) != 0)
    return fail(p, b->line,
                "Severity bands must rise: 0 < Low < Medium < "
                "High < Critical <= 1");
  return 0;
}

static int read_log_level(parser_t *p, const node_t *n, an_config_t *c) {
  static const struct {
    const char *name;
    int level;
  } levels[] = {{"error", LOG_ERR},
                {"warning", LOG_WARNING},
                {"notice", LOG_NOTICE},
                {"info", LOG_INFO},
                {"debug", LOG_DEBUG}};
  char *name = NULL;
  if (get_string(p, n, &name) != 0)
    return EINVAL;
  for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
    if (strcasecmp(name, levels[i].name) == 0) {
      c->log_level = levels[i].level;
      free(name);
      return 0;
    }
  fail(p, n->line,
       "LogLevel must be error, warning, notice, info or debug, "
       "not \"%s\"",
       name);
  free(name);
  return EINVAL;
}

static int read_listen(parser_t *p, const node_t *n, an_config_t *c) {
  double port;
  if (n->nvalues < 1 || n->nvalues > 2)
    return fail(p, n->line, "Listen takes an address and a port");
  if (!n->values[0].quoted || n->values[0].text[0] == '\0')
    return fail(p, n->line, "Listen needs the address in double quotes");
  if (n->nvalues == 2) {
    if (parse_double(&n->values[1], &port) != 0 || port != floor(port) ||
        port < 1 || port > 65535)
      return fail(p, n->line, "Listen port must be 1 to 65535, not '%s'",
                  n->values[1].text);
    c->listen_port = (int)port;
  }
  char *host = strdup(n->values[0].text);
  if (host == NULL)
    return fail(p, n->line, "out of memory");
  free(c->listen_host);
  c->listen_host = host;
  return 0;
}

static int read_public_url(parser_t *p, const node_t *n, an_config_t *c) {
  char *url = NULL;
  if (get_string(p, n, &url) != 0)
    return EINVAL;
  size_t len = strlen(url);
  while (len > 0 && url[len - 1] == '/') /* links append "/v1/…" */
    url[--len] = '\0';
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
    free(url);
    return fail(p, n->line, "PublicURL must start with http:// or https://");
  }
  free(c->public_url);
  c->public_url = url;
  p->public_url_set = 1;
  return 0;
}

/* Retention SECONDS, or 0 or forever: the points are kept for ever. */
static int read_retention(parser_t *p, const node_t *n, an_config_t *c) {
  if (n->nvalues == 1 && !n->values[0].quoted &&
      strcasecmp(n->values[0].text, "forever") == 0) {
    c->retention = 0;
    return 0;
  }
  return get_number(p, n, 0, 100 * 366 * 86400.0, &c->retention);
}

/* TrainInterval SECONDS: 0 (no scheduled training), or a minute to a
 * year; shorter would queue a job over everything before the last ends. */
static int read_train_interval(parser_t *p, const node_t *n, an_config_t *c) {
  if (get_number(p, n, 0, 366 * 86400.0, &c->train_interval) != 0)
    return EINVAL;
  if (c->train_interval > 0 && c->train_interval < 60)
    return fail(p, n->line, "TrainInterval must be 0 (off) or at least 60");
  return 0;
}

static int read_option(parser_t *p, const node_t *n, an_config_t *c) {
  const char *k = n->key;
  double d;
  if (n->is_block) {
    if (strcasecmp(k, "ApiKey") == 0)
      return read_api_key(p, n, c);
    if (strcasecmp(k, "Source") == 0)
      return read_source(p, n, c);
    if (strcasecmp(k, "Channel") == 0)
      return read_channel(p, n, c);
    if (strcasecmp(k, "Severity") == 0)
      return read_severity(p, n, c);
    return fail(p, n->line, "unknown block <%s>", k);
  }
  if (strcasecmp(k, "Listen") == 0)
    return read_listen(p, n, c);
  if (strcasecmp(k, "DataDir") == 0)
    return get_string(p, n, &c->data_dir);
  if (strcasecmp(k, "RRDDir") == 0)
    return get_string(p, n, &c->rrd_dir);
  if (strcasecmp(k, "AutoRegisterSources") == 0)
    return get_bool(p, n, &c->auto_register_sources);
  if (strcasecmp(k, "MetricsNeedKey") == 0)
    return get_bool(p, n, &c->metrics_need_key);
  if (strcasecmp(k, "MaxBodySize") == 0)
    return get_size(p, n, 1024, 1 << 30, &c->max_body_size);
  if (strcasecmp(k, "MaxFutureSkew") == 0)
    return get_number(p, n, 0, 366 * 86400, &c->max_future_skew);
  if (strcasecmp(k, "MaxMetricsPerPoint") == 0)
    return get_size(p, n, 1, 100000, &c->max_metrics_per_point);
  if (strcasecmp(k, "MaxSeriesPerSource") == 0)
    return get_size(p, n, 1, 10000000, &c->max_series_per_source);
  if (strcasecmp(k, "MaxHeaderSize") == 0)
    return get_size(p, n, 1024, 1 << 20, &c->max_header_size);
  if (strcasecmp(k, "Timeout") == 0)
    return get_seconds(p, n, &c->timeout);
  if (strcasecmp(k, "HeaderTimeout") == 0)
    return get_seconds(p, n, &c->header_timeout);
  if (strcasecmp(k, "MaxConnections") == 0)
    return get_size(p, n, 1, 1 << 20, &c->max_connections);
  if (strcasecmp(k, "RateLimit") == 0)
    return get_number(p, n, 0, 1e9, &c->rate_limit);
  if (strcasecmp(k, "RateBurst") == 0) {
    if (get_number(p, n, 1, 1e9, &d) != 0)
      return EINVAL;
    c->rate_burst = d;
    return 0;
  }
  if (strcasecmp(k, "Detector") == 0) {
    if (get_string(p, n, &c->detector) != 0)
      return EINVAL;
    if (an_detector_find(c->detector) == NULL)
      return fail(p, n->line, "unknown Detector \"%s\"", c->detector);
    return 0;
  }
  if (strcasecmp(k, "Threshold") == 0)
    return get_number(p, n, 0.01, 1, &c->threshold);
  if (strcasecmp(k, "LogLevel") == 0)
    return read_log_level(p, n, c);
  if (strcasecmp(k, "PublicURL") == 0)
    return read_public_url(p, n, c);
  if (strcasecmp(k, "AlertResolveAfter") == 0)
    return get_number(p, n, 0, 366 * 86400.0, &c->resolve_after);
  if (strcasecmp(k, "NotifyTimeout") == 0)
    return get_number(p, n, 1, 300, &c->notify_timeout);
  if (strcasecmp(k, "NotifyGiveUpAfter") == 0)
    return get_number(p, n, 60, 30 * 86400.0, &c->notify_give_up);
  if (strcasecmp(k, "Retention") == 0)
    return read_retention(p, n, c);
  if (strcasecmp(k, "TrainWorkers") == 0) {
    size_t w;
    if (get_size(p, n, 1, 4, &w) != 0)
      return EINVAL;
    c->train_workers = (int)w;
    return 0;
  }
  if (strcasecmp(k, "TrainInterval") == 0)
    return read_train_interval(p, n, c);
  if (strcasecmp(k, "AutoActivate") == 0)
    return get_bool(p, n, &c->auto_activate);
  return fail(p, n->line, "unknown option %s", k);
}

/* ---- public ---- */

static const char *default_data_dir(void) {
  static char buf[4096];
  const char *home = getenv("HOME");
  if (geteuid() == 0 || home == NULL || home[0] == '\0')
    return "/var/lib/anomalyd";
  snprintf(buf, sizeof(buf), "%s/.local/state/anomalyd", home);
  return buf;
}

/* Links point at the listening address unless PublicURL says otherwise. */
static int default_public_url(an_config_t *c) {
  char url[600];
  free(c->public_url);
  snprintf(url, sizeof(url), "http://%s:%d", c->listen_host, c->listen_port);
  return (c->public_url = strdup(url)) != NULL ? 0 : ENOMEM;
}

const char *an_config_role_name(an_role_t role) {
  static const char *const names[] = {"none", "ingest", "stream", "admin"};
  return role <= AN_ROLE_ADMIN ? names[role] : "none";
}

an_config_t *an_config_defaults(void) {
  an_config_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->listen_host = strdup("127.0.0.1");
  c->listen_port = 8427;
  c->data_dir = strdup(default_data_dir());
  c->max_body_size = 1 << 20;
  c->max_header_size = 16384;
  c->max_future_skew = 3600;
  c->max_metrics_per_point = 1000;
  c->max_series_per_source = 10000;
  c->timeout = 60;
  c->header_timeout = 10;
  c->max_connections = 1000;
  c->detector = strdup("default");
  c->threshold = 0.7;
  c->bands = an_severity_default_bands;
  c->log_level = LOG_INFO;
  c->resolve_after = 300;
  c->notify_timeout = 10;
  c->notify_give_up = 86400;
  c->retention = 30 * 86400;
  c->train_workers = 1;
  c->train_interval = 86400;
  c->auto_activate = 1;
  if (c->listen_host == NULL || c->data_dir == NULL || c->detector == NULL ||
      default_public_url(c) != 0) {
    an_config_free(c);
    return NULL;
  }
  return c;
}

an_config_t *an_config_load(const char *path, char *err, size_t errlen) {
  parser_t p = {.file = path, .err = err, .errlen = errlen};
  node_t root = {0};
  int line = 0;
  an_config_t *c = NULL;
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  int rc = parse_lines(&p, f, &line, &root, NULL);
  fclose(f);
  if (rc != 0)
    goto done;
  if ((c = an_config_defaults()) == NULL) {
    snprintf(err, errlen, "%s: out of memory", path);
    goto done;
  }
  for (size_t i = 0; rc == 0 && i < root.nchildren; i++)
    rc = read_option(&p, &root.children[i], c);
  if (rc == 0 && c->rate_burst == 0 && c->rate_limit > 0)
    c->rate_burst = fmax(1, 2 * c->rate_limit);
  if (rc == 0 && !p.public_url_set && default_public_url(c) != 0)
    rc = fail(&p, line, "out of memory");
  if (rc == 0 && c->threshold < c->bands.low)
    rc = fail(&p, line, "Threshold %g is below the Low severity band %g",
              c->threshold, c->bands.low);
  if (rc != 0) {
    an_config_free(c);
    c = NULL;
  }
done:
  node_free(&root);
  return c;
}

void an_config_free(an_config_t *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->nkeys; i++) {
    free(c->keys[i].name);
    free(c->keys[i].secret);
  }
  for (size_t i = 0; i < c->nsources; i++)
    free(c->sources[i]);
  for (size_t i = 0; i < c->nchannels; i++) {
    free(c->channels[i].name);
    free(c->channels[i].type);
    free(c->channels[i].url);
    free(c->channels[i].routing_key);
  }
  free(c->keys);
  free(c->sources);
  free(c->channels);
  free(c->listen_host);
  free(c->data_dir);
  free(c->rrd_dir);
  free(c->detector);
  free(c->public_url);
  free(c);
}
