/* A list's query string: split as the server splits it
 * (evhttp_parse_query_str), then every value through every parser of
 * query.c, whatever its key, so that the fuzzer need not guess names.
 * A page token taken is written into a page's answer as the next one;
 * that token must read back as the page after it. */
#include "fuzz.h"
#include "http/query.h"
#include "json.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

static void check_err(int rc, const an_query_err_t *e) {
  if (rc != 0)
    AN_FUZZ_CHECK(memchr(e->msg, '\0', sizeof(e->msg)) != NULL &&
                  e->msg[0] != '\0');
}

/* The next page's token, from the answer of the page before it. */
static void check_next_token(double t, const char *id, int page) {
  an_jw_t w;
  an_jw_init(&w);
  an_jw_map_open(&w);
  an_query_write_page(&w, 1000000000000LL, page, 10, 10, t, id);
  an_jw_map_close(&w);
  char *text = an_jw_take(&w), err[256];
  AN_FUZZ_CHECK(text != NULL);
  yajl_val doc = an_json_parse(text, strlen(text), err, sizeof(err));
  AN_FUZZ_CHECK(doc != NULL);
  yajl_val next = an_json_get(doc, "next_page_token");
  AN_FUZZ_CHECK(YAJL_IS_STRING(next));
  double t2;
  char id2[64];
  int page2;
  an_query_err_t e = {{0}};
  AN_FUZZ_CHECK(an_query_page_token(YAJL_GET_STRING(next), &t2, id2,
                                    sizeof(id2), &page2, &e) == 0);
  AN_FUZZ_CHECK(t2 == t && strcmp(id2, id) == 0 && page2 == page + 1);
  yajl_tree_free(doc);
  free(text);
}

static void parse_value(const char *key, const char *v) {
  an_query_err_t e = {{0}};
  int limit = 0, flag = -1, page = 0, rc;
  double t = 0, fraction = -1;
  unsigned bits = 0;
  char id[64];

  rc = an_query_limit(key, v, &limit, &e);
  check_err(rc, &e);
  AN_FUZZ_CHECK(rc != 0 || (limit >= 1 && limit <= AN_QUERY_MAX_LIMIT));
  rc = an_query_time(key, v, &t, &e);
  check_err(rc, &e);
  AN_FUZZ_CHECK(rc != 0 || isfinite(t));
  rc = an_query_fraction(key, v, &fraction, &e);
  check_err(rc, &e);
  AN_FUZZ_CHECK(rc != 0 || (fraction >= 0 && fraction <= 1));
  rc = an_query_bool(key, v, &flag, &e);
  check_err(rc, &e);
  AN_FUZZ_CHECK(rc != 0 || flag == 0 || flag == 1);
  rc = an_query_bits(key, v, an_query_severity_bit, &bits,
                     "low, medium, high or critical", &e);
  check_err(rc, &e);
  AN_FUZZ_CHECK(rc != 0 || bits != 0);
  rc = an_query_page_token(v, &t, id, sizeof(id), &page, &e);
  check_err(rc, &e);
  if (rc == 0) {
    AN_FUZZ_CHECK(isfinite(t) && page >= 1 && strlen(id) < sizeof(id));
    if (page < 1000000000)
      check_next_token(t, id, page);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *query = an_fuzz_string(data, size);
  struct evkeyvalq pairs;
  TAILQ_INIT(&pairs);
  if (evhttp_parse_query_str(query, &pairs) == 0) {
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &pairs, next) { parse_value(kv->key, kv->value); }
  }
  evhttp_clear_headers(&pairs);
  free(query);
  return 0;
}
