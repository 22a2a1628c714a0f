/* algo_default.c: "default", the streaming detector warmed up on history
 * (warm.h): every series in scope with values in the range. It takes no
 * hyperparameters. */
#include "models/warm.h"

static int train(an_train_t *t) { return an_warm_train(t, 0); }

const an_algorithm_t an_algo_default = {
    .name = "default",
    .description = "the default detector warmed up on each series' history",
    .params = NULL,
    .nparams = 0,
    .train = train,
};
