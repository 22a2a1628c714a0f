/* fuzz.h: what the libFuzzer harnesses share. Each harness defines
 * LLVMFuzzerTestOneInput and links tests/fuzz/fuzz.c. */
#ifndef AN_FUZZ_H
#define AN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test does not hold: reported like a crash,
 * with the input that broke it saved by libFuzzer. */
#define AN_FUZZ_CHECK(cond)                                                    \
  do {                                                                         \
    if (!(cond))                                                               \
      an_fuzz_fail(__FILE__, __LINE__, #cond);                                 \
  } while (0)

void an_fuzz_fail(const char *file, int line, const char *cond)
    __attribute__((noreturn));

/* The input as a malloc'd NUL-terminated string (it may hold NULs before
 * the final one). Never NULL: out of memory aborts. */
char *an_fuzz_string(const uint8_t *data, size_t size);

/* "DIR/name" in a directory of this process's own under $TMPDIR (or
 * /tmp), made on first use and removed with its files at exit. The
 * string is static, one per name given. Aborts when the directory cannot
 * be made. */
const char *an_fuzz_path(const char *name);

/* Replaces the file at path with the size bytes at data. Aborts on
 * failure. */
void an_fuzz_write(const char *path, const void *data, size_t size);

/* Removes the file at path if it exists. */
void an_fuzz_remove(const char *path);

#endif
