/* auth.h: which configured API key a request presents. Used by the front
 * door (on the raw headers, before the body is read) and by the server
 * (on the parsed request), so both decide alike. */
#ifndef AN_AUTH_H
#define AN_AUTH_H

#include "conf.h"

/* The secret a request presents: the value of "Authorization: Bearer X"
 * or else of X-Api-Key; either header may be NULL. NULL when neither
 * gives one. Points into the header value given. */
const char *an_auth_presented(const char *authorization, const char *x_api_key);

/* The configured key whose secret is given, NULL if none matches. Every
 * key is compared, in time that depends only on the lengths. */
const an_api_key_t *an_auth_find(const an_config_t *c, const char *given);

#endif
