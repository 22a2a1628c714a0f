/* ids.h: the ids anomalyd makes (points, anomalies, alerts, rules,
 * silences): random version 4 UUIDs. */
#ifndef AN_IDS_H
#define AN_IDS_H

#include "uuid.h"

/* Writes a new UUID into out (AN_UUID_LEN + 1 bytes). Safe on any thread:
 * each thread has its own generator, seeded once from the kernel, since a
 * getrandom() per id would be a system call on the busiest path. */
void an_ids_new(char *out);

#endif
