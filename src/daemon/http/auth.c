/* auth.c: API keys presented and compared in constant time. */
#include "http/auth.h"

#include <string.h>
#include <strings.h>

const char *an_auth_presented(const char *authorization,
                              const char *x_api_key) {
  if (authorization != NULL && strncasecmp(authorization, "Bearer ", 7) == 0)
    return authorization + 7;
  return x_api_key;
}

/* Compares secrets in time that depends only on their lengths. */
static int secret_equal(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char diff = la != lb;
  for (size_t i = 0; i < la; i++)
    diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
  return diff == 0;
}

const an_api_key_t *an_auth_find(const an_config_t *c, const char *given) {
  const an_api_key_t *found = NULL;
  if (given == NULL)
    return NULL;
  for (size_t i = 0; i < c->nkeys; i++)
    if (secret_equal(given, c->keys[i].secret))
      found = &c->keys[i];
  return found;
}
