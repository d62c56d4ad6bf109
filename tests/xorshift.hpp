#pragma once
// A seeded xorshift64 generator for the scribbler tests: the same hostile
// bytes every run, so a failure reproduces.
#include <cstdint>

namespace actorstack::test {

struct xorshift {
  std::uint64_t state;
  std::uint64_t operator()() noexcept {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

}  // namespace actorstack::test
