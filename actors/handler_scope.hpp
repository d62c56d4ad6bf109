#pragma once
/// \file
/// Whether this thread is running an app handler's callback (an in-process
/// app worker, handler_app_worker). A blocking call into the stack from
/// there — application::listen, connect, stop_listen, subscribe, detach,
/// stack::show — waits for actors that run on the stack's scheduler, whose
/// thread this is: with one scheduler thread (session.workers = 1) nothing
/// could answer it until its timeout, and with more it still holds up
/// whatever is queued behind the handler. Such a call fails at once
/// instead (invalid_argument, naming the asynchronous call to use).
///
/// The scope also batches what the callbacks' writes owe the workers: a
/// session written to (any number of times) inside it tells its worker
/// once, as the outermost scope ends (session::written).

#include <actorstack/session.hpp>

namespace actorstack {

namespace detail {
inline thread_local int app_handler_depth = 0;
}  // namespace detail

/// True inside an app handler's callback on this thread.
inline bool inside_app_handler() noexcept { return detail::app_handler_depth > 0; }

/// Marks this thread as running app handler callbacks while it lives.
class app_handler_scope {
 public:
  app_handler_scope() noexcept { ++detail::app_handler_depth; }
  /// The outermost scope's end tells the workers of the sessions its
  /// callbacks wrote to (session::written): one notice per session.
  ~app_handler_scope() {
    if (--detail::app_handler_depth == 0) detail::pay_owed_tx_notices();
  }
  app_handler_scope(const app_handler_scope&) = delete;
  app_handler_scope& operator=(const app_handler_scope&) = delete;
};

}  // namespace actorstack
