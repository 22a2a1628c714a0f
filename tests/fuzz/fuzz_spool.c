/* The plugin's spool as a crash or another program may leave it: the
 * input's first line is the offset file, the rest the spool. Opened and
 * drained in batches of 1 to 4 as the forwarder drains it, then one
 * record appended must be the one record read back. */
#include "fuzz.h"
#include "spool.h"

#include <stdlib.h>
#include <string.h>

/* The harnesses test parsing, not durability: a sync per input would
 * make this one disk-bound. */
int fsync(int fd) { return 0; }
int fdatasync(int fd) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = an_fuzz_path("anomaly.spool");
  const char *offset_path = an_fuzz_path("anomaly.spool.offset");
  const uint8_t *nl = memchr(data, '\n', size);
  size_t head = nl != NULL ? (size_t)(nl - data) + 1 : 0;
  char err[512];
  an_fuzz_write(offset_path, data, head);
  an_fuzz_write(path, data + head, size - head);

  an_spool_t *sp = an_spool_open(path, err, sizeof(err));
  AN_FUZZ_CHECK(sp != NULL);
  size_t batch = 1 + (size > 0 ? data[0] % 4 : 0);
  off_t pending = an_spool_pending(sp);
  AN_FUZZ_CHECK(pending >= 0 && (size_t)pending <= size - head);
  for (int round = 0; an_spool_pending(sp) > 0; round++) {
    char **records;
    size_t n;
    off_t next;
    AN_FUZZ_CHECK(round <= (int)size); /* every round delivers a line */
    AN_FUZZ_CHECK(an_spool_peek(sp, batch, &records, &n, &next) == 0);
    AN_FUZZ_CHECK(n <= batch);
    for (size_t i = 0; i < n; i++)
      AN_FUZZ_CHECK(records[i][0] != '\0' && !strchr(records[i], '\n'));
    an_spool_free_records(records, n);
    off_t before = an_spool_pending(sp);
    AN_FUZZ_CHECK(an_spool_advance(sp, next) == 0);
    AN_FUZZ_CHECK(an_spool_pending(sp) < before);
  }

  char *record = "{\"seriesId\":\"host/cpu-0/cpu-idle/value\"}", **records;
  size_t n;
  off_t next;
  AN_FUZZ_CHECK(an_spool_append(sp, &record, 1) == 0);
  AN_FUZZ_CHECK(an_spool_peek(sp, 4, &records, &n, &next) == 0);
  AN_FUZZ_CHECK(n == 1 && strcmp(records[0], record) == 0);
  an_spool_free_records(records, n);
  an_spool_close(sp);
  return 0;
}
