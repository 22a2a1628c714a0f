/* collectd_mock.c: the part of collectd's API the anomaly plugin calls,
 * recording instead of acting (in the manner of collectd's own
 * src/daemon/plugin_mock.c). The value cache computes rates the way
 * collectd's utils_cache.c does, since the plugin scores them. */
#include "collectd_mock.h"

#include <collectd/core/daemon/configfile.h>
#include <collectd/core/daemon/utils_cache.h>
#include <collectd/core/utils/common/common.h>
#include <collectd/core/utils/metadata/meta_data.h>

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A test that runs out of memory has no result to give. */
static void *must(void *p) {
  if (p == NULL)
    abort();
  return p;
}

/* collectd's Hostname; the host the tests' values come from */
static char mock_hostname[] = "host-a";
char *hostname_g = mock_hostname;

/* ---- registered callbacks ---- */

static int (*config_cb)(oconfig_item_t *);
static plugin_init_cb init_cb;
static plugin_shutdown_cb shutdown_cb;
static plugin_write_cb write_cb;
static plugin_missing_cb missing_cb;
static plugin_read_cb read_cb;

int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *)) {
  config_cb = callback;
  return 0;
}

int plugin_register_init(const char *name, plugin_init_cb callback) {
  init_cb = callback;
  return 0;
}

int plugin_register_shutdown(const char *name, plugin_shutdown_cb callback) {
  shutdown_cb = callback;
  return 0;
}

/* The mock keeps no user data: the plugin registers none that owns memory. */
int plugin_register_write(const char *name, plugin_write_cb callback,
                          user_data_t const *ud) {
  write_cb = callback;
  return 0;
}

int plugin_register_missing(const char *name, plugin_missing_cb callback,
                            user_data_t const *ud) {
  missing_cb = callback;
  return 0;
}

int plugin_register_complex_read(const char *group, const char *name,
                                 plugin_read_cb callback, cdtime_t interval,
                                 user_data_t const *ud) {
  read_cb = callback;
  return 0;
}

int mock_config(oconfig_item_t *ci) { return config_cb ? config_cb(ci) : -1; }
int mock_init(void) { return init_cb ? init_cb() : -1; }
int mock_shutdown(void) { return shutdown_cb ? shutdown_cb() : -1; }

int mock_read(void) {
  user_data_t ud = {0};
  return read_cb ? read_cb(&ud) : -1;
}

int mock_missing(const value_list_t *vl) {
  return missing_cb ? missing_cb(vl, NULL) : -1;
}

/* ---- meta data (opaque in collectd: the mock's own list) ---- */

struct meta_data_s {
  struct meta_entry {
    char *key;
    int type; /* MD_TYPE_* */
    union {
      char *string;
      double dbl;
      bool boolean;
    } v;
    struct meta_entry *next;
  } * head;
};

meta_data_t *meta_data_create(void) {
  return must(calloc(1, sizeof(meta_data_t)));
}

void meta_data_destroy(meta_data_t *md) {
  if (md == NULL)
    return;
  for (struct meta_entry *e = md->head, *next; e != NULL; e = next) {
    next = e->next;
    if (e->type == MD_TYPE_STRING)
      free(e->v.string);
    free(e->key);
    free(e);
  }
  free(md);
}

static struct meta_entry *meta_find(meta_data_t *md, const char *key) {
  for (struct meta_entry *e = md != NULL ? md->head : NULL; e != NULL;
       e = e->next)
    if (strcmp(e->key, key) == 0)
      return e;
  return NULL;
}

int meta_data_exists(meta_data_t *md, const char *key) {
  return meta_find(md, key) != NULL;
}

static struct meta_entry *meta_add(meta_data_t *md, const char *key, int type) {
  struct meta_entry *e = must(calloc(1, sizeof(*e)));
  e->key = must(strdup(key));
  e->type = type;
  e->next = md->head;
  md->head = e;
  return e;
}

int meta_data_add_boolean(meta_data_t *md, const char *key, bool value) {
  meta_add(md, key, MD_TYPE_BOOLEAN)->v.boolean = value;
  return 0;
}

int meta_data_get_boolean(meta_data_t *md, const char *key, bool *value) {
  struct meta_entry *e = meta_find(md, key);
  if (e == NULL || e->type != MD_TYPE_BOOLEAN)
    return -ENOENT;
  *value = e->v.boolean;
  return 0;
}

meta_data_t *meta_data_clone(meta_data_t *orig) {
  if (orig == NULL)
    return NULL;
  meta_data_t *copy = meta_data_create();
  for (struct meta_entry *e = orig->head; e != NULL; e = e->next) {
    struct meta_entry *c = meta_add(copy, e->key, e->type);
    c->v = e->v;
    if (e->type == MD_TYPE_STRING)
      c->v.string = must(strdup(e->v.string));
  }
  return copy;
}

/* ---- notifications ---- */

static notification_meta_t *notification_meta_add(notification_t *n,
                                                  const char *name, int type) {
  notification_meta_t *m = must(calloc(1, sizeof(*m)));
  sstrncpy(m->name, name, sizeof(m->name));
  m->type = type;
  notification_meta_t **tail = &n->meta;
  while (*tail != NULL)
    tail = &(*tail)->next;
  *tail = m;
  return m;
}

int plugin_notification_meta_add_string(notification_t *n, const char *name,
                                        const char *value) {
  notification_meta_add(n, name, NM_TYPE_STRING)->nm_value.nm_string =
      must(strdup(value));
  return 0;
}

int plugin_notification_meta_add_double(notification_t *n, const char *name,
                                        double value) {
  notification_meta_add(n, name, NM_TYPE_DOUBLE)->nm_value.nm_double = value;
  return 0;
}

int plugin_notification_meta_free(notification_meta_t *m) {
  while (m != NULL) {
    notification_meta_t *next = m->next;
    if (m->type == NM_TYPE_STRING)
      free((char *)m->nm_value.nm_string);
    free(m);
    m = next;
  }
  return 0;
}

static notification_t *notifications;
static size_t notifications_num;

int plugin_dispatch_notification(const notification_t *n) {
  notifications = must(
      realloc(notifications, (notifications_num + 1) * sizeof(notification_t)));
  notification_t *copy = &notifications[notifications_num++];
  *copy = *n;
  copy->meta = NULL;
  for (const notification_meta_t *m = n->meta; m != NULL; m = m->next) {
    if (m->type == NM_TYPE_STRING)
      plugin_notification_meta_add_string(copy, m->name, m->nm_value.nm_string);
    else
      notification_meta_add(copy, m->name, m->type)->nm_value = m->nm_value;
  }
  return 0;
}

size_t mock_notifications_num(void) { return notifications_num; }

const notification_t *mock_notification(size_t i) {
  return i < notifications_num ? &notifications[i] : NULL;
}

const notification_meta_t *mock_notification_meta(const notification_t *n,
                                                  const char *name) {
  for (const notification_meta_t *m = n->meta; m != NULL; m = m->next)
    if (strcmp(m->name, name) == 0)
      return m;
  return NULL;
}

/* ---- values ---- */

static value_list_t *values;
static size_t values_num;

int plugin_dispatch_values(value_list_t const *vl) {
  values = must(realloc(values, (values_num + 1) * sizeof(value_list_t)));
  value_list_t *copy = &values[values_num++];
  *copy = *vl;
  copy->values = must(malloc(vl->values_len * sizeof(value_t)));
  memcpy(copy->values, vl->values, vl->values_len * sizeof(value_t));
  copy->meta = meta_data_clone(vl->meta);
  return 0;
}

size_t mock_values_num(void) { return values_num; }

const value_list_t *mock_value(size_t i) {
  return i < values_num ? &values[i] : NULL;
}

/* ---- data sets and the value cache ---- */

#define MOCK_DATA_SETS 16
static const data_set_t *data_sets[MOCK_DATA_SETS];

void mock_register_data_set(const data_set_t *ds) {
  for (size_t i = 0; i < MOCK_DATA_SETS; i++)
    if (data_sets[i] == NULL || data_sets[i] == ds) {
      data_sets[i] = ds;
      return;
    }
  abort();
}

const data_set_t *plugin_get_ds(const char *name) {
  for (size_t i = 0; i < MOCK_DATA_SETS && data_sets[i] != NULL; i++)
    if (strcmp(data_sets[i]->type, name) == 0)
      return data_sets[i];
  return NULL;
}

/* One entry per identifier: the last raw values and the rates. */
typedef struct cache_entry {
  char name[6 * DATA_MAX_NAME_LEN];
  cdtime_t last_time;
  size_t n;
  value_t *raw;
  gauge_t *rates;
  struct cache_entry *next;
} cache_entry_t;

static cache_entry_t *cache;

static void cache_name(char *buf, size_t len, const value_list_t *vl) {
  snprintf(buf, len, "%s/%s-%s/%s-%s", vl->host, vl->plugin,
           vl->plugin_instance, vl->type, vl->type_instance);
}

static cache_entry_t *cache_find(const value_list_t *vl) {
  char name[6 * DATA_MAX_NAME_LEN];
  cache_name(name, sizeof(name), vl);
  for (cache_entry_t *c = cache; c != NULL; c = c->next)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

counter_t counter_diff(counter_t old, counter_t new) {
  if (old <= new)
    return new - old;
  /* a wrap: of a 32-bit counter if the old value fits in 32 bits */
  counter_t top = old <= UINT32_MAX ? UINT32_MAX : UINT64_MAX;
  return top - old + new + 1;
}

/* collectd's uc_update(): a new entry has no rate yet (NaN, a GAUGE its
 * value); a rate outside the data source's min and max is NaN. */
static int cache_update(const data_set_t *ds, const value_list_t *vl) {
  cache_entry_t *c = cache_find(vl);
  if (c == NULL) {
    c = must(calloc(1, sizeof(*c)));
    cache_name(c->name, sizeof(c->name), vl);
    c->n = ds->ds_num;
    c->raw = must(calloc(c->n, sizeof(value_t)));
    c->rates = must(calloc(c->n, sizeof(gauge_t)));
    for (size_t i = 0; i < c->n; i++) {
      c->raw[i] = vl->values[i];
      c->rates[i] = ds->ds[i].type == DS_TYPE_GAUGE ? vl->values[i].gauge : NAN;
    }
    c->last_time = vl->time;
    c->next = cache;
    cache = c;
    return 0;
  }
  if (c->last_time >= vl->time)
    return -1; /* collectd: "Value too old" */
  double dt = CDTIME_T_TO_DOUBLE(vl->time - c->last_time);
  for (size_t i = 0; i < c->n; i++) {
    const value_t *v = &vl->values[i];
    switch (ds->ds[i].type) {
    case DS_TYPE_GAUGE:
      c->rates[i] = v->gauge;
      break;
    case DS_TYPE_COUNTER:
      c->rates[i] = (double)counter_diff(c->raw[i].counter, v->counter) / dt;
      break;
    case DS_TYPE_DERIVE:
      c->rates[i] = (double)(v->derive - c->raw[i].derive) / dt;
      break;
    case DS_TYPE_ABSOLUTE:
      c->rates[i] = (double)v->absolute / dt;
      break;
    }
    c->raw[i] = *v;
    if ((!isnan(ds->ds[i].min) && c->rates[i] < ds->ds[i].min) ||
        (!isnan(ds->ds[i].max) && c->rates[i] > ds->ds[i].max))
      c->rates[i] = NAN;
  }
  c->last_time = vl->time;
  return 0;
}

gauge_t *uc_get_rate(const data_set_t *ds, const value_list_t *vl) {
  cache_entry_t *c = cache_find(vl);
  if (c == NULL || c->n != ds->ds_num)
    return NULL;
  gauge_t *out = must(malloc(c->n * sizeof(gauge_t)));
  memcpy(out, c->rates, c->n * sizeof(gauge_t));
  return out;
}

int mock_write(const data_set_t *ds, const value_list_t *vl) {
  if (cache_update(ds, vl) != 0)
    return -1;
  return write_cb ? write_cb(ds, vl, NULL) : -1;
}

/* ---- logging ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_line {
  int level;
  char *text;
} * log_lines;
static size_t log_num;

void plugin_log(int level, const char *format, ...) {
  char text[1024]; /* collectd's limit too */
  va_list ap;
  va_start(ap, format);
  vsnprintf(text, sizeof(text), format, ap);
  va_end(ap);
  pthread_mutex_lock(&log_lock);
  log_lines = must(realloc(log_lines, (log_num + 1) * sizeof(*log_lines)));
  log_lines[log_num++] = (struct log_line){level, must(strdup(text))};
  pthread_mutex_unlock(&log_lock);
}

size_t mock_logged_count(int level, const char *needle) {
  size_t n = 0;
  pthread_mutex_lock(&log_lock);
  for (size_t i = 0; i < log_num; i++)
    n += log_lines[i].level == level &&
         strstr(log_lines[i].text, needle) != NULL;
  pthread_mutex_unlock(&log_lock);
  return n;
}

bool mock_logged(int level, const char *needle) {
  return mock_logged_count(level, needle) > 0;
}

void mock_reset(void) {
  for (size_t i = 0; i < notifications_num; i++)
    plugin_notification_meta_free(notifications[i].meta);
  free(notifications);
  notifications = NULL;
  notifications_num = 0;
  for (size_t i = 0; i < values_num; i++) {
    free(values[i].values);
    meta_data_destroy(values[i].meta);
  }
  free(values);
  values = NULL;
  values_num = 0;
  while (cache != NULL) {
    cache_entry_t *next = cache->next;
    free(cache->raw);
    free(cache->rates);
    free(cache);
    cache = next;
  }
  pthread_mutex_lock(&log_lock);
  for (size_t i = 0; i < log_num; i++)
    free(log_lines[i].text);
  free(log_lines);
  log_lines = NULL;
  log_num = 0;
  pthread_mutex_unlock(&log_lock);
}

/* ---- configuration ---- */

/* collectd's cf_util_get_*: exactly one argument of the right type. */
static int one_value(const oconfig_item_t *ci, int type, const char *what) {
  if (ci->values_num == 1 && ci->values[0].type == type)
    return 0;
  plugin_log(LOG_ERR, "The \"%s\" option needs exactly one %s argument.",
             ci->key, what);
  return -1;
}

int cf_util_get_string(const oconfig_item_t *ci, char **ret_string) {
  if (one_value(ci, OCONFIG_TYPE_STRING, "string") != 0)
    return -1;
  char *copy = must(strdup(ci->values[0].value.string));
  free(*ret_string); /* as collectd: a repeated option replaces */
  *ret_string = copy;
  return 0;
}

int cf_util_get_int(const oconfig_item_t *ci, int *ret_value) {
  if (one_value(ci, OCONFIG_TYPE_NUMBER, "numeric") != 0)
    return -1;
  *ret_value = (int)ci->values[0].value.number;
  return 0;
}

int cf_util_get_double(const oconfig_item_t *ci, double *ret_value) {
  if (one_value(ci, OCONFIG_TYPE_NUMBER, "numeric") != 0)
    return -1;
  *ret_value = ci->values[0].value.number;
  return 0;
}

/* collectd also takes the strings "true", "yes", "on" and their opposites. */
int cf_util_get_boolean(const oconfig_item_t *ci, bool *ret_bool) {
  static const char *yes[] = {"true", "yes", "on"},
                    *no[] = {"false", "no", "off"};
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_BOOLEAN) {
    *ret_bool = ci->values[0].value.boolean != 0;
    return 0;
  }
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_STRING)
    for (size_t i = 0; i < 3; i++) {
      if (strcasecmp(ci->values[0].value.string, yes[i]) == 0)
        return *ret_bool = true, 0;
      if (strcasecmp(ci->values[0].value.string, no[i]) == 0)
        return *ret_bool = false, 0;
    }
  return one_value(ci, OCONFIG_TYPE_BOOLEAN, "boolean");
}

oconfig_item_t *mock_ci_create(const char *key) {
  oconfig_item_t *ci = must(calloc(1, sizeof(*ci)));
  ci->key = must(strdup(key));
  return ci;
}

oconfig_item_t *mock_ci_add(oconfig_item_t *parent, const char *key) {
  parent->children = must(realloc(
      parent->children, (parent->children_num + 1) * sizeof(oconfig_item_t)));
  /* the array moved: the grandchildren's parent did too */
  for (int i = 0; i < parent->children_num; i++)
    for (int j = 0; j < parent->children[i].children_num; j++)
      parent->children[i].children[j].parent = &parent->children[i];
  oconfig_item_t *ci = &parent->children[parent->children_num++];
  *ci = (oconfig_item_t){.key = must(strdup(key)), .parent = parent};
  return ci;
}

static oconfig_value_t *ci_value(oconfig_item_t *ci, int type) {
  ci->values =
      must(realloc(ci->values, (ci->values_num + 1) * sizeof(oconfig_value_t)));
  oconfig_value_t *v = &ci->values[ci->values_num++];
  v->type = type;
  return v;
}

void mock_ci_string(oconfig_item_t *ci, const char *value) {
  ci_value(ci, OCONFIG_TYPE_STRING)->value.string = must(strdup(value));
}

void mock_ci_number(oconfig_item_t *ci, double value) {
  ci_value(ci, OCONFIG_TYPE_NUMBER)->value.number = value;
}

void mock_ci_boolean(oconfig_item_t *ci, bool value) {
  ci_value(ci, OCONFIG_TYPE_BOOLEAN)->value.boolean = value;
}

static void ci_free_members(oconfig_item_t *ci) {
  for (int i = 0; i < ci->values_num; i++)
    if (ci->values[i].type == OCONFIG_TYPE_STRING)
      free(ci->values[i].value.string);
  free(ci->values);
  for (int i = 0; i < ci->children_num; i++)
    ci_free_members(&ci->children[i]);
  free(ci->children);
  free(ci->key);
}

void mock_ci_free(oconfig_item_t *ci) {
  if (ci == NULL)
    return;
  ci_free_members(ci);
  free(ci);
}

/* ---- utilities ---- */

cdtime_t cdtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TIMESPEC_TO_CDTIME_T(&ts);
}

char *sstrncpy(char *dest, const char *src, size_t n) {
  if (n == 0)
    return dest;
  size_t len = strnlen(src, n - 1);
  memcpy(dest, src, len);
  dest[len] = '\0';
  return dest;
}
