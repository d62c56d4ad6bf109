#pragma once
/// \file
/// The app-worker interface, for applications that bring their own CAF
/// actor instead of a handler object (stack::attach_actors).
///
/// An app worker is any actor that handles `app_worker_actor`'s messages:
/// the stack's notifications (accept, connected, data, close, cleanup,
/// migrate, segments, fifo tuning), one at a time or several in a row, and
/// `detach`. Such an actor embeds an `app_session_table` and passes every
/// notification (or batch) to its deliver(),
/// which keeps the app's view of its sessions, re-validates each
/// notification at delivery (SPEC 9.1), calls an app_handler, and sends the
/// handler's answers back to the session's worker. Around that the actor
/// is free: its own state, timers, other message handlers
/// (`app_worker_actor::extend<...>`).

#include <actorstack/app.hpp>
#include <actorstack/notification.hpp>
#include <actorstack/tx_route.hpp>

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace actorstack {

/// The messages every app worker handles. A session worker that tells one
/// app worker several things in one turn (a closing session's closed and
/// cleanups, say) sends them as one vector, in order.
using app_worker_actor = caf::typed_actor<caf::reacts_to<notify_atom, app_notification>,
                                          caf::reacts_to<notify_atom, std::vector<app_notification>>,
                                          caf::reacts_to<detach_atom>>;

/// What an app worker needs to answer the stack.
struct app_worker_context {
  std::uint32_t index = 0;                  ///< global app worker index (notifications name it)
  std::uint32_t app = 0;                    ///< the application's index
  std::vector<caf::actor> session_workers;  ///< by worker index
  /// Where the sessions' requests go instead of to the session workers:
  /// an app in another process sends them over its connection to the
  /// stack (libactorstack-client). Empty: plain sends to the workers.
  std::shared_ptr<detail::session_control> control;
  /// The data plane's cores, for sessions whose notification carries a tx
  /// route (tx_route.hpp). Empty: every "data written" goes to the
  /// session workers.
  std::shared_ptr<detail::direct_tx> direct_tx;
};

/// An app worker's sessions. Not thread-safe: it belongs to one actor.
class app_session_table {
 public:
  explicit app_session_table(app_worker_context ctx);
  ~app_session_table();
  app_session_table(const app_session_table&) = delete;
  app_session_table& operator=(const app_session_table&) = delete;

  /// Turns one notification into `handler` calls. Accept and connected
  /// answers go back to the session's worker; a notification for a session
  /// this worker does not hold, or one the app closed, is dropped (counted)
  /// unless it is that session's cleanup or migration.
  void deliver(const app_notification& n, app_handler& handler);
  /// The same for each of a batch, in order.
  void deliver(const std::vector<app_notification>& batch, app_handler& handler);
  /// Lets the data plane's cores tell this table of arriving bytes on its
  /// tcp sessions themselves, without the session worker: they send
  /// `self` (the actor that embeds this table) a notification of kind
  /// rx_ready, which deliver() turns into on_rx calls. Optional (without
  /// it the session workers tell, one actor hop more per burst); the
  /// stack's own app workers call it once, before their first
  /// notification. Does nothing without a data plane (context().direct_tx)
  /// or with a context's own control.
  void enable_direct_rx(const caf::actor& self);
  /// Resets every held session towards its peer and forgets them all: what
  /// an app worker does when told to detach.
  void reset_all();
  /// The app's end of a held session, or nullptr.
  session* find(session_handle h) noexcept;
  std::size_t size() const noexcept;
  /// True when a held session has a fifo in the segment mapped at
  /// `segment_base`: such a segment must stay mapped, whatever a message
  /// claiming to be its deletion says.
  bool holds_fifos_in(const void* segment_base) const noexcept;
  /// Notifications dropped at delivery (stale, refused or closed sessions).
  std::uint64_t dropped() const noexcept;
  const app_worker_context& context() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Spawns the app worker actor for `ctx` (in the stack's actor system).
using app_actor_factory =
    std::function<app_worker_actor(caf::actor_system& sys, const app_worker_context& ctx)>;

class stack;

/// Attaches an application whose workers are the caller's own actors:
/// `make_actor` is called once per app worker. The stack stops them when it
/// stops; detach() sends each a `detach` (reset_all, then quit, is what
/// the stack's own app workers do). Errors: invalid_argument (no factory,
/// a factory that returned no actor, a stack not made by stack::create).
result<std::unique_ptr<application>> attach_actors(stack& st, const app_options& opts,
                                                   app_actor_factory make_actor);

}  // namespace actorstack

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::app_worker_context)
