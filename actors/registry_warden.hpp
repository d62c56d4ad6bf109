#pragma once
/// \file
/// Keeps CAF's actor registry — everything another process can address
/// through the middleman — down to the shields (door_shield.hpp).
///
/// Why the stack has to: CAF 0.17's BASP broker, on every new node's
/// handshake, spawns a hidden helper actor for that node (remote spawning,
/// which the stack never uses) and puts it in the registry. It lives until
/// that node's spawn server goes down, or five minutes if the node never
/// answers. While it lives, any other process on the attach or inspect port
/// can name it by its small id; it takes an `ok` message from anyone,
/// then delegates to whatever actor the message names and prints every
/// unexpected message with CAF's to_string — which crashes on a
/// caf::duration whose unit is out of range (found by fuzz_messages).
/// Seen here as a rare failure of the registry test in test_remote_apps.
///
/// The warden, for actor systems the stack owns: takes every non-shield out
/// of the registry and ends the hidden ones (CAF's helpers; the stack's own
/// actors are never hidden and are only logged — one in the registry is a
/// defect, and ending it would break the stack). It scans the ids spawned
/// since its last pass, with a margin (an actor is spawned before it is
/// put in the registry), when asked and every `period`.

#include <caf/all.hpp>

#include <chrono>
#include <cstddef>

namespace actorstack {

/// One pass: scans ids from `scanned - margin` to the latest, takes
/// non-shields out of the registry, ends hidden ones; `scanned` moves to
/// the latest id. Returns how many it took out.
std::size_t scrub_registry(caf::actor_system& sys, caf::actor_id& scanned);

/// Spawns the warden: a pass now and every `period` until it is stopped
/// (an exit message from the stack).
caf::actor spawn_registry_warden(caf::actor_system& sys, std::chrono::milliseconds period);

/// CAF's own utility actors (remote spawning, a config store) are in the
/// registry by id and by name from the start; the stack uses neither.
void forget_caf_utility_actors(caf::actor_system& sys);

}  // namespace actorstack
