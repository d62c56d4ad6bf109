#pragma once
// Helpers shared by the shm tests: byte spans, deterministic patterns.

#include "shm/fifo_segment.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace actorstack::test {

inline std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span{s.data(), s.size()});
}

inline std::string to_string(std::span<const std::byte> b) {
  return std::string{reinterpret_cast<const char*>(b.data()), b.size()};
}

/// Reads everything queued in `f` as a string.
inline std::string drain(shm::fifo& f) {
  std::string out(f.max_dequeue(), '\0');
  if (out.empty()) return out;
  auto n = f.dequeue(std::as_writable_bytes(std::span{out.data(), out.size()}));
  REQUIRE(n.has_value());
  out.resize(*n);
  return out;
}

/// The byte expected at stream position `pos`: a prime period so a shifted
/// or repeated block never matches by accident.
class stream_pattern {
 public:
  static constexpr std::size_t period = 65521;
  stream_pattern() : table_(period + (1u << 20)) {
    std::uint32_t x = 0x9e3779b9u;
    for (std::size_t i = 0; i < period; ++i) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      table_[i] = static_cast<std::byte>(x);
    }
    for (std::size_t i = period; i < table_.size(); ++i) table_[i] = table_[i - period];
  }
  /// `n` (<= 1 MiB) pattern bytes starting at stream position `pos`.
  std::span<const std::byte> at(std::uint64_t pos, std::size_t n) const {
    return {table_.data() + pos % period, n};
  }

 private:
  std::vector<std::byte> table_;
};

}  // namespace actorstack::test
