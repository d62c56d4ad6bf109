// Tokens and secrets (issue: a daemon no app can steer): from the OS,
// never 0, compared without an early exit.
#include "base/secret.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <set>

using namespace actorstack;

TEST_CASE("secrets: 10000 draws are non-zero, distinct, and about half their bits are set") {
  std::set<std::uint64_t> seen;
  std::uint64_t bits = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t s = random_secret();
    CHECK(s != 0);
    seen.insert(s);
    bits += static_cast<std::uint64_t>(std::popcount(s));
  }
  CHECK(seen.size() == 10000);
  // 640000 bits: the mean is 320000 with a standard deviation of 400.
  CHECK(bits > 316000);
  CHECK(bits < 324000);
}

TEST_CASE("secrets: equal only when every bit is, wherever the difference lies") {
  const std::uint64_t s = 0x0123456789abcdefull;
  CHECK(secrets_equal(s, s));
  CHECK(secrets_equal(0, 0));
  for (int bit = 0; bit < 64; ++bit) CHECK_FALSE(secrets_equal(s, s ^ (std::uint64_t{1} << bit)));
  CHECK_FALSE(secrets_equal(s, ~s));
}
