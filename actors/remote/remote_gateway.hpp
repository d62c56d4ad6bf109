#pragma once
/// \file
/// The stack's side of an application worker that lives in another
/// process. To the session layer it is an ordinary app worker actor
/// (attach_actors); to the remote process it is the only actor of the
/// stack it can talk to. It
///  - forwards every notification, adding where each fifo lives (segment
///    id and offsets) so the app can find it in its own mapping;
///  - sends each new segment's memfd over the app's Unix connection before
///    the notification that announces it (the app maps it on arrival);
///  - checks every request the app makes: a session the app was not told
///    about, or one it already gave up, is an error and changes nothing;
///  - ends when the remote actor goes away (process death, lost
///    connection), which the inspector turns into the usual cleanup of a
///    dead app worker: sessions reset towards their peers, listeners
///    removed, segments reclaimed.

#include "actors/remote/app_event_queue.hpp"
#include "actors/remote/app_usage.hpp"
#include "actors/stack_root.hpp"
#include "shm/fd_channel.hpp"

#include <actorstack/app_worker.hpp>

#include <memory>

namespace actorstack {

/// What the remote process may ask of its gateway, besides the app worker
/// messages the session layer sends it. Session requests mirror what an
/// in-process session sends its worker (app_session_table's control).
using remote_gateway_actor = app_worker_actor::extend<
    caf::replies_to<mailbox_atom>::with<std::uint64_t>,  // inspection (messages waiting here)
    // From the app, each with its seal last (remote_attach_reply::seal).
    caf::replies_to<tx_atom, session_handle, std::uint64_t>::with<void>,
    caf::replies_to<app_rx_atom, session_handle, std::uint64_t>::with<void>,
    caf::replies_to<close_atom, session_handle, std::uint64_t>::with<void>,
    caf::replies_to<reset_atom, session_handle, std::uint64_t>::with<void>,
    caf::replies_to<shutdown_atom, session_handle, std::uint64_t>::with<void>,
    caf::replies_to<rx_notify_atom, session_handle, std::uint64_t>::with<void>,
    caf::replies_to<accept_atom, session_handle, bool, std::uint64_t>::with<void>,
    caf::replies_to<connected_atom, session_handle, bool, std::uint64_t>::with<void>,
    caf::replies_to<remote_listen_atom, endpoint, std::uint64_t>::with<session_handle>,
    caf::replies_to<remote_unlisten_atom, session_handle, std::uint64_t>::with<bool>,
    caf::replies_to<remote_connect_atom, endpoint, std::uint64_t, std::uint16_t, std::uint64_t>::with<bool>,
    caf::replies_to<remote_detach_atom, std::uint64_t>::with<bool>>;  // worker del, or detach (see `added`)

/// The stack's attach actor, as published: an app process may only ask it
/// to attach (with the token its Unix connection was greeted with).
using attach_door_actor =
    caf::typed_actor<caf::replies_to<attach_atom, remote_attach_request>::with<remote_attach_reply>>;

/// Message types of the Unix connection to an app process.
enum class channel_message_type : std::uint32_t {
  hello = 1,    ///< stack -> app: {u16 attach port, u64 token}
  segment = 2,  ///< stack -> app: {u64 segment id, u64 size} + the memfd
  error = 3,    ///< stack -> app: text (the app sent something it should not)
  /// stack -> app, once, before the attach reply: {u64 segment bytes} +
  /// the memfd holding its io event queue + the queue's eventfd.
  event_queue = 4,
};

struct remote_gateway_config {
  app_worker_context ctx;  ///< its global index, its app, the session workers
  stack_root_actor root;
  caf::actor remote;                       ///< the app's receiving actor
  std::shared_ptr<shm::fd_channel> channel;  ///< the app's Unix connection (send side)
  /// Where the app's rx / tx events go (null: as CAF messages, like the rest).
  std::shared_ptr<app_event_queue> events;
  /// A worker the app added (worker add): its detach deletes only it. The
  /// worker the app attached with detaches the whole app.
  bool added = false;
  /// What the app holds, shared by its gateways (null: no quotas).
  std::shared_ptr<app_usage> usage;
  /// Carried by every message to and from the app (remote_attach_reply).
  std::uint64_t seal = 0;
};

remote_gateway_actor spawn_remote_gateway(caf::actor_system& sys, remote_gateway_config cfg);

}  // namespace actorstack

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::remote_gateway_config)
