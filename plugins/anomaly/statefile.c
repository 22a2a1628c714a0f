#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

/* "ANSTATE" and a version byte; then the detector name (u32 length and
 * bytes), the raw size (u64) and one zstd frame of records: u16 key length,
 * key, f64 sensitivity, f64 last time, u32 values seen, u32 state length,
 * state. */
static const char magic[8] = {'A', 'N', 'S', 'T', 'A', 'T', 'E', 1};

typedef struct buffer {
  unsigned char *data;
  size_t len, cap;
} buffer_t;

static int put(buffer_t *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
      cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (d == NULL)
      return ENOMEM;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static int add_series(void *ctx, const an_series_info_t *info) {
  buffer_t *b = ctx;
  uint16_t kl = (uint16_t)strlen(info->key);
  uint32_t bl = (uint32_t)info->len;
  if (put(b, &kl, sizeof(kl)) || put(b, info->key, kl) ||
      put(b, &info->sensitivity, sizeof(double)) ||
      put(b, &info->last_t, sizeof(double)) ||
      put(b, &info->seen, sizeof(uint32_t)) || put(b, &bl, sizeof(bl)) ||
      put(b, info->blob, info->len))
    return ENOMEM;
  return 0;
}

int an_statefile_save(an_series_table_t *table, const char *detector,
                      const char *path, char *err, size_t errlen) {
  buffer_t raw = {0}, out = {0};
  char tmp[4200];
  int rc = an_series_table_save(table, add_series, &raw);
  if (rc != 0) {
    snprintf(err, errlen, "out of memory");
    goto done;
  }
  uint32_t nl = (uint32_t)strlen(detector);
  uint64_t rl = raw.len;
  size_t bound = ZSTD_compressBound(raw.len);
  if (put(&out, magic, sizeof(magic)) || put(&out, &nl, sizeof(nl)) ||
      put(&out, detector, nl) || put(&out, &rl, sizeof(rl))) {
    rc = ENOMEM;
    snprintf(err, errlen, "out of memory");
    goto done;
  }
  size_t head = out.len;
  unsigned char zero = 0;
  for (size_t i = 0; i < bound; i++) /* room for the frame */
    if (put(&out, &zero, 1) != 0) {
      rc = ENOMEM;
      snprintf(err, errlen, "out of memory");
      goto done;
    }
  size_t z = ZSTD_compress(out.data + head, bound, raw.data, raw.len, 3);
  if (ZSTD_isError(z)) {
    rc = EIO;
    snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(z));
    goto done;
  }
  out.len = head + z;
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, out.data, out.len) != (ssize_t)out.len ||
      fsync(fd) != 0) {
    rc = errno ? errno : EIO;
    snprintf(err, errlen, "%s: %s", tmp, strerror(rc));
    if (fd >= 0)
      close(fd);
    unlink(tmp);
    goto done;
  }
  close(fd);
  if (rename(tmp, path) != 0) {
    rc = errno;
    snprintf(err, errlen, "%s: %s", path, strerror(rc));
  }
done:
  free(raw.data);
  free(out.data);
  return rc;
}

/* The most bytes a zstd frame of len bytes can decompress to: every
 * block takes at least 4 bytes (a 3-byte header and one byte repeated,
 * RLE) for at most ZSTD_BLOCKSIZE_MAX bytes of content. */
static uint64_t raw_size_max(size_t len) {
  return ((uint64_t)len / 4 + 1) * ZSTD_BLOCKSIZE_MAX;
}

long an_statefile_load(an_series_table_t *table, const char *detector,
                       const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  unsigned char *file = NULL, *raw = NULL;
  long restored = -1, refused = 0;
  err[0] = '\0';
  if (f == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  rewind(f);
  if (size < (long)sizeof(magic) + 12 || size > (1L << 31) ||
      (file = malloc((size_t)size)) == NULL ||
      fread(file, 1, (size_t)size, f) != (size_t)size) {
    snprintf(err, errlen, "%s: truncated or unreadable", path);
    goto done;
  }
  if (memcmp(file, magic, sizeof(magic)) != 0) {
    snprintf(err, errlen, "%s: not a state file of this version", path);
    goto done;
  }
  size_t p = sizeof(magic);
  uint32_t nl;
  uint64_t rl;
  memcpy(&nl, file + p, sizeof(nl));
  p += sizeof(nl);
  if (nl > 64 || p + nl + sizeof(rl) > (size_t)size || nl != strlen(detector) ||
      memcmp(file + p, detector, nl) != 0) {
    snprintf(err, errlen, "%s: written for another detector", path);
    goto done;
  }
  p += nl;
  memcpy(&rl, file + p, sizeof(rl));
  p += sizeof(rl);
  /* The raw size is allocated: a damaged file must not make it gigabytes.
   * It must be the size the zstd frame itself records, and no more than
   * the frame's bytes can hold. */
  if (rl != ZSTD_getFrameContentSize(file + p, (size_t)size - p) ||
      rl > raw_size_max((size_t)size - p) ||
      (raw = malloc(rl ? rl : 1)) == NULL) {
    snprintf(err, errlen, "%s: damaged (sizes do not match the file)", path);
    goto done;
  }
  size_t got = ZSTD_decompress(raw, rl, file + p, (size_t)size - p);
  if (ZSTD_isError(got) || got != rl) {
    snprintf(err, errlen, "%s: damaged (%s)", path,
             ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
    goto done;
  }
  restored = 0;
  for (size_t q = 0; q < rl;) {
    uint16_t kl;
    uint32_t bl, seen;
    double sens, last;
    char key[AN_SERIES_KEY_MAX + 1];
    if (q + sizeof(kl) > rl)
      break;
    memcpy(&kl, raw + q, sizeof(kl));
    q += sizeof(kl);
    if (kl == 0 || kl > AN_SERIES_KEY_MAX ||
        q + kl + 2 * sizeof(double) + 2 * sizeof(uint32_t) > rl)
      break;
    memcpy(key, raw + q, kl);
    key[kl] = '\0';
    q += kl;
    memcpy(&sens, raw + q, sizeof(sens));
    q += sizeof(sens);
    memcpy(&last, raw + q, sizeof(last));
    q += sizeof(last);
    memcpy(&seen, raw + q, sizeof(seen));
    q += sizeof(seen);
    memcpy(&bl, raw + q, sizeof(bl));
    q += sizeof(bl);
    if (q + bl > rl)
      break;
    an_series_info_t info = {.key = key,
                             .sensitivity = sens,
                             .last_t = last,
                             .seen = seen,
                             .blob = raw + q,
                             .len = bl};
    if (an_series_table_restore(table, &info) == 0)
      restored++;
    else
      refused++;
    q += bl;
  }
  if (refused > 0)
    snprintf(err, errlen,
             "%s: %ld series not restored (saved by another version of "
             "detector '%s', or damaged); they start afresh",
             path, refused, detector);
done:
  free(file);
  free(raw);
  fclose(f);
  return restored;
}
