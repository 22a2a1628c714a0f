/* The page token: an_token_decode() on any text, and the round trip of
 * both directions. A token that decodes encodes to one that decodes to
 * the same place; a place (time, id, page) read from the input encodes to
 * a token that decodes to it. */
#include "fuzz.h"
#include "http/token.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The ids the lists page by: a UUID or a name, at most this long. */
#define ID_MAX 63

static void round_trip(double t, const char *id, int page) {
  char token[200], id2[ID_MAX + 1];
  double t2;
  int page2;
  an_token_encode(t, id, page, token, sizeof(token));
  AN_FUZZ_CHECK(an_token_decode(token, &t2, id2, sizeof(id2), &page2) == 0);
  AN_FUZZ_CHECK(t2 == t && page2 == page && strcmp(id2, id) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = an_fuzz_string(data, size);
  double t;
  char id[ID_MAX + 1];
  int page;
  int rc = an_token_decode(text, &t, id, sizeof(id), &page);
  AN_FUZZ_CHECK(rc == 0 || rc == EINVAL);
  if (rc == 0) {
    AN_FUZZ_CHECK(isfinite(t) && page >= 1 && strlen(id) < sizeof(id));
    round_trip(t, id, page);
  }
  free(text);

  /* A place: 8 bytes of time, 4 of page, the rest an id. */
  if (size < 13)
    return 0;
  uint32_t p;
  memcpy(&t, data, sizeof(t));
  memcpy(&p, data + 8, sizeof(p));
  size_t idlen = size - 12 > ID_MAX ? ID_MAX : size - 12;
  memcpy(id, data + 12, idlen);
  id[idlen] = '\0';
  for (size_t i = 0; i < idlen; i++)
    if ((unsigned char)id[i] < 0x20)
      return 0; /* ids are printable */
  page = (int)(p % 1000000000u) + 1;
  if (isfinite(t) && idlen > 0)
    round_trip(t, id, page);
  return 0;
}
