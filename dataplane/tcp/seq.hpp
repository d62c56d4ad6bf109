#pragma once
/// \file
/// TCP sequence-number arithmetic (RFC 9293 §3.4): 32-bit numbers compared
/// modulo 2^32, so a connection whose ISN sits just below 2^32 works like
/// any other. Every comparison of two sequence numbers in tcp/ goes through
/// these helpers; a plain `<` on them is a bug.

#include <cstdint>

namespace actorstack::tcp {

using seq_t = std::uint32_t;

/// a < b modulo 2^32 (b is less than 2^31 ahead of a).
constexpr bool seq_lt(seq_t a, seq_t b) noexcept { return static_cast<std::int32_t>(a - b) < 0; }
constexpr bool seq_leq(seq_t a, seq_t b) noexcept { return static_cast<std::int32_t>(a - b) <= 0; }
constexpr bool seq_gt(seq_t a, seq_t b) noexcept { return seq_lt(b, a); }
constexpr bool seq_geq(seq_t a, seq_t b) noexcept { return seq_leq(b, a); }
/// Distance from a forward to b (b - a), meaningful when a <= b.
constexpr std::uint32_t seq_diff(seq_t b, seq_t a) noexcept { return b - a; }
constexpr seq_t seq_max(seq_t a, seq_t b) noexcept { return seq_lt(a, b) ? b : a; }
constexpr seq_t seq_min(seq_t a, seq_t b) noexcept { return seq_lt(a, b) ? a : b; }
/// lo <= s < hi, modulo 2^32.
constexpr bool seq_in(seq_t s, seq_t lo, seq_t hi) noexcept { return seq_leq(lo, s) && seq_lt(s, hi); }

}  // namespace actorstack::tcp
