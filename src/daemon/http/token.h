/* token.h: the opaque page token of GET /v1/anomalies: where the last page
 * ended (detectedAt, id) and its number, base64url-encoded. */
#ifndef AN_TOKEN_H
#define AN_TOKEN_H

#include <stddef.h>

/* Encodes into out (at least 160 bytes). Returns out. */
char *an_token_encode(double t, const char *id, int page, char *out,
                      size_t len);

/* Decodes a token; id receives at most idlen - 1 bytes. Returns 0, or
 * EINVAL for anything not made by an_token_encode(). */
int an_token_decode(const char *token, double *t, char *id, size_t idlen,
                    int *page);

#endif
