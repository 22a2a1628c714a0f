/* algo_seasonal.c: "seasonal", the default detector warmed up on history
 * (warm.h) for the series whose history covers two whole days: its
 * seasonal envelope learns each five minutes of the day from the days it
 * has seen, so a series with less is skipped (and counted). It takes no
 * hyperparameters. */
#include "models/warm.h"

#define MIN_SPAN (2 * 86400.0)

static int train(an_train_t *t) { return an_warm_train(t, MIN_SPAN); }

const an_algorithm_t an_algo_seasonal = {
    .name = "seasonal",
    .description = "the default detector's daily envelope learned from at "
                   "least two days of each series' history",
    .params = NULL,
    .nparams = 0,
    .train = train,
};
