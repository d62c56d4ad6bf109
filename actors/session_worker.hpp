#pragma once
/// \file
/// The session_worker actor: one per worker. It owns a
/// session_worker_state (sessions, event lists, rx batch) and the worker's
/// cut-through part (ct_worker); the first worker also owns the
/// cut-through half-opens. Messages become calls on that state; whenever
/// work is left (events, cleanups, connects to accept, rx notifications to
/// flush) the actor sends itself one `run` — its doorbell — and does a
/// bounded amount per run, so other messages interleave.

#include "session/ct/ct_transport.hpp"
#include "session/tcp/tcp_transport.hpp"
#include "session/udp/udp_transport.hpp"
#include "session/view/inspection.hpp"

#include <actorstack/app_worker.hpp>
#include <actorstack/tcp_info.hpp>
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <vector>

namespace actorstack {

/// A cut-through fifo pair request: who talks, and the server app's sizes.
struct ct_alloc_request {
  std::uint32_t server_app_worker = 0;
  std::uint32_t client_app_worker = 0;
  std::uint32_t rx_size = 0;
  std::uint32_t tx_size = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ct_alloc_request& x) {
  return f(caf::meta::type_name("ct_alloc_request"), x.server_app_worker, x.client_app_worker,
           x.rx_size, x.tx_size);
}


/// The app workers that accept on tcp listener `listener` (stack root ->
/// session worker 0 -> the workers with its mirrors):
/// tcp_transport::set_members.
struct listener_members {
  session_handle listener;
  std::vector<std::uint32_t> app_workers;
};

/// Who carves cut-through fifo pairs (the ct_segment_context actors, behind
/// the stack root) and takes them back.
using ct_fifo_actor =
    caf::typed_actor<caf::replies_to<ct_alloc_atom, ct_alloc_request>::with<ct::ct_fifo_pair>,
                     caf::reacts_to<ct_release_atom, std::vector<ct::ct_release>>>;  // one context's

/// Where a worker reports an app worker whose app left a session's shared
/// fifos inconsistent (the stack root counts them per app: shm_violations).
using violation_sink = caf::typed_actor<caf::reacts_to<shm_violation_atom, std::uint32_t>>;

using session_worker_actor = caf::typed_actor<
    caf::reacts_to<close_atom, session_handle>,           // app close (SPEC 2.4)
    caf::reacts_to<reset_atom, session_handle>,           // app reset (SPEC 2.5)
    caf::reacts_to<shutdown_atom, session_handle>,        // app half-close (docs/behaviour.md)
    caf::reacts_to<rpc_atom, worker_rpc>,                 // run a function here (SPEC 3)
    caf::reacts_to<tx_atom, session_handle>,              // the app posted tx: custom tx
    caf::reacts_to<tx_atom, std::vector<session_handle>>, // ...on each of these sessions
    caf::reacts_to<app_rx_atom, session_handle>,          // the app read: app-rx event
    caf::reacts_to<rx_notify_atom, session_handle>,       // async rx notification
    caf::reacts_to<accept_atom, session_handle, bool>,    // the app's accept answer
    caf::reacts_to<connected_atom, session_handle, bool>, // the app's connected answer
    caf::reacts_to<ct_connect_atom, ct::pending_connect>, // first worker: a new ct connect
    caf::reacts_to<ct_connect_atom, std::vector<ct::pending_connect>>,  // connects to accept
    caf::reacts_to<half_open_atom, std::uint32_t>,        // first worker: index reusable
    // app worker known (+ fifo tuning, its rx and tx fifo sizes)
    caf::reacts_to<app_worker_atom, std::uint32_t, app_worker_actor, bool, std::uint32_t, std::uint32_t>,
    caf::reacts_to<ct_context_atom, std::uint32_t, ct_fifo_actor>,     // a segment context by id
    caf::replies_to<subscribe_atom, session_handle, std::uint32_t, bool>::with<bool>,  // SPEC 3 subscribers
    caf::reacts_to<detach_atom, std::uint32_t>,           // app worker gone
    caf::reacts_to<std::vector<caf::actor>>,              // all workers (first worker)
    caf::reacts_to<run_atom>,                             // the doorbell
    caf::reacts_to<dataplane_atom>,                       // the data plane's doorbell: events
    caf::reacts_to<net_connect_atom, std::uint32_t, endpoint, std::uint64_t, std::uint16_t>,  // udp or tcp connect (local port or 0)
    // SPEC §5, a udp session moving between workers (udp/udp_transport.hpp):
    caf::reacts_to<migrate_atom, udp::udp_migrant>,  // new worker: take it
    // old worker: adopted (old id, new worker, new handle, new id)
    caf::reacts_to<migrate_atom, std::uint32_t, std::uint32_t, session_handle, std::uint32_t>,
    caf::reacts_to<migrate_atom, session_handle, std::uint8_t>,  // new worker: the outcome
    // old worker: a session that moved away is gone (its old handle, app worker, fifos)
    caf::reacts_to<migrate_atom, session_handle, std::uint32_t, shm::fifo, shm::fifo>,
    caf::replies_to<listen_atom, std::uint32_t, endpoint>::with<session_handle>,
    caf::reacts_to<listen_atom, session_handle, std::uint32_t>,  // a shared listener changes owner
    // another worker's tcp listener, opened on the cores whose home this worker is (SPEC-TCP 1.1)
    caf::replies_to<listen_atom, session_handle, std::uint32_t, endpoint>::with<bool>,
    caf::reacts_to<stop_atom, listen_atom, session_handle>,  // ...and stopped
    caf::reacts_to<listen_atom, migrate_atom, session_handle, std::uint32_t>,  // ...and given to another app worker
    caf::reacts_to<listen_atom, listener_members>,  // a tcp listener's app workers, each taking the wire's connections
    caf::replies_to<tcp_info_atom, session_handle>::with<tcp_conn_info>,  // TCP_INFO of a session on the wire
    caf::replies_to<stats_atom>::with<worker_stats>,
    caf::replies_to<sessions_atom>::with<worker_report>>;

struct session_worker_config {
  std::uint32_t index = 0;
  ct_fifo_actor ct_fifos;                  ///< carves ct pairs
  violation_sink violations;               ///< hears of apps that broke their shared fifos
  caf::actor first_worker;                 ///< invalid for the first worker itself
  /// The data plane's channels, one per core (empty: no data plane).
  std::vector<net::core_link> dp_links;
  net::app_segments_config segments;  ///< where udp and tcp sessions' fifos live
  udp::udp_worker_config udp;
  tcp::tcp_worker_config tcp;
};

session_worker_actor spawn_session_worker(caf::actor_system& sys, session_worker_config cfg);

}  // namespace actorstack

// Local-only payloads (process-local pointers and fifos). Never a type that
// crosses processes (endpoint, session_handle, ...): this macro makes its
// save/load no-ops in every file that includes it, and the linker may keep
// that copy (tests/actors/test_wire_types.cpp checks).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::ct::pending_connect)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actorstack::ct::pending_connect>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::ct::ct_fifo_pair)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actorstack::ct::ct_release>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::udp::udp_migrant)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::shm::fifo)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::listener_members)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::tcp_conn_info)
