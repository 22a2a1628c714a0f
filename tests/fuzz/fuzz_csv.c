/* anomaly-score's input: each line of the input through an_csv_is_header()
 * and an_csv_parse_point(). A row taken points into its own line; one
 * refused says why. */
#include "csv.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void parse_line(char *line) {
  an_csv_point_t p;
  char err[256] = "";
  size_t len = strlen(line);
  an_csv_is_header(line);
  if (an_csv_parse_point(line, &p, err, sizeof(err)) != 0) {
    AN_FUZZ_CHECK(err[0] != '\0');
    return;
  }
  AN_FUZZ_CHECK(p.timestamp == line && p.value_text > line &&
                p.value_text + strlen(p.value_text) <= line + len);
  AN_FUZZ_CHECK(p.timestamp[0] != '\0' && p.value_text[0] != '\0');
  AN_FUZZ_CHECK(!strchr(p.value_text, ',') && !strchr(p.value_text, '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* each line in a buffer of its own, with its newline as getline()
   * keeps it, so that AddressSanitizer sees any read past it */
  for (size_t start = 0; start < size;) {
    const uint8_t *nl = memchr(data + start, '\n', size - start);
    size_t end = nl != NULL ? (size_t)(nl - data) + 1 : size;
    char *line = an_fuzz_string(data + start, end - start);
    parse_line(line);
    free(line);
    start = end;
  }
  return 0;
}
