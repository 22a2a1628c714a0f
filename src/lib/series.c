#include "series.h"
#include "score.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Stripes fix which lock guards a series by its hash alone, so growing the
 * bucket array never moves a series to another lock. */
#define NSTRIPES 256
#define INITIAL_BUCKETS 1024

typedef struct entry {
  struct entry *next;
  uint32_t hash;
  float sensitivity;
  uint32_t seen;    /* values scored, saturating */
  uint16_t key_len; /* without the NUL */
  double last_t;    /* time of the last value, NaN if unknown */
  /* Detector state, then the key with its NUL. */
  alignas(8) unsigned char data[];
} entry_t;

/* A stripe's lock: a spinlock, because what it guards takes nanoseconds
 * (a lookup and one detector update) and a mutex would cost as much as
 * the work. A waiter yields so a preempted holder can run. */
typedef struct stripe {
  alignas(64) atomic_flag busy;
} stripe_t;

static void stripe_lock(stripe_t *s) {
  while (atomic_flag_test_and_set_explicit(&s->busy, memory_order_acquire))
    sched_yield();
}

static void stripe_unlock(stripe_t *s) {
  atomic_flag_clear_explicit(&s->busy, memory_order_release);
}

struct an_series_table {
  const an_detector_class_t *cls;
  size_t state_size; /* rounded up to keep the key after it aligned */
  stripe_t stripes[NSTRIPES];
  entry_t **buckets; /* guarded by every stripe lock together */
  size_t nbuckets;   /* a power of two, a multiple of NSTRIPES */
  atomic_size_t count;
  atomic_size_t key_bytes;
};

static uint64_t load64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static uint64_t load32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* The high and low halves of a * b, folded: one multiply mixes 64 bits
 * into 64. */
static uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* wyhash's shape: 16 bytes a multiply, the last (partial) block read as
 * two overlapping words, so no byte loop and no variable-length memcpy
 * for the 30- to 60-byte keys of collectd. */
static uint64_t hash_key(const char *key, size_t n) {
  const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull;
  const unsigned char *p = (const unsigned char *)key;
  uint64_t seed = k0, a, b;
  if (n <= 16) {
    if (n >= 4) {
      size_t mid = (n >> 3) << 2;
      a = load32(p) << 32 | load32(p + mid);
      b = load32(p + n - 4) << 32 | load32(p + n - 4 - mid);
    } else {
      a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
      b = 0;
    }
  } else {
    size_t i = n;
    for (; i > 16; i -= 16, p += 16)
      seed = mix(load64(p) ^ k1, load64(p + 8) ^ seed);
    a = load64(p + i - 16);
    b = load64(p + i - 8);
  }
  return mix(k1 ^ n, mix(a ^ k1, b ^ seed));
}

static const char *entry_key(const an_series_table_t *t, const entry_t *e) {
  return (const char *)e->data + t->state_size;
}

an_series_table_t *an_series_table_create(const an_detector_class_t *cls) {
  an_series_table_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->cls = cls;
  t->state_size = (cls->state_size + 7) & ~(size_t)7;
  t->nbuckets = INITIAL_BUCKETS;
  t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
  if (t->buckets == NULL) {
    free(t);
    return NULL;
  }
  for (int i = 0; i < NSTRIPES; i++)
    atomic_flag_clear(&t->stripes[i].busy);
  return t;
}

void an_series_table_destroy(an_series_table_t *t) {
  if (t == NULL)
    return;
  for (size_t b = 0; b < t->nbuckets; b++) {
    entry_t *e = t->buckets[b];
    while (e != NULL) {
      entry_t *next = e->next;
      free(e);
      e = next;
    }
  }
  free(t->buckets);
  free(t);
}

/* Doubles the bucket array once the table averages more than one series a
 * bucket. Takes every stripe lock, in order, so nothing walks a chain
 * meanwhile. */
static void maybe_grow(an_series_table_t *t) {
  if (atomic_load(&t->count) <= t->nbuckets)
    return;
  for (int i = 0; i < NSTRIPES; i++)
    stripe_lock(&t->stripes[i]);
  size_t n = t->nbuckets;
  if (atomic_load(&t->count) > n) {
    entry_t **nb = calloc(2 * n, sizeof(*nb));
    if (nb != NULL) { /* out of memory: keep the longer chains */
      for (size_t b = 0; b < n; b++) {
        entry_t *e = t->buckets[b];
        while (e != NULL) {
          entry_t *next = e->next;
          size_t nb_i = e->hash & (2 * n - 1);
          e->next = nb[nb_i];
          nb[nb_i] = e;
          e = next;
        }
      }
      free(t->buckets);
      t->buckets = nb;
      t->nbuckets = 2 * n;
    }
  }
  for (int i = NSTRIPES - 1; i >= 0; i--)
    stripe_unlock(&t->stripes[i]);
}

/* Finds the series, or creates it when create is set. _nolock: the caller
 * holds the stripe lock of hash. */
static entry_t *find_nolock(an_series_table_t *t, const char *key, size_t len,
                            uint32_t hash, int create, int *created) {
  entry_t **head = &t->buckets[hash & (t->nbuckets - 1)];
  for (entry_t *e = *head; e != NULL; e = e->next)
    if (e->hash == hash && e->key_len == len &&
        memcmp(entry_key(t, e), key, len) == 0)
      return e;
  if (!create)
    return NULL;
  entry_t *e = malloc(sizeof(*e) + t->state_size + len + 1);
  if (e == NULL)
    return NULL;
  e->hash = hash;
  e->sensitivity = 1.0f;
  e->seen = 0;
  e->key_len = (uint16_t)len;
  e->last_t = NAN;
  t->cls->init(e->data);
  memcpy(e->data + t->state_size, key, len + 1);
  e->next = *head;
  *head = e;
  atomic_fetch_add(&t->count, 1);
  atomic_fetch_add(&t->key_bytes, len + 1);
  *created = 1;
  return e;
}

static int check_key(const char *key, size_t len) {
  return key != NULL && len > 0 && len <= AN_SERIES_KEY_MAX ? 0 : EINVAL;
}

/* Applies a series' sensitivity to a detector's result. */
static void sensitize(float sensitivity, an_result_t *r) {
  if (sensitivity == 1.0f || r->p_value >= 1.0)
    return;
  r->p_value = pow(r->p_value, sensitivity);
  r->score = an_score_from_p(r->p_value);
  if (r->score <= 0 && r->kind != AN_KIND_INVALID)
    r->kind = AN_KIND_NONE;
}

/* The update itself. ordered: refuse t at or before the last time. */
static int update(an_series_table_t *t, const char *key, double ts,
                  double value, an_result_t *result, int ordered,
                  double *last) {
  size_t len = key != NULL ? strlen(key) : 0;
  if (check_key(key, len) != 0)
    return EINVAL;
  uint32_t hash = (uint32_t)hash_key(key, len);
  stripe_t *lock = &t->stripes[hash & (NSTRIPES - 1)];
  int created = 0, rc = 0;
  stripe_lock(lock);
  entry_t *e = find_nolock(t, key, len, hash, 1, &created);
  if (e == NULL) {
    rc = ENOMEM;
  } else if (ordered && !(ts > e->last_t) && !isnan(e->last_t)) {
    *last = e->last_t;
    rc = ERANGE;
  } else {
    t->cls->update(e->data, ts, value, result);
    sensitize(e->sensitivity, result);
    if (e->seen < UINT32_MAX)
      e->seen++;
    result->seen = e->seen;
    if (!isnan(ts))
      e->last_t = ts;
  }
  stripe_unlock(lock);
  if (created)
    maybe_grow(t);
  return rc;
}

int an_series_table_update(an_series_table_t *t, const char *key, double ts,
                           double value, an_result_t *result) {
  return update(t, key, ts, value, result, 0, NULL);
}

int an_series_table_update_ordered(an_series_table_t *t, const char *key,
                                   double ts, double value, an_result_t *result,
                                   double *last) {
  if (!isfinite(ts))
    return EINVAL;
  return update(t, key, ts, value, result, 1, last);
}

int an_series_table_set_sensitivity(an_series_table_t *t, const char *key,
                                    double sensitivity) {
  size_t len = key != NULL ? strlen(key) : 0;
  if (check_key(key, len) != 0 || !isfinite(sensitivity) || sensitivity <= 0)
    return EINVAL;
  uint32_t hash = (uint32_t)hash_key(key, len);
  stripe_t *lock = &t->stripes[hash & (NSTRIPES - 1)];
  int created = 0;
  stripe_lock(lock);
  entry_t *e = find_nolock(t, key, len, hash, 1, &created);
  if (e != NULL)
    e->sensitivity = (float)sensitivity;
  stripe_unlock(lock);
  if (e == NULL)
    return ENOMEM;
  if (created)
    maybe_grow(t);
  return 0;
}

int an_series_table_remove(an_series_table_t *t, const char *key) {
  size_t len = key != NULL ? strlen(key) : 0;
  if (check_key(key, len) != 0)
    return ENOENT;
  uint32_t hash = (uint32_t)hash_key(key, len);
  stripe_t *lock = &t->stripes[hash & (NSTRIPES - 1)];
  int rc = ENOENT;
  stripe_lock(lock);
  for (entry_t **pp = &t->buckets[hash & (t->nbuckets - 1)]; *pp != NULL;
       pp = &(*pp)->next) {
    entry_t *e = *pp;
    if (e->hash == hash && e->key_len == len &&
        memcmp(entry_key(t, e), key, len) == 0) {
      *pp = e->next;
      free(e);
      atomic_fetch_sub(&t->count, 1);
      atomic_fetch_sub(&t->key_bytes, len + 1);
      rc = 0;
      break;
    }
  }
  stripe_unlock(lock);
  return rc;
}

size_t an_series_table_count(const an_series_table_t *t) {
  return atomic_load(&t->count);
}

size_t an_series_table_bytes(const an_series_table_t *t) {
  size_t n = atomic_load(&t->count);
  return sizeof(*t) + t->nbuckets * sizeof(entry_t *) +
         n * (sizeof(entry_t) + t->state_size) + atomic_load(&t->key_bytes);
}

int an_series_table_save(an_series_table_t *t, an_series_save_cb cb,
                         void *ctx) {
  size_t len = an_detector_saved_size(t->cls);
  unsigned char *blob = malloc(len);
  if (blob == NULL)
    return ENOMEM;
  int rc = 0;
  for (int s = 0; s < NSTRIPES && rc == 0; s++) {
    stripe_lock(&t->stripes[s]);
    /* Buckets of stripe s are s, s + NSTRIPES, …: nbuckets is a multiple. */
    for (size_t b = (size_t)s; b < t->nbuckets && rc == 0; b += NSTRIPES)
      for (entry_t *e = t->buckets[b]; e != NULL && rc == 0; e = e->next) {
        an_detector_save(t->cls, e->data, blob, len);
        an_series_info_t info = {.key = entry_key(t, e),
                                 .sensitivity = e->sensitivity,
                                 .last_t = e->last_t,
                                 .seen = e->seen,
                                 .blob = blob,
                                 .len = len};
        rc = cb(ctx, &info);
      }
    stripe_unlock(&t->stripes[s]);
  }
  free(blob);
  return rc;
}

int an_series_table_restore(an_series_table_t *t,
                            const an_series_info_t *info) {
  const char *key = info->key;
  size_t klen = key != NULL ? strlen(key) : 0;
  if (check_key(key, klen) != 0 || !isfinite(info->sensitivity) ||
      info->sensitivity <= 0 || isinf(info->last_t))
    return EINVAL;
  uint32_t hash = (uint32_t)hash_key(key, klen);
  unsigned char *state = malloc(t->state_size);
  if (state == NULL)
    return ENOMEM;
  int rc = an_detector_restore(t->cls, state, info->blob, info->len);
  if (rc == 0) {
    stripe_t *lock = &t->stripes[hash & (NSTRIPES - 1)];
    int created = 0;
    stripe_lock(lock);
    entry_t *e = find_nolock(t, key, klen, hash, 1, &created);
    if (e != NULL) {
      memcpy(e->data, state, t->cls->state_size);
      e->sensitivity = (float)info->sensitivity;
      e->last_t = info->last_t;
      e->seen = info->seen;
    }
    stripe_unlock(lock);
    rc = e != NULL ? 0 : ENOMEM;
    if (created)
      maybe_grow(t);
  }
  free(state);
  return rc;
}
