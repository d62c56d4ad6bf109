#pragma once
/// \file
/// What the stack tells an application worker, as one message type: the
/// vocabulary of app workers written as CAF actors (app_worker.hpp) and of
/// the stack's own. Also the CAF type ID block of the public types that
/// cross actor systems; the stack's internal protocol continues it.

#include <actorstack/endpoint.hpp>
#include <actorstack/error.hpp>
#include <actorstack/fifo_ref.hpp>
#include <actorstack/fifo_side.hpp>
#include <actorstack/segment_info.hpp>
#include <actorstack/session_handle.hpp>
#include <actorstack/tx_route.hpp>

#include <caf/all.hpp>

#include <cstdint>

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
  rx_ready,          ///< the data plane named sessions in the worker's rx inbox (tx_route.hpp)
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
  fifo_ref rx;                ///< accept/connected/listened: the session's fifos
  fifo_ref tx;                ///  (handles in this process: not serialised)
  /// The same fifos for an app in another process: the segment (as in its
  /// segment_add) and the fifos' offsets in it. Set by the stack's gateway
  /// to that app (actors/remote/), resolved by the client library.
  std::uint64_t fifo_segment = 0;
  std::uint64_t rx_offset = 0;
  std::uint64_t tx_offset = 0;
  /// accept/connected: the connection's endpoints from this app's side
  /// (a cut-through client's local port is its connection's name, as a
  /// kernel's ephemeral port is).
  endpoint_pair ends;
  /// accept/connected over tcp: where this process's app worker may send
  /// "data written" without the session worker (tx_route.hpp; in this
  /// process only: not serialised).
  tx_route route;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, app_notification& x) {
  return f(caf::meta::type_name("app_notification"), x.kind, x.handle, x.other, x.app_worker,
           x.proto, x.opaque, x.err, x.side, x.action, x.length, x.segment, x.fifo_segment,
           x.rx_offset, x.tx_offset, x.ends);
}

}  // namespace actorstack

CAF_BEGIN_TYPE_ID_BLOCK(actorstack_api, caf::first_custom_type_id)
  CAF_ADD_ATOM(actorstack_api, actorstack, notify_atom, "notify")
  CAF_ADD_ATOM(actorstack_api, actorstack, detach_atom, "detach")
  CAF_ADD_TYPE_ID(actorstack_api, (actorstack::session_handle))
  CAF_ADD_TYPE_ID(actorstack_api, (actorstack::endpoint))
  CAF_ADD_TYPE_ID(actorstack_api, (actorstack::segment_info))
  CAF_ADD_TYPE_ID(actorstack_api, (actorstack::app_notification))
CAF_END_TYPE_ID_BLOCK(actorstack_api)
