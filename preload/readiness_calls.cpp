// Waiting on many fds at once — poll, ppoll, select, pselect, epoll — over
// any mix of stack sockets and kernel fds, in one wait: the client
// library sleeps on its eventfd and the kernel fds together, so an idle
// program burns no CPU. Calls that name no stack socket go to the C
// library unchanged.

#include "preload/errno_of.hpp"
#include "preload/libc_calls.hpp"
#include "preload/socket_ops.hpp"
#include "preload/stack_link.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <vector>

using namespace actorstack;
using namespace actorstack::preload;

namespace {

stack_link& link() { return stack_link::get(); }

bool any_stack(const pollfd* fds, nfds_t n) {
  const fd_table& t = link().fds;
  for (nfds_t i = 0; i < n; ++i)
    if (t.is_stack(fds[i].fd)) return true;
  return false;
}

// Stack sockets to wait on, grouped by the worker that holds them (each
// worker's app answers for its own), and the caller's index of each.
struct stack_waits {
  std::vector<worker*> workers;
  std::vector<std::vector<client::poll_entry>> groups;
  std::vector<std::vector<std::size_t>> index_of;

  void add(worker* w, client::poll_entry e, std::size_t index) {
    std::size_t k = 0;
    while (k < workers.size() && workers[k] != w) ++k;
    if (k == workers.size()) {
      workers.push_back(w);
      groups.emplace_back();
      index_of.emplace_back();
    }
    groups[k].push_back(e);
    index_of[k].push_back(index);
  }

  // Waits on all of them and `kernel` (revents set on both).
  result<std::size_t> wait(stack_link& l, std::span<pollfd> kernel, int timeout_ms) {
    if (workers.empty()) {
      const int n = libc().poll(kernel.data(), kernel.size(), timeout_ms);
      if (n < 0) return unexpected{errc::system, "poll", errno};
      return static_cast<std::size_t>(n);
    }
    if (workers.size() == 1) {
      stack_link::guard g(*workers[0]);
      l.note_thread(*workers[0]);
      return l.wait(g, groups[0], kernel, timeout_ms);
    }
    for (worker* w : workers) l.note_thread(*w);
    return l.wait_many(workers, groups, kernel, timeout_ms);
  }

  // f(index, revents) for every entry, under its worker's lock.
  template <class F>
  void each(F&& f) {
    for (std::size_t k = 0; k < workers.size(); ++k) {
      stack_link::guard g(*workers[k]);
      for (std::size_t e = 0; e < groups[k].size(); ++e) f(index_of[k][e], groups[k][e].revents);
    }
  }
};

// A socket that answers poll by itself (no session, failed, inherited),
// under its worker's lock.
short alone_revents(stack_socket& s, short events) {
  stack_link::guard g(*s.owner);
  return poll_revents(s, events, 0);
}

// poll(2) over stack sockets and kernel fds.
int poll_mixed(pollfd* fds, nfds_t n, int timeout_ms) {
  stack_link& l = link();
  stack_waits waits;
  std::vector<pollfd> kernel;
  std::vector<nfds_t> kernel_of;
  std::vector<std::shared_ptr<stack_socket>> sockets(n);
  bool ready_now = false;  // a socket that answers by itself
  for (nfds_t i = 0; i < n; ++i) {
    fds[i].revents = 0;
    if (fds[i].fd < 0) continue;
    if (auto s = l.fds.get(fds[i].fd)) {
      sockets[i] = s;
      if (answers_alone(*s)) {
        ready_now = ready_now || alone_revents(*s, fds[i].events) != 0;
        continue;
      }
      waits.add(s->owner, {.s = s->sock, .events = client_interest(fds[i].events)}, i);
    } else {
      kernel.push_back(fds[i]);
      kernel_of.push_back(i);
    }
  }
  auto w = waits.wait(l, kernel, ready_now ? 0 : timeout_ms);
  if (!w) return fail(errno_of(w.error()));
  waits.each([&](std::size_t i, std::uint32_t ready) {
    fds[i].revents = poll_revents(*sockets[i], fds[i].events, ready);
  });
  for (nfds_t i = 0; i < n; ++i)
    if (sockets[i] != nullptr && answers_alone(*sockets[i])) fds[i].revents = alone_revents(*sockets[i], fds[i].events);
  for (std::size_t k = 0; k < kernel.size(); ++k) fds[kernel_of[k]].revents = kernel[k].revents;
  int count = 0;
  for (nfds_t i = 0; i < n; ++i)
    if (fds[i].revents != 0) ++count;
  return count;
}

int timeout_of(const timespec* ts) {
  if (ts == nullptr) return -1;
  const long long ms = static_cast<long long>(ts->tv_sec) * 1000 + ts->tv_nsec / 1'000'000;
  return static_cast<int>(std::clamp<long long>(ms, 0, INT32_MAX));
}

// Runs `f` with `mask` as the thread's signal mask (ppoll / pselect /
// epoll_pwait); the swap is not atomic with the wait, as it is in the
// kernel: a signal in between is taken before the wait starts.
template <class F>
int with_mask(const sigset_t* mask, F&& f) {
  if (mask == nullptr) return f();
  sigset_t old;
  ::pthread_sigmask(SIG_SETMASK, mask, &old);
  const int r = f();
  const int e = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = e;
  return r;
}

// select(2) through poll_mixed.
int select_mixed(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, int timeout_ms) {
  std::vector<pollfd> p;
  for (int fd = 0; fd < nfds; ++fd) {
    short ev = 0;
    if (rd != nullptr && FD_ISSET(fd, rd)) ev |= POLLIN;
    if (wr != nullptr && FD_ISSET(fd, wr)) ev |= POLLOUT;
    if (ex != nullptr && FD_ISSET(fd, ex)) ev |= POLLPRI;
    if (ev != 0) p.push_back({fd, ev, 0});
  }
  const int r = poll_mixed(p.data(), p.size(), timeout_ms);
  if (r < 0) return r;
  if (rd != nullptr) FD_ZERO(rd);
  if (wr != nullptr) FD_ZERO(wr);
  if (ex != nullptr) FD_ZERO(ex);
  int count = 0;
  for (const auto& q : p) {
    if ((q.revents & POLLNVAL) != 0) return fail(EBADF);
    // select's "readable" includes errors and hang-ups, as Linux's does.
    if (rd != nullptr && (q.events & POLLIN) != 0 && (q.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      FD_SET(q.fd, rd);
      ++count;
    }
    if (wr != nullptr && (q.events & POLLOUT) != 0 && (q.revents & (POLLOUT | POLLERR)) != 0) {
      FD_SET(q.fd, wr);
      ++count;
    }
    if (ex != nullptr && (q.events & POLLPRI) != 0 && (q.revents & POLLPRI) != 0) {
      FD_SET(q.fd, ex);
      ++count;
    }
  }
  return count;
}

bool any_stack_in(int nfds, fd_set* rd, fd_set* wr, fd_set* ex) {
  const fd_table& t = link().fds;
  for (int fd = 0; fd < std::min(nfds, FD_SETSIZE); ++fd) {
    if (!t.is_stack(fd)) continue;
    if ((rd != nullptr && FD_ISSET(fd, rd)) || (wr != nullptr && FD_ISSET(fd, wr)) || (ex != nullptr && FD_ISSET(fd, ex)))
      return true;
  }
  return false;
}

// ---- epoll -------------------------------------------------------------------

bool is_epoll(int fd) {
  return fd >= 0 && fd < fd_table::capacity && link().is_epoll[static_cast<std::size_t>(fd)].load(std::memory_order_acquire);
}

int track_epoll(int fd) {
  if (fd < 0 || fd >= fd_table::capacity) return fd;
  stack_link& l = link();
  std::lock_guard lock(l.epoll_mutex);
  l.epolls[fd] = epoll_set{};
  l.is_epoll[static_cast<std::size_t>(fd)].store(true, std::memory_order_release);
  return fd;
}

std::uint32_t epoll_events_of(short revents) {
  std::uint32_t e = 0;
  if ((revents & POLLIN) != 0) e |= EPOLLIN | EPOLLRDNORM;
  if ((revents & POLLOUT) != 0) e |= EPOLLOUT | EPOLLWRNORM;
  if ((revents & POLLRDHUP) != 0) e |= EPOLLRDHUP;
  if ((revents & POLLERR) != 0) e |= EPOLLERR;
  if ((revents & POLLHUP) != 0) e |= EPOLLHUP;
  return e;
}

short poll_events_of(std::uint32_t events) {
  short p = 0;
  if ((events & (EPOLLIN | EPOLLRDNORM)) != 0) p |= POLLIN;
  if ((events & (EPOLLOUT | EPOLLWRNORM)) != 0) p |= POLLOUT;
  if ((events & EPOLLRDHUP) != 0) p |= POLLRDHUP;
  return p;
}

// Edge-triggered interests (EPOLLET) report a condition when it starts:
// readable when bytes arrived since the last report, writable when room
// freed up since then (the session's arrival and drain counters, so a new
// arrival is an edge even if the app never read to EAGAIN, as on Linux);
// a hang-up or an error once. A condition reported and unchanged is not
// waited on, so a socket left with unread bytes does not spin the wait;
// such a wait looks again every `edge_recheck_ms` for new arrivals.
constexpr int edge_recheck_ms = 10;
constexpr std::uint32_t in_events = EPOLLIN | EPOLLRDNORM;
constexpr std::uint32_t out_events = EPOLLOUT | EPOLLWRNORM;

struct epoll_candidate {
  int fd = -1;
  std::shared_ptr<stack_socket> socket;
  client::sock_info info;  // counters, for edge-triggered interests
  std::uint32_t asked = 0; // epoll events waited for this round
};

// An edge-triggered interest's session counters, as of now (under the
// socket's worker's lock); a level-triggered one needs none.
void refresh_counters(epoll_candidate& c, const epoll_interest& in) {
  const stack_socket& s = *c.socket;
  if ((in.events & EPOLLET) == 0 || s.sock < 0 || s.phase != socket_phase::connected) return;
  stack_link::guard g(*s.owner);
  if (auto i = app_of(s).info(s.sock)) c.info = *i;
}

// What of `in`'s interest to wait for now: all of it, less the edges
// already reported and not renewed.
std::uint32_t still_wanted(const epoll_interest& in, const client::sock_info& info) {
  std::uint32_t want = in.events;
  if ((in.events & EPOLLET) == 0) return want;
  if ((in.reported & in_events) != 0 && info.rx_arrived == in.arrived_at_report) want &= ~in_events;
  if ((in.reported & out_events) != 0 && info.tx_drained == in.drained_at_report) want &= ~out_events;
  return want;
}

// The events to report for `in` from what is ready now (`ready`, epoll
// bits), updating its edge state.
std::uint32_t report(epoll_interest& in, const epoll_candidate& c, std::uint32_t ready) {
  const std::uint32_t mask = in.events | EPOLLERR | EPOLLHUP;
  ready &= mask;
  if ((in.events & EPOLLET) == 0) return ready;
  // Asked and not ready: the condition ended; its next start is an edge.
  in.reported &= ~(c.asked & ~ready);
  std::uint32_t fresh = ready & ~in.reported;
  if ((ready & in_events) != 0 && c.info.rx_arrived != in.arrived_at_report) fresh |= ready & in_events;
  if ((ready & out_events) != 0 && c.info.tx_drained != in.drained_at_report) fresh |= ready & out_events;
  if (fresh == 0) return 0;
  in.reported |= ready;
  in.arrived_at_report = c.info.rx_arrived;
  in.drained_at_report = c.info.tx_drained;
  return fresh;
}

int epoll_wait_mixed(int epfd, epoll_event* out, int max, int timeout_ms) {
  stack_link& l = link();
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  for (;;) {
    // The set's stack sockets as they are now (the epoll lock is never
    // held together with a worker's).
    std::vector<epoll_candidate> candidates;
    std::vector<epoll_interest> interests;
    {
      std::unique_lock lock(l.epoll_mutex);
      auto it = l.epolls.find(epfd);
      if (it != l.epolls.end()) {
        std::erase_if(it->second.stack, [](const auto& kv) { return kv.second.socket.expired(); });
        for (auto& [fd, in] : it->second.stack) {
          auto s = in.socket.lock();
          if (!s || in.disarmed) continue;
          candidates.push_back({fd, std::move(s), {}, 0});
          interests.push_back(in);
        }
      }
      if (candidates.empty()) {
        lock.unlock();
        return libc().epoll_wait(epfd, out, max, timeout_ms);
      }
    }
    // What to wait for: edges already reported are held back.
    stack_waits waits;
    bool ready_now = false;  // a socket that answers by itself
    bool held_back = false;  // an edge already reported, not waited on
    for (std::size_t k = 0; k < candidates.size(); ++k) {
      epoll_candidate& c = candidates[k];
      const stack_socket& s = *c.socket;
      refresh_counters(c, interests[k]);
      c.asked = still_wanted(interests[k], c.info);
      held_back = held_back || (c.asked & (in_events | out_events)) != (interests[k].events & (in_events | out_events));
      if (answers_alone(s))
        ready_now = true;
      else if ((c.asked & (in_events | out_events | EPOLLRDHUP)) != 0)
        waits.add(s.owner, {.s = s.sock, .events = client_interest(poll_events_of(c.asked))}, k);
    }
    std::array<pollfd, 1> kernel{pollfd{epfd, POLLIN, 0}};
    int left = -1;
    if (timeout_ms >= 0)
      left = static_cast<int>(std::max<long long>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count()));
    if (held_back) left = left < 0 ? edge_recheck_ms : std::min(left, edge_recheck_ms);
    auto w = waits.wait(l, kernel, ready_now ? 0 : left);
    if (!w) return fail(errno_of(w.error()));
    // What is ready, with the counters as of now (the wait took a while).
    std::vector<std::uint32_t> ready(candidates.size(), 0);
    waits.each([&](std::size_t k, std::uint32_t revents) {
      const auto& c = candidates[k];
      ready[k] = epoll_events_of(poll_revents(*c.socket, poll_events_of(c.asked), revents));
    });
    for (std::size_t k = 0; k < candidates.size(); ++k) {
      stack_socket& s = *candidates[k].socket;
      if (answers_alone(s)) ready[k] = epoll_events_of(alone_revents(s, poll_events_of(interests[k].events)));
      refresh_counters(candidates[k], interests[k]);
    }
    int count = 0;
    {
      std::lock_guard lock(l.epoll_mutex);
      auto it = l.epolls.find(epfd);
      if (it == l.epolls.end()) return fail(EBADF);  // closed by another thread while this one waited
      epoll_set& set = it->second;
      const std::size_t n = candidates.size();
      for (std::size_t step = 0; step < n && count < max; ++step) {
        const std::size_t k = (set.next + step) % n;
        auto found = set.stack.find(candidates[k].fd);
        // Gone, re-armed or changed meanwhile: its next round decides.
        if (found == set.stack.end() || found->second.disarmed || found->second.socket.lock() != candidates[k].socket)
          continue;
        epoll_interest& in = found->second;
        const std::uint32_t ev = report(in, candidates[k], ready[k]);
        if (ev == 0) continue;
        if ((in.events & EPOLLONESHOT) != 0) in.disarmed = true;
        out[count].events = ev;
        out[count].data.u64 = in.data;
        ++count;
      }
      if (n > 0) set.next = (set.next + 1) % n;
    }
    if (count < max && kernel[0].revents != 0) {
      const int k = libc().epoll_wait(epfd, out + count, max - count, 0);
      if (k > 0) count += k;
    }
    if (count > 0 || timeout_ms == 0) return count;
    if (timeout_ms > 0 && clock::now() >= deadline) return 0;
  }
}

}  // namespace

extern "C" {

int poll(pollfd* fds, nfds_t n, int timeout_ms) {
  if (passthrough() || !any_stack(fds, n)) return libc().poll(fds, n, timeout_ms);
  return poll_mixed(fds, n, timeout_ms);
}

int __poll_chk(pollfd* fds, nfds_t n, int timeout_ms, size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n) ::abort();
  return poll(fds, n, timeout_ms);
}

int ppoll(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask) {
  if (passthrough() || !any_stack(fds, n)) return libc().ppoll(fds, n, ts, mask);
  return with_mask(mask, [&] { return poll_mixed(fds, n, timeout_of(ts)); });
}

int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask, size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n) ::abort();
  return ppoll(fds, n, ts, mask);
}

int select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, timeval* tv) {
  if (passthrough() || !any_stack_in(nfds, rd, wr, ex)) return libc().select(nfds, rd, wr, ex, tv);
  int timeout = -1;
  if (tv != nullptr)
    timeout = static_cast<int>(std::clamp<long long>(static_cast<long long>(tv->tv_sec) * 1000 + tv->tv_usec / 1000, 0, INT32_MAX));
  return select_mixed(nfds, rd, wr, ex, timeout);
}

int pselect(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, const timespec* ts, const sigset_t* mask) {
  if (passthrough() || !any_stack_in(nfds, rd, wr, ex)) return libc().pselect(nfds, rd, wr, ex, ts, mask);
  return with_mask(mask, [&] { return select_mixed(nfds, rd, wr, ex, timeout_of(ts)); });
}

int epoll_create(int size) {
  const int fd = libc().epoll_create(size);
  if (fd < 0 || passthrough()) return fd;
  return track_epoll(fd);
}

int epoll_create1(int flags) {
  const int fd = libc().epoll_create1(flags);
  if (fd < 0 || passthrough()) return fd;
  return track_epoll(fd);
}

int epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
  if (passthrough() || !is_epoll(epfd) || !link().fds.is_stack(fd)) return libc().epoll_ctl(epfd, op, fd, ev);
  stack_link& l = link();
  auto s = l.fds.get(fd);
  std::lock_guard lock(l.epoll_mutex);
  auto it = l.epolls.find(epfd);
  if (it == l.epolls.end() || s == nullptr) return fail(EBADF);
  auto& stack = it->second.stack;
  auto found = stack.find(fd);
  if (found != stack.end() && found->second.socket.expired()) {
    stack.erase(found);  // a closed socket's number, reused
    found = stack.end();
  }
  switch (op) {
    case EPOLL_CTL_ADD:
      if (ev == nullptr) return fail(EFAULT);
      if (found != stack.end()) return fail(EEXIST);
      stack[fd] = epoll_interest{s, ev->events, ev->data.u64, false, 0, 0, 0};
      return 0;
    case EPOLL_CTL_MOD:
      if (ev == nullptr) return fail(EFAULT);
      if (found == stack.end()) return fail(ENOENT);
      found->second = epoll_interest{s, ev->events, ev->data.u64, false, 0, 0, 0};
      return 0;
    case EPOLL_CTL_DEL:
      if (found == stack.end()) return fail(ENOENT);
      stack.erase(found);
      return 0;
    default: return fail(EINVAL);
  }
}

int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) {
  if (passthrough() || !is_epoll(epfd)) return libc().epoll_wait(epfd, events, max, timeout_ms);
  if (max <= 0 || events == nullptr) return fail(EINVAL);
  return epoll_wait_mixed(epfd, events, max, timeout_ms);
}

int epoll_pwait(int epfd, epoll_event* events, int max, int timeout_ms, const sigset_t* mask) {
  if (passthrough() || !is_epoll(epfd)) return libc().epoll_pwait(epfd, events, max, timeout_ms, mask);
  if (max <= 0 || events == nullptr) return fail(EINVAL);
  return with_mask(mask, [&] { return epoll_wait_mixed(epfd, events, max, timeout_ms); });
}

}  // extern "C"
