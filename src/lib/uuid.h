/* uuid.h: random (version 4) UUIDs as text. */
#ifndef AN_UUID_H
#define AN_UUID_H

#include <stdint.h>

#define AN_UUID_LEN 36 /* characters, without the NUL */

/* Formats 16 random bytes (the caller draws them, e.g. with getrandom())
 * as a version 4 UUID "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" into out,
 * which holds AN_UUID_LEN + 1 bytes. Returns out. */
char *an_uuid_format(const uint8_t random[16], char *out);

/* Returns 1 when s is a UUID in that text form (any version, either
 * case), 0 otherwise. */
int an_uuid_valid(const char *s);

#endif
