/* walbuf.h: a SQLite VFS over the default one that hands the
 * write-ahead log's writes between two syncs to the file in one call.
 *
 * SQLite writes each WAL frame in two pieces, a 24-byte header and the
 * page, so a group commit of 25 pages cost 50 pwrite() calls: a third of
 * the store worker's time went to them. Durability is unchanged: SQLite
 * makes frames visible to readers only after the sync that commits them,
 * and every sync, read, truncate, size query, file control and close of
 * the log first writes what was gathered (a failed write is reported
 * there), as does the release of the log's write lock (frames of a
 * transaction that spilled and rolled back must not land on another
 * connection's later commit). Files other than the log pass straight
 * through. One connection of this VFS per database: a database file and
 * its log are paired by name.
 *
 * Only for WAL connections with synchronous=FULL (or EXTRA): with NORMAL
 * or OFF a commit is not synced, and other connections would be shown
 * frames still gathered here. */
#ifndef AN_WALBUF_H
#define AN_WALBUF_H

/* Registers the VFS (once; later calls only return its name). Returns the
 * name for sqlite3_open_v2(), or NULL when SQLite has no default VFS or
 * registration failed. */
const char *an_walbuf_vfs(void);

#endif
