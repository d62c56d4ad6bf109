#pragma once
// What the app workers of one attached process share: one small actor
// system (one scheduler thread for their receivers, the middleman's thread
// for the connection to the stack) and the stack's attach actor. The last
// worker to go stops it.

#include "actors/remote/remote_gateway.hpp"

#include <actorstack/result.hpp>

#include <caf/all.hpp>

#include <cstdint>
#include <memory>

namespace actorstack::client::detail {

struct process_link {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  attach_door_actor door;
  std::uint16_t port = 0;

  /// Reaches the attach actor the stack published on 127.0.0.1:`port`.
  /// Errors: disconnected (nothing answers there).
  static result<std::shared_ptr<process_link>> connect(std::uint16_t port);
};

}  // namespace actorstack::client::detail
