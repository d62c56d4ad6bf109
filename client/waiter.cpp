#include "client/waiter.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace actorstack::client::detail {

namespace {

// Remaining time until `deadline` as a poll() timeout (-1: none).
int poll_timeout(std::optional<waiter::clock::time_point> deadline) {
  if (!deadline) return -1;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - waiter::clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1'000'000));
}

void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

waiter::~waiter() {
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

result<void> waiter::watch(std::initializer_list<int> eventfds) {
  if (epoll_fd_ < 0) epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return unexpected{errc::system, "epoll_create1", errno};
  for (int fd : eventfds) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return unexpected{errc::system, "epoll_ctl", errno};
  }
  return {};
}

void waiter::wait(wait_target& t, std::optional<clock::time_point> deadline, std::span<pollfd> kernel) {
  interrupted_ = false;
  if (clock::now() - last_progress_ < spin_) {
    // Look at the fifos between pauses (a few loads of fifo cursors): the
    // peer's bytes show up there, not in a notification, and reacting
    // within a pause or two matters when a 64 KiB copy takes microseconds.
    t.set_polling(true);
    // The caller's kernel fds cost a syscall to look at: once per spin.
    if (!kernel.empty() && ::poll(kernel.data(), kernel.size(), 0) > 0) return;
    for (unsigned i = 0; i < spin_pauses && !t.news_waiting(); ++i) {
      if (t.any_ready()) return;
      spin_pause();
    }
    // Nothing yet: the peer may be waiting for this very CPU (two apps
    // sharing a core). On a core of its own this returns at once.
    sched_yield();
    return;
  }
  if (t.prepare_to_sleep()) return;
  // Never asleep for good: a wake-up lost anywhere on its way costs at
  // most one recheck period, and is counted.
  sleep_on_.assign(1, pollfd{epoll_fd_, POLLIN, 0});
  sleep_on_.insert(sleep_on_.end(), kernel.begin(), kernel.end());
  const int timeout = poll_timeout(deadline);
  const bool capped = timeout < 0 || timeout > recheck_ms;
  const int woke = ::poll(sleep_on_.data(), sleep_on_.size(), capped ? recheck_ms : timeout);
  interrupted_ = woke < 0 && errno == EINTR;
  if (woke > 0 && sleep_on_[0].revents != 0) t.drain_wakeups();
  if (woke == 0 && capped && t.any_ready()) ++late_wakeups_;
}

}  // namespace actorstack::client::detail
