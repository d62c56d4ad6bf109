#pragma once
// What the interposed calls share: failing with an errno, moving a
// connecting socket on once the stack has its outcome, letting go of a
// socket's last name, and readiness in poll(2)'s words.

#include "preload/stack_link.hpp"

#include <poll.h>

#include <cerrno>
#include <memory>
#include <optional>

namespace actorstack::preload {

inline int fail(int e) noexcept {
  errno = e;
  return -1;
}

/// True when `s` cannot be used: no such socket, or one inherited across
/// fork() (said once on stderr: not supported).
bool unusable(const std::shared_ptr<stack_socket>& s);

/// A port from Linux's own ephemeral range (ip_local_port_range's
/// default): what a bind to port 0 gets.
std::uint16_t pick_port();

/// The client-library app that holds `s`'s session.
inline client::app& app_of(const stack_socket& s) { return *s.owner->app; }

/// A call on the stack socket `fd` names: the socket (nullptr if `fd`
/// names none) and its worker's lock, held for the call's length.
struct held_socket {
  explicit held_socket(int fd) : link(stack_link::get()), s(link.fds.get(fd)) {
    if (s == nullptr) return;
    lock.emplace(*s->owner);
    link.note_thread(*s->owner);
  }
  stack_link& link;
  std::shared_ptr<stack_socket> s;
  std::optional<stack_link::guard> lock;
};

/// A connecting socket whose outcome the stack has: connected, or failed
/// with SO_ERROR set. Under the lock.
void settle_connect(stack_socket& s);

/// The fd's last name went: the session is closed (orderly; abortive
/// with SO_LINGER 0) or the listener stops. Under the lock.
void let_go(stack_socket& s);

/// poll(2) events for a stack socket: what to ask the client library
/// (readable | writable), and what a socket with no session says by
/// itself (fresh or bound: POLLOUT | POLLHUP, as Linux).
std::uint32_t client_interest(short events) noexcept;
/// The socket's poll(2) revents, from the client library's answer
/// (`ready`) and the socket's own state, restricted to `events` plus the
/// conditions always reported (POLLERR, POLLHUP, POLLNVAL).
short poll_revents(stack_socket& s, short events, std::uint32_t ready);
/// True when a socket answers poll by itself, without the client library
/// (no session yet, or inherited across fork).
bool answers_alone(const stack_socket& s) noexcept;

}  // namespace actorstack::preload
