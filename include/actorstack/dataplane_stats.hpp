#pragma once
/// \file
/// What a data-plane core reports: its traffic, its drops by reason, and
/// how often it polled in vain. Read live (the core's counters are atomics
/// it alone writes), so a stats call never stops the data path.

#include <cstdint>
#include <map>
#include <string>

namespace actorstack {

struct dataplane_core_stats {
  std::uint32_t core = 0;
  std::string port;     ///< the DPDK device ("net_tap0")
  std::string mac;      ///< "02:00:00:00:00:01"
  std::string address;  ///< "10.0.0.2/24"
  /// Where the core runs (dataplane.threads): "worker 0" (a session
  /// worker's scheduler thread, between actor jobs; "worker 0 (lcore 3)"
  /// once that thread has run the core and DPDK gave it an lcore id of its
  /// own, which gives it a per-thread mbuf cache) or "lcore 1" (a thread
  /// of its own).
  std::string thread;
  std::uint64_t connections = 0;  ///< installed UDP listeners and 5-tuples
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  std::uint64_t arp_replies = 0, arp_requests = 0, icmp_echo_replies = 0;
  std::uint64_t udp_rx_datagrams = 0, udp_tx_datagrams = 0;
  std::uint64_t busy_polls = 0, idle_polls = 0;
  std::uint64_t events_lost = 0;  ///< worker event ring full (the next datagram re-notifies)
  /// Several cores: frames the port gave this core for a connection
  /// another core owns (handed over to it), and connections that moved
  /// here because their frames arrive here.
  std::uint64_t frames_forwarded = 0, flows_taken = 0;
  /// TCP "bytes arrived" the core put straight into an app worker's
  /// inbox; the others went through the session's worker.
  std::uint64_t rx_to_apps = 0;
  /// Every drop reason, zero or not: "truncated", "bad_checksum", "no_session", ...
  std::map<std::string, std::uint64_t> drops;
  /// The core's TCP engine (SPEC-TCP 9.1), every counter zero or not:
  /// "segments_in", "retransmits_fast", "aborts_timeout", "state_ESTABLISHED"
  /// (connections in that state now), ...
  std::map<std::string, std::uint64_t> tcp;
  /// What the impairment stage (dataplane.impair) did: "rx_dropped",
  /// "tx_corrupted", ...; empty without one.
  std::map<std::string, std::uint64_t> impaired;

  std::uint64_t dropped(const std::string& reason) const {
    auto it = drops.find(reason);
    return it == drops.end() ? 0 : it->second;
  }
};

}  // namespace actorstack
