#pragma once
/// \file
/// What one data-plane core hands another (docs/architecture.md §6,
/// "several cores"). A port spreads frames over its queues by its own rule
/// (RSS, the kernel's flow steering behind a tap, the peer's queue choice
/// on memif), so a frame may reach a core that does not own its
/// connection: that core passes the frame to the owner instead of touching
/// a fifo whose producer is another thread. Per ordered pair of cores
/// there is one SPSC ring, polled by the receiving core every pass (no
/// doorbell: cores never sleep longer than the adaptive back-off).
///
/// The ring also carries the two control items that must stay in order
/// with the frames: a moved connection (`take`: every frame the old owner
/// forwarded after letting go arrives behind it) and a learned neighbour
/// (so an ARP answer one core saw serves every core's transmissions).

#include "dataplane/boundary.hpp"
#include "dataplane/packet/packet.hpp"

#include <cstdint>

struct rte_mbuf;

namespace actorstack::dataplane {

enum class handoff_kind : std::uint8_t {
  frame,     ///< a received frame for a connection the receiver owns
  take,      ///< own `binding` from now on (it replaces the forwarding entry of that connection)
  neighbor,  ///< `ip` is at `mac`
};

struct handoff {
  handoff_kind kind = handoff_kind::frame;
  rte_mbuf* frame = nullptr;  ///< frame: the receiver frees it
  udp_binding binding;        ///< take: already keyed and owned by the receiver
  std::uint32_t ip = 0;  ///< neighbor
  mac_address mac{};     ///< neighbor
};

}  // namespace actorstack::dataplane
