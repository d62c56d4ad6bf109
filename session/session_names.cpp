// Text forms of the public session types.
#include <actorstack/session_handle.hpp>
#include <actorstack/session_state.hpp>

namespace actorstack {

std::string session_handle::to_string() const {
  if (!valid()) return "invalid";
  return std::to_string(worker()) + ":" + std::to_string(index()) + "/" +
         std::to_string(generation());
}

std::string_view to_string(session_state s) noexcept {
  switch (s) {
    case session_state::created: return "created";
    case session_state::listening: return "listening";
    case session_state::connecting: return "connecting";
    case session_state::accepting: return "accepting";
    case session_state::ready: return "ready";
    case session_state::opened: return "opened";
    case session_state::transport_closing: return "transport_closing";
    case session_state::closing: return "closing";
    case session_state::app_closed: return "app_closed";
    case session_state::transport_closed: return "transport_closed";
    case session_state::closed: return "closed";
    case session_state::transport_deleted: return "transport_deleted";
  }
  return "unknown";
}

}  // namespace actorstack
