#pragma once
/// \file
/// One tcp connection on the wire as the data-plane core that owns it sees
/// it: the fields of Linux's TCP_INFO (`struct tcp_info`) that this stack
/// keeps, asked for with client::app::tcp_info (the preload answers
/// getsockopt(TCP_INFO) with it).

#include <cstdint>

namespace actorstack {

struct tcp_conn_info {
  /// The connection's state, numbered as Linux numbers them
  /// (netinet/tcp.h: TCP_ESTABLISHED 1 ... TCP_CLOSING 11).
  std::uint8_t state = 0;
  std::uint8_t retransmits = 0;  ///< timeouts in a row of the oldest unacknowledged segment
  std::uint8_t backoff = 0;      ///< doublings of the retransmission timeout since the last RTT sample
  bool timestamps = false;       ///< RFC 7323 timestamps agreed
  bool sack = false;             ///< SACK agreed
  bool window_scaling = false;   ///< window scaling agreed
  std::uint8_t snd_wscale = 0;   ///< the peer's window shift
  std::uint8_t rcv_wscale = 0;   ///< ours
  std::uint32_t rto_us = 0;
  std::uint32_t rtt_us = 0;      ///< smoothed round-trip time (0: none measured yet)
  std::uint32_t rttvar_us = 0;
  std::uint32_t snd_mss = 0;     ///< the largest segment this side sends
  std::uint32_t rcv_mss = 0;     ///< the largest segment the peer said it sends
  std::uint32_t unacked_bytes = 0;  ///< sent and not yet acknowledged
  std::uint32_t cwnd_bytes = 0;
  std::uint32_t ssthresh_bytes = 0;
  std::uint32_t snd_wnd = 0;     ///< the peer's window, bytes
  std::uint32_t rcv_wnd = 0;     ///< ours, as last advertised
  std::uint32_t total_retrans = 0;  ///< segments sent again in the connection's life
};

}  // namespace actorstack
