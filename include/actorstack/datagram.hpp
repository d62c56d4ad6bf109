#pragma once
/// \file
/// How datagrams sit in a session's fifos (udp sessions, SPEC §1): each one
/// is a fixed `datagram_header` followed by its payload, written with one
/// all-or-nothing enqueue, so a reader never sees a header without its
/// payload and a datagram is never split. The data plane writes the rx
/// fifo this way and reads the tx fifo this way; applications use
/// `session::send_to` / `session::recv_from` (or read/write, which frame a
/// connected session's datagrams for them) and never touch the layout.
///
/// The header is host-endian and fixed-size: both ends are on one host.

#include <actorstack/endpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace actorstack {

struct datagram_header {
  std::uint32_t length = 0;       ///< payload bytes that follow
  std::uint16_t remote_port = 0;  ///< host order
  std::uint16_t local_port = 0;   ///< host order
  ip_address remote;              ///< rx: the sender; tx: the destination (connectionless)
  ip_address local;               ///< rx: the address it was sent to; tx: ignored
};
static_assert(std::is_trivially_copyable_v<datagram_header>);

inline constexpr std::size_t datagram_header_size = sizeof(datagram_header);

/// Largest payload a datagram session sends: one unfragmented IPv4 packet
/// on a 1500-byte link (the data plane does not fragment).
inline constexpr std::size_t max_datagram_payload = 1472;

/// What `session::recv_from` returns besides the payload.
struct datagram_info {
  endpoint remote;       ///< who sent it
  endpoint local;        ///< the address and port it arrived at
  std::size_t length = 0;  ///< payload bytes copied out
  bool truncated = false;  ///< the payload was longer than the buffer; the rest was dropped
  std::size_t whole = 0;   ///< the datagram's whole payload length (recv's MSG_TRUNC)
};

}  // namespace actorstack
