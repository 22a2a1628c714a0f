/* sql.h: SQLite helpers for the files that hold the store's SQL (store.c
 * and store_<concern>.c): a cache of prepared statements, binding that maps
 * NULL and non-finite numbers to SQL NULL, and stepping with one log line on
 * failure. Functions returning int return 0 or EIO. */
#ifndef AN_SQL_H
#define AN_SQL_H

#include <sqlite3.h>
#include <stddef.h>

/* Runs sql (no rows wanted). */
int an_sql_exec(sqlite3 *db, const char *sql);

/* Prepares sql; release the statement with an_sql_release(). */
int an_sql_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);

/* Like an_sql_prepare() for literal SQL (the cache is keyed by the text's
 * address), kept prepared for next time. Only for the store's own
 * connection, on the thread that owns it (start-up, then the worker):
 * other connections use an_sql_prepare(). */
int an_sql_cached(sqlite3 *db, const char *sql, sqlite3_stmt **st);

/* Ends a statement's use: a cached one is reset, any other finalized. */
void an_sql_release(sqlite3_stmt *st);

/* Finalizes every cached statement (before the connection closes). */
void an_sql_cache_clear(void);

/* Steps a statement that returns no rows, then releases it. */
int an_sql_finish(sqlite3 *db, sqlite3_stmt *st);

/* Binds s, or NULL when s is NULL. */
void an_sql_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Binds a copy of the len bytes at blob. */
void an_sql_bind_blob(sqlite3_stmt *st, int i, const void *blob, size_t len);
/* Binds v, or NULL when v is not finite. */
void an_sql_bind_real(sqlite3_stmt *st, int i, double v);
/* Binds the parameter name, when the statement has it: text, or v when
 * text is NULL. For filters whose WHERE clause names what it holds. */
void an_sql_bind_named(sqlite3_stmt *st, const char *name, const char *text,
                       double v);
/* Appends " AND column IN (…)" to sql (len bytes) for the bits set in
 * bits, 0 to max. */
void an_sql_add_in(char *sql, size_t len, const char *column, unsigned bits,
                   int max);

/* Ends a loop over st's rows (step: its last sqlite3_step(); rc: the
 * loop's own result): releases st and returns rc, or EIO when the rows
 * ended on a read error, which must not pass for their end. */
int an_sql_done(sqlite3_stmt *st, int step, int rc);

/* Reads one row of columns into row (of the type the caller's array holds). */
typedef void (*an_sql_read_fn)(sqlite3_stmt *st, void *row);

/* Steps st once and reads its row into row. Releases st. Returns 0,
 * ENOENT (no row) or EIO. */
int an_sql_one(sqlite3_stmt *st, an_sql_read_fn read, void *row);

/* Steps st to its end, reading each row into a new element (row_size
 * bytes, zeroed first) of *rows, a malloc'd array of *n. Releases st.
 * Returns 0, EIO, or ENOMEM with the rows read so far in *rows (the
 * caller frees them in every case). */
int an_sql_rows(sqlite3_stmt *st, size_t row_size, an_sql_read_fn read,
                void **rows, size_t *n);

/* An an_sql_read_fn for rows of one string: column 0, malloc'd. */
void an_sql_read_text(sqlite3_stmt *st, void *row);

/* A page of a list paged by keyset, newest first: the rows of table that
 * match where (" WHERE …", whose named parameters bind binds), after the
 * row (:after_t, :after_id) when after is set, by order_column then id,
 * both descending; and the count of all that match where. */
typedef struct an_sql_page {
  const char *table, *columns, *order_column;
  const char *where;
  int after;
  int limit;
  void (*bind)(sqlite3_stmt *st, const void *filter); /* also :after_… */
  const void *filter;
  size_t row_size;
  an_sql_read_fn read;
} an_sql_page_t;

/* Fills *rows (malloc'd, limit rows of row_size) and *n. Returns 0, EIO
 * or ENOMEM. */
int an_sql_page(sqlite3 *db, const an_sql_page_t *p, void **rows, size_t *n,
                long long *total);

/* The column as a malloc'd string, NULL for SQL NULL. */
char *an_sql_column_text(sqlite3_stmt *st, int i);
/* The column as a number, NaN for SQL NULL. */
double an_sql_column_real(sqlite3_stmt *st, int i);
/* The column copied into dst (len bytes, cut to fit), "" for SQL NULL:
 * for ids, which records hold in arrays. */
void an_sql_column_copy(sqlite3_stmt *st, int i, char *dst, size_t len);

#endif
