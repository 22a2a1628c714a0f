/* clock.h: the one home of the clock, for the plugin and the daemon.
 * Read it once per unit of work (a request, a job, a turn of a loop) and
 * pass that now down, so that what runs below it can be tested at chosen
 * times. Neither function can fail. */
#ifndef AN_CLOCK_H
#define AN_CLOCK_H

/* Seconds since the epoch (CLOCK_REALTIME): for times that are stored or
 * shown. It may step (NTP, an operator). */
double an_clock_wall(void);

/* Seconds on a clock that never steps (CLOCK_MONOTONIC), from an
 * arbitrary origin: for intervals, deadlines and rates. */
double an_clock_monotonic(void);

#endif
