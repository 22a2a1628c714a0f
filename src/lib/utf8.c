#include "utf8.h"

#include <string.h>

size_t an_utf8_char_len(const char *s, size_t left) {
  const unsigned char *p = (const unsigned char *)s;
  unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
  size_t n;
  if (left == 0)
    return 0;
  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xc2 && p[0] <= 0xdf) {
    n = 2;
  } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
    n = 3;
    if (p[0] == 0xe0)
      lo = 0xa0; /* overlong below U+0800 */
    else if (p[0] == 0xed)
      hi = 0x9f; /* surrogates */
  } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
    n = 4;
    if (p[0] == 0xf0)
      lo = 0x90; /* overlong below U+10000 */
    else if (p[0] == 0xf4)
      hi = 0x8f; /* above U+10FFFF */
  } else {
    return 0; /* a continuation byte, C0, C1 (overlong) or F5..FF */
  }
  if (left < n || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  return n;
}

int an_utf8_valid(const char *s, size_t len) {
  for (size_t i = 0; i < len;) {
    size_t n = an_utf8_char_len(s + i, len - i);
    if (n == 0)
      return 0;
    i += n;
  }
  return 1;
}

char *an_utf8_sanitize(const char *in, char *out, size_t outlen) {
  size_t left = strlen(in), o = 0;
  while (left > 0) {
    size_t n = an_utf8_char_len(in, left);
    const char *c = n > 0 ? in : "\xef\xbf\xbd";
    size_t cn = n > 0 ? n : 3;
    if (o + cn >= outlen)
      break;
    memcpy(out + o, c, cn);
    o += cn;
    in += n > 0 ? n : 1;
    left -= n > 0 ? n : 1;
  }
  out[o] = '\0';
  return out;
}
