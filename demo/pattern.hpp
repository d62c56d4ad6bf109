#pragma once
// The echo demo's byte stream: what client `c` sends at stream position
// `pos`. Position- and client-dependent, so misplaced, repeated or
// cross-wired bytes are caught, and cheap enough that generating and
// checking it costs far less than moving it: the stream is made of 64-bit
// words, word k = k * A ^ (c * B + C) stored little-endian, so a buffer is
// filled and checked eight bytes per step (one add and one xor; the loops
// use 128-bit lanes). Only an unaligned head and tail go byte by byte.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace echo {

namespace pattern_detail {
constexpr std::uint64_t step = 0x9E3779B97F4A7C15ull;
inline std::uint64_t client_key(std::uint64_t c) { return c * 0xD6E8FEB86659FD93ull + 0x632BE59BD9B4E019ull; }
inline std::uint64_t word(std::uint64_t key, std::uint64_t k) { return (k * step) ^ key; }
}  // namespace pattern_detail

// The byte at stream position `pos` of client `c`.
inline std::byte pattern(std::uint64_t c, std::uint64_t pos) {
  using namespace pattern_detail;
  return static_cast<std::byte>(word(client_key(c), pos >> 3) >> (8 * (pos & 7)));
}

// Fills or checks whole words from word index `k` on, four per step in
// two 128-bit lanes (SSE2 on x86-64, NEON on arm64: GCC/Clang vector
// extensions); returns the or of every difference (0: all match).
template <bool check>
inline std::uint64_t words(std::uint64_t key, std::uint64_t k, std::byte* p, std::size_t n) {
  using namespace pattern_detail;
  using v2 = std::uint64_t __attribute__((vector_size(16)));
  std::size_t w = 0;
  v2 diff = {0, 0};
  const v2 keys = {key, key};
  const v2 advance = {4 * step, 4 * step};
  v2 m0 = {k * step, (k + 1) * step};
  v2 m1 = {(k + 2) * step, (k + 3) * step};
  for (; w + 4 <= n; w += 4, m0 += advance, m1 += advance) {
    v2 a, b;
    if constexpr (check) {
      std::memcpy(&a, p + 8 * w, 16);
      std::memcpy(&b, p + 8 * w + 16, 16);
      diff |= (a ^ m0 ^ keys) | (b ^ m1 ^ keys);
    } else {
      a = m0 ^ keys;
      b = m1 ^ keys;
      std::memcpy(p + 8 * w, &a, 16);  // little-endian hosts only (x86, arm64)
      std::memcpy(p + 8 * w + 16, &b, 16);
    }
  }
  std::uint64_t rest = diff[0] | diff[1];
  for (; w < n; ++w) {
    const std::uint64_t want = word(key, k + w);
    if constexpr (check) {
      std::uint64_t v;
      std::memcpy(&v, p + 8 * w, 8);
      rest |= v ^ want;
    } else {
      std::memcpy(p + 8 * w, &want, 8);
    }
  }
  return rest;
}

// Writes the stream of client `c` from position `pos` into `out`.
inline void fill_pattern(std::uint64_t c, std::uint64_t pos, std::span<std::byte> out) {
  std::size_t i = 0;
  for (; i < out.size() && ((pos + i) & 7) != 0; ++i) out[i] = pattern(c, pos + i);
  const std::size_t n = (out.size() - i) / 8;
  (void)words<false>(pattern_detail::client_key(c), (pos + i) >> 3, out.data() + i, n);
  for (i += 8 * n; i < out.size(); ++i) out[i] = pattern(c, pos + i);
}

// True if `in` is the stream of client `c` from position `pos`.
inline bool matches_pattern(std::uint64_t c, std::uint64_t pos, std::span<const std::byte> in) {
  std::size_t i = 0;
  for (; i < in.size() && ((pos + i) & 7) != 0; ++i)
    if (in[i] != pattern(c, pos + i)) return false;
  const std::size_t n = (in.size() - i) / 8;
  // Only read through the pointer (words<true> never writes).
  if (words<true>(pattern_detail::client_key(c), (pos + i) >> 3, const_cast<std::byte*>(in.data() + i), n) != 0)
    return false;
  for (i += 8 * n; i < in.size(); ++i)
    if (in[i] != pattern(c, pos + i)) return false;
  return true;
}

}  // namespace echo
