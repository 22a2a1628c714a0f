/* schedule.h: scheduled training (TrainInterval): timers on the loop that
 * queue an ordinary "seasonal" job over every series (RRDDir and pushed
 * points) of the last SCHEDULED_RANGE: once a minute after start when no
 * model exists yet, then every TrainInterval seconds, unless a scheduled
 * job is still queued or running. Its model is activated when no worse
 * than the active one (AutoActivate, train.h). */
#ifndef AN_MODELS_SCHEDULE_H
#define AN_MODELS_SCHEDULE_H

#include "daemon.h"

typedef struct an_schedule an_schedule_t;

/* Starts the timers (none when TrainInterval is 0): after the store's
 * worker and the training workers. Returns 0 with *out (NULL when off),
 * or ENOMEM. */
int an_schedule_open(an_daemon_t *d, an_schedule_t **out);
/* What a timer does: queues a store job that inserts the scheduled job
 * (first: only if no model exists) unless one is pending, and gives it
 * to the workers once committed. On the loop. */
void an_schedule_tick(an_schedule_t *s, int first);

/* Stops the timers. Accepts NULL. */
void an_schedule_close(an_schedule_t *s);

#endif
