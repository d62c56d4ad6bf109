#pragma once
/// \file
/// Secrets the stack hands out (attach tokens, an app's worker-add secret):
/// drawn from the OS's random source, never from a seeded generator, and
/// compared without an early exit, so neither guessing nor timing a
/// comparison narrows them down.

#include <cstdint>

namespace actorstack {

/// 64 random bits from getrandom(2), never 0 (0 means "none" in the
/// protocol). Blocks only before the kernel's pool is first seeded.
std::uint64_t random_secret();

/// a == b in time independent of where they differ.
bool secrets_equal(std::uint64_t a, std::uint64_t b) noexcept;

}  // namespace actorstack
