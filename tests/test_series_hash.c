/* The series table's hash spreads collectd-like keys evenly over stripes
 * (its top bits) and slots (its low bits).
 *
 * This test includes the table's source to reach hash_key() and checks
 * the families of keys where a weak hash would show: keys that differ in a
 * few digits, at the start, in the middle of a long common prefix and
 * suffix, or only in length. (Without its final mix the hash fails the
 * middle family: ASCII digits' structure shows in the low bits.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "series.c"

#include <stdio.h>

#define NKEYS 100000
#define LOW_BITS 12 /* slots: the low bits of a large stripe */

typedef void (*key_fn)(char *buf, size_t len, size_t i);

static void bench_key(char *buf, size_t len, size_t i) {
  static const char *const plugins[] = {
      "cpu-%zu/cpu-user", "df-var%zu/df_complex-free",
      "interface-eth%zu/if_octets/rx", "processes-app%zu/ps_rss",
      "disk-sda%zu/disk_octets/write"};
  char metric[64];
  snprintf(metric, sizeof(metric), plugins[i % 5], (i / 5) % 64);
  snprintf(buf, len, "host%06zu.example.org/%s", i / 320, metric);
}

static void web_key(char *buf, size_t len, size_t i) {
  snprintf(buf, len, "web%zu/cpu-%zu/cpu-idle", i / 16, i % 16);
}

static void number_key(char *buf, size_t len, size_t i) {
  snprintf(buf, len, "%zu", i);
}

static void middle_key(char *buf, size_t len, size_t i) {
  snprintf(buf, len,
           "a-long-common-prefix.example.org/%08zu/and-a-long-suffix/value", i);
}

static void length_key(char *buf, size_t len, size_t i) {
  /* "x", "xx", ... cycling, with a counter so keys stay distinct */
  size_t n = 1 + i % 90;
  memset(buf, 'x', n);
  snprintf(buf + n, len - n, "%zu", i / 90);
}

/* The fullest stripe holds at most 1.3 times the mean (a random hash:
 * about 1.15 at 100 000 keys), and the low bits' chi-square per degree
 * of freedom is near 1. */
static void check_spread(const char *family, key_fn make) {
  static unsigned stripes[NSTRIPES], low[1 << LOW_BITS];
  memset(stripes, 0, sizeof(stripes));
  memset(low, 0, sizeof(low));
  char key[128];
  for (size_t i = 0; i < NKEYS; i++) {
    make(key, sizeof(key), i);
    uint64_t h = hash_key(key, strlen(key));
    stripes[h >> (64 - STRIPE_BITS)]++;
    low[h & ((1u << LOW_BITS) - 1)]++;
  }
  double mean = (double)NKEYS / NSTRIPES, most = 0;
  for (size_t s = 0; s < NSTRIPES; s++)
    most = stripes[s] > most ? stripes[s] : most;
  double expect = (double)NKEYS / (1 << LOW_BITS), chi = 0;
  for (size_t b = 0; b < (1u << LOW_BITS); b++)
    chi += (low[b] - expect) * (low[b] - expect) / expect;
  chi /= (1 << LOW_BITS) - 1;
  print_message("%-8s fullest stripe %.2f x mean, low bits chi2/df %.2f\n",
                family, most / mean, chi);
  assert_true(most / mean < 1.3);
  assert_true(chi > 0.8 && chi < 1.25);
}

static void test_spread(void **unused) {
  check_spread("bench", bench_key);
  check_spread("web", web_key);
  check_spread("number", number_key);
  check_spread("middle", middle_key);
  check_spread("length", length_key);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
