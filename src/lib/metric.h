/* metric.h: the name of a series' metric, one definition for the plugin
 * (from collectd's value lists) and the daemon (from the rrdtool plugin's
 * file names), so a series has the same name whichever way it comes. */
#ifndef AN_METRIC_H
#define AN_METRIC_H

#include <stddef.h>

/* Writes "plugin[-plugin_instance]/type[-type_instance]" into buf (len
 * bytes), followed by "/ds_name" when ds_name is not NULL: the caller
 * passes the data source's name only when the type has several. Empty
 * instances are left out with their dash. Returns the length written, or
 * -1 when it does not fit (buf then holds a truncated string). */
int an_metric_name(char *buf, size_t len, const char *plugin,
                   const char *plugin_instance, const char *type,
                   const char *type_instance, const char *ds_name);

#endif
