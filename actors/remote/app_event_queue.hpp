#pragma once
/// \file
/// The io event queue of an app in another process: a shm::event_queue in
/// a memfd segment of its own, whose memfd and eventfd travel to the app
/// over its Unix connection at attach. The stack's gateway posts the
/// app's rx / tx events there (no record, no syscall); the
/// app pops them on its own thread and sleeps on the eventfd, rung only
/// when it said it was about to sleep (shm/event_queue.hpp).
///
/// The app can write this memory too: the stack only ever uses its own
/// copies of the layout (event_ring caches its capacity), so scribbles can
/// at worst fill or empty the app's own queue.

#include "shm/event_queue.hpp"
#include "shm/fd_channel.hpp"
#include "shm/segment.hpp"

#include <actorstack/result.hpp>

#include <memory>
#include <string>

namespace actorstack {

class app_event_queue {
 public:
  /// A queue in a fresh memfd segment.
  /// Errors: those of shm::segment::create and shm::event_queue::create.
  /// `cfg`: the ring lengths (session.event-queue-length and
  /// session.ctrl-queue-length); the memfd is sized for exactly them.
  static result<std::shared_ptr<app_event_queue>> create(const std::string& name,
                                                         const shm::event_queue_config& cfg);

  /// Hands the segment and the eventfd to the app (channel message
  /// `event_queue`: {u64 segment bytes} + memfd + eventfd). Errors: those of
  /// fd_channel::send.
  result<void> send_to(shm::fd_channel& channel) const;

  shm::event_queue& queue() noexcept { return queue_; }

 private:
  app_event_queue(shm::segment mem, shm::event_queue q) noexcept : mem_(std::move(mem)), queue_(std::move(q)) {}
  shm::segment mem_;  // before the queue that lives in it
  shm::event_queue queue_;
};

}  // namespace actorstack
