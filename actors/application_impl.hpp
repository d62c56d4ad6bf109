#pragma once
// The `application` a stack hands out on attach: its control calls are
// blocking requests to the stack root or a session worker from the caller's
// thread (with a timeout, so a caller never hangs), and detach stops the
// app's workers before the stack reclaims their sessions.

#include "actors/caf_call.hpp"
#include "actors/handler_scope.hpp"
#include "actors/session_worker.hpp"
#include "actors/stack_root.hpp"

#include <actorstack/app.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

namespace actorstack {

/// How long a control call waits for its answer.
inline constexpr auto control_timeout = std::chrono::seconds(10);

/// A control call from a thread that is not an actor's (never from inside
/// an app handler: handler_scope.hpp).
template <class T, class Handle, class... Ts>
result<T> ask(caf::actor_system& sys, const Handle& dest, Ts&&... xs) {
  if (inside_app_handler())
    return unexpected{errc::invalid_argument,
                      "a blocking stack call inside an app handler: it would wait on the handler's own scheduler "
                      "thread (use connect_async; handlers answer by return value)"};
  caf::scoped_actor self{sys};
  return ask_from<T>(*self, sys, control_timeout, dest, std::forward<Ts>(xs)...);
}

/// The application for reservation `r`, served by `app_workers` (by app
/// worker number). Its calls fail once `running` is false (the stack stopped).
std::unique_ptr<application> make_application(caf::actor_system& sys, stack_root_actor root, app_reservation r,
                                              std::vector<app_worker_actor> app_workers,
                                              std::vector<session_worker_actor> session_workers,
                                              std::shared_ptr<const std::atomic<bool>> running);

}  // namespace actorstack
