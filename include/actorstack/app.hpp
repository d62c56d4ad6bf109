#pragma once
/// \file
/// Applications: attach options, the handler an app worker calls, and the
/// `application` handle for listen / connect / detach.
///
/// Every handler callback runs on the app worker's own actor, one at a
/// time, in the order the stack said things (an accept before a close that
/// raced it). A handler never blocks the session layer: its answers (accept
/// or refuse, keep or reject a connected session) are returned values.

#include <actorstack/endpoint.hpp>
#include <actorstack/result.hpp>
#include <actorstack/segment_info.hpp>
#include <actorstack/session.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace actorstack {

struct app_options {
  std::string name = "app";
  std::uint32_t workers = 1;       ///< app workers (each its own actor and handler)
  std::uint32_t rx_fifo_size = 0;  ///< 0: the stack's session.rx-fifo-size
  std::uint32_t tx_fifo_size = 0;  ///< 0: the stack's session.tx-fifo-size
  bool local_scope = true;         ///< may reach apps on this stack (cut-through)
  bool global_scope = true;        ///< may reach the network (and global listeners)
  std::uint32_t ns = 0;            ///< application namespace (local table)
  /// Every session of this app calls on_fifo_tuning after each enqueue
  /// into its rx fifo and dequeue from its tx fifo (SPEC 4).
  bool custom_fifo_tuning = false;
};

/// What an app worker is told. Defaults accept everything and close when
/// the peer closes or resets.
class app_handler {
 public:
  virtual ~app_handler() = default;
  /// A new incoming session; return false to refuse it.
  virtual bool on_accept(session& s) { return (void)s, true; }
  /// An active open completed; return false to reject the session.
  virtual bool on_connected(session& s, std::uint64_t opaque) { return (void)s, (void)opaque, true; }
  virtual void on_connect_failed(std::uint64_t opaque, errc why) { (void)opaque, (void)why; }
  /// A datagram listener (udp://) is ready: `s` is the listener's own
  /// session, whose recv_from / send_to reach every peer. Its on_rx
  /// follows as datagrams arrive; on_cleanup once stop_listen ends it.
  virtual void on_listen(session& s) { (void)s; }
  virtual void on_rx(session& s) { (void)s; }
  virtual void on_tx(session& s) { (void)s; }
  /// The peer is closing (it will send no more).
  virtual void on_close(session& s) { (void)s.close(); }
  virtual void on_reset(session& s) { (void)s.close(); }
  virtual void on_transport_closed(session& s) { (void)s; }
  /// The session is gone for good (transport_only: only its transport is).
  virtual void on_cleanup(session_handle h, bool transport_only) { (void)h, (void)transport_only; }
  /// A datagram session moved to another worker: `s` already carries its
  /// new handle; `old_handle` is the one the app knew (SPEC 5).
  virtual void on_migrate(session& s, session_handle old_handle) { (void)s, (void)old_handle; }
  /// Only with app_options::custom_fifo_tuning (SPEC 4). `length` is what
  /// the fifo holds now (enqueued) or what was just dequeued. The handler
  /// may call s.resize(side, bytes).
  virtual void on_fifo_tuning(session& s, fifo_side side, fifo_action action, std::size_t length) {
    (void)s, (void)side, (void)action, (void)length;
  }
  /// A segment holding this app's fifos was added — always before any
  /// notification naming a fifo in it (SPEC 9.3) — or deleted (SPEC 6).
  virtual void on_segment_add(const segment_info& seg) { (void)seg; }
  virtual void on_segment_del(const segment_info& seg) { (void)seg; }
  /// This app worker subscribed to another worker's session (see
  /// application::subscribe) and hears its rx or tx events (SPEC 3).
  virtual void on_subscribed_event(session_handle h, fifo_side side) { (void)h, (void)side; }
};

/// Makes the handler for app worker `worker_index`.
using handler_factory = std::function<std::unique_ptr<app_handler>(std::uint32_t worker_index)>;

class stack;

/// An application's handle. It must not outlive its stack; once the stack
/// is stopped every call fails with invalid_argument.
class application {
 public:
  virtual ~application() = default;
  virtual std::uint32_t index() const noexcept = 0;
  /// Global index of this app's worker `i` (what notifications name).
  virtual std::uint32_t worker_index(std::uint32_t i = 0) const noexcept = 0;
  /// Listens on `local` (ct:// listeners are local scope: only apps on
  /// this stack reach them). Errors: already_listening, not_supported,
  /// scope, invalid_argument.
  virtual result<session_handle> listen(const endpoint& local) = 0;
  virtual result<void> stop_listen(session_handle listener) = 0;
  /// Connects app worker `worker` to `remote`; the outcome arrives as
  /// on_connected / on_connect_failed with `opaque`. Errors now: filtered,
  /// no_route, scope, local_connect (no cut-through peer and no transport).
  virtual result<void> connect(const endpoint& remote, std::uint64_t opaque,
                               std::uint32_t worker = 0) = 0;
  /// Like connect, without waiting: every outcome, errors included,
  /// arrives as on_connected / on_connect_failed. Safe inside handlers.
  virtual result<void> connect_async(const endpoint& remote, std::uint64_t opaque,
                                     std::uint32_t worker = 0) = 0;
  /// Async rx notification (SPEC 3): from any thread, asks the session's
  /// worker to tell this app about rx data (on_rx). The worker re-checks
  /// the session when the request arrives; a stale or closing one is
  /// ignored. Errors: invalid_session (not a session handle).
  virtual result<void> notify_rx(session_handle h) = 0;
  /// App worker `worker` of this app starts (or stops) hearing session
  /// h's rx/tx events as on_subscribed_event (SPEC 3 subscribers).
  /// Errors: invalid_session, subscribers_full, invalid_argument.
  virtual result<void> subscribe(session_handle h, std::uint32_t worker) = 0;
  virtual result<void> unsubscribe(session_handle h, std::uint32_t worker) = 0;
  /// Detaches: listeners removed, every session reset towards its peer,
  /// app workers stopped; the stack reclaims the rest. Idempotent.
  virtual result<void> detach() = 0;
};

}  // namespace actorstack
