#pragma once
/// \file
/// The stack's own app_worker actor: one per application worker attached
/// with a handler object. It delivers every notification to the handler,
/// in order, one at a time, through an app_session_table (the same
/// delivery user-written app worker actors use, include/actorstack/app_worker.hpp).

#include "actors/session_worker.hpp"

#include <actorstack/app_worker.hpp>

#include <memory>

namespace actorstack {

/// Spawns the actor; it owns `handler` from now on.
app_worker_actor spawn_handler_app_worker(caf::actor_system& sys, app_worker_context ctx,
                                          std::unique_ptr<app_handler> handler);

}  // namespace actorstack
