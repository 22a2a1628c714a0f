/* forests.h: the active isolation forests in memory, one per source, and
 * the scoring of a POST /v1/data point by its source's forest.
 *
 * A set is loaded from the active isolation_forest models, newest first:
 * a source in several of them (scopes that overlap) is scored by the
 * newest one's forest. A model whose blob does not decode is left out,
 * and logged. The daemon's set (d->forests) is loaded at start and again
 * in the transaction of every activation of an isolation_forest model
 * (on the store worker, off the loop), and replaced on the loop before
 * that activation is answered; only the loop reads it, so a point is
 * scored by the set before or the set after, never a mix. Deleting a
 * model never changes the set: the active one cannot be deleted.
 *
 * A set is read only once loaded. */
#ifndef AN_MODELS_FORESTS_H
#define AN_MODELS_FORESTS_H

#include "daemon.h"

#include <sqlite3.h>
#include <stddef.h>

#define AN_FORESTS_ALGORITHM "isolation_forest"
#define AN_FORESTS_TOP 3 /* metrics an explanation names at most */

typedef struct an_forests an_forests_t;

/* Loads the forests of the active isolation_forest models on db (any
 * connection, inside its caller's transaction). Returns 0 with *out (free
 * it with an_forests_free()), EIO or ENOMEM. */
int an_forests_load(sqlite3 *db, an_forests_t **out);
/* Accepts NULL. */
void an_forests_free(an_forests_t *f);
/* Sources with a forest. */
size_t an_forests_count(const an_forests_t *f);

/* At start, before the store's worker runs: loads d->forests. Returns 0,
 * or EIO or ENOMEM with the reason in err. */
int an_forests_open(an_daemon_t *d, char *err, size_t errlen);
/* On the loop: next (the caller's no more) takes the place of
 * d->forests, which is freed. */
void an_forests_replace(an_daemon_t *d, an_forests_t *next);

/* Whether source has a forest in f (NULL: none). */
int an_forests_covers(const an_forests_t *f, const char *source);

/* A row scored by a forest. */
typedef struct an_forest_score {
  double score, p_value;
  const char *model_id; /* strings are the set's: valid until replaced */
  size_t ncontrib;      /* metrics that contributed most, largest first */
  struct {
    const char *metric;
    double value; /* NaN: the point had none (its median stood in) */
    double weight;
  } contrib[AN_FORESTS_TOP];
} an_forest_score_t;

/* Scores a point of source (n metrics: names[i] is values[i]) with the
 * source's forest: a metric of the forest that the point lacks is NaN
 * (the forest takes its training median); a metric the forest does not
 * know takes no part. The contributions are filled when the score is at
 * least threshold. Returns 1 with *out, or 0 when f is NULL, the source
 * has no forest or the point none of its metrics. */
int an_forests_score(const an_forests_t *f, const char *source,
                     const char *const *names, const double *values, size_t n,
                     double threshold, an_forest_score_t *out);

/* Writes the explanation of a row scored at or above the threshold:
 * "cpu 48 with requests 150: unusual together (cpu 61 %, requests 39 %)".
 * Returns buf. */
char *an_forests_explain(const an_forest_score_t *s, char *buf, size_t len);

#endif
