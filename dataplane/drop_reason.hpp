#pragma once
/// \file
/// Why the data plane dropped a packet. Every drop is counted under exactly
/// one reason, per core (dataplane/core_counters.hpp), and shown by
/// `actorstack-ctl show dataplane`. Values index counter arrays: append.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace actorstack::dataplane {

enum class drop_reason : std::uint8_t {
  truncated,          ///< shorter than the header it claims to carry
  malformed,          ///< a field holds an impossible value
  bad_length,         ///< a length field disagrees with the packet
  bad_checksum,       ///< IPv4 header, ICMP or UDP checksum wrong
  fragment,           ///< IPv4 fragment (no reassembly)
  ip_options,         ///< IPv4 header with options
  unknown_ethertype,  ///< neither IPv4 nor ARP
  unknown_protocol,   ///< IPv4 protocol other than ICMP and UDP
  unknown_icmp,       ///< ICMP other than echo request
  not_for_us,         ///< another host's address (IPv4 or ARP target)
  no_session,         ///< UDP to a port nobody listens on
  fifo_full,          ///< the session's rx fifo had no room for the datagram
  no_neighbor,        ///< tx: next hop unresolved after ARP retries
  tx_full,            ///< the port's tx queue refused the packet
  handoff_full,       ///< the ring to the core owning the connection was full
  shm_violation,      ///< the connection's app left its shared fifos inconsistent: they are not touched again
  tx_refused,         ///< the port refused the frame at the head of the tx queue for a second
  count_,             ///< number of reasons (not a reason)
};

inline constexpr std::size_t drop_reason_count = static_cast<std::size_t>(drop_reason::count_);

/// Stable lower-case name ("bad_checksum"), used in tables, JSON and metrics labels.
constexpr std::string_view to_string(drop_reason r) noexcept {
  switch (r) {
    case drop_reason::truncated: return "truncated";
    case drop_reason::malformed: return "malformed";
    case drop_reason::bad_length: return "bad_length";
    case drop_reason::bad_checksum: return "bad_checksum";
    case drop_reason::fragment: return "fragment";
    case drop_reason::ip_options: return "ip_options";
    case drop_reason::unknown_ethertype: return "unknown_ethertype";
    case drop_reason::unknown_protocol: return "unknown_protocol";
    case drop_reason::unknown_icmp: return "unknown_icmp";
    case drop_reason::not_for_us: return "not_for_us";
    case drop_reason::no_session: return "no_session";
    case drop_reason::fifo_full: return "fifo_full";
    case drop_reason::no_neighbor: return "no_neighbor";
    case drop_reason::tx_full: return "tx_full";
    case drop_reason::handoff_full: return "handoff_full";
    case drop_reason::shm_violation: return "shm_violation";
    case drop_reason::tx_refused: return "tx_refused";
    case drop_reason::count_: break;
  }
  return "unknown";
}

}  // namespace actorstack::dataplane
