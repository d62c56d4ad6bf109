#pragma once
/// \file
/// The stack root actor: owns the stack's registry of apps, listeners and
/// segment contexts (session/stack_root_state.hpp, where the decisions
/// are) and turns its effects into messages: to the session workers, to
/// app workers, and to one ct_segment_context actor per (server app,
/// client app worker, server app worker), which it spawns.

#include "actors/handler_app_worker.hpp"
#include "session/view/inspection.hpp"
#include "session/lookup/session_tables.hpp"
#include "session/stack_root_state.hpp"

#include <actorstack/app.hpp>
#include <actorstack/stack.hpp>

namespace actorstack {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, app_reservation& x) {
  return f(caf::meta::type_name("app_reservation"), x.app, x.first_worker);
}

using stack_root_actor = caf::typed_actor<
    // (options, the process it lives in: pid, uid, attached from another process)
    caf::replies_to<app_worker_atom, app_options, std::int32_t, std::uint32_t, bool>::with<app_reservation>,
    caf::replies_to<app_worker_atom, std::uint32_t, std::vector<app_worker_actor>>::with<bool>,
    caf::replies_to<add_worker_atom, std::uint32_t>::with<app_reservation>,  // reserve one more
    caf::replies_to<add_worker_atom, std::uint32_t, std::uint32_t, app_worker_actor>::with<bool>,
    caf::replies_to<del_worker_atom, std::uint32_t, std::uint32_t>::with<bool>,
    // (app, app worker, endpoint, the whole app listens)
    // (app, app worker, endpoint, whole app, SO_REUSEPORT)
    caf::replies_to<listen_atom, std::uint32_t, std::uint32_t, endpoint, bool, bool>::with<session_handle>,
    // stop listen (app, listener, app worker, for the whole app)
    caf::replies_to<close_atom, std::uint32_t, session_handle, std::uint32_t, bool>::with<bool>,
    caf::replies_to<connect_atom, connect_request>::with<bool>,
    caf::replies_to<detach_atom, std::uint32_t>::with<bool>,
    caf::reacts_to<app_down_atom, std::uint32_t, bool>,  // an app worker ended (inspector; true: normally)
    caf::reacts_to<shm_violation_atom, std::uint32_t>,    // a worker: this app worker's app broke its fifos
    caf::reacts_to<quota_atom, std::uint32_t>,            // a gateway: this app was refused for a quota
    caf::reacts_to<watch_atom, caf::actor>,        // the inspector: it watches the contexts too
    caf::replies_to<apps_atom>::with<std::vector<app_row>>,
    caf::replies_to<listeners_atom>::with<std::vector<listener_row>>,
    caf::replies_to<ct_alloc_atom, ct_alloc_request>::with<ct::ct_fifo_pair>,
    caf::reacts_to<ct_release_atom, std::vector<ct::ct_release>>,  // one context's
    caf::reacts_to<std::vector<session_worker_actor>>,
    caf::replies_to<stats_atom>::with<stack_counters>,
    caf::replies_to<mailbox_atom>::with<std::uint64_t>>;  // messages waiting here (inspection)

struct stack_root_config {
  stack_config cfg;
  std::uint64_t min_ct_segment_size = 128ull << 20;
};

stack_root_actor spawn_stack_root(caf::actor_system& sys, stack_root_config cfg);

}  // namespace actorstack

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::app_options)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::connect_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::stack_counters)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actorstack::app_worker_actor>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actorstack::session_worker_actor>)
