#pragma once
/// \file
/// Everything one session worker owns, and the session state machine
/// (SPEC §2), its event lists (SPEC §3), fifo tuning hooks (SPEC §4) and
/// migration (SPEC §5). Plain C++: the session_worker actor holds one of
/// these as its state and turns messages into calls, so every transition
/// can be tested without an actor system.
///
/// Threading: one owner. Every method runs on the owning worker's turn.
/// Other workers and apps reach it only through the actor's messages.

#include "session/app_notifier.hpp"
#include "session/session_pool.hpp"
#include "session/transport.hpp"

#include <deque>
#include <functional>
#include <vector>

namespace actorstack::session_layer {

/// Where a worker finds its transports.
class transport_registry {
 public:
  virtual ~transport_registry() = default;
  virtual transport* find(transport_proto proto) noexcept = 0;
};

class session_worker_state;

/// Control events run first, without budget (SPEC §3).
enum class ctrl_kind : std::uint8_t { rpc, close, reset, shutdown };
struct ctrl_event {
  ctrl_kind kind = ctrl_kind::rpc;
  session_handle handle;
  std::function<void(session_worker_state&)> rpc;
};

/// Io events a worker handles itself.
enum class io_kind : std::uint8_t {
  tx,          ///< the app posted tx: run the transport's custom tx
  app_rx,      ///< the app read rx data: the transport's app-rx event
  builtin_rx,  ///< async rx notification: tell the app about rx data
};
struct io_event {
  io_kind kind = io_kind::tx;
  session_handle handle;
};

/// What the old worker tells the new one after a migration (SPEC §5).
enum class migrate_outcome : std::uint8_t {
  completed,  ///< app told; the new worker notifies rx
  cleanup,    ///< the session closed while migrating: clean the new one too
  gone,       ///< the old session no longer existed
};

struct worker_counters {
  std::uint64_t ctrl_events = 0;
  std::uint64_t io_events = 0;
  std::uint64_t stale_events = 0;  ///< events whose session was gone at delivery
  std::uint64_t rx_notify_failures = 0;
  std::uint64_t accepts = 0;
  std::uint64_t connects = 0;
  std::uint64_t refusals = 0;
  std::uint64_t rx_bytes_retired = 0;  ///< through rx fifos of sessions since freed
  std::uint64_t tx_bytes_retired = 0;
  std::uint64_t shm_violations = 0;  ///< sessions reset because their app broke the shared fifos
};

class session_worker_state {
 public:
  struct environment {
    app_notifier* apps = nullptr;
    transport_registry* transports = nullptr;
  };

  session_worker_state(std::uint32_t worker_index, environment env);

  std::uint32_t index() const noexcept { return pool_.worker(); }
  session_pool& pool() noexcept { return pool_; }
  const session_pool& pool() const noexcept { return pool_; }
  session* get(session_handle h) noexcept { return pool_.get(h); }
  const worker_counters& counters() const noexcept { return counters_; }
  /// Bytes enqueued into this worker's sessions' rx fifos (by transports
  /// and ct peers) and tx fifos (by apps), freed sessions included: each
  /// fifo's tail is its stream position, so live ones cost no bookkeeping.
  struct byte_totals {
    std::uint64_t rx = 0;
    std::uint64_t tx = 0;
  };
  byte_totals bytes() const;

  // ---- listeners --------------------------------------------------------
  result<session_handle> listen(std::uint32_t app_worker, const endpoint& local);
  result<void> stop_listen(session_handle listener);
  /// A listener several app workers share outlives the one that opened
  /// it: it now belongs to `app_worker` (so that worker's going ends it).
  /// Errors: invalid_session (not a listener).
  result<void> hand_over_listener(session_handle listener, std::uint32_t app_worker);

  // ---- SPEC 2.1 accept ----------------------------------------------------
  /// The transport has a new connection for `listener`: creates the
  /// session (created), gives it fifos, notifies the
  /// app (accepting). Errors: alloc (no fifos; nothing is left behind),
  /// invalid_session (no such listener). `ends`: the connection's local
  /// and remote endpoints, told to the app.
  result<session_handle> accept(transport_proto proto, std::uint32_t connection,
                                session_handle listener, std::uint32_t app_worker,
                                const endpoint_pair& ends = {});
  /// The app's answer. Refused: back to created and the transport is told
  /// (it deletes the connection, which frees the session silently).
  void on_accept_reply(session_handle h, bool accepted);

  // ---- SPEC 2.2 / 2.3 active open -----------------------------------------
  /// The transport connected: creates the session and notifies the app.
  /// `half_open_has_fifos`: the session starts `opened` instead of `ready`.
  /// Errors: alloc (the app is told "connect failed" with alloc).
  result<session_handle> connect_notify(transport_proto proto, std::uint32_t connection,
                                        std::uint32_t app_worker, std::uint64_t opaque,
                                        bool half_open_has_fifos = false, const endpoint_pair& ends = {});
  /// The active open failed: the app gets the error and no session.
  void connect_failed(std::uint32_t app_worker, std::uint64_t opaque, errc err);
  /// The app's answer; a rejection frees the session with its fifos.
  void on_connected_reply(session_handle h, bool ok);

  // ---- SPEC 2.4 / 2.5 app close and reset -----------------------------------
  result<void> app_close(session_handle h);
  result<void> app_reset(session_handle h);
  /// Half-close: the app writes no more; the peer reads what was written,
  /// then end of stream, and this side goes on reading until the peer
  /// closes. Idempotent; nothing once the app closed. Errors:
  /// invalid_session (no such session, or a listener).
  result<void> app_shutdown(session_handle h);

  /// The app worker is gone (detached, or its actor died): every session it
  /// owned is reset as if the app had asked (SPEC 2.5), its listeners stop.
  /// Nobody will answer for it any more, so nothing may wait for it.
  /// Returns how many sessions were affected.
  std::size_t app_worker_gone(std::uint32_t app_worker);

  // ---- SPEC 2.6 - 2.9 transport notifications ---------------------------------
  void transport_closing_notify(session_handle h);
  void transport_reset_notify(session_handle h);
  /// The transport found the session's shared fifos inconsistent and let
  /// go of them: counted, the app's stack told, then a reset as above.
  void transport_violation_notify(session_handle h);
  void transport_closed_notify(session_handle h);
  void transport_delete_notify(session_handle h);

  // ---- SPEC 2.10 - 2.12 -------------------------------------------------------
  /// The programmed close / reset, run from the control list.
  void transport_close(session& s);
  void transport_reset(session& s);
  /// Removes the session and its transport connection for good.
  void transport_cleanup(session_handle h);
  /// Tells the app (cleanup: session), frees the fifos, frees the session.
  void free_with_fifos(session& s);
  /// Registers the provider that owns the fifos of `proto`'s sessions
  /// (each transport registers itself); a transport without one cannot
  /// make sessions (not_supported).
  void set_fifo_provider(transport_proto proto, fifo_provider* fifos);

  // ---- SPEC 3 events ----------------------------------------------------------
  void post_ctrl(ctrl_event ev);
  /// Queues an io event; priority events go to the "new" list.
  void post_io(io_event ev);
  /// Queues the session's custom-tx event once (flag).
  void post_custom_tx(session& s);
  /// Runs control events (all), then new io events, then old ones, at most
  /// `io_budget` io events in all. Returns the io events handled.
  std::size_t run_events(std::size_t io_budget = 128);
  bool has_events() const noexcept { return !ctrl_.empty() || !new_.empty() || !old_.empty(); }
  std::size_t pending_ctrl() const noexcept { return ctrl_.size(); }
  std::size_t pending_io() const noexcept { return new_.size() + old_.size(); }

  /// A transport enqueued rx data for `s`: batch one notification.
  void enqueue_notify(session& s);
  /// Notifies each batched session's app once; returns the failures
  /// (session gone, app queue full) and clears the batch.
  std::size_t flush_enqueue_events();
  std::size_t pending_rx_notifications() const noexcept { return pending_rx_.size(); }
  /// Async rx notification delivered to this worker (re-validates).
  void rx_notify(session_handle h);
  /// Adds (or removes) `app_worker` to the subscriber lists of both of the
  /// session's fifos: it then hears the same rx/tx events. Errors:
  /// invalid_session (gone or closing), subscribers_full.
  result<void> subscribe(session_handle h, std::uint32_t app_worker, bool add);
  /// A transport dequeued/dropped `n` tx bytes of `s`.
  void dequeue_notify(session& s, std::size_t n);

  // ---- SPEC 5 migration ---------------------------------------------------------
  /// New worker: takes over `old` (a connected datagram session) with the
  /// transport's new connection index. Returns the new handle.
  session_handle migrate_in(const session& old, std::uint32_t new_connection);
  /// Old worker: cleans up the old transport connection, tells the app,
  /// frees the old session (its fifos now belong to the new one).
  migrate_outcome migrate_out(session_handle old, session_handle new_handle);
  /// New worker, after migrate_out: finish according to its outcome.
  void migrate_finish(session_handle new_handle, migrate_outcome outcome);
  /// New worker: the old one could not hand over (the session ended there
  /// first and freed its fifos): the copy goes without a word to the app,
  /// which never heard of it, and without its fifos.
  void migrate_abandon(session_handle new_handle);

 private:
  transport* transport_of(const session& s) noexcept;
  void discard_tx(session& s);
  void transport_end(session& s, bool reset);
  bool notify_rx(session& s);
  void handle_ctrl(ctrl_event& ev);
  void handle_io(const io_event& ev);
  fifo_provider* fifos_of(const session& s) noexcept;
  // Through the session's transport's provider; none: not_supported.
  result<void> alloc_fifos(session& s);
  void free_fifos(session& s);
  void release_fifos(session& s);

  session_pool pool_;
  environment env_;
  fifo_provider* proto_fifos_[3] = {nullptr, nullptr, nullptr};
  std::deque<ctrl_event> ctrl_;
  std::deque<io_event> new_;
  std::deque<io_event> old_;
  std::vector<session_handle> pending_rx_;
  worker_counters counters_;
};

}  // namespace actorstack::session_layer
