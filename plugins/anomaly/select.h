/* select.h: which series the plugin scores. A rule names the host,
 * plugin, plugin instance, type and type instance it matches, each exactly
 * or as a /regular expression/ (as collectd's match plugins write them);
 * an unset field matches anything. A series is scored when any rule
 * matches it, or when there are no rules. */
#ifndef AN_SELECT_H
#define AN_SELECT_H

#include <stddef.h>

enum {
  AN_FIELD_HOST,
  AN_FIELD_PLUGIN,
  AN_FIELD_PLUGIN_INSTANCE,
  AN_FIELD_TYPE,
  AN_FIELD_TYPE_INSTANCE,
  AN_FIELDS
};

typedef struct an_select an_select_t;

an_select_t *an_select_create(void);
void an_select_free(an_select_t *s); /* accepts NULL */

/* Starts a new rule; the next an_select_set() calls fill it. Returns 0 or
 * ENOMEM. */
int an_select_add_rule(an_select_t *s);

/* Sets field of the last rule to pattern ("cpu" or "/^cpu-[0-9]+$/").
 * Returns 0, or EINVAL with the reason in err (a bad regular expression,
 * no rule started). */
int an_select_set(an_select_t *s, int field, const char *pattern, char *err,
                  size_t errlen);

/* The field index of a config key ("Host", "PluginInstance", …; any case),
 * -1 if none. */
int an_select_field(const char *key);

/* Whether a series with these fields (NULL or "" for unset) is selected. */
int an_select_match(const an_select_t *s, const char *const fields[AN_FIELDS]);

#endif
