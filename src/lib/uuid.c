#include "uuid.h"

#include <ctype.h>
#include <string.h>

char *an_uuid_format(const uint8_t random[16], char *out) {
  static const char hex[] = "0123456789abcdef";
  uint8_t b[16];
  memcpy(b, random, sizeof(b));
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  char *p = out;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      *p++ = '-';
    *p++ = hex[b[i] >> 4];
    *p++ = hex[b[i] & 15];
  }
  *p = '\0';
  return out;
}

int an_uuid_valid(const char *s) {
  if (s == NULL || strlen(s) != AN_UUID_LEN)
    return 0;
  for (int i = 0; i < AN_UUID_LEN; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
      return 0;
  }
  return 1;
}
