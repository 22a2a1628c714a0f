/* collectd_mock.h: collectd's plugin API without collectd, so that
 * plugins/anomaly/anomaly.c is unit tested (tests/collectd_mock.c). The
 * mock records what the plugin registers, dispatches and logs; a test
 * drives the registered callbacks and inspects the records. Build with
 * collectd's headers and config.h (-DHAVE_CONFIG_H -I/usr/include/collectd),
 * as the plugin is. Not thread-safe except plugin_log(), which the
 * forwarder's thread calls. */
#ifndef AN_COLLECTD_MOCK_H
#define AN_COLLECTD_MOCK_H

#include <collectd/core/daemon/plugin.h>

#include <stdbool.h>
#include <stddef.h>

/* The callbacks the plugin's module_register() and init registered; each
 * returns what the callback returned, or -1 when none is registered. */
int mock_config(oconfig_item_t *ci);
int mock_init(void);
int mock_shutdown(void);
int mock_read(void); /* the complex read callback */
int mock_missing(const value_list_t *vl);

/* What collectd does with a dispatched value before the write plugins see
 * it: updates the value cache (rates for uc_get_rate(), and a value not
 * newer than the last one is refused with -1, as collectd refuses it),
 * then calls the registered write callback. */
int mock_write(const data_set_t *ds, const value_list_t *vl);

/* collectd's hostname_g is "host-a". */

/* Data sets plugin_get_ds() knows; ds must outlive the test. */
void mock_register_data_set(const data_set_t *ds);

/* Dispatched notifications and values, in order; copies the mock owns. */
size_t mock_notifications_num(void);
const notification_t *mock_notification(size_t i);
/* A notification's meta entry by name; NULL when it has none. */
const notification_meta_t *mock_notification_meta(const notification_t *n,
                                                  const char *name);
size_t mock_values_num(void);
const value_list_t *mock_value(size_t i);

/* Whether a line logged at level contains needle; how many do. */
bool mock_logged(int level, const char *needle);
size_t mock_logged_count(int level, const char *needle);

/* Forgets what was dispatched and logged, and the value cache; the
 * registered callbacks and data sets stay. */
void mock_reset(void);

/* A config tree, as collectd's parser would hand it over. mock_ci_add()'s
 * result is valid until the next child is added to the same parent. */
oconfig_item_t *mock_ci_create(const char *key);
oconfig_item_t *mock_ci_add(oconfig_item_t *parent, const char *key);
void mock_ci_string(oconfig_item_t *ci, const char *value);
void mock_ci_number(oconfig_item_t *ci, double value);
void mock_ci_boolean(oconfig_item_t *ci, bool value);
/* Frees a tree from mock_ci_create(). Accepts NULL. */
void mock_ci_free(oconfig_item_t *ci);

#endif
