#include "units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const an_hint_t an_hint_none = {AN_UNIT_NONE, 0, -INFINITY, INFINITY, 0};

/* collectd's types (types.db) by what their values are. The floor is the
 * smallest move that could matter to an on-call engineer: half a percent
 * point of CPU, a KiB/s of traffic, a MiB of memory. */
static const struct {
  const char *type;
  an_hint_t hint;
} types[] = {
    {"percent", {AN_UNIT_PERCENT, 0.5, 0, 100, 0}},
    {"percent_bytes", {AN_UNIT_PERCENT, 0.5, 0, 100, 0}},
    {"percent_inodes", {AN_UNIT_PERCENT, 0.5, 0, 100, 0}},
    /* jiffies per second: about a percent of one core */
    {"cpu", {AN_UNIT_PERCENT, 0.5, 0, INFINITY, 0}},
    {"if_octets", {AN_UNIT_BYTES_PER_S, 1024, 0, INFINITY, 1}},
    {"disk_octets", {AN_UNIT_BYTES_PER_S, 4096, 0, INFINITY, 1}},
    {"io_octets", {AN_UNIT_BYTES_PER_S, 4096, 0, INFINITY, 1}},
    {"total_bytes", {AN_UNIT_BYTES_PER_S, 1024, 0, INFINITY, 1}},
    {"if_packets", {AN_UNIT_PACKETS_PER_S, 2, 0, INFINITY, 1}},
    {"if_errors", {AN_UNIT_PACKETS_PER_S, 0.1, 0, INFINITY, 1}},
    {"if_dropped", {AN_UNIT_PACKETS_PER_S, 0.1, 0, INFINITY, 1}},
    {"disk_ops", {AN_UNIT_PER_S, 1, 0, INFINITY, 1}},
    {"disk_merged", {AN_UNIT_PER_S, 1, 0, INFINITY, 1}},
    {"operations", {AN_UNIT_PER_S, 1, 0, INFINITY, 1}},
    {"http_requests", {AN_UNIT_PER_S, 1, 0, INFINITY, 1}},
    {"total_requests", {AN_UNIT_PER_S, 1, 0, INFINITY, 1}},
    {"connections", {AN_UNIT_PER_S, 1, 0, INFINITY, 1}},
    {"fork_rate", {AN_UNIT_PER_S, 1, 0, INFINITY, 0}},
    {"contextswitch", {AN_UNIT_PER_S, 10, 0, INFINITY, 0}},
    {"irq", {AN_UNIT_PER_S, 1, 0, INFINITY, 0}},
    {"vmpage_io", {AN_UNIT_PER_S, 1, 0, INFINITY, 1}},
    {"vmpage_faults", {AN_UNIT_PER_S, 10, 0, INFINITY, 1}},
    {"disk_time", {AN_UNIT_MILLISECONDS, 0.5, 0, INFINITY, 1}},
    {"disk_io_time", {AN_UNIT_MILLISECONDS, 1, 0, INFINITY, 1}},
    /* a garbage collector's sawtooth drops are ordinary */
    {"memory", {AN_UNIT_BYTES, 1 << 20, 0, INFINITY, 1}},
    {"df_complex", {AN_UNIT_BYTES, 1 << 20, 0, INFINITY, 0}},
    {"swap", {AN_UNIT_BYTES, 1 << 20, 0, INFINITY, 0}},
    {"bytes", {AN_UNIT_BYTES, 1 << 20, 0, INFINITY, 0}},
    {"cache_size", {AN_UNIT_BYTES, 1 << 20, 0, INFINITY, 0}},
    {"response_time", {AN_UNIT_SECONDS, 1e-3, 0, INFINITY, 1}},
    {"latency", {AN_UNIT_SECONDS, 1e-3, 0, INFINITY, 1}},
    {"duration", {AN_UNIT_SECONDS, 1e-3, 0, INFINITY, 1}},
    {"temperature", {AN_UNIT_CELSIUS, 0.1, -273.15, INFINITY, 0}},
    {"load", {AN_UNIT_LOAD, 0.05, 0, INFINITY, 0}},
    {"processes", {AN_UNIT_COUNT, 1, 0, INFINITY, 0}},
    {"ps_state", {AN_UNIT_COUNT, 1, 0, INFINITY, 0}},
    {"users", {AN_UNIT_COUNT, 1, 0, INFINITY, 0}},
    {"count", {AN_UNIT_COUNT, 1, 0, INFINITY, 0}},
    {"objects", {AN_UNIT_COUNT, 1, 0, INFINITY, 0}},
    {"files", {AN_UNIT_COUNT, 1, 0, INFINITY, 0}},
    {"queue_length", {AN_UNIT_COUNT, 1, 0, INFINITY, 0}},
    {"pending_operations", {AN_UNIT_COUNT, 1, 0, INFINITY, 0}},
};

int an_hint_of_type(const char *type, an_hint_t *hint) {
  for (size_t i = 0; type != NULL && i < sizeof(types) / sizeof(types[0]); i++)
    if (strcmp(type, types[i].type) == 0) {
      *hint = types[i].hint;
      return 0;
    }
  *hint = an_hint_none;
  return ENOENT;
}

/* value / base^k with the k that puts it in [1, base), and that prefix:
 * "75.8 MB/s" for 7.58e7 with base 1000. */
static char *scaled(double value, double base, const char *const prefix[],
                    const char *unit, char *buf, size_t len) {
  double a = fabs(value);
  int k = 0;
  while (a >= base && prefix[k + 1] != NULL) {
    a /= base;
    value /= base;
    k++;
  }
  snprintf(buf, len, "%.3g %s%s", value, prefix[k], unit);
  return buf;
}

static const char *const decimal[] = {"", "k", "M", "G", "T", "P", NULL};
static const char *const binary[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", NULL};

/* A plain number: 4 significant digits below 10 000, whole numbers up to
 * 100 000, then k, M, G: never an exponent a person has to decode. */
static char *plain(double value, const char *unit, char *buf, size_t len) {
  double a = fabs(value);
  if (a >= 1e5)
    return scaled(value, 1000, decimal, unit, buf, len);
  if (a >= 1e4)
    snprintf(buf, len, "%.0f%s%s", value, unit[0] ? " " : "", unit);
  else if (a >= 1e-3 || a == 0)
    snprintf(buf, len, "%.4g%s%s", value, unit[0] ? " " : "", unit);
  else
    snprintf(buf, len, "%.2e%s%s", value, unit[0] ? " " : "", unit);
  return buf;
}

static char *seconds(double s, char *buf, size_t len) {
  double a = fabs(s);
  if (a >= 120 || a == 0)
    return an_duration_format(s, buf, len);
  if (a >= 1)
    snprintf(buf, len, "%.3g s", s);
  else if (a >= 1e-3)
    snprintf(buf, len, "%.3g ms", s * 1e3);
  else
    snprintf(buf, len, "%.3g \xc2\xb5s", s * 1e6);
  return buf;
}

char *an_unit_format(an_unit_t unit, double value, char *buf, size_t len) {
  if (!isfinite(value)) {
    snprintf(buf, len, "%g", value);
    return buf;
  }
  switch (unit) {
  case AN_UNIT_PERCENT:
    snprintf(buf, len, "%.3g %%", value);
    return buf;
  case AN_UNIT_BYTES:
    return scaled(value, 1024, binary, "B", buf, len);
  case AN_UNIT_BYTES_PER_S:
    return scaled(value, 1000, decimal, "B/s", buf, len);
  case AN_UNIT_PACKETS_PER_S:
    return plain(value, "packets/s", buf, len);
  case AN_UNIT_PER_S:
    plain(value, "", buf, len);
    strncat(buf, "/s", len - strlen(buf) - 1);
    return buf;
  case AN_UNIT_SECONDS:
    return seconds(value, buf, len);
  case AN_UNIT_MILLISECONDS:
    return seconds(value / 1e3, buf, len);
  case AN_UNIT_CELSIUS:
    snprintf(buf, len,
             "%.4g \xc2\xb0"
             "C",
             value);
    return buf;
  case AN_UNIT_LOAD:
    snprintf(buf, len, "%.3g", value);
    return buf;
  case AN_UNIT_COUNT:
  case AN_UNIT_NONE:
  default:
    return plain(value, "", buf, len);
  }
}

char *an_unit_format_slope(an_unit_t unit, double per_second, char *buf,
                           size_t len) {
  char amount[64];
  /* per hour, unless that is under a hundredth of a unit: then per day */
  double per =
      fabs(per_second) * 3600 >= 0.01 || per_second == 0 ? 3600 : 86400;
  an_unit_t u = unit == AN_UNIT_BYTES_PER_S ? AN_UNIT_BYTES : unit;
  if (unit == AN_UNIT_PER_S || unit == AN_UNIT_PACKETS_PER_S)
    u = AN_UNIT_NONE; /* "120/s per hour" reads badly: "120/h" */
  an_unit_format(u, per_second * per, amount, sizeof(amount));
  snprintf(buf, len, "%s%s/%s", per_second > 0 ? "+" : "", amount,
           per == 3600 ? "h" : "d");
  return buf;
}

char *an_duration_format(double s, char *buf, size_t len) {
  double a = fabs(s);
  if (!isfinite(s))
    snprintf(buf, len, "a long time");
  else if (a < 120)
    snprintf(buf, len, "%.0f s", s);
  else if (a < 2 * 3600)
    snprintf(buf, len, "%.0f min", s / 60);
  else if (a < 2 * 86400)
    snprintf(buf, len, "%.3g h", s / 3600);
  else
    snprintf(buf, len, "%.3g d", s / 86400);
  return buf;
}
