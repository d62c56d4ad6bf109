#pragma once
/// \file
/// Where the stack's notifications wait for the app's thread.
///
/// They arrive at a small CAF actor (the app's receiver: the stack's
/// gateway sends to it over the middleman); the app's own thread owns
/// every session, so the actor only hands each notification over: a
/// single-producer single-consumer ring (the actor never runs on two
/// threads at once, its mailbox orders its turns) plus an eventfd the app
/// can wait on. No lock between the two.

#include "actors/messages.hpp"

#include <boost/lockfree/spsc_queue.hpp>

#include <atomic>
#include <memory>

namespace actorstack::client::detail {

struct inbox_item {
  enum class kind : std::uint8_t { notification, detached, disconnected };
  kind what = kind::notification;
  app_notification note;
};

struct inbox {
  inbox();
  ~inbox();
  inbox(const inbox&) = delete;
  inbox& operator=(const inbox&) = delete;

  /// Producer (the receiver actor): false when the ring is full.
  bool push(const inbox_item& item);
  /// Producer: makes event_fd readable.
  void signal() noexcept;
  /// Consumer: clears event_fd's readiness (before draining, so a push
  /// racing the drain leaves it readable again).
  void clear() noexcept;
  bool pop(inbox_item& out);

  int event_fd = -1;
  boost::lockfree::spsc_queue<inbox_item> ring{1u << 14};
  /// The gateway's seal (remote_attach_reply::seal), set by the app's
  /// thread as soon as it is attached and before it asks anything: what
  /// the receiver takes must carry it (another process can name the
  /// receiver and claim any sender, not know this number). 0: nothing yet.
  std::atomic<std::uint64_t> seal{0};
};

/// Spawns the receiver actor: it monitors `gateway` (a lost stack becomes a
/// `disconnected` item) and keeps items the ring could not take, retrying.
caf::actor spawn_receiver(caf::actor_system& sys, std::shared_ptr<inbox> box);

}  // namespace actorstack::client::detail
