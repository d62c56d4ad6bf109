#pragma once
/// \file
/// Session states (SPEC §2). The order is meaningful: rules compare states
/// ("ignored once >= closing"), and state never moves backwards except a
/// refused accept (accepting -> created).

#include <cstdint>
#include <string_view>

namespace actorstack {

enum class session_state : std::uint8_t {
  created,
  listening,
  connecting,
  accepting,
  ready,
  opened,
  transport_closing,
  closing,
  app_closed,
  transport_closed,
  closed,
  transport_deleted,
};

/// Lower-case name ("transport_closing").
std::string_view to_string(session_state s) noexcept;

}  // namespace actorstack
