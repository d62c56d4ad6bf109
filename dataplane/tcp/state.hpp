#pragma once
/// \file
/// RFC 9293's connection states and their names: the engine's, and what a
/// core tells a session worker of each connection (`tcp_state` events).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace actorstack::tcp {

/// RFC 9293 connection states.
enum class state : std::uint8_t {
  closed, listen, syn_sent, syn_received, established, fin_wait_1, fin_wait_2,
  close_wait, closing, last_ack, time_wait,
};
inline constexpr std::size_t state_count = 11;

/// "ESTABLISHED", "SYN-SENT"…: the RFC's names.
constexpr std::string_view to_string(state s) noexcept {
  switch (s) {
    case state::closed: return "CLOSED";
    case state::listen: return "LISTEN";
    case state::syn_sent: return "SYN-SENT";
    case state::syn_received: return "SYN-RECEIVED";
    case state::established: return "ESTABLISHED";
    case state::fin_wait_1: return "FIN-WAIT-1";
    case state::fin_wait_2: return "FIN-WAIT-2";
    case state::close_wait: return "CLOSE-WAIT";
    case state::closing: return "CLOSING";
    case state::last_ack: return "LAST-ACK";
    case state::time_wait: return "TIME-WAIT";
  }
  return "?";
}

}  // namespace actorstack::tcp
