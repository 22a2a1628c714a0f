#include "select.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct matcher {
  int set;
  int is_regex;
  char *exact;
  regex_t re;
} matcher_t;

typedef struct rule {
  matcher_t fields[AN_FIELDS];
} rule_t;

struct an_select {
  rule_t *rules;
  size_t n;
};

static const char *const field_names[AN_FIELDS] = {
    "Host", "Plugin", "PluginInstance", "Type", "TypeInstance"};

an_select_t *an_select_create(void) { return calloc(1, sizeof(an_select_t)); }

void an_select_free(an_select_t *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n; i++)
    for (int f = 0; f < AN_FIELDS; f++) {
      matcher_t *m = &s->rules[i].fields[f];
      if (m->is_regex)
        regfree(&m->re);
      free(m->exact);
    }
  free(s->rules);
  free(s);
}

int an_select_add_rule(an_select_t *s) {
  rule_t *r = realloc(s->rules, (s->n + 1) * sizeof(*r));
  if (r == NULL)
    return ENOMEM;
  s->rules = r;
  memset(&s->rules[s->n++], 0, sizeof(rule_t));
  return 0;
}

int an_select_field(const char *key) {
  for (int f = 0; f < AN_FIELDS; f++)
    if (strcasecmp(key, field_names[f]) == 0)
      return f;
  return -1;
}

int an_select_set(an_select_t *s, int field, const char *pattern, char *err,
                  size_t errlen) {
  if (s->n == 0 || field < 0 || field >= AN_FIELDS) {
    snprintf(err, errlen, "no <Select> rule to set");
    return EINVAL;
  }
  matcher_t *m = &s->rules[s->n - 1].fields[field];
  if (m->set) {
    snprintf(err, errlen, "%s given twice in one <Select>", field_names[field]);
    return EINVAL;
  }
  size_t len = strlen(pattern);
  if (len >= 2 && pattern[0] == '/' && pattern[len - 1] == '/') {
    char *body = strndup(pattern + 1, len - 2);
    int rc = body != NULL ? regcomp(&m->re, body, REG_EXTENDED | REG_NOSUB)
                          : REG_ESPACE;
    free(body);
    if (rc != 0) {
      char why[128];
      regerror(rc, &m->re, why, sizeof(why));
      snprintf(err, errlen, "%s %s is not a valid regular expression: %s",
               field_names[field], pattern, why);
      return EINVAL;
    }
    m->is_regex = 1;
  } else if ((m->exact = strdup(pattern)) == NULL) {
    snprintf(err, errlen, "out of memory");
    return ENOMEM;
  }
  m->set = 1;
  return 0;
}

static int matches(const matcher_t *m, const char *value) {
  if (!m->set)
    return 1;
  if (value == NULL)
    value = "";
  if (m->is_regex)
    return regexec(&m->re, value, 0, NULL, 0) == 0;
  return strcmp(m->exact, value) == 0;
}

int an_select_match(const an_select_t *s, const char *const fields[AN_FIELDS]) {
  if (s == NULL || s->n == 0)
    return 1;
  for (size_t i = 0; i < s->n; i++) {
    int all = 1;
    for (int f = 0; f < AN_FIELDS && all; f++)
      all = matches(&s->rules[i].fields[f], fields[f]);
    if (all)
      return 1;
  }
  return 0;
}
