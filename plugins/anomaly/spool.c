#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct an_spool {
  char *path;
  char *offset_path;
  int fd;
  off_t size;   /* of the data file */
  off_t offset; /* first undelivered byte */
};

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Writes the offset beside the spool: a temporary file renamed over the
 * old one, so a crash leaves either the old or the new offset. */
static int save_offset(an_spool_t *sp, off_t offset) {
  char tmp[4200], text[32];
  snprintf(tmp, sizeof(tmp), "%s.tmp", sp->offset_path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno;
  int n = snprintf(text, sizeof(text), "%lld\n", (long long)offset);
  int rc = write_all(fd, text, (size_t)n);
  if (rc == 0 && fsync(fd) != 0)
    rc = errno;
  close(fd);
  if (rc == 0 && rename(tmp, sp->offset_path) != 0)
    rc = errno;
  return rc;
}

static off_t load_offset(const char *path) {
  FILE *f = fopen(path, "r");
  long long v = 0;
  if (f == NULL)
    return 0;
  if (fscanf(f, "%lld", &v) != 1 || v < 0)
    v = 0;
  fclose(f);
  return (off_t)v;
}

an_spool_t *an_spool_open(const char *path, char *err, size_t errlen) {
  an_spool_t *sp = calloc(1, sizeof(*sp));
  if (sp == NULL)
    goto oom;
  sp->path = strdup(path);
  sp->offset_path = malloc(strlen(path) + 8);
  if (sp->path == NULL || sp->offset_path == NULL)
    goto oom;
  sprintf(sp->offset_path, "%s.offset", path);
  sp->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (sp->fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    an_spool_close(sp);
    return NULL;
  }
  struct stat st;
  fstat(sp->fd, &st);
  sp->size = st.st_size;
  /* Drop a record torn by a crash: everything after the last newline. */
  off_t end = sp->size;
  char c;
  while (end > 0 && pread(sp->fd, &c, 1, end - 1) == 1 && c != '\n')
    end--;
  if (end != sp->size && ftruncate(sp->fd, end) == 0)
    sp->size = end;
  sp->offset = load_offset(sp->offset_path);
  if (sp->offset > sp->size)
    sp->offset = 0; /* an offset from another spool: replay it all */
  return sp;
oom:
  snprintf(err, errlen, "out of memory");
  an_spool_close(sp);
  return NULL;
}

void an_spool_close(an_spool_t *sp) {
  if (sp == NULL)
    return;
  if (sp->fd > 0)
    close(sp->fd);
  free(sp->path);
  free(sp->offset_path);
  free(sp);
}

int an_spool_append(an_spool_t *sp, char *const *records, size_t n) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += strlen(records[i]) + 1;
  char *buf = malloc(len + 1), *p = buf;
  if (buf == NULL)
    return ENOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(records[i]);
    memcpy(p, records[i], l);
    p[l] = '\n';
    p += l + 1;
  }
  int rc = write_all(sp->fd, buf, len);
  free(buf);
  if (rc == 0 && fdatasync(sp->fd) != 0)
    rc = errno;
  if (rc == 0)
    sp->size += (off_t)len;
  return rc;
}

off_t an_spool_pending(const an_spool_t *sp) { return sp->size - sp->offset; }

int an_spool_peek(an_spool_t *sp, size_t max, char ***records, size_t *n,
                  off_t *next) {
  *records = NULL;
  *n = 0;
  *next = sp->offset;
  FILE *f = fopen(sp->path, "r");
  if (f == NULL)
    return errno;
  if (fseeko(f, sp->offset, SEEK_SET) != 0) {
    fclose(f);
    return EIO;
  }
  char **out = calloc(max, sizeof(*out));
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = out == NULL ? ENOMEM : 0;
  while (rc == 0 && *n < max && *next < sp->size &&
         (len = getline(&line, &cap, f)) > 0) {
    *next += len;
    if (line[len - 1] == '\n')
      line[len - 1] = '\0';
    if (line[0] == '\0')
      continue;
    if ((out[*n] = strdup(line)) == NULL)
      rc = ENOMEM;
    else
      (*n)++;
  }
  free(line);
  fclose(f);
  if (rc != 0) {
    an_spool_free_records(out, *n);
    *n = 0;
    return rc;
  }
  *records = out;
  return 0;
}

int an_spool_advance(an_spool_t *sp, off_t next) {
  if (next >= sp->size) { /* all delivered: start over empty */
    if (ftruncate(sp->fd, 0) != 0)
      return errno;
    sp->size = 0;
    sp->offset = 0;
    return save_offset(sp, 0);
  }
  int rc = save_offset(sp, next);
  if (rc == 0)
    sp->offset = next;
  return rc;
}

void an_spool_free_records(char **records, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(records[i]);
  free(records);
}
