#pragma once
/// \file
/// The retransmission timeout of one connection (RFC 6298, SPEC-TCP 7.1):
/// smoothed RTT and its variance from samples (Karn's rule or timestamps
/// decide which samples are taken; the caller), clamped to [min, max],
/// doubled per timeout until a new sample arrives. One lives in every TCB;
/// the limits are the engine's (its config), passed to each call rather
/// than copied into every connection.

#include <algorithm>
#include <cstdint>

namespace actorstack::tcp {

struct rto_limits {
  std::uint32_t min_us = 200'000;
  std::uint32_t initial_us = 1'000'000;
  std::uint32_t max_us = 60'000'000;
};

class rtt_estimator {
 public:
  rtt_estimator() noexcept : rtt_estimator(rto_limits{}) {}
  explicit rtt_estimator(const rto_limits& l) noexcept : rto_us_(l.initial_us) {}

  /// One round-trip measurement (microseconds).
  void sample(std::uint32_t rtt_us, const rto_limits& lim) noexcept {
    if (rtt_us == 0) rtt_us = 1;
    if (srtt_us_ == 0) {  // RFC 6298 (2.2)
      srtt_us_ = rtt_us;
      rttvar_us_ = rtt_us / 2;
    } else {  // (2.3), alpha 1/8, beta 1/4
      const std::uint32_t err = srtt_us_ > rtt_us ? srtt_us_ - rtt_us : rtt_us - srtt_us_;
      rttvar_us_ = (3 * std::uint64_t{rttvar_us_} + err) / 4;
      srtt_us_ = static_cast<std::uint32_t>((7 * std::uint64_t{srtt_us_} + rtt_us) / 8);
    }
    backoff_ = 0;
    const std::uint64_t rto = std::uint64_t{srtt_us_} + std::max<std::uint64_t>(1000, 4 * std::uint64_t{rttvar_us_});
    rto_us_ = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(rto, lim.min_us, lim.max_us));
  }
  /// A retransmission timeout fired: double (5.5), up to the maximum.
  void backoff(const rto_limits& lim) noexcept {
    ++backoff_;
    rto_us_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(2 * std::uint64_t{rto_us_}, lim.max_us));
  }
  std::uint32_t rto_us() const noexcept { return rto_us_; }
  std::uint32_t srtt_us() const noexcept { return srtt_us_; }
  std::uint32_t rttvar_us() const noexcept { return rttvar_us_; }
  std::uint32_t backoffs() const noexcept { return backoff_; }

 private:
  std::uint32_t srtt_us_ = 0;
  std::uint32_t rttvar_us_ = 0;
  std::uint32_t rto_us_;
  std::uint32_t backoff_ = 0;
};

}  // namespace actorstack::tcp
