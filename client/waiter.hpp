#pragma once
/// \file
/// How an attached app's thread waits for its socks: it spins while data
/// flows and sleeps on one fd when idle. The peer writes and reads the
/// shared fifos directly, so while data flows (progress within the spin
/// window) looking at the fifos again after a short spin beats sleeping
/// until the stack's notification makes its way here (the stack's worker
/// and two middleman hops). Idle apps sleep on an epoll fd over the
/// inbox's and the event queue's eventfds: no CPU burnt while nothing
/// happens.

#include <actorstack/result.hpp>

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <vector>

namespace actorstack::client::detail {

/// What the waiter asks of the app while it waits: the caller's interest,
/// answered from the app's socks and its news queues.
class wait_target {
 public:
  virtual ~wait_target() = default;
  /// Notifications or io events are queued for the app.
  virtual bool news_waiting() = 0;
  /// Something the caller waits for is ready.
  virtual bool any_ready() = 0;
  /// Spinning: peers may skip rx notifications (fifo consumer polling).
  virtual void set_polling(bool on) = 0;
  /// Before sleeping: peers notify again and full tx fifos ask for room;
  /// true if something is ready already (then do not sleep).
  virtual bool prepare_to_sleep() = 0;
  /// After a wake-up: the eventfds read, before the queues are looked at.
  virtual void drain_wakeups() = 0;
};

class waiter {
 public:
  using clock = std::chrono::steady_clock;

  explicit waiter(std::chrono::nanoseconds spin) noexcept : spin_(spin) {}
  ~waiter();
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;

  /// Sleeps on these eventfds from now on (one epoll fd over them).
  /// Errors: system.
  result<void> watch(std::initializer_list<int> eventfds);
  /// The fd that becomes readable when there is news (-1 before watch).
  int fd() const noexcept { return epoll_fd_; }

  /// The app moved data: keep spinning for a while.
  void progressed() noexcept { last_progress_ = clock::now(); }

  /// Returns once something in `t` may be ready, news arrived, a spin
  /// ended or the deadline passed; the caller takes the news and looks
  /// again either way. `kernel`: the caller's own fds, waited on in the
  /// same sleep (their revents are the caller's to look at).
  void wait(wait_target& t, std::optional<clock::time_point> deadline, std::span<pollfd> kernel = {});

  /// The last wait's sleep was cut short by a signal (EINTR).
  bool interrupted() const noexcept { return interrupted_; }

  /// Sleeps that ran out their recheck period although something was
  /// ready: a wake-up lost on its way (the stack, gateway, middleman).
  std::uint64_t late_wakeups() const noexcept { return late_wakeups_; }

 private:
  static constexpr unsigned spin_pauses = 64;
  static constexpr int recheck_ms = 100;

  std::chrono::nanoseconds spin_;
  int epoll_fd_ = -1;
  clock::time_point last_progress_{};
  std::uint64_t late_wakeups_ = 0;
  bool interrupted_ = false;
  std::vector<pollfd> sleep_on_;  // the epoll fd and the caller's kernel fds
};

}  // namespace actorstack::client::detail
