#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void an_fuzz_fail(const char *file, int line, const char *cond) {
  fprintf(stderr, "%s:%d: property does not hold: %s\n", file, line, cond);
  abort();
}

char *an_fuzz_string(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

static char dir[4096];

static void remove_dir(void) {
  DIR *d = opendir(dir);
  if (d != NULL) {
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
      char path[8192];
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
}

const char *an_fuzz_path(const char *name) {
  static struct {
    char name[64];
    char path[4200];
  } paths[8];
  if (dir[0] == '\0') {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/anomaly-fuzz.XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
      perror(dir);
      abort();
    }
    atexit(remove_dir);
  }
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    if (strcmp(paths[i].name, name) == 0)
      return paths[i].path;
    if (paths[i].name[0] == '\0') {
      snprintf(paths[i].name, sizeof(paths[i].name), "%s", name);
      snprintf(paths[i].path, sizeof(paths[i].path), "%s/%s", dir, name);
      return paths[i].path;
    }
  }
  abort(); /* a harness uses a handful of names */
}

void an_fuzz_write(const char *path, const void *data, size_t size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size)) {
    perror(path);
    abort();
  }
  close(fd);
}

void an_fuzz_remove(const char *path) { unlink(path); }
