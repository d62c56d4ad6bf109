#pragma once
/// \file
/// Congestion control (SPEC-TCP 7.3): the connection tells its algorithm
/// what happened (bytes acknowledged, loss found by duplicate ACKs, a
/// partial ACK in recovery, a timeout); the algorithm owns cwnd and
/// ssthresh.
///
/// A value in the TCB, not an object behind a pointer: there is one per
/// connection, and a heap allocation each (32 bytes with the allocator's
/// rounding, plus the pointer) was part of every idle connection's cost,
/// and a pointer chase and a virtual call part of every ACK
/// (docs/performance.md, session 26). The algorithm is chosen per
/// connection by name and each call dispatches on it. NewReno is the one
/// there is (newreno.cpp); CUBIC would add its state beside NewReno's and
/// a case to each call.

#include <cstdint>
#include <string_view>

namespace actorstack::tcp {

class congestion_control {
 public:
  enum class algorithm : std::uint8_t { none, newreno };

  /// None yet (a connection not synchronized): no window and no
  /// threshold (cwnd and ssthresh 0, as TCP_INFO shows them), every event
  /// ignored.
  congestion_control() noexcept = default;
  /// The algorithm called `name` (unknown names give NewReno) for segments
  /// of `mss` bytes, with an initial window of `initial_segments` (RFC
  /// 6928: 10).
  congestion_control(std::string_view name, std::uint32_t mss, std::uint32_t initial_segments) noexcept;

  /// An algorithm runs (the connection was synchronized).
  explicit operator bool() const noexcept { return algo_ != algorithm::none; }

  /// `acked` new bytes were acknowledged outside recovery.
  void on_ack(std::uint32_t acked) noexcept;
  /// Three duplicate ACKs: enter fast recovery with `flight` bytes out.
  void on_fast_retransmit(std::uint32_t flight) noexcept;
  /// In recovery: another duplicate ACK (a segment left the network).
  void on_recovery_dupack() noexcept;
  /// In recovery: an ACK that advanced but not past the recovery point.
  void on_partial_ack(std::uint32_t acked) noexcept;
  /// The ACK that ends recovery, with `flight` bytes still out.
  void on_recovery_end(std::uint32_t flight) noexcept;
  /// The retransmission timer fired with `flight` bytes out.
  void on_timeout(std::uint32_t flight) noexcept;

  std::uint32_t cwnd() const noexcept { return cwnd_; }
  std::uint32_t ssthresh() const noexcept { return ssthresh_; }
  std::string_view name() const noexcept;

 private:
  // NewReno's state (20 bytes with the tag).
  std::uint32_t mss_ = 0;
  std::uint32_t cwnd_ = 0;
  std::uint32_t ssthresh_ = 0;
  std::uint32_t acked_in_ca_ = 0;
  algorithm algo_ = algorithm::none;
};

/// The names congestion_control accepts.
bool known_congestion_control(std::string_view name) noexcept;

}  // namespace actorstack::tcp
