#pragma once
/// \file
/// How a session_worker actor tells app workers what happened: the
/// session layer's app_notifier (session/app_notifier.hpp) as typed
/// messages, several for one app worker in a turn as one message.

#include "actors/log.hpp"
#include "actors/session_worker.hpp"
#include "session/session_worker_state.hpp"

#include <unordered_map>
#include <vector>

namespace actorstack {

using worker_self = session_worker_actor::pointer;
// The worker-side session record (not the app-side actorstack::session).
using wsession = session_layer::session;

// Notifications leave as typed messages to app worker actors. An app
// worker's mailbox is ordered, which is what keeps "accept" before a racing
// "close" (SPEC 9.2). Notifications for the same app worker in a row leave
// as one message: a closing session alone tells its app closed, transport
// cleanup and session cleanup in one turn, and a message costs far more
// than a notification (about 9 notifications per ct connect, 4 to 5 of
// them in such rows). The actor flushes at the end of every turn.
class actor_notifier final : public session_layer::app_notifier {
 public:
  /// `transports`: where an accepted or connected session's tx route
  /// comes from (the worker's own, outliving this).
  actor_notifier(worker_self self, violation_sink violations, session_layer::transport_registry& transports)
      : self_(self), violations_(std::move(violations)), transports_(transports) {}

  void add(std::uint32_t index, app_worker_actor a, bool tuning, std::uint32_t rx_size, std::uint32_t tx_size) {
    apps_[index] = {std::move(a), tuning, rx_size, tx_size};
  }
  void remove(std::uint32_t index) {
    flush();  // told before it went
    apps_.erase(index);
  }
  /// Sends what this turn held: one notification as itself, several as
  /// one vector.
  void flush() {
    if (held_.empty()) return;
    if (auto it = apps_.find(held_for_); it != apps_.end()) {
      if (held_.size() == 1) {
        self_->send(it->second.actor, notify_atom_v, held_.front());
      } else {
        // The message takes the vector; the next batch starts at this
        // one's size instead of growing 1, 2, 4, 8 (a notification is
        // ~270 bytes, each growth a copy of all of them) — reserved when
        // its second notification comes, so that a batch of one (sent as
        // itself) allocates nothing.
        last_batch_ = held_.size();
        self_->send(it->second.actor, notify_atom_v, std::move(held_));
        held_ = {};
      }
    }
    held_.clear();
  }
  std::uint64_t dropped() const noexcept { return dropped_; }

  void accept(const wsession& s, session_handle listener, const endpoint_pair& ends) override {
    app_notification n = base(notification::accept, s);
    n.proto = s.proto;
    n.other = listener;
    n.ends = ends;
    n.rx = s.rx.to_ref();
    n.tx = s.tx.to_ref();
    n.route = route_of(s);
    // Nobody left to decide (the app detached): the answer is no, so the
    // session is not left waiting forever (SPEC 9.7, detach mid-connect).
    if (!send(s.app_worker, n)) self_->send(self_, accept_atom_v, s.handle, false);
  }
  void connected(std::uint32_t app_worker, std::uint64_t opaque, const wsession* s, errc err,
                 const endpoint_pair& ends) override {
    app_notification n;
    n.kind = notification::connected;
    n.app_worker = app_worker;
    n.opaque = opaque;
    n.err = err;
    if (s != nullptr) {
      n.proto = s->proto;
      n.handle = s->handle;
      n.ends = ends;
      n.rx = s->rx.to_ref();
      n.tx = s->tx.to_ref();
      n.route = route_of(*s);
    }
    if (!send(app_worker, n) && s != nullptr) self_->send(self_, connected_atom_v, s->handle, false);
  }
  void close(const wsession& s) override { send(s.app_worker, base(notification::close, s)); }
  void reset(const wsession& s) override { send(s.app_worker, base(notification::reset, s)); }
  void transport_closed(const wsession& s) override {
    send(s.app_worker, base(notification::transport_closed, s));
  }
  void cleanup(const wsession& s, session_layer::cleanup_kind k) override {
    send(s.app_worker, base(k == session_layer::cleanup_kind::session
                                ? notification::cleanup_session
                                : notification::cleanup_transport,
                            s));
  }
  void shm_violation(const wsession& s) override {
    log_line("app worker " + std::to_string(s.app_worker) + " left the shared fifos of session " +
             std::to_string(s.handle.value()) + " inconsistent: session reset");
    if (violations_) self_->send(violations_, shm_violation_atom_v, s.app_worker);
  }
  void listened(const wsession& s) override {
    app_notification n = base(notification::listened, s);
    n.proto = s.proto;
    n.rx = s.rx.to_ref();
    n.tx = s.tx.to_ref();
    send(s.app_worker, n);
  }
  void segment_added(std::uint32_t app_worker, const segment_info& seg) override {
    app_notification n;
    n.kind = notification::segment_add;
    n.app_worker = app_worker;
    n.segment = seg;
    send(app_worker, n);
  }
  void migrate(const wsession& s, session_handle new_handle) override {
    app_notification n = base(notification::migrate, s);
    n.other = new_handle;
    send(s.app_worker, n);
  }
  bool rx(std::uint32_t app_worker, const wsession& s) override {
    return send(app_worker, base(notification::rx, s));
  }
  bool tx(std::uint32_t app_worker, const wsession& s) override {
    return send(app_worker, base(notification::tx, s));
  }
  // SPEC 4: the callback runs in the app, on its own actor; the fifo's
  // size is an atomic word, so the app may resize while data flows.
  void tune_fifo(const wsession& s, shm::fifo& f, session_layer::tuning_action act,
                 std::size_t len) override {
    app_notification n = base(notification::fifo_tuning, s);
    n.side = &f == &s.tx ? fifo_side::tx : fifo_side::rx;
    n.action = act == session_layer::tuning_action::enqueued ? fifo_action::enqueued
                                                             : fifo_action::dequeued;
    n.length = len;
    send(s.app_worker, n);
  }
  bool wants_fifo_tuning(std::uint32_t app_worker) const override {
    auto it = apps_.find(app_worker);
    return it != apps_.end() && it->second.tuning;
  }
  session_layer::fifo_sizes fifo_sizes_of(std::uint32_t app_worker) const override {
    auto it = apps_.find(app_worker);
    if (it == apps_.end()) return {};
    return {it->second.rx_size, it->second.tx_size};
  }

 private:
  static app_notification base(notification kind, const wsession& s) {
    app_notification n;
    n.kind = kind;
    n.handle = s.handle;
    n.app_worker = s.app_worker;
    return n;
  }
  tx_route route_of(const wsession& s) {
    const session_layer::transport* tp = transports_.find(s.proto);
    return tp != nullptr ? tp->direct_tx_route(s) : tx_route{};
  }
  bool send(std::uint32_t app_worker, const app_notification& n) {
    if (apps_.find(app_worker) == apps_.end()) {
      ++dropped_;
      return false;
    }
    if (!held_.empty() && held_for_ != app_worker) flush();
    held_for_ = app_worker;
    if (held_.size() == 1 && held_.capacity() < last_batch_) held_.reserve(last_batch_);
    held_.push_back(n);
    return true;
  }

  struct app_entry {
    app_worker_actor actor;
    bool tuning = false;  // app_options::custom_fifo_tuning
    std::uint32_t rx_size = 0;  // app_options::rx/tx_fifo_size, resolved by the root
    std::uint32_t tx_size = 0;
  };
  worker_self self_;
  violation_sink violations_;
  session_layer::transport_registry& transports_;
  std::unordered_map<std::uint32_t, app_entry> apps_;
  std::uint64_t dropped_ = 0;
  std::vector<app_notification> held_;  // this turn's, all for held_for_
  std::uint32_t held_for_ = 0;
  std::size_t last_batch_ = 0;  // the size of the last batch sent as a vector
};

}  // namespace actorstack
