#include "actors/application_impl.hpp"

#include <algorithm>
#include <thread>

namespace actorstack {

namespace {

// How long detach waits for the app's workers to stop.
constexpr auto app_worker_stop_bound = std::chrono::seconds(2);

class application_impl final : public application {
 public:
  application_impl(caf::actor_system& sys, stack_root_actor root, app_reservation r,
                   std::vector<app_worker_actor> app_workers, std::vector<session_worker_actor> session_workers,
                   std::shared_ptr<const std::atomic<bool>> running)
      : sys_(sys), root_(std::move(root)), r_(r), app_workers_(std::move(app_workers)), session_workers_(std::move(session_workers)),
        running_(std::move(running)) {}

  std::uint32_t index() const noexcept override { return r_.app; }
  std::uint32_t worker_index(std::uint32_t i) const noexcept override { return r_.first_worker + i; }

  result<session_handle> listen(const endpoint& local) override {
    if (!*running_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    return ask<session_handle>(sys_, root_, listen_atom_v, r_.app, r_.first_worker, local, true, false);
  }
  result<void> stop_listen(session_handle listener) override {
    if (!*running_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    auto r = ask<bool>(sys_, root_, close_atom_v, r_.app, listener, r_.first_worker, true);
    if (!r) return unexpected{r.error()};
    return {};
  }
  result<void> connect(const endpoint& remote, std::uint64_t opaque, std::uint32_t worker) override {
    if (!*running_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    if (worker >= app_workers_.size()) return unexpected{errc::invalid_argument, "no such app worker"};
    connect_request req{r_.app, r_.first_worker + worker, remote, opaque};
    auto r = ask<bool>(sys_, root_, connect_atom_v, req);
    if (!r) return unexpected{r.error()};
    return {};
  }
  result<void> connect_async(const endpoint& remote, std::uint64_t opaque,
                             std::uint32_t worker) override {
    if (!*running_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    if (worker >= app_workers_.size()) return unexpected{errc::invalid_argument, "no such app worker"};
    connect_request req{r_.app, r_.first_worker + worker, remote, opaque, true};
    caf::anon_send(root_, connect_atom_v, req);
    return {};
  }
  result<void> notify_rx(session_handle h) override {
    if (!*running_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    if (!h.valid() || h.worker() >= session_workers_.size())
      return unexpected{errc::invalid_session, "not a session handle"};
    // A plain send: safe from any thread, and the worker re-validates.
    caf::anon_send(session_workers_[h.worker()], rx_notify_atom_v, h);
    return {};
  }
  result<void> subscribe(session_handle h, std::uint32_t worker) override {
    return change_subscription(h, worker, true);
  }
  result<void> unsubscribe(session_handle h, std::uint32_t worker) override {
    return change_subscription(h, worker, false);
  }
  result<void> detach() override {
    if (!*running_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    if (detached_) return {};
    stop_app_workers();
    auto r = ask<bool>(sys_, root_, detach_atom_v, r_.app);
    if (!r) return unexpected{r.error()};
    detached_ = true;
    return {};
  }

 private:
  // The app's workers stop before the stack reclaims their sessions: each
  // finishes the handler it may be running, resets what it holds (its ends
  // shut) and quits. Reclaiming first freed fifos — and could unmap their
  // segment — under a handler still writing to them when the detach came
  // from another thread. An app worker that ignores the stop (a user's
  // actor) or the caller being one of them (a handler that detaches) only
  // costs the bounded wait.
  void stop_app_workers() {
    caf::scoped_actor self{sys_};
    for (const auto& a : app_workers_) {
      self->monitor(a);
      self->send(a, detach_atom_v);
    }
    const auto deadline = std::chrono::steady_clock::now() + app_worker_stop_bound;
    for (std::size_t left = app_workers_.size(); left > 0;) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      bool late = false;
      self->receive([&](caf::down_msg&) { --left; },
                    caf::after(deadline - now) >> [&] { late = true; });
      if (late) break;
    }
  }

  result<void> change_subscription(session_handle h, std::uint32_t worker, bool add) {
    if (!*running_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    if (worker >= app_workers_.size()) return unexpected{errc::invalid_argument, "no such app worker"};
    if (!h.valid() || h.worker() >= session_workers_.size())
      return unexpected{errc::invalid_session, "not a session handle"};
    auto r = ask<bool>(sys_, session_workers_[h.worker()], subscribe_atom_v, h,
                       r_.first_worker + worker, add);
    if (!r) return unexpected{r.error()};
    return {};
  }

  caf::actor_system& sys_;
  stack_root_actor root_;
  app_reservation r_;
  std::vector<app_worker_actor> app_workers_;  // by app worker number; their count is the app's
  std::vector<session_worker_actor> session_workers_;
  std::shared_ptr<const std::atomic<bool>> running_;  // false once the stack stopped
  bool detached_ = false;
};

}  // namespace

std::unique_ptr<application> make_application(caf::actor_system& sys, stack_root_actor root, app_reservation r,
                                              std::vector<app_worker_actor> app_workers,
                                              std::vector<session_worker_actor> session_workers,
                                              std::shared_ptr<const std::atomic<bool>> running) {
  return std::make_unique<application_impl>(sys, std::move(root), r, std::move(app_workers),
                                            std::move(session_workers), std::move(running));
}

}  // namespace actorstack
