/* metric.c: see metric.h. */
#include "metric.h"

#include <stdio.h>

int an_metric_name(char *buf, size_t len, const char *plugin,
                   const char *plugin_instance, const char *type,
                   const char *type_instance, const char *ds_name) {
  int n = snprintf(buf, len, "%s%s%s/%s%s%s%s%s", plugin,
                   plugin_instance[0] ? "-" : "", plugin_instance, type,
                   type_instance[0] ? "-" : "", type_instance,
                   ds_name != NULL ? "/" : "", ds_name != NULL ? ds_name : "");
  return n >= 0 && (size_t)n < len ? n : -1;
}
