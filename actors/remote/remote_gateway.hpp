#pragma once
/// \file
/// The stack's side of an application worker that lives in another
/// process. To the session layer it is an ordinary app worker actor
/// (attach_actors); to the remote process it is what answers on the app's
/// Unix connection (app_protocol.hpp). It
///  - sends every notification as a `notify` record, with where each fifo
///    lives (segment id and offsets) so the app can find it in its own
///    mapping; rx / tx events through the app's shared event queue;
///  - sends each new segment's memfd before the notification that
///    announces it (the app maps it on arrival);
///  - checks every request the app makes (the Unix side's thread decodes
///    them, app_protocol.hpp): a session the app was not told about, or
///    one it already gave up, is an error and changes nothing;
///  - never blocks on the connection: what the socket has no room for
///    waits in its outbox (channel_outbox.hpp), bounded;
///  - ends when the app's connection hangs up (the attach registry ends
///    it), which the inspector turns into the usual cleanup of a dead app
///    worker: sessions reset towards their peers, listeners removed,
///    segments reclaimed.

#include "actors/remote/app_event_queue.hpp"
#include "actors/remote/app_protocol.hpp"
#include "actors/remote/app_usage.hpp"
#include "actors/stack_root.hpp"
#include "shm/fd_channel.hpp"

#include <actorstack/app_worker.hpp>

#include <memory>

namespace actorstack {

/// A request the app sent on its Unix connection, decoded by the Unix
/// side's thread. Local only (not serialisable): no other process can
/// send it, through CAF's middleman or otherwise.
struct app_request_msg {
  app_protocol::app_request request;
};

/// The gateway's interface: the app worker messages the session layer
/// sends it, inspection, the app's requests and its own outbox timer.
using remote_gateway_actor = app_worker_actor::extend<
    caf::replies_to<mailbox_atom>::with<std::uint64_t>,  // inspection (messages waiting here)
    caf::reacts_to<app_request_msg>,
    caf::reacts_to<resend_atom>>;

/// Bytes of records that may wait for an app that does not read its
/// connection before the gateway gives it up.
inline constexpr std::size_t gateway_outbox_limit = std::size_t{16} << 20;

struct remote_gateway_config {
  app_worker_context ctx;  ///< its global index, its app, the session workers
  stack_root_actor root;
  std::shared_ptr<shm::fd_channel> channel;  ///< the app's Unix connection (send side)
  /// Where the app's rx / tx events go (null: as notify records, like the rest).
  std::shared_ptr<app_event_queue> events;
  /// A worker the app added (worker add): its detach deletes only it. The
  /// worker the app attached with detaches the whole app.
  bool added = false;
  /// What the app holds, shared by its gateways (null: no quotas).
  std::shared_ptr<app_usage> usage;
};

remote_gateway_actor spawn_remote_gateway(caf::actor_system& sys, remote_gateway_config cfg);

}  // namespace actorstack

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::remote_gateway_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::app_request_msg)
