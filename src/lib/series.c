#include "series.h"
#include "score.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The table is NSTRIPES independent hash tables, the key's hash choosing
 * one: each has its own lock and grows on its own, so no lock ever covers
 * the whole table and a series never changes lock. */
#define NSTRIPES 256
#define STRIPE_BITS 8 /* log2(NSTRIPES) */
#define FIRST_SLOTS 8 /* a stripe's slots when it gets its first series */
/* A stripe grows past 3/4 full: linear probing then stays within a cache
 * line or two. */
#define MAX_LOAD_NUM 3
#define MAX_LOAD_DEN 4

typedef struct entry {
  double last_t;     /* time of the last value, NaN if unknown */
  uint32_t hash;     /* the key's hash, low half: all growing needs */
  uint32_t seen;     /* values scored, saturating */
  float sensitivity; /* 1: neutral */
  uint16_t key_len;  /* without the NUL */
  /* The key with its NUL, right after the header so that comparing it
   * reads the line the header is in; then, at the next multiple of 8,
   * the detector state. */
  char key[];
} entry_t;

/* An open-addressing slot: the entry's address with a few bits of its
 * hash in the bits malloc's alignment leaves zero (an entry is larger than
 * max_align_t, so malloc aligns it fully). Probing past another series
 * then rarely reads its entry (at a million series each entry read is a
 * cache miss), yet a slot is one word. 0: empty. */
typedef uintptr_t slot_t;
#define TAG_MASK ((uintptr_t)alignof(max_align_t) - 1)

static entry_t *slot_entry(slot_t s) { return (entry_t *)(s & ~TAG_MASK); }

/* Bits 32 and up: the slot index is the low bits, and series probed past
 * are mostly ones whose home is near, with low bits like the key's. */
static slot_t tag_of(uint64_t hash) { return (hash >> 32) & TAG_MASK; }

/* A stripe: its lock and the table it guards, on one cache line, so
 * taking the lock brings the table's size and slots pointer with it.
 * The lock is a spinlock because what it guards takes nanoseconds (a
 * lookup and one detector update) and a mutex would cost as much as the
 * work; a waiter yields so a preempted holder can run. */
typedef struct stripe {
  alignas(64) atomic_uchar busy;
  size_t count;  /* series in this stripe */
  size_t nslots; /* 0, or a power of two */
  slot_t *slots; /* linear probing, by the hash's low bits; never full */
} stripe_t;

struct an_series_table {
  const an_detector_class_t *cls;
  stripe_t stripes[NSTRIPES];
  atomic_size_t count;
  atomic_size_t bytes; /* entries and slot arrays */
};

/* Out of line: with its call to sched_yield() inlined, the common path
 * would keep the caller's floating-point values on the stack around it. */
static __attribute__((noinline)) void stripe_wait(stripe_t *s) {
  do
    while (atomic_load_explicit(&s->busy, memory_order_relaxed))
      sched_yield();
  while (atomic_exchange_explicit(&s->busy, 1, memory_order_acquire));
}

static inline void stripe_lock(stripe_t *s) {
  if (__builtin_expect(
          atomic_exchange_explicit(&s->busy, 1, memory_order_acquire), 0))
    stripe_wait(s);
}

static void stripe_unlock(stripe_t *s) {
  atomic_store_explicit(&s->busy, 0, memory_order_release);
}

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

/* wyhash's mixing: 16 bytes a multiply, the last (partial) block read as
 * overlapping words, so no byte loop and no variable-length memcpy. The
 * blocks of a longer key (collectd's are 30 to 60 bytes) are mixed each
 * with a secret offset by its position and summed, so their multiplies
 * do not wait for each other. The top bits choose the stripe, the low
 * bits the slot. */
static inline __attribute__((always_inline)) uint64_t hash_key(const char *key,
                                                               size_t n) {
  const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                 k2 = 0x8ebc6af09c88c6e3ull, k3 = 0x589965cc75374cc3ull;
  const unsigned char *p = (const unsigned char *)key;
  uint64_t h;
  if (n <= 16) {
    uint64_t a, b;
    if (n >= 4) {
      size_t mid = (n >> 3) << 2;
      a = load32(p) << 32 | load32(p + mid);
      b = load32(p + n - 4) << 32 | load32(p + n - 4 - mid);
    } else {
      a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
      b = 0;
    }
    h = mix(a ^ k1, b ^ k0);
  } else {
    /* the blocks at 0, 16, 32... that start before the last 16 bytes;
     * the first two unrolled, for the common lengths */
    h = mix(load64(p + n - 16) ^ k2, load64(p + n - 8) ^ k3) +
        mix(load64(p) ^ k1, load64(p + 8) ^ k0);
    if (n > 32)
      h += mix(load64(p + 16) ^ (k1 + 16), load64(p + 24) ^ k0);
    for (size_t i = 32; i + 16 < n; i += 16)
      h += mix(load64(p + i) ^ (k1 + i), load64(p + i + 8) ^ k0);
  }
  return mix(k1 ^ n, h ^ k0);
}

/* 16 bytes as one vector: SSE2 on x86-64, NEON on arm64, words else. */
typedef uint64_t v16_t __attribute__((vector_size(16)));

static v16_t load128(const unsigned char *p) {
  v16_t v;
  memcpy(&v, p, 16);
  return v;
}

/* a[0, n) == b[0, n) for n > 0: 16 bytes a step, the last 16 overlapping,
 * and no call (memcmp's costs as much as the rest of a lookup). */
static inline __attribute__((always_inline)) int
key_equal(const char *a, const char *b, size_t n) {
  const unsigned char *p = (const unsigned char *)a;
  const unsigned char *q = (const unsigned char *)b;
  if (n < 16)
    return n >= 8 ? ((load64(p) ^ load64(q)) |
                     (load64(p + n - 8) ^ load64(q + n - 8))) == 0
                  : memcmp(a, b, n) == 0;
  /* the last 16 bytes and the blocks before them, the first two unrolled
   * as in hash_key() */
  v16_t d = load128(p + n - 16) ^ load128(q + n - 16);
  if (n > 16)
    d |= load128(p) ^ load128(q);
  if (n > 32)
    d |= load128(p + 16) ^ load128(q + 16);
  for (size_t i = 32; i + 16 < n; i += 16)
    d |= load128(p + i) ^ load128(q + i);
  return (d[0] | d[1]) == 0;
}

static stripe_t *stripe_of(an_series_table_t *t, uint64_t hash) {
  return &t->stripes[hash >> (64 - STRIPE_BITS)];
}

/* Where the state starts in an entry whose key is len bytes long. */
static size_t state_offset(size_t len) {
  return (offsetof(entry_t, key) + len + 1 + 7) & ~(size_t)7;
}

static void *entry_state(entry_t *e) {
  return (char *)e + state_offset(e->key_len);
}

static size_t entry_size(const an_series_table_t *t, size_t len) {
  return state_offset(len) + t->cls->state_size;
}

an_series_table_t *an_series_table_create(const an_detector_class_t *cls) {
  /* aligned: the stripes' lines must not be shared */
  an_series_table_t *t = aligned_alloc(alignof(an_series_table_t), sizeof(*t));
  if (t == NULL)
    return NULL;
  memset(t, 0, sizeof(*t));
  t->cls = cls;
  return t;
}

void an_series_table_destroy(an_series_table_t *t) {
  if (t == NULL)
    return;
  for (int s = 0; s < NSTRIPES; s++) {
    stripe_t *st = &t->stripes[s];
    for (size_t i = 0; i < st->nslots; i++)
      free(slot_entry(st->slots[i]));
    free(st->slots);
  }
  free(t);
}

/* The slot of the series, or of the empty slot that ends its probe.
 * _nolock: the caller holds st's lock; st has slots. */
static inline __attribute__((always_inline)) size_t
probe_nolock(const stripe_t *st, const char *key, size_t len, uint64_t hash) {
  size_t mask = st->nslots - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    slot_t sl = st->slots[i];
    if (sl == 0)
      return i;
    if ((sl & TAG_MASK) == tag_of(hash)) {
      const entry_t *e = slot_entry(sl);
      if (e->key_len == len && key_equal(e->key, key, len))
        return i;
    }
  }
}

/* Doubles st's slot array (or makes its first). Returns 0 or ENOMEM (st
 * unchanged). _nolock: the caller holds st's lock. */
static int grow_nolock(an_series_table_t *t, stripe_t *st) {
  size_t n = st->nslots > 0 ? 2 * st->nslots : FIRST_SLOTS;
  slot_t *slots = calloc(n, sizeof(*slots));
  if (slots == NULL)
    return ENOMEM;
  for (size_t i = 0; i < st->nslots; i++) {
    slot_t sl = st->slots[i];
    if (sl == 0)
      continue;
    size_t j = slot_entry(sl)->hash & (n - 1);
    while (slots[j] != 0)
      j = (j + 1) & (n - 1);
    slots[j] = sl;
  }
  free(st->slots);
  atomic_fetch_add(&t->bytes, (n - st->nslots) * sizeof(*slots));
  st->slots = slots;
  st->nslots = n;
  return 0;
}

/* Adds the series, known not to be in st. Returns NULL when out of
 * memory. _nolock: the caller holds st's lock. */
static __attribute__((noinline)) entry_t *
insert_nolock(an_series_table_t *t, stripe_t *st, const char *key, size_t len,
              uint64_t hash, const char *type) {
  /* Out of memory to grow, a stripe still takes series while one slot
   * stays empty to end every probe. */
  if ((st->count + 1) * MAX_LOAD_DEN > st->nslots * MAX_LOAD_NUM &&
      grow_nolock(t, st) != 0 && st->count + 1 >= st->nslots)
    return NULL;
  size_t size = entry_size(t, len);
  entry_t *e = malloc(size);
  if (e == NULL)
    return NULL;
  e->last_t = NAN;
  e->hash = (uint32_t)hash;
  e->seen = 0;
  e->sensitivity = 1.0f;
  e->key_len = (uint16_t)len;
  memcpy(e->key, key, len);
  e->key[len] = '\0';
  an_hint_t hint;
  an_hint_of_type(type, &hint); /* an unknown type: nothing is known */
  t->cls->init(entry_state(e), &hint);
  st->slots[probe_nolock(st, key, len, hash)] = (slot_t)e | tag_of(hash);
  st->count++;
  atomic_fetch_add(&t->count, 1);
  atomic_fetch_add(&t->bytes, size);
  return e;
}

/* Finds the series, or creates it when create is set. Returns NULL when it
 * is not there (create unset) or out of memory. Inlined: a lookup that
 * hits is the common case and a handful of instructions. _nolock: the
 * caller holds the lock of stripe_of(hash). */
static inline __attribute__((always_inline)) entry_t *
find_nolock(an_series_table_t *t, stripe_t *st, const char *key, size_t len,
            uint64_t hash, int create, const char *type) {
  if (__builtin_expect(st->nslots > 0, 1)) {
    slot_t sl = st->slots[probe_nolock(st, key, len, hash)];
    if (__builtin_expect(sl != 0, 1))
      return slot_entry(sl);
  }
  return create ? insert_nolock(t, st, key, len, hash, type) : NULL;
}

/* Empties slot i and closes the gap: later slots of the run move back
 * unless that would put them before their home slot, so probes need no
 * tombstones. Reads the entries of the run. _nolock: the caller holds
 * st's lock. */
static void remove_nolock(stripe_t *st, size_t i) {
  size_t mask = st->nslots - 1;
  for (size_t j = (i + 1) & mask; st->slots[j] != 0; j = (j + 1) & mask) {
    size_t home = slot_entry(st->slots[j])->hash & mask;
    /* j may move to i when its home is not in (i, j], cyclically */
    if (((j - home) & mask) >= ((j - i) & mask)) {
      st->slots[i] = st->slots[j];
      i = j;
    }
  }
  st->slots[i] = 0;
  st->count--;
}

static int check_key(const char *key, size_t len) {
  return key != NULL && len > 0 && len <= AN_SERIES_KEY_MAX ? 0 : EINVAL;
}

/* Applies a series' sensitivity to a detector's result. */
static void sensitize(float sensitivity, an_result_t *r) {
  if (r->p_value >= 1.0)
    return;
  r->p_value = pow(r->p_value, sensitivity);
  r->score = an_score_from_p(r->p_value);
  if (r->score <= 0 && r->kind != AN_KIND_INVALID)
    r->kind = AN_KIND_NONE;
}

/* The update itself. ordered: refuse t at or before the last time.
 * Inlined: each caller's constant ordered leaves out what it does not
 * use. */
static inline __attribute__((always_inline)) int
update(an_series_table_t *t, const char *key, size_t len, const char *type,
       double ts, double value, an_result_t *result, int ordered,
       double *last) {
  if (check_key(key, len) != 0)
    return EINVAL;
  uint64_t hash = hash_key(key, len);
  stripe_t *st = stripe_of(t, hash);
  int rc = 0;
  stripe_lock(st);
  entry_t *e = find_nolock(t, st, key, len, hash, 1, type);
  if (__builtin_expect(e == NULL, 0)) {
    rc = ENOMEM;
  } else if (ordered && !(ts > e->last_t) && !isnan(e->last_t)) {
    *last = e->last_t;
    rc = ERANGE;
  } else {
    /* The state's address from the key's length, not e->key_len (equal):
     * its lines are then fetched while the header's still is. */
    void *state = (char *)e + state_offset(len);
    /* by name when it is the default detector: see detector.h */
    if (__builtin_expect(t->cls == &an_detect_default, 1))
      an_detect_default_update(state, ts, value, result);
    else
      t->cls->update(state, ts, value, result);
    if (__builtin_expect(e->sensitivity != 1.0f, 0))
      sensitize(e->sensitivity, result);
    e->seen += e->seen < UINT32_MAX; /* saturating, without a branch */
    result->seen = e->seen;
    if (!isnan(ts))
      e->last_t = ts;
  }
  stripe_unlock(st);
  return rc;
}

static size_t key_length(const char *key) {
  return key != NULL ? strlen(key) : 0;
}

int an_series_table_update(an_series_table_t *t, const char *key, double ts,
                           double value, an_result_t *result) {
  return update(t, key, key_length(key), NULL, ts, value, result, 0, NULL);
}

int an_series_table_update_len(an_series_table_t *t, const char *key,
                               size_t len, const char *type, double ts,
                               double value, an_result_t *result) {
  return update(t, key, len, type, ts, value, result, 0, NULL);
}

int an_series_table_update_ordered(an_series_table_t *t, const char *key,
                                   double ts, double value, an_result_t *result,
                                   double *last) {
  if (!isfinite(ts))
    return EINVAL;
  return update(t, key, key_length(key), NULL, ts, value, result, 1, last);
}

/* Whether s is a sensitivity a series can hold: positive and finite as
 * the float it is kept in. A damaged state file's 1e-300 would become 0
 * (never an anomaly again) and its 1e300 infinity (every value one). */
static int sensitivity_valid(double s) { return s >= FLT_MIN && s <= FLT_MAX; }

int an_series_table_set_sensitivity(an_series_table_t *t, const char *key,
                                    double sensitivity) {
  size_t len = key_length(key);
  if (check_key(key, len) != 0 || !sensitivity_valid(sensitivity))
    return EINVAL;
  uint64_t hash = hash_key(key, len);
  stripe_t *st = stripe_of(t, hash);
  stripe_lock(st);
  entry_t *e = find_nolock(t, st, key, len, hash, 1, NULL);
  if (e != NULL)
    e->sensitivity = (float)sensitivity;
  stripe_unlock(st);
  return e != NULL ? 0 : ENOMEM;
}

/* Removes the series key, first copying what the caller asked for (each
 * pointer may be NULL). Returns 0 or ENOENT. */
static int take(an_series_table_t *t, const char *key, void *state,
                double *last_t, uint32_t *seen) {
  size_t len = key_length(key);
  if (check_key(key, len) != 0)
    return ENOENT;
  uint64_t hash = hash_key(key, len);
  stripe_t *st = stripe_of(t, hash);
  int rc = ENOENT;
  stripe_lock(st);
  if (st->nslots > 0) {
    size_t i = probe_nolock(st, key, len, hash);
    entry_t *e = slot_entry(st->slots[i]);
    if (e != NULL) {
      if (state != NULL)
        memcpy(state, entry_state(e), t->cls->state_size);
      if (last_t != NULL)
        *last_t = e->last_t;
      if (seen != NULL)
        *seen = e->seen;
      remove_nolock(st, i);
      atomic_fetch_sub(&t->count, 1);
      atomic_fetch_sub(&t->bytes, entry_size(t, len));
      free(e);
      rc = 0;
    }
  }
  stripe_unlock(st);
  return rc;
}

int an_series_table_remove(an_series_table_t *t, const char *key) {
  return take(t, key, NULL, NULL, NULL);
}

int an_series_table_take(an_series_table_t *t, const char *key, void *state,
                         double *last_t, uint32_t *seen) {
  return take(t, key, state, last_t, seen);
}

int an_series_table_seed(an_series_table_t *t, const char *key,
                         const void *state, double last_t, uint64_t seen,
                         int create) {
  size_t len = key_length(key);
  if (check_key(key, len) != 0 || isinf(last_t))
    return EINVAL;
  uint32_t n = seen < UINT32_MAX ? (uint32_t)seen : UINT32_MAX;
  uint64_t hash = hash_key(key, len);
  stripe_t *st = stripe_of(t, hash);
  stripe_lock(st);
  entry_t *e = find_nolock(t, st, key, len, hash, 0, NULL);
  int rc = 0, created = 0;
  if (e == NULL && create) {
    e = insert_nolock(t, st, key, len, hash, NULL);
    rc = e != NULL ? 0 : ENOMEM;
    created = e != NULL;
  } else if (e == NULL) {
    rc = ENOENT;
  }
  if (rc == 0 && !created && !(n > e->seen))
    rc = EEXIST;
  if (rc == 0) {
    memcpy(entry_state(e), state, t->cls->state_size);
    e->last_t = last_t;
    e->seen = n;
  }
  stripe_unlock(st);
  return rc;
}

size_t an_series_table_count(const an_series_table_t *t) {
  return atomic_load(&t->count);
}

size_t an_series_table_bytes(const an_series_table_t *t) {
  return sizeof(*t) + atomic_load(&t->bytes);
}

int an_series_table_save(an_series_table_t *t, an_series_save_cb cb,
                         void *ctx) {
  size_t len = an_detector_saved_size(t->cls);
  unsigned char *blob = malloc(len);
  if (blob == NULL)
    return ENOMEM;
  int rc = 0;
  for (int s = 0; s < NSTRIPES && rc == 0; s++) {
    stripe_t *st = &t->stripes[s];
    stripe_lock(st);
    for (size_t i = 0; i < st->nslots && rc == 0; i++) {
      entry_t *e = slot_entry(st->slots[i]);
      if (e == NULL)
        continue;
      an_detector_save(t->cls, entry_state(e), blob, len);
      an_series_info_t info = {.key = e->key,
                               .sensitivity = e->sensitivity,
                               .last_t = e->last_t,
                               .seen = e->seen,
                               .blob = blob,
                               .len = len};
      rc = cb(ctx, &info);
    }
    stripe_unlock(st);
  }
  free(blob);
  return rc;
}

int an_series_table_restore(an_series_table_t *t,
                            const an_series_info_t *info) {
  const char *key = info->key;
  size_t klen = key_length(key);
  if (check_key(key, klen) != 0 || !sensitivity_valid(info->sensitivity) ||
      isinf(info->last_t))
    return EINVAL;
  unsigned char *state = malloc(t->cls->state_size);
  if (state == NULL)
    return ENOMEM;
  int rc = an_detector_restore(t->cls, state, info->blob, info->len);
  if (rc == 0) {
    uint64_t hash = hash_key(key, klen);
    stripe_t *st = stripe_of(t, hash);
    stripe_lock(st);
    entry_t *e = find_nolock(t, st, key, klen, hash, 1, NULL);
    if (e != NULL) {
      memcpy(entry_state(e), state, t->cls->state_size);
      e->sensitivity = (float)info->sensitivity;
      e->last_t = info->last_t;
      e->seen = info->seen;
    }
    stripe_unlock(st);
    rc = e != NULL ? 0 : ENOMEM;
  }
  free(state);
  return rc;
}
