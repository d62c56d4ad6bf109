#pragma once
/// \file
/// Initial sequence numbers (RFC 6528, SPEC-TCP 4.1): a keyed hash of the
/// connection's 4-tuple under a per-boot secret, plus a clock that ticks
/// every 4 µs. An off-path attacker cannot predict another connection's
/// ISN, and a new incarnation of one 4-tuple starts above the old one.

#include <cstdint>

namespace actorstack::tcp {

struct four_tuple {
  std::uint32_t local_ip = 0;  ///< host order
  std::uint32_t remote_ip = 0;
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  friend bool operator==(const four_tuple&, const four_tuple&) = default;
};

/// SipHash-2-4 of `words` under the 128-bit key (k0, k1).
std::uint64_t siphash24(std::uint64_t k0, std::uint64_t k1, const std::uint64_t* words, std::size_t n) noexcept;

class isn_generator {
 public:
  /// A fresh secret from the OS (getrandom).
  isn_generator();
  /// A fixed secret (tests: reproducible ISNs).
  isn_generator(std::uint64_t k0, std::uint64_t k1) noexcept : k0_(k0), k1_(k1) {}

  std::uint32_t next(const four_tuple& t, std::uint64_t now_us) const noexcept;
  /// Another secret drawn from this one for `purpose` (the engine's seed
  /// for hashing 4-tuples): as unpredictable, and as reproducible in tests.
  std::uint64_t derive(std::uint64_t purpose) const noexcept;

 private:
  std::uint64_t k0_;
  std::uint64_t k1_;
};

}  // namespace actorstack::tcp
