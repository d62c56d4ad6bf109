#pragma once
/// \file
/// The typed messages actors exchange (DESIGN §3, crossing owner boundaries
/// by message). Atoms and payload types are defined once here. Payloads
/// have `inspect()`; the few that hold process-local things (a fifo handle,
/// a closure) are marked as local-only and get a wire form when they have
/// to cross processes.

#include <actorstack/endpoint.hpp>
#include <actorstack/error.hpp>
#include <actorstack/segment_info.hpp>
#include <actorstack/fifo_side.hpp>
#include <actorstack/session_handle.hpp>

#include "shm/fifo.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace actorstack {

/// What an app worker is told (SPEC §2, §3, §5, §6). One message type with
/// a kind keeps the app-worker interface small and ordered: everything a
/// session worker says to one app worker arrives in the order it was said.
enum class notification : std::uint8_t {
  accept,            ///< a new session; answer with accept_reply
  connected,         ///< an active open completed (err none) or failed
  close,             ///< the peer is closing
  reset,             ///< the peer reset
  transport_closed,  ///< no more data either way
  cleanup_transport, ///< the transport is gone; the session waits for the app
  cleanup_session,   ///< the session is gone
  migrate,           ///< the session moved: `other` is its new handle
  rx,                ///< rx data to read (to a subscriber: its event)
  tx,                ///< room to write again (to a subscriber: its event)
  fifo_tuning,       ///< SPEC 4: `side`, `action`, `length`
  segment_add,       ///< SPEC 6: `segment` was added
  segment_del,       ///< SPEC 6: `segment` was deleted
  listened,          ///< a datagram listener is ready: `rx`/`tx` are its fifos
};

struct app_notification {
  notification kind = notification::rx;
  session_handle handle;      ///< the session (invalid for a failed connect)
  session_handle other;       ///< migrate: the new handle; accept: the listener
  std::uint32_t app_worker = 0;
  transport_proto proto = transport_proto::ct;  ///< accept/connected/listened: the session's transport
  std::uint64_t opaque = 0;   ///< connected: the app's connect context
  errc err = errc::none;      ///< connected: why it failed
  fifo_side side = fifo_side::rx;            ///< fifo_tuning
  fifo_action action = fifo_action::enqueued;
  std::uint64_t length = 0;
  segment_info segment;       ///< segment_add / segment_del
  shm::fifo rx;               ///< accept/connected/listened: the session's fifos
  shm::fifo tx;               ///  (handles in this process: not serialised)
  /// The same fifos for an app in another process: the segment (as in its
  /// segment_add) and the fifos' offsets in it. Set by the stack's gateway
  /// to that app (actors/remote/), resolved by the client library.
  std::uint64_t fifo_segment = 0;
  std::uint64_t rx_offset = 0;
  std::uint64_t tx_offset = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, app_notification& x) {
  return f(caf::meta::type_name("app_notification"), x.kind, x.handle, x.other, x.app_worker,
           x.proto, x.opaque, x.err, x.side, x.action, x.length, x.segment, x.fifo_segment,
           x.rx_offset, x.tx_offset);
}

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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_attach_reply& x) {
  return f(caf::meta::type_name("remote_attach_reply"), x.app, x.app_worker, x.session_workers,
           x.gateway, x.secret);
}

/// A function a worker runs on its own turn (SPEC §3 rpc). Local only.
struct worker_rpc {
  std::function<void()> fn;
};

}  // namespace actorstack

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::worker_rpc)

CAF_BEGIN_TYPE_ID_BLOCK(actorstack, caf::first_custom_type_id)
  CAF_ADD_ATOM(actorstack, actorstack, close_atom, "close")
  CAF_ADD_ATOM(actorstack, actorstack, reset_atom, "reset")
  CAF_ADD_ATOM(actorstack, actorstack, rpc_atom, "rpc")
  CAF_ADD_ATOM(actorstack, actorstack, run_atom, "run")
  CAF_ADD_ATOM(actorstack, actorstack, tx_atom, "tx")
  CAF_ADD_ATOM(actorstack, actorstack, app_rx_atom, "apprx")
  CAF_ADD_ATOM(actorstack, actorstack, rx_notify_atom, "rxnotify")
  CAF_ADD_ATOM(actorstack, actorstack, accept_atom, "accept")
  CAF_ADD_ATOM(actorstack, actorstack, connected_atom, "connected")
  CAF_ADD_ATOM(actorstack, actorstack, notify_atom, "notify")
  CAF_ADD_ATOM(actorstack, actorstack, listen_atom, "listen")
  CAF_ADD_ATOM(actorstack, actorstack, stats_atom, "stats")
  CAF_ADD_ATOM(actorstack, actorstack, ct_connect_atom, "ctconnect")
  CAF_ADD_ATOM(actorstack, actorstack, ct_fifos_atom, "ctfifos")
  CAF_ADD_ATOM(actorstack, actorstack, ct_alloc_atom, "ctalloc")
  CAF_ADD_ATOM(actorstack, actorstack, ct_release_atom, "ctrelease")
  CAF_ADD_ATOM(actorstack, actorstack, half_open_atom, "halfopen")
  CAF_ADD_ATOM(actorstack, actorstack, app_worker_atom, "appworker")
  CAF_ADD_ATOM(actorstack, actorstack, detach_atom, "detach")
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
  // Applications in other processes (actors/remote/, client/).
  CAF_ADD_ATOM(actorstack, actorstack, attach_atom, "attach")
  CAF_ADD_ATOM(actorstack, actorstack, hello_atom, "hello")
  CAF_ADD_ATOM(actorstack, actorstack, hangup_atom, "hangup")
  CAF_ADD_ATOM(actorstack, actorstack, remote_listen_atom, "rlisten")
  CAF_ADD_ATOM(actorstack, actorstack, remote_unlisten_atom, "runlisten")
  CAF_ADD_ATOM(actorstack, actorstack, remote_connect_atom, "rconnect")
  CAF_ADD_ATOM(actorstack, actorstack, remote_detach_atom, "rdetach")
  // Types that cross processes (registered with add_message_types).
  CAF_ADD_TYPE_ID(actorstack, (actorstack::session_handle))
  CAF_ADD_TYPE_ID(actorstack, (actorstack::endpoint))
  CAF_ADD_TYPE_ID(actorstack, (actorstack::segment_info))
  CAF_ADD_TYPE_ID(actorstack, (actorstack::app_notification))
  CAF_ADD_TYPE_ID(actorstack, (actorstack::remote_attach_request))
  CAF_ADD_TYPE_ID(actorstack, (actorstack::remote_attach_reply))
CAF_END_TYPE_ID_BLOCK(actorstack)
