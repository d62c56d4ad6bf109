#pragma once
/// \file
/// What one TCP engine (one data-plane core) counts (SPEC-TCP 9.1). Plain
/// integers: only the owning core writes them; readers take a snapshot.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace actorstack::tcp {

/// Why a connection ended other than by an orderly close.
enum class abort_reason : std::uint8_t {
  peer_reset,        ///< an acceptable RST arrived
  timeout,           ///< SYN or data retries ran out
  app_reset,         ///< the app reset it (or closed with unread data)
  data_after_close,  ///< data arrived after the app closed (Linux answers RST)
  refused_by_app,    ///< the session layer could not take the connection
  shm_violation,     ///< the app left its shared fifos inconsistent (shm/private_end.hpp)
  count_,
};
inline constexpr std::size_t abort_reason_count = static_cast<std::size_t>(abort_reason::count_);
std::string_view to_string(abort_reason r) noexcept;

struct counters {
  std::uint64_t segments_in = 0;
  std::uint64_t segments_out = 0;
  std::uint64_t bytes_in = 0;   ///< payload accepted in order or out of order
  std::uint64_t bytes_out = 0;  ///< payload sent, retransmissions included
  std::uint64_t retransmits_fast = 0;
  std::uint64_t retransmits_timeout = 0;
  std::uint64_t dup_acks = 0;
  std::uint64_t ooo_segments = 0;
  std::uint64_t bad_checksum = 0;
  std::uint64_t malformed = 0;
  std::uint64_t rst_in = 0;
  std::uint64_t rst_out = 0;
  std::uint64_t challenge_acks = 0;
  std::uint64_t challenge_acks_suppressed = 0;  ///< over the rate limit
  std::uint64_t paws_drops = 0;
  std::uint64_t syn_drops_backlog = 0;
  std::uint64_t window_probes = 0;
  std::uint64_t active_opens = 0;
  std::uint64_t passive_opens = 0;
  std::uint64_t unacceptable = 0;  ///< failed the acceptability test (answered by ACK)
  std::uint64_t ack_unsent = 0;    ///< acknowledged data never sent (answered by ACK, dropped; SPEC-TCP 4.4)
  std::uint64_t ack_too_old = 0;   ///< acknowledged below SND.UNA - max window (dropped; SPEC-TCP 4.4)
  std::uint64_t tx_no_room = 0;    ///< a segment could not be sent (no buffer)
  std::array<std::uint64_t, abort_reason_count> aborts{};
};

/// Every counter as a flat list, for inspection and metrics: the fields
/// above by name, `aborts_<reason>`, then `state_<RFC STATE>` (connections
/// in each state now). counter_values() gives them in the same order.
const std::vector<std::string>& counter_names();
std::vector<std::uint64_t> counter_values(const counters& c, const std::array<std::size_t, 11>& per_state);

}  // namespace actorstack::tcp
