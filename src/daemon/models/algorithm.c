/* algorithm.c: the table of training algorithms and their
 * hyperparameters (algorithm.h). */
#include "models/algorithm.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Adding an algorithm: its file, and one line here. */
extern const an_algorithm_t an_algo_default, an_algo_seasonal,
    an_algo_isolation_forest;

static const an_algorithm_t *const algorithms[] = {
    &an_algo_default,
    &an_algo_seasonal,
    &an_algo_isolation_forest,
};

#define NALGORITHMS (sizeof(algorithms) / sizeof(algorithms[0]))

const an_algorithm_t *an_algorithm_find(const char *name) {
  for (size_t i = 0; name != NULL && i < NALGORITHMS; i++)
    if (strcmp(name, algorithms[i]->name) == 0)
      return algorithms[i];
  return NULL;
}

const an_algorithm_t *an_algorithm_at(size_t i) {
  return i < NALGORITHMS ? algorithms[i] : NULL;
}

static const an_param_t *find_param(const an_algorithm_t *a, const char *name) {
  for (size_t i = 0; i < a->nparams; i++)
    if (strcmp(a->params[i].name, name) == 0)
      return &a->params[i];
  return NULL;
}

/* "a, b or c", or "none": what a message offers. */
static void list_params(const an_algorithm_t *a, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  if (a->nparams == 0)
    snprintf(buf, len, "none");
  for (size_t i = 0; i < a->nparams && n < len; i++)
    n += (size_t)snprintf(buf + n, len - n, "%s%s",
                          i == 0                ? ""
                          : i + 1 == a->nparams ? " or "
                                                : ", ",
                          a->params[i].name);
}

/* One value of p from v. */
static int read_value(const an_param_t *p, yajl_val v, double *out, char *err,
                      size_t errlen) {
  double d;
  if (p->type == AN_PARAM_BOOLEAN) {
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
      snprintf(err, errlen, "hyperparameters.%s must be true or false",
               p->name);
      return EINVAL;
    }
    *out = YAJL_IS_TRUE(v);
    return 0;
  }
  int whole = p->type == AN_PARAM_INTEGER;
  if (an_json_number(v, &d) != 0 || (whole && d != floor(d)) || d < p->min ||
      d > p->max || (p->open && (d == p->min || d == p->max))) {
    snprintf(err, errlen,
             p->open ? "hyperparameters.%s must be %s above %g and below %g"
                     : "hyperparameters.%s must be %s from %g to %g",
             p->name, whole ? "a whole number" : "a number", p->min, p->max);
    return EINVAL;
  }
  *out = d;
  return 0;
}

int an_algorithm_params(const an_algorithm_t *a, yajl_val hyperparameters,
                        double values[AN_ALGORITHM_MAX_PARAMS], char *err,
                        size_t errlen) {
  for (size_t i = 0; i < a->nparams && i < AN_ALGORITHM_MAX_PARAMS; i++)
    values[i] = a->params[i].def;
  if (hyperparameters == NULL)
    return 0;
  if (!YAJL_IS_OBJECT(hyperparameters)) {
    snprintf(err, errlen, "hyperparameters must be an object");
    return EINVAL;
  }
  for (size_t i = 0; i < hyperparameters->u.object.len; i++) {
    const char *key = hyperparameters->u.object.keys[i];
    const an_param_t *p = find_param(a, key);
    if (p == NULL) {
      char known[200];
      list_params(a, known, sizeof(known));
      snprintf(err, errlen,
               "hyperparameters.%.100s: %s has no such hyperparameter (it "
               "takes %s)",
               key, a->name, known);
      return EINVAL;
    }
    if (read_value(p, hyperparameters->u.object.values[i],
                   &values[p - a->params], err, errlen) != 0)
      return EINVAL;
  }
  return 0;
}

void an_algorithm_write_params(an_jw_t *w, const an_algorithm_t *a,
                               const double *values) {
  an_jw_map_open(w);
  for (size_t i = 0; i < a->nparams; i++) {
    if (a->params[i].type == AN_PARAM_BOOLEAN)
      an_jw_bool(w, a->params[i].name, values[i] != 0);
    else if (a->params[i].type == AN_PARAM_INTEGER)
      an_jw_int(w, a->params[i].name, (long long)values[i]);
    else
      an_jw_num(w, a->params[i].name, values[i]);
  }
  an_jw_map_close(w);
}

int an_train_stopped(const an_train_t *t) {
  return t->stop != NULL && atomic_load(t->stop) != 0;
}

int an_train_finish(an_train_t *t, int rc, an_eval_acc_t *feedback,
                    an_eval_acc_t *synthetic) {
  if (rc == ECANCELED)
    snprintf(t->err, sizeof(t->err), "stopped");
  if (rc == ENOMEM && t->err[0] == '\0')
    snprintf(t->err, sizeof(t->err), "out of memory");
  if (rc == 0) {
    an_eval_acc_result(feedback, &t->metrics.feedback);
    an_eval_acc_result(synthetic, &t->metrics.synthetic);
  } else {
    an_model_free(t->model);
    t->model = NULL;
  }
  an_eval_acc_free(feedback);
  an_eval_acc_free(synthetic);
  return rc;
}
