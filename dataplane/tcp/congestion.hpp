#pragma once
/// \file
/// Congestion control behind a small interface (SPEC-TCP 7.3), so CUBIC
/// can follow NewReno. The connection tells the algorithm what happened
/// (bytes acknowledged, loss found by duplicate ACKs, a partial ACK in
/// recovery, a timeout); the algorithm owns cwnd and ssthresh.

#include <cstdint>
#include <memory>
#include <string_view>

namespace actorstack::tcp {

class congestion_control {
 public:
  virtual ~congestion_control() = default;
  /// `acked` new bytes were acknowledged outside recovery.
  virtual void on_ack(std::uint32_t acked) noexcept = 0;
  /// Three duplicate ACKs: enter fast recovery with `flight` bytes out.
  virtual void on_fast_retransmit(std::uint32_t flight) noexcept = 0;
  /// In recovery: another duplicate ACK (a segment left the network).
  virtual void on_recovery_dupack() noexcept = 0;
  /// In recovery: an ACK that advanced but not past the recovery point.
  virtual void on_partial_ack(std::uint32_t acked) noexcept = 0;
  /// The ACK that ends recovery, with `flight` bytes still out.
  virtual void on_recovery_end(std::uint32_t flight) noexcept = 0;
  /// The retransmission timer fired with `flight` bytes out.
  virtual void on_timeout(std::uint32_t flight) noexcept = 0;
  virtual std::uint32_t cwnd() const noexcept = 0;
  virtual std::uint32_t ssthresh() const noexcept = 0;
  virtual std::string_view name() const noexcept = 0;
};

/// The names make_congestion_control accepts.
bool known_congestion_control(std::string_view name) noexcept;
/// A fresh instance for one connection of segment size `mss`, with an
/// initial window of `initial_segments` (RFC 6928: 10). Unknown names
/// give NewReno.
std::unique_ptr<congestion_control> make_congestion_control(std::string_view name, std::uint32_t mss,
                                                            std::uint32_t initial_segments);

}  // namespace actorstack::tcp
