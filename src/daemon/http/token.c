#include "http/token.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *an_token_encode(double t, const char *id, int page, char *out,
                      size_t len) {
  char plain[120];
  int n = snprintf(plain, sizeof(plain), "v1|%.17g|%d|%s", t, page, id);
  size_t o = 0;
  for (int i = 0; i < n && o + 5 < len; i += 3) {
    unsigned v = (unsigned char)plain[i] << 16;
    if (i + 1 < n)
      v |= (unsigned char)plain[i + 1] << 8;
    if (i + 2 < n)
      v |= (unsigned char)plain[i + 2];
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    if (i + 1 < n)
      out[o++] = alphabet[(v >> 6) & 63];
    if (i + 2 < n)
      out[o++] = alphabet[v & 63];
  }
  out[o] = '\0';
  return out;
}

int an_token_decode(const char *token, double *t, char *id, size_t idlen,
                    int *page) {
  char plain[120];
  size_t n = 0, len = strlen(token);
  unsigned v = 0;
  int bits = 0;
  if (len == 0 || len > 150)
    return EINVAL;
  for (size_t i = 0; i < len; i++) {
    const char *p = strchr(alphabet, token[i]);
    if (p == NULL || token[i] == '\0')
      return EINVAL;
    v = (v << 6) | (unsigned)(p - alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n + 1 >= sizeof(plain))
        return EINVAL;
      plain[n++] = (char)((v >> bits) & 0xff);
    }
  }
  plain[n] = '\0';
  char *end;
  if (strncmp(plain, "v1|", 3) != 0)
    return EINVAL;
  double tt = strtod(plain + 3, &end);
  if (*end != '|' || !isfinite(tt))
    return EINVAL;
  long pg = strtol(end + 1, &end, 10);
  if (*end != '|' || pg < 1 || pg > 1000000000)
    return EINVAL;
  const char *rest = end + 1;
  if (rest[0] == '\0' || strlen(rest) >= idlen)
    return EINVAL;
  for (const char *c = rest; *c; c++)
    if ((unsigned char)*c < 0x20)
      return EINVAL;
  *t = tt;
  *page = (int)pg;
  strcpy(id, rest);
  return 0;
}
