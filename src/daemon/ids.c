#include "ids.h"
#include "clock.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

void an_ids_new(char *out) {
  static __thread uint64_t state[2];
  static __thread int seeded;
  if (!seeded) {
    if (getrandom(state, sizeof(state), 0) != sizeof(state))
      state[0] = (uint64_t)(an_clock_wall() * 1e6) ^
                 ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&seeded;
    state[1] |= 1;
    seeded = 1;
  }
  uint8_t r[16];
  for (int half = 0; half < 2; half++) {
    /* xorshift128+ */
    uint64_t a = state[0], b = state[1];
    state[0] = b;
    a ^= a << 23;
    state[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
    uint64_t v = state[1] + b;
    memcpy(r + 8 * half, &v, 8);
  }
  an_uuid_format(r, out);
}
