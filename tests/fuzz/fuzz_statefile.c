/* The plugin's state file: an_statefile_load() on any file. The first
 * input byte chooses what the rest is: the file itself, or (odd) the
 * records inside it, which the harness compresses and puts behind a valid
 * header so that the fuzzer reaches the records and the detector states
 * without having to write zstd frames. What loads must save and load
 * again whole, and score a value in [0, 1]. */
#include "detector.h"
#include "fuzz.h"
#include "series.h"
#include "statefile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* The harnesses test parsing, not durability: a sync per input would
 * make this one disk-bound. */
int fsync(int fd) { return 0; }

/* What an_statefile_save() writes before the frame. */
static size_t header(unsigned char *out, uint64_t raw_len) {
  static const char magic[8] = {'A', 'N', 'S', 'T', 'A', 'T', 'E', 1};
  uint32_t nl = 7;
  memcpy(out, magic, 8);
  memcpy(out + 8, &nl, 4);
  memcpy(out + 12, "default", 7);
  memcpy(out + 19, &raw_len, 8);
  return 27;
}

typedef struct keys {
  char **key;
  size_t n;
} keys_t;

static int collect(void *ctx, const an_series_info_t *info) {
  keys_t *k = ctx;
  char **key = realloc(k->key, (k->n + 1) * sizeof(*key));
  AN_FUZZ_CHECK(key != NULL);
  k->key = key;
  AN_FUZZ_CHECK((k->key[k->n++] = strdup(info->key)) != NULL);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = an_fuzz_path("anomaly.state");
  const char *again = an_fuzz_path("again.state");
  const an_detector_class_t *cls = an_detector_find("default");
  char err[512];
  if (size < 1)
    return 0;
  if (data[0] & 1) {
    size_t bound = ZSTD_compressBound(size - 1);
    unsigned char *file = malloc(27 + bound);
    AN_FUZZ_CHECK(file != NULL);
    size_t h = header(file, size - 1);
    size_t z = ZSTD_compress(file + h, bound, data + 1, size - 1, 1);
    AN_FUZZ_CHECK(!ZSTD_isError(z));
    an_fuzz_write(path, file, h + z);
    free(file);
  } else {
    an_fuzz_write(path, data + 1, size - 1);
  }

  an_series_table_t *table = an_series_table_create(cls);
  AN_FUZZ_CHECK(table != NULL);
  long n = an_statefile_load(table, "default", path, err, sizeof(err));
  AN_FUZZ_CHECK(n >= -1 && (n != -1 || err[0] != '\0'));
  AN_FUZZ_CHECK((size_t)(n < 0 ? 0 : n) >= an_series_table_count(table));
  if (an_series_table_count(table) > 0) {
    an_series_table_t *copy = an_series_table_create(cls);
    AN_FUZZ_CHECK(copy != NULL);
    AN_FUZZ_CHECK(
        an_statefile_save(table, "default", again, err, sizeof(err)) == 0);
    AN_FUZZ_CHECK(an_statefile_load(copy, "default", again, err, sizeof(err)) ==
                  (long)an_series_table_count(table));
    AN_FUZZ_CHECK(err[0] == '\0');
    an_series_table_destroy(copy);
  }

  keys_t k = {0};
  an_series_table_save(table, collect, &k);
  for (size_t i = 0; i < k.n; i++) {
    an_result_t r;
    AN_FUZZ_CHECK(an_series_table_update(table, k.key[i], NAN, 1.0, &r) == 0);
    AN_FUZZ_CHECK(r.score >= 0 && r.score <= 1);
    free(k.key[i]);
  }
  free(k.key);
  an_series_table_destroy(table);
  return 0;
}
