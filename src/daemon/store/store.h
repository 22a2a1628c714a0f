/* store.h: the SQLite database (DataDir/anomalyd.db, WAL, synchronous
 * FULL), its schema and migrations, and the one worker thread that owns
 * it.
 *
 * Work is queued with an_store_submit(); the worker runs everything queued
 * in one transaction (group commit: one fsync covers many requests), then
 * hands each result back to the event loop, where the request is answered.
 * So a reply means committed, and the loop never waits on the disk.
 *
 * The SQL is in one file per concern, each with its header: anomalies
 * (store_anomalies.h), the engine's sources, points and checkpoints
 * (store_series.h), tuning (store_tuning.h), alerting (store_alerts.h)
 * and the outbox (store_outbox.h). The records they read and write are in
 * records.h, which needs no database. */
#ifndef AN_STORE_H
#define AN_STORE_H

#include "daemon.h"

#include <sqlite3.h>
#include <stddef.h>

/* Runs on the worker inside the group transaction. Returns 0, or ENOENT,
 * EEXIST, EINVAL (nothing of it is kept), EIO (a database error: logged,
 * rolled back). May run twice (when another job of its batch failed, the
 * batch is run again), so it must reset what it outputs before it starts. */
typedef int (*an_store_fn)(sqlite3 *db, void *arg);
/* Runs on the event loop after the commit: rc is fn's result, or EIO when
 * the transaction could not be committed. */
typedef void (*an_store_done_fn)(void *arg, int rc);

/* Opens a connection to DataDir/anomalyd.db (creating the file) with the
 * settings every connection of anomalyd shares: WAL, synchronous FULL, the
 * busy timeout. With AN_STORE_CONNECT_WORKER the log's writes are gathered
 * between syncs (walbuf.h), which one connection per database may do: the
 * worker's. The delivery thread opens its own with flags 0. Returns the
 * connection (the caller closes it with sqlite3_close()), or NULL with
 * the reason in err. */
#define AN_STORE_CONNECT_WORKER 1
sqlite3 *an_store_connect(const char *data_dir, int flags, char *err,
                          size_t errlen);

/* Opens (creating and migrating) the database in d's data directory, on
 * the worker's connection; d must outlive the store. The worker starts
 * with an_store_start(). Returns 0 with *out (the caller's: close it with
 * an_store_close()), or an errno with the reason in err: EIO for a file
 * that cannot be opened, is damaged, or has a newer schema. */
int an_store_open(an_daemon_t *d, an_store_t **out, char *err, size_t errlen);

/* Runs fn on db, a connection of the calling thread's own (from
 * an_store_connect()), in one transaction that takes the write lock at
 * once (waiting as the busy timeout allows): a training worker's short
 * writes. Returns fn's result or EIO; nothing of a failed fn is kept. */
int an_store_transaction(sqlite3 *db, an_store_fn fn, void *arg);

/* Runs fn now on the calling thread, in its own transaction: for start-up,
 * before an_store_start(), and shutdown, after an_store_stop(). Returns
 * fn's result or EIO. */
int an_store_run_now(an_store_t *s, an_store_fn fn, void *arg);

/* Starts the worker thread. Returns 0 or an errno. */
int an_store_start(an_store_t *s);

/* Queues work. arg stays the caller's: done is where it is freed. Returns
 * 0, or ENOMEM/ESHUTDOWN (done is then not called; the caller frees
 * arg). */
int an_store_submit(an_store_t *s, an_store_fn fn, an_store_done_fn done,
                    void *arg);

/* Calls fn(arg) on the worker after every transaction it commits (set it
 * before an_store_start()). */
void an_store_on_commit(an_store_t *s, void (*fn)(void *arg), void *arg);

/* 1 while the last transaction committed; 0 while storage is failing. */
int an_store_healthy(an_store_t *s);

/* Commits what is queued and stops the worker. Done callbacks of that
 * last work are not called (the loop has stopped). Afterwards only
 * an_store_run_now() writes (shutdown's last checkpoint). Accepts NULL;
 * a second call does nothing. */
void an_store_stop(an_store_t *s);

/* Stops the worker if it runs, and closes the database. Accepts NULL. */
void an_store_close(an_store_t *s);

#endif
