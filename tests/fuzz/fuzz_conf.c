/* anomalyd.conf: an_config_load() on any file. A config it takes must
 * hold values the daemon can use; one it refuses must say why, with the
 * file and line. */
#include "conf.h"
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = an_fuzz_path("anomalyd.conf");
  char err[512] = "";
  an_fuzz_write(path, data, size);
  an_config_t *c = an_config_load(path, err, sizeof(err));
  if (c == NULL) {
    AN_FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
    return 0;
  }
  AN_FUZZ_CHECK(c->listen_host != NULL && c->data_dir != NULL &&
                c->detector != NULL && c->public_url != NULL);
  AN_FUZZ_CHECK(c->listen_port >= 0 && c->listen_port <= 65535);
  AN_FUZZ_CHECK(c->threshold >= c->bands.low);
  for (size_t i = 0; i < c->nkeys; i++)
    AN_FUZZ_CHECK(c->keys[i].name != NULL && c->keys[i].secret != NULL);
  for (size_t i = 0; i < c->nchannels; i++)
    AN_FUZZ_CHECK(an_config_channel_type_valid(c->channels[i].type) &&
                  an_config_channel_url_valid(c->channels[i].url));
  an_config_free(c);
  return 0;
}
