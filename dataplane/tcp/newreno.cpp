// NewReno (RFC 5681 slow start and congestion avoidance, RFC 6582 fast
// recovery): the first congestion control behind congestion.hpp.

#include "dataplane/tcp/congestion.hpp"

#include <algorithm>

namespace actorstack::tcp {

namespace {

class newreno final : public congestion_control {
 public:
  newreno(std::uint32_t mss, std::uint32_t iw) noexcept : mss_(mss), cwnd_(iw * mss) {}

  void on_ack(std::uint32_t acked) noexcept override {
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
  void on_fast_retransmit(std::uint32_t flight) noexcept override {
    ssthresh_ = std::max(flight / 2, 2 * mss_);  // RFC 5681 (4)
    cwnd_ = ssthresh_ + 3 * mss_;
  }
  void on_recovery_dupack() noexcept override { cwnd_ += mss_; }
  void on_partial_ack(std::uint32_t acked) noexcept override {
    // RFC 6582 §3.2 step 5: deflate by what was acked, add back one MSS
    // if at least one MSS was acked.
    cwnd_ = cwnd_ > acked ? cwnd_ - acked : mss_;
    if (acked >= mss_) cwnd_ += mss_;
    cwnd_ = std::max(cwnd_, mss_);
  }
  void on_recovery_end(std::uint32_t flight) noexcept override {
    // RFC 6582 §3.2 step 6, option (2): avoids a burst.
    cwnd_ = std::min(ssthresh_, std::max(flight, mss_) + mss_);
    acked_in_ca_ = 0;
  }
  void on_timeout(std::uint32_t flight) noexcept override {
    ssthresh_ = std::max(flight / 2, 2 * mss_);  // RFC 5681 (4)
    cwnd_ = mss_;                                 // loss window
    acked_in_ca_ = 0;
  }
  std::uint32_t cwnd() const noexcept override { return cwnd_; }
  std::uint32_t ssthresh() const noexcept override { return ssthresh_; }
  std::string_view name() const noexcept override { return "newreno"; }

 private:
  std::uint32_t mss_;
  std::uint32_t cwnd_;
  std::uint32_t ssthresh_ = 0x7fffffff;  // "arbitrarily high" until the first loss
  std::uint32_t acked_in_ca_ = 0;
};

}  // namespace

bool known_congestion_control(std::string_view name) noexcept { return name == "newreno"; }

std::unique_ptr<congestion_control> make_congestion_control(std::string_view, std::uint32_t mss,
                                                            std::uint32_t initial_segments) {
  return std::make_unique<newreno>(mss, initial_segments);
}

}  // namespace actorstack::tcp
