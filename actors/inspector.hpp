#pragma once
/// \file
/// The inspector actor: monitors every actor the stack spawns (and the
/// app's own app worker actors) and reacts when one ends.
///
/// - An app worker that ends while its app is attached (an exception, a
///   quit without detach; later: its process dying) makes the root detach
///   its app: listeners removed, every session of every worker of the app
///   reset towards its peer, which frees the fifos and lets the segments
///   go. A log line says so.
/// - A session worker, the root or a segment context that ends while the
///   stack runs is fatal: the inspector logs it and stops every actor it
///   watches, so the stack shuts down cleanly instead of half-working.
/// - It answers "what runs, what ended and why" from its own table.

#include "actors/inspect_service.hpp"
#include "actors/stack_root.hpp"
#include "session/view/render.hpp"

#include <caf/all.hpp>

#include <functional>
#include <string>
#include <vector>

namespace actorstack {

enum class actor_role : std::uint8_t { root, session_worker, app_worker, ct_context, service };

std::string_view to_string(actor_role r) noexcept;

/// One watched actor, as the inspector knows it.
struct watched_actor {
  actor_role role = actor_role::app_worker;
  std::uint32_t index = 0;  ///< worker index, global app worker index, context id
  std::string name;         ///< e.g. the app's name
  bool alive = true;
  std::string exit_reason;  ///< once ended
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, watched_actor& x) {
  return f(caf::meta::type_name("watched_actor"), x.role, x.index, x.name, x.alive, x.exit_reason);
}

using inspector_actor = caf::typed_actor<
    caf::reacts_to<watch_atom, caf::actor, actor_role, std::uint32_t, std::string>,
    caf::reacts_to<mailbox_atom, caf::actor>,  // a watched actor that answers mailbox queries
    caf::reacts_to<stop_atom>,         // the stack is stopping: ends are expected now
    caf::replies_to<list_atom>::with<std::vector<watched_actor>>,
    // `show TOPIC OPTIONS...` (view/render.hpp): gathered from every
    // actor's own report, rendered as a table or JSON.
    caf::replies_to<show_atom, std::string, std::vector<std::string>>::with<std::string>,
    // The same reports, unrendered (metrics).
    caf::replies_to<snapshot_atom>::with<view::snapshot>>;

/// Forwards to `inspector`; published by stack::publish_inspector.
inspect_service spawn_inspect_service(caf::actor_system& sys, inspector_actor inspector);

/// Reads the data plane's per-core counters (thread-safe: they are
/// atomics the cores write); empty without a data plane.
using dataplane_provider = std::function<std::vector<dataplane_core_stats>()>;

/// `root` hears when an app worker ends (app_down); `dataplane` fills the
/// snapshots' data-plane part.
inspector_actor spawn_inspector(caf::actor_system& sys, stack_root_actor root,
                                dataplane_provider dataplane = {});

}  // namespace actorstack

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actorstack::watched_actor>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::view::snapshot)
