#pragma once
/// \file
/// A session as its worker stores it (SPEC §1). Only the owning
/// session_worker touches these fields; everyone else holds a handle.

#include <actorstack/endpoint.hpp>
#include <actorstack/session_handle.hpp>
#include <actorstack/session_state.hpp>

#include "shm/fifo.hpp"

#include <cstdint>

namespace actorstack::session_layer {

inline constexpr std::uint32_t no_index = ~std::uint32_t{0};

/// Session flags (bit set in session::flags).
enum session_flag : std::uint32_t {
  flag_rx_evt = 1u << 0,              ///< queued once in the worker's pending rx batch
  flag_custom_tx = 1u << 1,           ///< a custom-tx event is queued (once)
  flag_is_migrating = 1u << 2,        ///< being moved to another worker (SPEC §5)
  flag_custom_fifo_tuning = 1u << 3,  ///< the app tunes fifo sizes (SPEC §4)
  flag_half_open = 1u << 4,           ///< an active open not yet connected
  flag_app_closed = 1u << 5,          ///< the app closed or reset: close is idempotent
  flag_rx_ready = 1u << 6,            ///< the app knows the session: rx callbacks may fire
  flag_app_shut_tx = 1u << 7,         ///< the app half-closed: its transport was told once
};

struct session {
  // Widest first (56 bytes; one per connection on its worker). Neither
  // the listener of an accepted session, the app's connect context nor
  // the endpoints are kept: each is told to the app once, in the
  // notification, and the transport names the endpoints in its own
  // terms for `show sessions` (a tcp connection's are its 4-tuple).
  session_handle handle;                      ///< self (worker, index, generation)
  shm::fifo rx;                               ///< peer/transport produces, app consumes
  shm::fifo tx;                               ///< app produces, peer/transport consumes
  std::uint32_t app_worker = no_index;        ///< owning app worker (global index)
  std::uint32_t connection = no_index;        ///< transport connection index
  std::uint16_t flags = 0;                    ///< session_flag bits
  session_state state = session_state::created;
  transport_proto proto = transport_proto::ct;

  bool has(session_flag f) const noexcept { return (flags & f) != 0; }
  void set(session_flag f) noexcept { flags = static_cast<std::uint16_t>(flags | f); }
  void clear(session_flag f) noexcept { flags = static_cast<std::uint16_t>(flags & ~static_cast<std::uint32_t>(f)); }
};

}  // namespace actorstack::session_layer
