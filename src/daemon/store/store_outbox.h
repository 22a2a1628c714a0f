/* store_outbox.h: the SQL of the outbox: the notifications queued in the
 * transaction of the change they report, their claiming by the delivery
 * thread, and the history of each delivery attempt.
 *
 * Two threads use it, each on its own connection (an_store_connect()):
 * the functions marked "worker" run on the store worker inside its
 * transaction (an an_store_fn, store.h); those marked "notify thread" run
 * on the delivery thread's connection, outside the worker. Functions
 * return 0 or EIO (a database error, logged once in sql.c). Records and
 * arrays filled are the caller's (records.h: clear each, then free the
 * array), also after a failure; strings passed in are the caller's. */
#ifndef AN_STORE_OUTBOX_H
#define AN_STORE_OUTBOX_H

#include "store/records.h"

#include <sqlite3.h>
#include <stddef.h>

/* Worker: queues a notification of the alert to a channel (state PENDING,
 * due now, or SILENCED, done now). */
int an_store_outbox_add(sqlite3 *db, const char *alert_id, const char *channel,
                        const char *event, const char *notice, int state,
                        double now);
/* Worker: the channels the alert's trigger or escalation went to (not
 * silenced), in the order first notified: where its acknowledgement and
 * resolution go. *out is a malloc'd array of *n malloc'd names. */
int an_store_alert_channels(sqlite3 *db, const char *alert_id, char ***out,
                            size_t *n);
/* Worker: the alert's notifications, oldest first, without their
 * notices. */
int an_store_alert_deliveries(sqlite3 *db, const char *alert_id,
                              an_delivery_t **out, size_t *n);
/* Worker: calls fn for each attempt of a delivery, oldest first, until fn
 * returns non-zero (which is returned). */
int an_store_each_attempt(sqlite3 *db, long long delivery_id,
                          int (*fn)(void *ctx, const an_attempt_t *a),
                          void *ctx);

/* Notify thread: claims the pending deliveries due at now, oldest first
 * (with their notices): the first pending one of each alert and channel
 * (so a resolve never overtakes its trigger), and at most per_channel of
 * each channel. */
int an_store_outbox_due(sqlite3 *db, double now, size_t per_channel,
                        an_delivery_t **out, size_t *n);
/* Notify thread: when the first pending delivery due after after is due
 * (NaN: none), and how many are pending. */
int an_store_outbox_next(sqlite3 *db, double after, double *next_at,
                         long long *pending);
/* Notify thread: records an attempt (status: the receiver's HTTP status,
 * 0 for none; error may be NULL) and the delivery's new state, with
 * next_at while it stays pending. In its own transaction. */
int an_store_outbox_result(sqlite3 *db, long long id, int state, double next_at,
                           int status, const char *error, double now);

#endif
