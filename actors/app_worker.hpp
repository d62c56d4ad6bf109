#pragma once
/// \file
/// The app_worker actor: one per application worker. It delivers every
/// notification to the app's handler, in order, one at a time, and sends
/// the handler's answers (accept, connected) back to the session's worker.
/// It keeps the app's view of each session it was told about; a
/// notification for a handle it does not know (refused, already cleaned
/// up) is dropped — re-validation at delivery (SPEC 9.1).

#include "actors/session_worker.hpp"

#include <actorstack/app.hpp>

#include <memory>
#include <vector>

namespace actorstack {

struct app_worker_config {
  std::uint32_t index = 0;                       ///< global app worker index
  std::vector<session_worker_actor> workers;     ///< by worker index
};

/// Spawns the actor; it owns `handler` from now on.
app_worker_actor spawn_app_worker(caf::actor_system& sys, app_worker_config cfg,
                                  std::unique_ptr<app_handler> handler);

}  // namespace actorstack
