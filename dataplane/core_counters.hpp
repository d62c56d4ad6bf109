#pragma once
/// \file
/// What one data-plane core counts. Written only by its core (single
/// writer: a relaxed load+store, no locked instruction), read by anyone at
/// any time (the inspector, metrics) with relaxed loads: a reader sees each
/// counter's recent value, never a torn one.

#include "dataplane/drop_reason.hpp"

#include <array>
#include <atomic>
#include <cstdint>

namespace actorstack::dataplane {

class counter {
 public:
  void add(std::uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(std::uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

struct core_counters {
  counter rx_packets, rx_bytes, tx_packets, tx_bytes;
  counter arp_replies_sent, arp_requests_sent, icmp_echo_replies;
  counter udp_rx_datagrams, udp_tx_datagrams;
  counter busy_polls, idle_polls;
  counter events_lost;  ///< event ring full: the flag was cleared so the next datagram retries
  counter frames_forwarded;  ///< received here, handed to the core owning their connection
  counter flows_taken;       ///< connections moved here from another core
  counter rx_to_apps;        ///< tcp "bytes arrived" put straight into an app worker's rx inbox
  std::array<counter, drop_reason_count> drops;

  void drop(drop_reason r, std::uint64_t n = 1) noexcept { drops[static_cast<std::size_t>(r)].add(n); }
  std::uint64_t dropped(drop_reason r) const noexcept { return drops[static_cast<std::size_t>(r)].get(); }
};

/// A plain copy of a core's counters (for reports and tests).
struct core_counters_snapshot {
  std::uint32_t core = 0;
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  std::uint64_t arp_replies_sent = 0, arp_requests_sent = 0, icmp_echo_replies = 0;
  std::uint64_t udp_rx_datagrams = 0, udp_tx_datagrams = 0;
  std::uint64_t busy_polls = 0, idle_polls = 0, events_lost = 0;
  std::uint64_t frames_forwarded = 0, flows_taken = 0;
  std::uint64_t rx_to_apps = 0;
  std::array<std::uint64_t, drop_reason_count> drops{};
  std::uint64_t dropped(drop_reason r) const noexcept { return drops[static_cast<std::size_t>(r)]; }
};

inline core_counters_snapshot snapshot(const core_counters& c, std::uint32_t core) {
  core_counters_snapshot s;
  s.core = core;
  s.rx_packets = c.rx_packets.get();
  s.rx_bytes = c.rx_bytes.get();
  s.tx_packets = c.tx_packets.get();
  s.tx_bytes = c.tx_bytes.get();
  s.arp_replies_sent = c.arp_replies_sent.get();
  s.arp_requests_sent = c.arp_requests_sent.get();
  s.icmp_echo_replies = c.icmp_echo_replies.get();
  s.udp_rx_datagrams = c.udp_rx_datagrams.get();
  s.udp_tx_datagrams = c.udp_tx_datagrams.get();
  s.busy_polls = c.busy_polls.get();
  s.idle_polls = c.idle_polls.get();
  s.events_lost = c.events_lost.get();
  s.frames_forwarded = c.frames_forwarded.get();
  s.flows_taken = c.flows_taken.get();
  s.rx_to_apps = c.rx_to_apps.get();
  for (std::size_t i = 0; i < drop_reason_count; ++i) s.drops[i] = c.drops[i].get();
  return s;
}

}  // namespace actorstack::dataplane
