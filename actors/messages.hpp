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
  CAF_ADD_ATOM(actorstack, actorstack, tcp_info_atom, "tcpinfo")  // a tcp session's TCP_INFO (its worker asks the core)
  // Applications in other processes (actors/remote/, client/).
  CAF_ADD_ATOM(actorstack, actorstack, attach_atom, "attach")
  CAF_ADD_ATOM(actorstack, actorstack, hello_atom, "hello")
  CAF_ADD_ATOM(actorstack, actorstack, hangup_atom, "hangup")
  CAF_ADD_ATOM(actorstack, actorstack, resend_atom, "resend")  // a gateway's outbox, again (channel_outbox.hpp)
  CAF_ADD_ATOM(actorstack, actorstack, shutdown_atom, "shutdown")
CAF_END_TYPE_ID_BLOCK(actorstack)
