#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mem.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/* libevent's own blocks of every size come and go through the caches;
 * valgrind (AN_VALGRIND=1) checks each use. */
static void test_libevent_allocates_through_it(void **unused) {
  char data[3000];
  memset(data, 'x', sizeof(data));
  for (int round = 0; round < 50; round++) {
    struct evbuffer *b = evbuffer_new();
    assert_non_null(b);
    for (size_t n = 1; n < sizeof(data); n += 37 + (size_t)round)
      assert_int_equal(evbuffer_add(b, data, n), 0);
    assert_int_equal(evbuffer_add_printf(b, "%d", round) > 0, 1);
    size_t len = evbuffer_get_length(b);
    assert_non_null(evbuffer_pullup(b, -1)); /* one big block, realloc'd */
    assert_int_equal(evbuffer_get_length(b), len);
    evbuffer_free(b);
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    assert_int_equal(evhttp_parse_query_str("a=1&bb=22&ccc=333", &q), 0);
    assert_string_equal(evhttp_find_header(&q, "bb"), "22");
    evhttp_clear_headers(&q);
  }
}

/* What libevent returns for the caller to free may go to plain free(). */
static void test_plain_free_of_its_blocks(void **unused) {
  for (int i = 0; i < 1000; i++) {
    char *s = evhttp_uridecode("a%20b%2Fc", 0, NULL);
    assert_string_equal(s, "a b/c");
    free(s);
    s = evhttp_encode_uri("x y");
    assert_string_equal(s, "x%20y");
    free(s);
  }
}

int main(void) {
  an_mem_use_for_libevent();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_libevent_allocates_through_it),
      cmocka_unit_test(test_plain_free_of_its_blocks),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  an_mem_release();
  return rc;
}
