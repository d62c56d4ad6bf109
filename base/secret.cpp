#include "base/secret.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace actorstack {

std::uint64_t random_secret() {
  for (;;) {
    std::uint64_t v = 0;
    const ssize_t n = ::getrandom(&v, sizeof v, 0);
    if (n == static_cast<ssize_t>(sizeof v)) {
      if (v != 0) return v;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // No secure randomness on a Linux >= 3.17 with getrandom: nothing
    // sensible to hand out, and a guessable token would be worse.
    std::perror("actorstack: getrandom");
    std::abort();
  }
}

bool secrets_equal(std::uint64_t a, std::uint64_t b) noexcept {
  // Fold the difference into one bit without a data-dependent branch;
  // the volatile keeps the compiler from turning it back into a compare.
  volatile std::uint64_t diff = a ^ b;
  std::uint64_t d = diff;
  d |= d >> 32;
  d |= d >> 16;
  d |= d >> 8;
  d |= d >> 4;
  d |= d >> 2;
  d |= d >> 1;
  return (d & 1) == 0;
}

}  // namespace actorstack
