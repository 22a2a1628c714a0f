/* anomaly.c: the collectd plugin. The only file that calls collectd's API:
 * it reads the <Plugin anomaly> block, scores every value collectd
 * dispatches (rates for COUNTER, DERIVE and ABSOLUTE), and for an anomaly
 * dispatches a notification and queues the anomaly for anomalyd. Scoring
 * state lives in libanomaly's series table (locked per stripe, never
 * globally); delivery is the forwarder's thread, which also pulls tuning
 * and anomalyd's active seasonal model (attached by models.c). */
#include <collectd/core/daemon/plugin.h>
#include <collectd/core/daemon/utils_cache.h>
#include <collectd/core/utils/common/common.h>

#include "bucket.h"
#include "clock.h"
#include "detector.h"
#include "forwarder.h"
#include "jsonw.h"
#include "metric.h"
#include "models.h"
#include "select.h"
#include "series.h"
#include "severity.h"
#include "statefile.h"
#include "timefmt.h"
#include "uuid.h"

#include <math.h>
#include <pthread.h>
#include <sys/random.h>
#include <syslog.h>

/* Meta key on the values this plugin dispatches itself, so it never scores
 * its own output. */
#define SCORE_META "anomaly:score"
#define STATE_SAVE_INTERVAL 300 /* seconds between state file writes */
/* A storm of anomalies across many series must not flood notify plugins:
 * at most this many notifications a second (bursts of NOTIFY_BURST). Each
 * series already alarms once per incident (docs/detector.md). */
#define NOTIFY_RATE 10.0
#define NOTIFY_BURST 50.0

static struct {
  char *url;
  char *api_key;
  char *detector;
  char *state_file;
  double threshold;
  int warmup;
  double tuning_interval;
  double model_interval;
  bool dispatch_scores;
  bool notify;
  an_select_t *select;
  an_severity_bands_t bands;
} conf = {.threshold = 0.7,
          .warmup = 30,
          .tuning_interval = 60,
          .model_interval = 60,
          .notify = true};

static const an_detector_class_t *detector;
static an_series_table_t *table;
static an_forwarder_t *forwarder;
static an_models_t *models;
static char model_version[32]; /* of the model applied last: forwarder's */

static pthread_mutex_t notify_lock = PTHREAD_MUTEX_INITIALIZER;
static an_bucket_t notify_bucket; /* guarded by notify_lock */

/* ---- configuration ---- */

static int config_select(oconfig_item_t *ci) {
  char err[256];
  if (ci->values_num != 0) {
    ERROR("anomaly plugin: <Select> takes no argument");
    return -1;
  }
  if (an_select_add_rule(conf.select) != 0)
    return -1;
  for (int i = 0; i < ci->children_num; i++) {
    oconfig_item_t *c = ci->children + i;
    char *pattern = NULL;
    int field = an_select_field(c->key);
    if (field < 0) {
      ERROR("anomaly plugin: unknown option %s in <Select> (Host, Plugin, "
            "PluginInstance, Type, TypeInstance)",
            c->key);
      return -1;
    }
    if (cf_util_get_string(c, &pattern) != 0)
      return -1;
    int rc = an_select_set(conf.select, field, pattern, err, sizeof(err));
    free(pattern);
    if (rc != 0) {
      ERROR("anomaly plugin: %s", err);
      return -1;
    }
  }
  return 0;
}

/* A pull's interval: seconds, 0 for never. */
static int config_interval(oconfig_item_t *c, double *out) {
  int rc = cf_util_get_double(c, out);
  if (rc == 0 && !(*out >= 0)) {
    ERROR("anomaly plugin: %s must be 0 (never) or more seconds, not %g",
          c->key, *out);
    rc = -1;
  }
  return rc;
}

static int anomaly_config(oconfig_item_t *ci) {
  int rc = 0;
  conf.bands = an_severity_default_bands;
  if (conf.select == NULL && (conf.select = an_select_create()) == NULL)
    return -1;
  for (int i = 0; i < ci->children_num && rc == 0; i++) {
    oconfig_item_t *c = ci->children + i;
    if (strcasecmp("URL", c->key) == 0) {
      rc = cf_util_get_string(c, &conf.url);
      if (rc == 0 && strncmp(conf.url, "http://", 7) != 0 &&
          strncmp(conf.url, "https://", 8) != 0) {
        ERROR("anomaly plugin: URL must start with http:// or https://, not "
              "\"%s\"",
              conf.url);
        rc = -1;
      }
    } else if (strcasecmp("ApiKey", c->key) == 0) {
      rc = cf_util_get_string(c, &conf.api_key);
    } else if (strcasecmp("Detector", c->key) == 0) {
      rc = cf_util_get_string(c, &conf.detector);
      if (rc == 0 && an_detector_find(conf.detector) == NULL) {
        ERROR("anomaly plugin: unknown Detector \"%s\"", conf.detector);
        rc = -1;
      }
    } else if (strcasecmp("Threshold", c->key) == 0) {
      rc = cf_util_get_double(c, &conf.threshold);
      if (rc == 0 && !(conf.threshold > 0 && conf.threshold <= 1)) {
        ERROR("anomaly plugin: Threshold must be in (0, 1], not %g",
              conf.threshold);
        rc = -1;
      }
    } else if (strcasecmp("WarmUp", c->key) == 0) {
      rc = cf_util_get_int(c, &conf.warmup);
      if (rc == 0 && conf.warmup < 0) {
        ERROR("anomaly plugin: WarmUp must be 0 or more, not %d", conf.warmup);
        rc = -1;
      }
    } else if (strcasecmp("TuningInterval", c->key) == 0) {
      rc = config_interval(c, &conf.tuning_interval);
    } else if (strcasecmp("ModelInterval", c->key) == 0) {
      rc = config_interval(c, &conf.model_interval);
    } else if (strcasecmp("DispatchScores", c->key) == 0) {
      rc = cf_util_get_boolean(c, &conf.dispatch_scores);
    } else if (strcasecmp("Notify", c->key) == 0) {
      rc = cf_util_get_boolean(c, &conf.notify);
    } else if (strcasecmp("StateFile", c->key) == 0) {
      rc = cf_util_get_string(c, &conf.state_file);
    } else if (strcasecmp("Select", c->key) == 0) {
      rc = config_select(c);
    } else {
      ERROR("anomaly plugin: unknown option \"%s\" (URL, ApiKey, Detector, "
            "Threshold, WarmUp, TuningInterval, ModelInterval, "
            "DispatchScores, Notify, StateFile, Select)",
            c->key);
      rc = -1;
    }
  }
  return rc == 0 ? 0 : -1;
}

/* ---- anomalies out ---- */

static void forwarder_log(int level, const char *message) {
  plugin_log(level == LOG_ERR ? LOG_ERR : level, "%s", message);
}

static void apply_tuning(void *ctx, const char *source, const char *metric,
                         double sensitivity) {
  char key[AN_SERIES_KEY_MAX + 1];
  if (snprintf(key, sizeof(key), "%s/%s", source, metric) < (int)sizeof(key))
    an_series_table_set_sensitivity(table, key, sensitivity);
}

/* ---- anomalyd's seasonal model (models.h) ---- */

/* The forwarder's thread has a model: its series take their trained
 * states. */
static int apply_model(void *ctx, const void *blob, size_t len, const char *id,
                       const char *version) {
  an_models_result_t r;
  char err[300], extra[160] = "";
  const char *name = version[0] != '\0' ? version : id;
  int rc = an_models_apply(models, table, blob, len, &r, err, sizeof(err));
  if (rc != 0) {
    WARNING("anomaly plugin: model %s from anomalyd not used: %s; every "
            "series keeps its state",
            name, err);
    return rc;
  }
  if (r.other > 0)
    snprintf(extra, sizeof(extra), ", %zu of hosts not seen here", r.other);
  if (r.dropped > 0)
    snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
             ", %zu not kept", r.dropped);
  INFO("anomaly plugin: model %s from anomalyd: %zu series attached (%zu "
       "pending, %zu older than live%s)",
       name, r.attached, r.pending, r.older, extra);
  sstrncpy(model_version, name, sizeof(model_version));
  return 0;
}

/* Before each model pull, on the forwarder's thread: says how many
 * pending series took their state since, and whether the model is wanted
 * again (values of a host whose series it held came). */
static int model_due(void *ctx) {
  size_t attached, pending;
  int stale;
  an_models_poll(models, &attached, &pending, &stale);
  if (attached > 0)
    INFO("anomaly plugin: model %s: %zu more series attached at their first "
         "value (%zu pending)",
         model_version, attached, pending);
  return stale;
}

/* The record anomalyd's POST /v1/anomalies takes; malloc'd, NULL on
 * failure. */
static char *anomaly_record(const char *host, const char *metric, cdtime_t time,
                            double value, const an_result_t *r,
                            const char *severity, const char *explanation,
                            const char *kind) {
  char id[AN_UUID_LEN + 1], stamp[40];
  uint8_t rnd[16];
  if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
    return NULL;
  an_uuid_format(rnd, id);
  an_time_format(CDTIME_T_TO_DOUBLE(time), stamp, sizeof(stamp));
  an_jw_t w;
  an_jw_init(&w);
  /* collectd's names are bytes: the writer makes a bad one U+FFFD, which
   * anomalyd takes (it would refuse the whole batch for invalid UTF-8).
   * Values are written to the last bit: anomalyd stores them. */
  an_jw_map_open(&w);
  an_jw_str(&w, "id", id);
  an_jw_str(&w, "sourceId", host);
  an_jw_str(&w, "metric", metric);
  an_jw_key(&w, "value");
  an_jw_double_exact(&w, value);
  an_jw_key(&w, "expected");
  an_jw_double_exact(&w, r->expected);
  an_jw_key(&w, "score");
  an_jw_double_exact(&w, r->score);
  an_jw_str(&w, "severity", severity);
  an_jw_str(&w, "detectedAt", stamp);
  an_jw_str(&w, "explanation", explanation);
  an_jw_str(&w, "kind", kind);
  /* below 1e-300 a p-value is 0 for every purpose, and no parser balks */
  an_jw_key(&w, "p_value");
  an_jw_double_exact(&w, r->p_value < 1e-300 ? 0.0 : r->p_value);
  an_jw_map_close(&w);
  return an_jw_take(&w);
}

static int may_notify(void) {
  pthread_mutex_lock(&notify_lock);
  /* read under the lock, so that the bucket sees time in order */
  int ok = an_bucket_take(&notify_bucket, NOTIFY_RATE, NOTIFY_BURST,
                          an_clock_monotonic(), NULL);
  pthread_mutex_unlock(&notify_lock);
  return ok;
}

static void notify(const value_list_t *vl, int failure, const char *message,
                   const an_result_t *r, const char *severity) {
  notification_t n = {.severity = failure ? NOTIF_FAILURE : NOTIF_WARNING,
                      .time = vl->time};
  sstrncpy(n.message, message, sizeof(n.message));
  sstrncpy(n.host, vl->host, sizeof(n.host));
  sstrncpy(n.plugin, vl->plugin, sizeof(n.plugin));
  sstrncpy(n.plugin_instance, vl->plugin_instance, sizeof(n.plugin_instance));
  sstrncpy(n.type, vl->type, sizeof(n.type));
  sstrncpy(n.type_instance, vl->type_instance, sizeof(n.type_instance));
  plugin_notification_meta_add_double(&n, "anomaly:score", r->score);
  plugin_notification_meta_add_double(&n, "anomaly:expected", r->expected);
  plugin_notification_meta_add_string(&n, "anomaly:severity", severity);
  plugin_dispatch_notification(&n);
  plugin_notification_meta_free(n.meta);
}

/* An anomaly: a notification (if wanted and not rate-limited) and a record
 * for the daemon. Called with no lock held. */
static void report(const value_list_t *vl, const char *metric, double value,
                   const an_result_t *r, const char *kind) {
  an_severity_t sev = an_severity_of(&conf.bands, r->score);
  if (sev == AN_SEVERITY_NONE)
    sev = AN_SEVERITY_LOW; /* a Threshold below the low band */
  const char *severity = an_severity_name(sev);
  char explanation[NOTIF_MAX_MSG_LEN];
  if (strcmp(kind, "stopped") == 0)
    snprintf(explanation, sizeof(explanation), "%s stopped reporting", metric);
  else
    an_explain(r, value, metric, explanation, sizeof(explanation));
  if (conf.notify && may_notify())
    notify(vl, sev >= AN_SEVERITY_HIGH, explanation, r, severity);
  char *record = anomaly_record(vl->host, metric, vl->time, value, r, severity,
                                explanation, kind);
  if (record == NULL)
    ERROR("anomaly plugin: out of memory; an anomaly of %s/%s is lost",
          vl->host, metric);
  else
    an_forwarder_enqueue(forwarder, record);
}

static void dispatch_score(const value_list_t *vl, const char *ds_name,
                           int many_ds, double score) {
  value_list_t out = VALUE_LIST_INIT;
  value_t v = {.gauge = score};
  out.values = &v;
  out.values_len = 1;
  out.time = vl->time;
  out.interval = vl->interval;
  sstrncpy(out.host, vl->host, sizeof(out.host));
  sstrncpy(out.plugin, vl->plugin, sizeof(out.plugin));
  sstrncpy(out.plugin_instance, vl->plugin_instance,
           sizeof(out.plugin_instance));
  sstrncpy(out.type, "anomaly_score", sizeof(out.type));
  /* type_instance "type[-instance][-ds]" names the scored series */
  char instance[4 * DATA_MAX_NAME_LEN];
  snprintf(instance, sizeof(instance), "%s%s%s%s%s", vl->type,
           vl->type_instance[0] ? "-" : "", vl->type_instance,
           many_ds ? "-" : "", many_ds ? ds_name : "");
  sstrncpy(out.type_instance, instance, sizeof(out.type_instance));
  out.meta = meta_data_create();
  if (out.meta == NULL)
    return;
  meta_data_add_boolean(out.meta, SCORE_META, true);
  plugin_dispatch_values(&out);
  meta_data_destroy(out.meta);
}

/* "plugin[-instance]/type[-instance][/ds]", as DESIGN.md fixes it; named by
 * libanomaly's metric.h, as the daemon names the same values read from the
 * rrdtool plugin's files. */
static void metric_name(char *buf, size_t len, const value_list_t *vl,
                        const data_set_t *ds, size_t i) {
  an_metric_name(buf, len, vl->plugin, vl->plugin_instance, vl->type,
                 vl->type_instance, ds->ds_num > 1 ? ds->ds[i].name : NULL);
}

static int anomaly_write(const data_set_t *ds, const value_list_t *vl,
                         user_data_t *unused) {
  if (vl->meta != NULL && meta_data_exists(vl->meta, SCORE_META))
    return 0;
  const char *fields[AN_FIELDS] = {vl->host, vl->plugin, vl->plugin_instance,
                                   vl->type, vl->type_instance};
  if (!an_select_match(conf.select, fields))
    return 0;

  gauge_t *rates = NULL;
  for (size_t i = 0; i < ds->ds_num && rates == NULL; i++)
    if (ds->ds[i].type != DS_TYPE_GAUGE &&
        (rates = uc_get_rate(ds, vl)) == NULL)
      return 0; /* the cache has no rate yet */

  char metric[DATA_MAX_NAME_LEN * 5], key[AN_SERIES_KEY_MAX + 1];
  for (size_t i = 0; i < ds->ds_num; i++) {
    double x = ds->ds[i].type == DS_TYPE_GAUGE ? vl->values[i].gauge : rates[i];
    /* collectd's cache makes a rate outside the data source's min and max
     * NaN; a DERIVE without a min gives a counter's reset as a negative
     * rate. Neither is the series' behaviour: not scored, not learned. */
    if (isnan(x) || (ds->ds[i].type != DS_TYPE_GAUGE && x < 0))
      continue;
    metric_name(metric, sizeof(metric), vl, ds, i);
    int len = snprintf(key, sizeof(key), "%s/%s", vl->host, metric);
    an_result_t r;
    double t = CDTIME_T_TO_DOUBLE(vl->time);
    if (len <= 0 || (size_t)len >= sizeof(key) ||
        an_series_table_update_len(table, key, (size_t)len, vl->type, t, x,
                                   &r) != 0)
      continue;
    /* a new series with a trained state waiting: scored again with it */
    if (r.seen == 1 &&
        an_models_first_value(models, table, key, strlen(vl->host)) &&
        an_series_table_update_len(table, key, (size_t)len, vl->type, t, x,
                                   &r) != 0)
      continue;
    if (conf.dispatch_scores)
      dispatch_score(vl, ds->ds[i].name, ds->ds_num > 1, r.score);
    if (r.seen > (uint32_t)conf.warmup && r.score >= conf.threshold)
      report(vl, metric, x, &r, an_kind_name(r.kind));
  }
  sfree(rates);
  return 0;
}

/* collectd saw no value of vl for a while: one "stopped reporting"
 * anomaly per data source (collectd calls this once per silence). */
static int anomaly_missing(const value_list_t *vl, user_data_t *unused) {
  const data_set_t *ds = plugin_get_ds(vl->type);
  const char *fields[AN_FIELDS] = {vl->host, vl->plugin, vl->plugin_instance,
                                   vl->type, vl->type_instance};
  if (ds == NULL || !an_select_match(conf.select, fields))
    return 0;
  char metric[DATA_MAX_NAME_LEN * 5];
  for (size_t i = 0; i < ds->ds_num; i++) {
    an_result_t r = {.score = conf.bands.high, .p_value = NAN, .expected = NAN};
    metric_name(metric, sizeof(metric), vl, ds, i);
    report(vl, metric, NAN, &r, "stopped");
  }
  return 0;
}

/* ---- life cycle ---- */

static void save_state(void) {
  char err[256];
  if (conf.state_file == NULL || table == NULL)
    return;
  if (an_statefile_save(table, detector->name, conf.state_file, err,
                        sizeof(err)) != 0)
    WARNING("anomaly plugin: cannot save detector state: %s", err);
}

static int anomaly_save_state(user_data_t *unused) {
  save_state();
  return 0;
}

static int anomaly_init(void) {
  char err[256], spool[4096];
  if (table != NULL)
    return 0; /* init runs again on some reloads */
  detector =
      an_detector_find(conf.detector != NULL ? conf.detector : "default");
  table = an_series_table_create(detector);
  models = an_models_create(detector, AN_MODELS_PENDING_MAX);
  if (table == NULL || models == NULL ||
      (hostname_g != NULL && an_models_add_host(models, hostname_g) != 0))
    return -1;
  if (conf.state_file != NULL) {
    long n = an_statefile_load(table, detector->name, conf.state_file, err,
                               sizeof(err));
    if (n < 0)
      WARNING("anomaly plugin: starting without learned state: %s", err);
    else
      INFO("anomaly plugin: restored the state of %ld series", n);
    if (n >= 0 && err[0] != '\0')
      WARNING("anomaly plugin: %s", err);
  }
  snprintf(spool, sizeof(spool), "%s.spool",
           conf.state_file != NULL ? conf.state_file
                                   : "/var/lib/collectd/anomaly");
  an_forwarder_conf_t fc = {
      .url = conf.url != NULL ? conf.url : "http://127.0.0.1:8427/v1",
      .api_key = conf.api_key,
      .spool_path = spool,
      .timeout = 10,
      .tuning_interval = conf.tuning_interval,
      .tuning = apply_tuning,
      .model_interval = conf.model_interval,
      .model_due = model_due,
      .model = apply_model,
      .log = forwarder_log,
  };
  forwarder = an_forwarder_start(&fc, err, sizeof(err));
  if (forwarder == NULL) {
    ERROR("anomaly plugin: %s", err);
    return -1;
  }
  if (conf.state_file != NULL)
    plugin_register_complex_read(NULL, "anomaly_state", anomaly_save_state,
                                 DOUBLE_TO_CDTIME_T(STATE_SAVE_INTERVAL),
                                 &(user_data_t){0});
  return 0;
}

static int anomaly_shutdown(void) {
  an_forwarder_stop(forwarder, 5.0);
  forwarder = NULL;
  save_state();
  an_series_table_destroy(table);
  table = NULL;
  an_models_free(models);
  models = NULL;
  an_select_free(conf.select);
  conf.select = NULL;
  sfree(conf.url);
  sfree(conf.api_key);
  sfree(conf.detector);
  sfree(conf.state_file);
  return 0;
}

void module_register(void) {
  plugin_register_complex_config("anomaly", anomaly_config);
  plugin_register_init("anomaly", anomaly_init);
  plugin_register_write("anomaly", anomaly_write, NULL);
  plugin_register_missing("anomaly", anomaly_missing, NULL);
  plugin_register_shutdown("anomaly", anomaly_shutdown);
}
