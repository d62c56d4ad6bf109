#pragma once
/// \file
/// What a TCP engine is told at start (SPEC-TCP 9.3). Defaults follow the
/// RFCs and, where they leave a choice, Linux.

#include "dataplane/tcp/rtt.hpp"

#include <cstdint>
#include <string>

namespace actorstack::tcp {

struct config {
  std::uint16_t mss = 1460;                  ///< ours: interface MTU - 40
  std::uint32_t initial_window_segments = 10;  ///< RFC 6928
  rto_limits rto;                            ///< RFC 6298: 200 ms / 1 s / 60 s
  std::uint32_t syn_retries = 6;             ///< SYN (and SYN-ACK) retransmissions before `timeout`
  std::uint32_t data_retries = 15;           ///< data retransmissions before `timeout`
  std::uint32_t delayed_ack_us = 40'000;
  std::uint32_t fin_wait_2_us = 60'000'000;
  std::uint32_t time_wait_us = 60'000'000;
  std::uint32_t backlog = 128;               ///< half-open connections per listener
  bool nagle = true;                         ///< default for new connections (per-connection nodelay)
  bool window_scaling = true;
  bool timestamps = true;
  bool sack = true;
  std::uint32_t challenge_acks_per_second = 1000;  ///< RFC 5961 §7, as Linux's default
  std::string congestion = "newreno";
  /// Local ports of active opens. With several cores, a segment to a port
  /// in this range belongs to core (port % cores), the core that opened it
  /// (SPEC-TCP 1.2); each engine picks its ports so (engine::connect).
  std::uint16_t ephemeral_first = 49152;
  std::uint16_t ephemeral_last = 65535;
};

}  // namespace actorstack::tcp
