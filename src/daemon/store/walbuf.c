/* walbuf.c: the write-ahead log's writes gathered between syncs (see
 * walbuf.h). */
#include "store/walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_NAME "anomalyd-walbuf"
/* Gather at most this much, then write. The unix VFS writes at most
 * 0x1ffff bytes a pwrite() (it masks the length) and reports a longer
 * write whose rest is a multiple of 128 KiB as a full disk. */
#define WALBUF_MAX 0x1ffff

typedef struct wb_file {
  sqlite3_file base;  /* our methods */
  sqlite3_file *real; /* the default VFS's file, right after this struct */
  int is_wal;
  char *buf; /* bytes not yet written, for offset at; kept between syncs */
  size_t len, cap;
  sqlite3_int64 at;
  /* A database file and its connection's log find each other by name
   * (SQLite keeps the name until the close): the write lock is taken and
   * released on the database file, and what the log gathered must be
   * written before another connection may append where it would go. */
  const char *name;
  struct wb_file *wal;  /* a database file's log, once open */
  struct wb_file *db;   /* a log's database file */
  struct wb_file *next; /* the open database files */
} wb_file_t;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs wb_vfs;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered;

/* The open database files, for their logs to find. */
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static wb_file_t *db_files;

/* Whether wal is db's log: the same name and "-wal". */
static int log_of(const wb_file_t *db, const char *wal) {
  size_t n = strlen(db->name);
  return strncmp(db->name, wal, n) == 0 && strcmp(wal + n, "-wal") == 0;
}

/* Links a log or a database file being opened to its partner; with one
 * connection of this VFS per database (the store's), the name says it. */
static void link_file(wb_file_t *f, int is_db) {
  if (f->name == NULL)
    return;
  pthread_mutex_lock(&files_lock);
  if (is_db) {
    f->next = db_files;
    db_files = f;
  } else if (f->is_wal) {
    for (wb_file_t *d = db_files; d != NULL; d = d->next)
      if (d->wal == NULL && log_of(d, f->name)) {
        d->wal = f;
        f->db = d;
        break;
      }
  }
  pthread_mutex_unlock(&files_lock);
}

static void unlink_file(wb_file_t *f) {
  pthread_mutex_lock(&files_lock);
  if (f->db != NULL)
    f->db->wal = NULL;
  if (f->wal != NULL)
    f->wal->db = NULL;
  for (wb_file_t **p = &db_files; *p != NULL; p = &(*p)->next)
    if (*p == f) {
      *p = f->next;
      break;
    }
  pthread_mutex_unlock(&files_lock);
}

/* Writes what was gathered. Returns the write's SQLite status. */
static int wb_flush(wb_file_t *f) {
  if (f->len == 0)
    return SQLITE_OK;
  int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->at);
  f->len = 0;
  return rc;
}

static int wb_close(sqlite3_file *file) {
  wb_file_t *f = (wb_file_t *)file;
  unlink_file(f);
  int rc = wb_flush(f);
  int rc2 = f->real->pMethods->xClose(f->real);
  free(f->buf);
  f->buf = NULL;
  f->cap = 0;
  return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 off) {
  wb_file_t *f = (wb_file_t *)file;
  int rc = wb_flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, amt, off);
}

static int wb_write(sqlite3_file *file, const void *p, int amt,
                    sqlite3_int64 off) {
  wb_file_t *f = (wb_file_t *)file;
  size_t n = (size_t)amt;
  if (!f->is_wal)
    return f->real->pMethods->xWrite(f->real, p, amt, off);
  if (f->len > 0 &&
      (off != f->at + (sqlite3_int64)f->len || f->len + n > WALBUF_MAX)) {
    int rc = wb_flush(f); /* not the next bytes, or enough gathered */
    if (rc != SQLITE_OK)
      return rc;
  }
  if (f->len + n > f->cap) {
    size_t cap = f->len + n <= WALBUF_MAX ? WALBUF_MAX : 0;
    char *grown = cap != 0 ? realloc(f->buf, cap) : NULL;
    if (grown == NULL) { /* too big to gather, or no memory: write it */
      int rc = wb_flush(f);
      return rc != SQLITE_OK ? rc
                             : f->real->pMethods->xWrite(f->real, p, amt, off);
    }
    f->buf = grown;
    f->cap = cap;
  }
  if (f->len == 0)
    f->at = off;
  memcpy(f->buf + f->len, p, n);
  f->len += n;
  return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size) {
  wb_file_t *f = (wb_file_t *)file;
  int rc = wb_flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *file, int flags) {
  wb_file_t *f = (wb_file_t *)file;
  int rc = wb_flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wb_file_size(sqlite3_file *file, sqlite3_int64 *size) {
  wb_file_t *f = (wb_file_t *)file;
  int rc = wb_flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wb_lock(sqlite3_file *file, int lock) {
  wb_file_t *f = (wb_file_t *)file;
  return f->real->pMethods->xLock(f->real, lock);
}

static int wb_unlock(sqlite3_file *file, int lock) {
  wb_file_t *f = (wb_file_t *)file;
  return f->real->pMethods->xUnlock(f->real, lock);
}

static int wb_check_reserved(sqlite3_file *file, int *out) {
  wb_file_t *f = (wb_file_t *)file;
  return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wb_file_control(sqlite3_file *file, int op, void *arg) {
  wb_file_t *f = (wb_file_t *)file;
  int rc = wb_flush(f);
  return rc != SQLITE_OK ? rc
                         : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wb_sector_size(sqlite3_file *file) {
  wb_file_t *f = (wb_file_t *)file;
  return f->real->pMethods->xSectorSize(f->real);
}

static int wb_device(sqlite3_file *file) {
  wb_file_t *f = (wb_file_t *)file;
  return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int wb_shm_map(sqlite3_file *file, int region, int size, int extend,
                      void volatile **p) {
  wb_file_t *f = (wb_file_t *)file;
  return f->real->pMethods->xShmMap(f->real, region, size, extend, p);
}

/* The shared-memory lock slot that is the log's write lock (SQLite's
 * WAL_WRITE_LOCK). */
#define WAL_WRITE_SLOT 0

static int wb_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
  wb_file_t *f = (wb_file_t *)file;
  /* A transaction that spilled frames and was rolled back leaves them
   * gathered; once the write lock is free another connection appends at
   * that offset, and writing them later would overwrite its commit. They
   * go now, as the default VFS would have written them. */
  if ((flags & SQLITE_SHM_UNLOCK) && offset <= WAL_WRITE_SLOT &&
      WAL_WRITE_SLOT < offset + n && f->wal != NULL)
    wb_flush(f->wal); /* a failure: SQLite rewrites those frames anyway */
  return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *file) {
  wb_file_t *f = (wb_file_t *)file;
  f->real->pMethods->xShmBarrier(f->real);
}

static int wb_shm_unmap(sqlite3_file *file, int delete_flag) {
  wb_file_t *f = (wb_file_t *)file;
  return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int wb_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **p) {
  wb_file_t *f = (wb_file_t *)file;
  int rc = wb_flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xFetch(f->real, off, amt, p);
}

static int wb_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p) {
  wb_file_t *f = (wb_file_t *)file;
  return f->real->pMethods->xUnfetch(f->real, off, p);
}

/* One table per version: a file must not seem able to do more than the
 * file below it (version 2 adds shared memory, 3 memory mapping). */
#define WB_METHODS(version)                                                    \
  {                                                                            \
    .iVersion = version, .xClose = wb_close, .xRead = wb_read,                 \
    .xWrite = wb_write, .xTruncate = wb_truncate, .xSync = wb_sync,            \
    .xFileSize = wb_file_size, .xLock = wb_lock, .xUnlock = wb_unlock,         \
    .xCheckReservedLock = wb_check_reserved, .xFileControl = wb_file_control,  \
    .xSectorSize = wb_sector_size, .xDeviceCharacteristics = wb_device,        \
    .xShmMap = version >= 2 ? wb_shm_map : NULL,                               \
    .xShmLock = version >= 2 ? wb_shm_lock : NULL,                             \
    .xShmBarrier = version >= 2 ? wb_shm_barrier : NULL,                       \
    .xShmUnmap = version >= 2 ? wb_shm_unmap : NULL,                           \
    .xFetch = version >= 3 ? wb_fetch : NULL,                                  \
    .xUnfetch = version >= 3 ? wb_unfetch : NULL,                              \
  }
static const sqlite3_io_methods wb_methods[] = {WB_METHODS(1), WB_METHODS(2),
                                                WB_METHODS(3)};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file,
                   int flags, int *out_flags) {
  wb_file_t *f = (wb_file_t *)file;
  memset(f, 0, sizeof(*f));
  f->real = (sqlite3_file *)(f + 1);
  f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->name = name;
  int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
  /* SQLite closes a file whose methods are set, even after an error */
  const sqlite3_io_methods *m = f->real->pMethods;
  if (m == NULL)
    file->pMethods = NULL;
  else
    file->pMethods = &wb_methods[m->iVersion < 1   ? 0
                                 : m->iVersion > 3 ? 2
                                                   : m->iVersion - 1];
  if (rc == SQLITE_OK)
    link_file(f, (flags & SQLITE_OPEN_MAIN_DB) != 0);
  return rc;
}

static void set_up(void) {
  real_vfs = sqlite3_vfs_find(NULL);
  if (real_vfs == NULL)
    return;
  /* The VFS methods other than xOpen are the default VFS's own; they
   * get our sqlite3_vfs, a copy of theirs with the same pAppData and
   * limits, and the unix VFS reads nothing else from it. */
  wb_vfs = *real_vfs;
  wb_vfs.zName = WALBUF_NAME;
  wb_vfs.pNext = NULL;
  wb_vfs.szOsFile = (int)sizeof(wb_file_t) + real_vfs->szOsFile;
  wb_vfs.xOpen = wb_open;
  registered = sqlite3_vfs_register(&wb_vfs, 0) == SQLITE_OK;
}

const char *an_walbuf_vfs(void) {
  pthread_once(&once, set_up);
  return registered ? WALBUF_NAME : NULL;
}
