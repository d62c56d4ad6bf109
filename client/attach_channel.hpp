#pragma once
/// \file
/// The Unix side of attaching (docs/architecture.md, apps in other
/// processes): the stack greets a new connection with the port of its
/// attach actor and a token, and after the attach reply sends the app's
/// event queue (its segment and eventfd). Everything read here came from
/// another process and is checked before use.

#include "shm/event_queue.hpp"
#include "shm/fd_channel.hpp"
#include "shm/segment.hpp"

#include <actorstack/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace actorstack::client::detail {

/// What the stack's hello says.
struct stack_greeting {
  std::uint16_t port = 0;   ///< where its attach actor listens (127.0.0.1)
  std::uint64_t token = 0;  ///< proves the attach comes from this connection
};

/// Connects to the stack's Unix socket and reads its hello into
/// `greeting`. Errors: the channel's, bad_message (not a hello), timeout.
result<shm::fd_channel> greet(const std::string& socket_path, std::chrono::milliseconds timeout,
                              stack_greeting& greeting);

/// The app's event queue, mapped.
struct app_event_queue {
  shm::segment mem;  // before the queue that lives in it
  shm::event_queue queue;
};

/// Receives the event queue the stack sends right after the attach reply.
/// Errors: bad_message (something else, or a segment smaller than
/// announced), the mapping's, timeout.
result<app_event_queue> receive_event_queue(shm::fd_channel& channel, std::chrono::milliseconds timeout);

}  // namespace actorstack::client::detail
