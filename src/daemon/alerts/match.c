#include "alerts/match.h"

#include <fnmatch.h>
#include <string.h>

static int is_glob(const char *pattern) {
  return strpbrk(pattern, "*?[") != NULL;
}

static int matches_all(const char *pattern) {
  return pattern == NULL || pattern[0] == '\0' || strcmp(pattern, "*") == 0;
}

int an_match_source(const char *pattern, const char *source) {
  if (matches_all(pattern))
    return 1;
  if (is_glob(pattern))
    return fnmatch(pattern, source, 0) == 0;
  return strcmp(pattern, source) == 0;
}

int an_match_metric(const char *pattern, const char *metric) {
  if (matches_all(pattern) || is_glob(pattern))
    return an_match_source(pattern, metric);
  size_t n = strlen(pattern);
  return strncmp(pattern, metric, n) == 0 &&
         (metric[n] == '\0' || metric[n] == '-' || metric[n] == '/');
}

int an_match_valid(const char *pattern) {
  size_t n = strlen(pattern);
  if (n > 512)
    return 0;
  int open = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)pattern[i];
    if (c < 0x20 || c == 0x7f)
      return 0;
    if (c == '[')
      open = 1;
    else if (c == ']')
      open = 0;
  }
  return !open;
}
