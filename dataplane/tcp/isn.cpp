// RFC 6528 initial sequence numbers over SipHash-2-4 (see isn.hpp).

#include "dataplane/tcp/isn.hpp"

#include "base/secret.hpp"

#include <bit>
#include <cstddef>

namespace actorstack::tcp {

namespace {

struct sip_state {
  std::uint64_t v0, v1, v2, v3;
  void round() noexcept {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  void absorb(std::uint64_t m) noexcept {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

}  // namespace

std::uint64_t siphash24(std::uint64_t k0, std::uint64_t k1, const std::uint64_t* words, std::size_t n) noexcept {
  sip_state s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
              k1 ^ 0x7465646279746573ULL};
  for (std::size_t i = 0; i < n; ++i) s.absorb(words[i]);
  // The final block holds the message length in bytes in its top byte.
  s.absorb(static_cast<std::uint64_t>(n * 8) << 56);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

isn_generator::isn_generator() : k0_(random_secret()), k1_(random_secret()) {}

std::uint32_t isn_generator::next(const four_tuple& t, std::uint64_t now_us) const noexcept {
  const std::uint64_t words[2] = {(std::uint64_t{t.local_ip} << 32) | t.remote_ip,
                                  (std::uint64_t{t.local_port} << 16) | t.remote_port};
  const auto keyed = static_cast<std::uint32_t>(siphash24(k0_, k1_, words, 2));
  return keyed + static_cast<std::uint32_t>(now_us / 4);  // RFC 6528: M ticks every 4 µs
}

std::uint64_t isn_generator::derive(std::uint64_t purpose) const noexcept {
  return siphash24(k0_, k1_, &purpose, 1);
}

}  // namespace actorstack::tcp
