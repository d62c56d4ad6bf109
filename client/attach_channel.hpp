#pragma once
/// \file
/// The app's side of its Unix connection to the stack (docs/architecture.md,
/// apps in other processes; the records: actors/remote/app_protocol.hpp):
/// connecting and the stack's hello, mapping the event queue the stack
/// sends while attaching. Everything read here came from another process
/// and is checked before use.

#include "shm/event_queue.hpp"
#include "shm/fd_channel.hpp"
#include "shm/segment.hpp"

#include <actorstack/result.hpp>

#include <chrono>
#include <string>

namespace actorstack::client::detail {

/// Connects to the stack's Unix socket and reads its hello. Errors: the
/// channel's (a hang-up before the hello: the stack refused this uid or
/// this user holds too many connections), bad_message (not a hello, or
/// another protocol version), timeout.
result<shm::fd_channel> greet(const std::string& socket_path, std::chrono::milliseconds timeout);

/// The app's event queue, mapped.
struct app_event_queue {
  shm::segment mem;  // before the queue that lives in it
  shm::event_queue queue;
};

/// Maps the event queue an `event_queue` record carries. Errors:
/// bad_message (another layout, or a segment smaller than announced), the
/// mapping's.
result<app_event_queue> map_event_queue(shm::channel_message& m);

}  // namespace actorstack::client::detail
