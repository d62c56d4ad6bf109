#pragma once
/// \file
/// The stack's internal actor protocol (docs/architecture.md §3, crossing owner
/// boundaries by message): atoms and payloads defined once here, after the
/// public vocabulary (include/actorstack/notification.hpp). Payloads have
/// `inspect()`; the few that hold process-local things (a closure) are
/// marked local-only.

#include "session/view/inspection.hpp"

#include <actorstack/notification.hpp>

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace actorstack {

/// An application in another process asks to attach (actors/remote/). The
/// token proves it holds the Unix connection the stack greeted with it:
/// segment fds go there, and its hang-up detaches the app.
///
/// With a `join_secret` it asks instead for one more app worker of the
/// attached app `join_app` (worker add): the secret, which only that app's
/// attach reply carried, proves it is that app. Name, sizes and scopes
/// are the app's; the request's are ignored.
struct remote_attach_request {
  std::uint64_t token = 0;
  std::string name;
  std::uint32_t rx_fifo_size = 0;  ///< 0: the stack's defaults
  std::uint32_t tx_fifo_size = 0;
  bool local_scope = true;
  bool global_scope = true;
  caf::actor receiver;  ///< the app's actor that takes notify messages
  std::uint32_t join_app = 0;
  std::uint64_t join_secret = 0;  ///< 0: attach a new app
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_attach_request& x) {
  return f(caf::meta::type_name("remote_attach_request"), x.token, x.name, x.rx_fifo_size,
           x.tx_fifo_size, x.local_scope, x.global_scope, x.receiver, x.join_app, x.join_secret);
}

/// What an attached remote app is given: its indices, its gateway (the only
/// actor of the stack it may talk to) and the number of session workers
/// (session handles name one of them).
struct remote_attach_reply {
  std::uint32_t app = 0;
  std::uint32_t app_worker = 0;
  std::uint32_t session_workers = 0;
  caf::actor gateway;
  std::uint64_t secret = 0;  ///< what a worker add of this app must show
  /// What every message between this app worker and its gateway carries,
  /// both ways: CAF's middleman believes a peer's word on who sent a
  /// message (docs/architecture.md, Seals), this 64-bit number it cannot
  /// guess.
  std::uint64_t seal = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_attach_reply& x) {
  return f(caf::meta::type_name("remote_attach_reply"), x.app, x.app_worker, x.session_workers,
           x.gateway, x.secret, x.seal);
}

/// A function a worker runs on its own turn (SPEC §3 rpc). Local only.
struct worker_rpc {
  std::function<void()> fn;
};

}  // namespace actorstack

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::worker_rpc)
// What actors report to the inspector: rendered to text before it leaves
// the process (session/view/).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::worker_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actorstack::app_row>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actorstack::listener_row>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::ct_context_report)

CAF_BEGIN_TYPE_ID_BLOCK(actorstack, caf::id_block::actorstack_api::end)
  CAF_ADD_ATOM(actorstack, actorstack, close_atom, "close")
  CAF_ADD_ATOM(actorstack, actorstack, reset_atom, "reset")
  CAF_ADD_ATOM(actorstack, actorstack, rpc_atom, "rpc")
  CAF_ADD_ATOM(actorstack, actorstack, run_atom, "run")
  CAF_ADD_ATOM(actorstack, actorstack, tx_atom, "tx")
  CAF_ADD_ATOM(actorstack, actorstack, app_rx_atom, "apprx")
  CAF_ADD_ATOM(actorstack, actorstack, rx_notify_atom, "rxnotify")
  CAF_ADD_ATOM(actorstack, actorstack, accept_atom, "accept")
  CAF_ADD_ATOM(actorstack, actorstack, connected_atom, "connected")
  CAF_ADD_ATOM(actorstack, actorstack, listen_atom, "listen")
  CAF_ADD_ATOM(actorstack, actorstack, stats_atom, "stats")
  CAF_ADD_ATOM(actorstack, actorstack, connect_atom, "connect")      // an app's connect, any transport (root)
  CAF_ADD_ATOM(actorstack, actorstack, ct_connect_atom, "ctconnect")  // a cut-through connect to accept (workers)
  CAF_ADD_ATOM(actorstack, actorstack, ct_fifos_atom, "ctfifos")
  CAF_ADD_ATOM(actorstack, actorstack, ct_alloc_atom, "ctalloc")
  CAF_ADD_ATOM(actorstack, actorstack, ct_release_atom, "ctrelease")
  CAF_ADD_ATOM(actorstack, actorstack, half_open_atom, "halfopen")
  CAF_ADD_ATOM(actorstack, actorstack, app_worker_atom, "appworker")
  CAF_ADD_ATOM(actorstack, actorstack, subscribe_atom, "subscribe")
  CAF_ADD_ATOM(actorstack, actorstack, ct_context_atom, "ctcontext")
  CAF_ADD_ATOM(actorstack, actorstack, ct_reap_atom, "ctreap")
  CAF_ADD_ATOM(actorstack, actorstack, watch_atom, "watch")
  CAF_ADD_ATOM(actorstack, actorstack, list_atom, "list")
  CAF_ADD_ATOM(actorstack, actorstack, stop_atom, "stop")
  CAF_ADD_ATOM(actorstack, actorstack, app_down_atom, "appdown")
  CAF_ADD_ATOM(actorstack, actorstack, sessions_atom, "sessions")
  CAF_ADD_ATOM(actorstack, actorstack, apps_atom, "apps")
  CAF_ADD_ATOM(actorstack, actorstack, listeners_atom, "listeners")
  CAF_ADD_ATOM(actorstack, actorstack, segments_atom, "segments")
  CAF_ADD_ATOM(actorstack, actorstack, show_atom, "show")
  CAF_ADD_ATOM(actorstack, actorstack, snapshot_atom, "snapshot")
  CAF_ADD_ATOM(actorstack, actorstack, dataplane_atom, "dataplane")
  CAF_ADD_ATOM(actorstack, actorstack, net_connect_atom, "netconnect")
  CAF_ADD_ATOM(actorstack, actorstack, mailbox_atom, "mailbox")
  CAF_ADD_ATOM(actorstack, actorstack, add_worker_atom, "addworker")
  CAF_ADD_ATOM(actorstack, actorstack, del_worker_atom, "delworker")
  CAF_ADD_ATOM(actorstack, actorstack, migrate_atom, "migrate")
  CAF_ADD_ATOM(actorstack, actorstack, shm_violation_atom, "shmviolate")  // an app broke its shared fifos (root counts)
  CAF_ADD_ATOM(actorstack, actorstack, quota_atom, "quota")  // an app was refused for a quota (root counts)
  // Applications in other processes (actors/remote/, client/).
  CAF_ADD_ATOM(actorstack, actorstack, attach_atom, "attach")
  CAF_ADD_ATOM(actorstack, actorstack, hello_atom, "hello")
  CAF_ADD_ATOM(actorstack, actorstack, hangup_atom, "hangup")
  CAF_ADD_ATOM(actorstack, actorstack, remote_listen_atom, "rlisten")
  CAF_ADD_ATOM(actorstack, actorstack, remote_unlisten_atom, "runlisten")
  CAF_ADD_ATOM(actorstack, actorstack, remote_connect_atom, "rconnect")
  CAF_ADD_ATOM(actorstack, actorstack, remote_detach_atom, "rdetach")
  // Types that cross processes (registered with add_message_types).
  CAF_ADD_TYPE_ID(actorstack, (actorstack::remote_attach_request))
  CAF_ADD_TYPE_ID(actorstack, (actorstack::remote_attach_reply))
  CAF_ADD_ATOM(actorstack, actorstack, shutdown_atom, "shutdown")
CAF_END_TYPE_ID_BLOCK(actorstack)
