/* warm.h: the streaming detector warmed up on history, what the default
 * and seasonal algorithms are (algo_default.c, algo_seasonal.c).
 *
 * Each series is replayed, value by value in time order, through a fresh
 * state of the default detector (as the plugin starts one, with the hint
 * of its collectd type when known); the model keeps the state it ends in.
 * On the way it is evaluated (evaluate.h): each labelled anomaly of the
 * series is scored on a copy of the state as it was just before the
 * anomaly's time; and the state after the first four fifths of a long
 * enough series scores a copy of the last fifth with anomalies injected,
 * before the real last fifth is learned. */
#ifndef AN_MODELS_WARM_H
#define AN_MODELS_WARM_H

#include "models/algorithm.h"

/* Trains t (algorithm.h's contract). A series whose values span less
 * than min_span seconds (a value's interval included), or has none in
 * the range, is skipped. */
int an_warm_train(an_train_t *t, double min_span);

#endif
