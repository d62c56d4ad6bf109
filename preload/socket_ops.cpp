#include "preload/socket_ops.hpp"

#include "preload/errno_of.hpp"

#include <atomic>
#include <random>

namespace actorstack::preload {

std::uint16_t pick_port() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<std::uint16_t>(std::uniform_int_distribution<int>(32768, 60999)(rng));
}

bool unusable(const std::shared_ptr<stack_socket>& s) {
  if (s == nullptr) return true;
  if (!s->inherited) return false;
  static std::atomic<bool> said{false};
  if (!said.exchange(true))
    say("a socket inherited across fork() is used: not supported (the parent's attachment is not the child's; "
        "a child may open sockets of its own, or exec)");
  return true;
}

void settle_connect(stack_socket& s) {
  if (s.phase != socket_phase::connecting) return;
  auto st = app_of(s).status(s.sock);
  if (st) {
    s.phase = socket_phase::connected;
    return;
  }
  if (st.error().code == errc::would_block) return;
  s.phase = socket_phase::failed;
  s.pending_error = errno_of(st.error().code);
  // Nobody listens on a loopback port: Linux refuses (the session layer
  // says no_route — nothing beyond this stack can serve loopback).
  if (st.error().code == errc::no_route && s.target.ip.is_loopback()) s.pending_error = ECONNREFUSED;
}

void let_go(stack_socket& s) {
  if (s.inherited || s.sock < 0) return;
  if (s.phase == socket_phase::listening) stack_link::get().not_listening(s.bound);
  if (s.phase == socket_phase::connected && s.options.linger_on != 0 && s.options.linger_seconds == 0)
    (void)app_of(s).reset(s.sock);  // SO_LINGER {1, 0}: abortive, as Linux
  else
    (void)app_of(s).close(s.sock);
  s.sock = -1;
}

std::uint32_t client_interest(short events) noexcept {
  std::uint32_t want = 0;
  if ((events & (POLLIN | POLLRDNORM | POLLPRI | POLLRDHUP)) != 0) want |= client::readable;
  if ((events & (POLLOUT | POLLWRNORM)) != 0) want |= client::writable;
  return want;
}

bool answers_alone(const stack_socket& s) noexcept {
  return s.inherited || s.sock < 0 || s.phase == socket_phase::failed;
}

short poll_revents(stack_socket& s, short events, std::uint32_t ready) {
  if (s.inherited) return POLLNVAL;
  short r = 0;
  switch (s.phase) {
    case socket_phase::fresh:
    case socket_phase::bound:
      if (s.datagram) return static_cast<short>((POLLOUT | POLLWRNORM) & events);  // Linux: an unbound udp socket can send
      return static_cast<short>((POLLOUT | POLLWRNORM | POLLHUP) & (events | POLLHUP));
    case socket_phase::failed: return static_cast<short>((POLLOUT | POLLWRNORM | POLLERR | POLLHUP) & (events | POLLERR | POLLHUP));
    case socket_phase::listening:
      if ((ready & client::readable) != 0) r |= POLLIN | POLLRDNORM;
      return static_cast<short>(r & events);
    case socket_phase::connecting:
      settle_connect(s);
      if (s.phase == socket_phase::failed) return poll_revents(s, events, ready);
      if (s.phase == socket_phase::connecting) return 0;
      break;
    case socket_phase::connected: break;
  }
  if ((ready & client::readable) != 0 || s.shut_read) r |= POLLIN | POLLRDNORM;
  if ((ready & client::writable) != 0) r |= POLLOUT | POLLWRNORM;
  if ((ready & client::hangup) != 0) r |= POLLRDHUP | POLLIN | POLLRDNORM;
  if ((ready & client::failed) != 0) r |= POLLERR | POLLHUP;
  if ((ready & client::hangup) != 0 && s.shut_write) r |= POLLHUP;
  return static_cast<short>(r & (events | POLLERR | POLLHUP));
}

}  // namespace actorstack::preload
