// NewReno (RFC 5681 slow start and congestion avoidance, RFC 6582 fast
// recovery): the first algorithm of congestion.hpp. Each call does
// nothing until an algorithm was chosen (a connection not synchronized).

#include "dataplane/tcp/congestion.hpp"

#include <algorithm>

namespace actorstack::tcp {

congestion_control::congestion_control(std::string_view, std::uint32_t mss, std::uint32_t initial_segments) noexcept
    : mss_(mss),
      cwnd_(initial_segments * mss),
      ssthresh_(0x7fffffff),  // "arbitrarily high" until the first loss
      algo_(algorithm::newreno) {}

void congestion_control::on_ack(std::uint32_t acked) noexcept {
  if (algo_ != algorithm::newreno) return;
  if (cwnd_ < ssthresh_) {
    cwnd_ += std::min(acked, mss_);  // slow start, RFC 5681 (2) with L = 1 SMSS
  } else {
    // Congestion avoidance: one MSS per window's worth of ACKed bytes
    // (RFC 5681 (3), byte counting).
    acked_in_ca_ += acked;
    if (acked_in_ca_ >= cwnd_) {
      acked_in_ca_ -= cwnd_;
      cwnd_ += mss_;
    }
  }
}

void congestion_control::on_fast_retransmit(std::uint32_t flight) noexcept {
  if (algo_ != algorithm::newreno) return;
  ssthresh_ = std::max(flight / 2, 2 * mss_);  // RFC 5681 (4)
  cwnd_ = ssthresh_ + 3 * mss_;
}

void congestion_control::on_recovery_dupack() noexcept {
  if (algo_ == algorithm::newreno) cwnd_ += mss_;
}

void congestion_control::on_partial_ack(std::uint32_t acked) noexcept {
  if (algo_ != algorithm::newreno) return;
  // RFC 6582 §3.2 step 5: deflate by what was acked, add back one MSS if
  // at least one MSS was acked.
  cwnd_ = cwnd_ > acked ? cwnd_ - acked : mss_;
  if (acked >= mss_) cwnd_ += mss_;
  cwnd_ = std::max(cwnd_, mss_);
}

void congestion_control::on_recovery_end(std::uint32_t flight) noexcept {
  if (algo_ != algorithm::newreno) return;
  // RFC 6582 §3.2 step 6, option (2): avoids a burst.
  cwnd_ = std::min(ssthresh_, std::max(flight, mss_) + mss_);
  acked_in_ca_ = 0;
}

void congestion_control::on_timeout(std::uint32_t flight) noexcept {
  if (algo_ != algorithm::newreno) return;
  ssthresh_ = std::max(flight / 2, 2 * mss_);  // RFC 5681 (4)
  cwnd_ = mss_;                                 // loss window
  acked_in_ca_ = 0;
}

std::string_view congestion_control::name() const noexcept {
  return algo_ == algorithm::newreno ? "newreno" : "none";
}

bool known_congestion_control(std::string_view name) noexcept { return name == "newreno"; }

}  // namespace actorstack::tcp
