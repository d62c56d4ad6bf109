#include "preload/datagram_calls.hpp"

#include "preload/errno_of.hpp"
#include "preload/libc_calls.hpp"
#include "preload/sockaddr.hpp"

#include <actorstack/datagram.hpp>

#include <fcntl.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace actorstack::preload {

namespace {

// What the stack answers when it cannot carry udp:// at all (no data
// plane, or not this address family): the kernel's then.
bool stack_cannot(errc e) noexcept { return e == errc::no_route || e == errc::not_supported; }

// The address a datagram socket's call names, as a udp:// endpoint.
// 0.0.0.0 as a destination means this host, as Linux reads it.
int destination_of(const sockaddr* addr, socklen_t len, endpoint& out) noexcept {
  if (const int e = endpoint_of(addr, len, out); e != 0) return e;
  out.proto = transport_proto::udp;
  if (out.ip.is_any()) out.ip = ip_address::v4(INADDR_LOOPBACK);
  return 0;
}

// What the program set that a kernel socket must have too.
void replay_options(int k, const stack_socket& s) {
  const socket_options& o = s.options;
  const int one = 1;
  if (o.reuse_address) (void)libc().setsockopt(k, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (o.reuse_port) (void)libc().setsockopt(k, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (o.receive_buffer > 0) (void)libc().setsockopt(k, SOL_SOCKET, SO_RCVBUF, &o.receive_buffer, sizeof(int));
  if (o.send_buffer > 0) (void)libc().setsockopt(k, SOL_SOCKET, SO_SNDBUF, &o.send_buffer, sizeof(int));
  (void)libc().setsockopt(k, SOL_SOCKET, SO_RCVTIMEO, &o.receive_timeout, sizeof(timeval));
  (void)libc().setsockopt(k, SOL_SOCKET, SO_SNDTIMEO, &o.send_timeout, sizeof(timeval));
}

// The socket becomes the kernel's: a kernel UDP socket takes over the fd
// number (dup3 closes the placeholder), and the fd is no longer the
// stack's. Returns 0 or an errno.
int to_kernel(int fd, stack_socket& s) {
  const int k = libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | (s.nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (k < 0) return errno;
  replay_options(k, s);
  const int fd_flags = libc().fcntl(fd, F_GETFD);
  if (libc().dup3(k, fd, fd_flags >= 0 && (fd_flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0) < 0) {
    const int e = errno;
    libc().close(k);
    return e;
  }
  libc().close(k);
  let_go(s);
  (void)stack_link::get().fds.take(fd);
  return 0;
}

// Binds the stack socket to `local` (port 0: one picked, again if taken):
// a udp:// listener. Returns 0, an errno, or -1 when the stack cannot
// carry udp:// (the caller hands the socket to the kernel).
int open_listener(stack_socket& s, endpoint local) {
  const bool picked = local.port == 0;
  for (int tries = 0;; ++tries) {
    if (picked) local.port = pick_port();
    auto h = app_of(s).listen(local.to_string());
    if (h) {
      s.sock = *h;
      s.bound = local;
      s.port_picked = picked;
      s.phase = socket_phase::connected;
      s.datagram_listener = true;
      (void)app_of(s).set_nonblocking(*h, true);
      return 0;
    }
    if (h.error().code == errc::already_listening && picked && tries < 32) continue;
    if (stack_cannot(h.error().code)) return -1;
    return h.error().code == errc::already_listening ? EADDRINUSE : errno_of(h.error().code);
  }
}

// The socket lets go of its session and is fresh again (its options and
// its bound port, in `bound`, stay).
void forget_session(stack_socket& s) {
  let_go(s);
  s.sock = -1;
  s.phase = socket_phase::fresh;
  s.datagram_listener = false;
}

// A send or receive on a socket that has no session yet binds it to a
// free port on every address (Linux's autobind). 0, an errno, or -1: the
// kernel's.
int autobind(stack_socket& s) {
  return open_listener(s, endpoint{transport_proto::udp, ip_address::any(ip_address::family::v4), 0});
}

// Waits (the worker's lock held) for `events` on the socket's sock, at
// most `timeout` ms. 0: look again; else the errno to fail with.
int wait_on(held_socket& call, const stack_socket& s, std::uint32_t events, int timeout) {
  client::poll_entry e{.s = s.sock, .events = events};
  auto w = call.link.wait(*call.lock, {&e, 1}, {}, timeout);
  if (!w) return errno_of(w.error());
  if (*w == 0 && timeout >= 0) return EAGAIN;
  return s.sock >= 0 ? 0 : EBADF;  // closed by another thread meanwhile
}

// The kernel's recvmsg, for a socket just handed to it.
ssize_t kernel_recv(int fd, std::span<const iovec> iov, int flags, sockaddr* from, socklen_t* from_len,
                    int* msg_flags) {
  msghdr m{};
  m.msg_name = from;
  m.msg_namelen = from_len != nullptr ? *from_len : 0;
  m.msg_iov = const_cast<iovec*>(iov.data());
  m.msg_iovlen = iov.size();
  const ssize_t r = libc().recvmsg(fd, &m, flags);
  if (r >= 0 && from_len != nullptr) *from_len = m.msg_namelen;
  if (r >= 0 && msg_flags != nullptr) *msg_flags = m.msg_flags;
  return r;
}

ssize_t kernel_send(int fd, std::span<const iovec> iov, int flags, const sockaddr* to, socklen_t to_len) {
  msghdr m{};
  m.msg_name = const_cast<sockaddr*>(to);
  m.msg_namelen = to != nullptr ? to_len : 0;
  m.msg_iov = const_cast<iovec*>(iov.data());
  m.msg_iovlen = iov.size();
  return libc().sendmsg(fd, &m, flags);
}

}  // namespace

int datagram_bind(held_socket& call, int fd, const sockaddr* addr, socklen_t len) {
  stack_socket& s = *call.s;
  if (s.phase != socket_phase::fresh) return fail(EINVAL);
  endpoint local;
  if (const int e = endpoint_of(addr, len, local); e != 0) return fail(e);
  local.proto = transport_proto::udp;
  int r = local.ip.is_loopback() ? -1 : open_listener(s, local);
  if (r == -1) {
    if (const int e = to_kernel(fd, s); e != 0) return fail(e);
    return libc().bind(fd, addr, len);
  }
  return r == 0 ? 0 : fail(r);
}

int datagram_connect(held_socket& call, int fd, const sockaddr* addr, socklen_t len) {
  stack_socket& s = *call.s;
  if (addr != nullptr && len >= static_cast<socklen_t>(sizeof(sa_family_t)) && addr->sa_family == AF_UNSPEC) {
    // Linux: the socket takes datagrams from anyone again, on its port.
    if (s.has_peer()) {
      endpoint local = s.bound;
      local.ip = ip_address::any(ip_address::family::v4);
      forget_session(s);
      if (const int r = open_listener(s, local); r != 0) return fail(r == -1 ? EADDRNOTAVAIL : r);
    }
    return 0;
  }
  endpoint to;
  if (const int e = destination_of(addr, len, to); e != 0) return fail(e);
  // Bound (a listener) or connected already: the socket keeps its port.
  // Linux then takes only the peer's datagrams on it, and another socket
  // may bind the port for everyone else (iperf3 -u's server does): so the
  // listener gives way to a connected session from the same port.
  std::uint16_t keep_port = 0;
  if (s.sock >= 0) {
    if (to.ip.is_loopback()) return fail(ENETUNREACH);  // the data plane cannot reach the host's loopback
    keep_port = s.bound.port;
    forget_session(s);
  }
  if (!to.ip.is_loopback()) {
    auto c = app_of(s).connect(to.to_string(), keep_port);
    if (c) {
      s.sock = *c;
      s.phase = socket_phase::connected;
      s.target = to;
      (void)app_of(s).set_nonblocking(*c, true);
      if (auto i = app_of(s).info(*c)) s.bound = i->ends.local;
      return 0;
    }
    if (keep_port != 0 || !stack_cannot(c.error().code))
      return fail(c.error().code == errc::already_listening ? EADDRINUSE : errno_of(c.error().code));
  }
  if (const int e = to_kernel(fd, s); e != 0) return fail(e);
  return libc().connect(fd, addr, len);
}

ssize_t datagram_recv(held_socket& call, int fd, std::span<const iovec> iov, int flags, sockaddr* from,
                      socklen_t* from_len, int* msg_flags) {
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  if (s->shut_read) return 0;
  const bool nonblocking = s->nonblocking || (flags & MSG_DONTWAIT) != 0;
  if (s->sock < 0) {
    if (nonblocking) return fail(EAGAIN);  // nothing can have come to a socket with no port
    if (const int r = autobind(*s); r != 0) {
      if (r != -1) return fail(r);
      if (const int e = to_kernel(fd, *s); e != 0) return fail(e);
      return kernel_recv(fd, iov, flags, from, from_len, msg_flags);
    }
  }
  const bool peek = (flags & MSG_PEEK) != 0;
  std::array<std::byte, max_datagram_payload> buf;  // as long as any datagram the stack carries
  for (;;) {
    auto d = app_of(*s).recv_from(s->sock, buf, peek);
    if (d) {
      std::size_t copied = 0;
      for (const auto& v : iov) {
        const std::size_t n = std::min(v.iov_len, d->length - copied);
        if (n > 0) std::memcpy(v.iov_base, buf.data() + copied, n);
        copied += n;
        if (copied == d->length) break;
      }
      const bool truncated = copied < d->whole;
      write_sockaddr(d->remote, from, from_len);
      if (msg_flags != nullptr) *msg_flags = truncated ? MSG_TRUNC : 0;
      return static_cast<ssize_t>((flags & MSG_TRUNC) != 0 ? d->whole : copied);
    }
    if (d.error().code != errc::would_block) return fail(errno_of(d.error().code));
    if (nonblocking) return fail(EAGAIN);
    if (const int e = wait_on(call, *s, client::readable, timeout_ms(s->options.receive_timeout)); e != 0) return fail(e);
  }
}

ssize_t datagram_send(held_socket& call, int fd, std::span<const iovec> iov, int flags, const sockaddr* to,
                      socklen_t to_len) {
  std::size_t size = 0;
  for (const auto& v : iov) size += v.iov_len;
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  if (s->shut_write) return fail(EPIPE);
  endpoint dest;
  const bool named = to != nullptr;
  if (named) {
    if (const int e = destination_of(to, to_len, dest); e != 0) return fail(e);
  }
  if (s->sock < 0) {
    if (!named) return fail(EDESTADDRREQ);
    const int r = dest.ip.is_loopback() ? -1 : autobind(*s);
    if (r != 0) {
      if (r != -1) return fail(r);
      if (const int e = to_kernel(fd, *s); e != 0) return fail(e);
      return kernel_send(fd, iov, flags, to, to_len);
    }
  }
  if (!named) {
    if (!s->has_peer()) return fail(EDESTADDRREQ);
    dest = s->target;
  } else if (dest.ip.is_loopback()) {
    return fail(ENETUNREACH);  // a socket on the stack's data plane cannot reach the host's loopback
  } else if (s->has_peer() && (dest.ip != s->target.ip || dest.port != s->target.port)) {
    return fail(EISCONN);  // a connected udp:// session has one peer (docs/preload.md)
  }
  if (size > max_datagram_payload) return fail(EMSGSIZE);  // the data plane does not fragment
  std::array<std::byte, max_datagram_payload> buf;
  std::size_t at = 0;
  for (const auto& v : iov) {
    if (v.iov_len > 0) std::memcpy(buf.data() + at, v.iov_base, v.iov_len);
    at += v.iov_len;
  }
  const bool nonblocking = s->nonblocking || (flags & MSG_DONTWAIT) != 0;
  for (;;) {
    auto n = app_of(*s).send_to(s->sock, dest, std::span{buf}.first(size));
    if (n) return static_cast<ssize_t>(*n);
    if (n.error().code != errc::would_block) return fail(errno_of(n.error().code));
    if (nonblocking) return fail(EAGAIN);
    if (const int e = wait_on(call, *s, client::writable, timeout_ms(s->options.send_timeout)); e != 0) return fail(e);
  }
}

int datagram_next_length(stack_socket& s) {
  if (s.sock < 0) return 0;
  std::array<std::byte, max_datagram_payload> buf;
  auto d = app_of(s).recv_from(s.sock, buf, true);
  return d ? static_cast<int>(d->whole) : 0;
}

}  // namespace actorstack::preload
