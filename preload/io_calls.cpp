// Moving bytes: read/write and their socket-call cousins, on stack
// sockets straight to and from the shared fifos. Blocking as Linux: a
// blocking read waits for something, a blocking write for room for all of
// it, each for at most SO_RCVTIMEO / SO_SNDTIMEO when set.

#include "preload/datagram_calls.hpp"
#include "preload/errno_of.hpp"
#include "preload/libc_calls.hpp"
#include "preload/socket_ops.hpp"
#include "preload/stack_link.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <optional>
#include <span>

using namespace actorstack;
using namespace actorstack::preload;

namespace {

stack_link& link() { return stack_link::get(); }

// A blocking call that made `total` bytes of progress so far waits for
// `events`, at most `timeout` ms (SO_RCVTIMEO / SO_SNDTIMEO; -1: for
// ever). Empty: go on; else what the call returns (the progress, or -1
// with errno when there was none: EAGAIN once the timeout ran out).
std::optional<ssize_t> wait_for(stack_link& l, stack_link::guard& g, const stack_socket& s, std::uint32_t events,
                                std::size_t total, int timeout) {
  client::poll_entry e{.s = s.sock, .events = events};
  auto w = l.wait(g, {&e, 1}, {}, timeout);
  if (w && *w == 0 && timeout >= 0) return total > 0 ? static_cast<ssize_t>(total) : fail(EAGAIN);
  if (w && s.sock >= 0) return std::nullopt;
  if (total > 0) return static_cast<ssize_t>(total);
  return fail(!w ? errno_of(w.error()) : EBADF);  // closed by another thread meanwhile
}

// Reads into `iov` (MSG_PEEK: copies without consuming). Returns bytes,
// 0 at end of stream, or -1 with errno.
ssize_t stream_read(held_socket& call, std::span<const iovec> iov, int flags) {
  stack_link& l = call.link;
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  stack_link::guard& g = *call.lock;
  settle_connect(*s);
  if (s->phase == socket_phase::connecting) return fail(EAGAIN);
  if (s->phase != socket_phase::connected || s->sock < 0) return fail(s->phase == socket_phase::failed ? ECONNREFUSED : ENOTCONN);
  if (s->shut_read) return 0;
  std::size_t wanted = 0;
  for (const auto& v : iov) wanted += v.iov_len;
  if (wanted == 0) return 0;
  const bool peek = (flags & MSG_PEEK) != 0;
  const bool wait_all = (flags & MSG_WAITALL) != 0 && !peek;
  const bool nonblocking = s->nonblocking || (flags & MSG_DONTWAIT) != 0;
  std::size_t total = 0;
  std::size_t index = 0, offset = 0;  // where in iov the next byte goes
  for (;;) {
    bool ended = false;
    while (index < iov.size()) {
      const iovec& v = iov[index];
      if (offset == v.iov_len) {
        ++index;
        offset = 0;
        continue;
      }
      std::span<std::byte> out{static_cast<std::byte*>(v.iov_base) + offset, v.iov_len - offset};
      auto n = peek ? app_of(*s).peek(s->sock, total, out) : app_of(*s).read(s->sock, out);
      if (!n) {
        if (n.error().code == errc::would_block) break;
        if (total > 0) return static_cast<ssize_t>(total);
        return fail(errno_of(n.error().code));
      }
      if (*n == 0) {
        ended = true;
        break;
      }
      total += *n;
      offset += *n;
      if (*n < out.size()) break;  // drained for now
    }
    if (ended || total == wanted) return static_cast<ssize_t>(total);
    if (total > 0 && !wait_all) return static_cast<ssize_t>(total);
    if (nonblocking) {
      if (total > 0) return static_cast<ssize_t>(total);
      return fail(EAGAIN);
    }
    if (auto done = wait_for(l, g, *s, client::readable, total, timeout_ms(s->options.receive_timeout))) return *done;
  }
}

// Writes `iov`; a blocking socket writes all of it. Sets `broken` when the
// caller owes the thread a SIGPIPE (raised after the lock is let go).
ssize_t stream_write(held_socket& call, std::span<const iovec> iov, int flags, bool& broken) {
  stack_link& l = call.link;
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  stack_link::guard& g = *call.lock;
  settle_connect(*s);
  if (s->phase == socket_phase::connecting) return fail(EAGAIN);
  if (s->shut_write) {
    broken = (flags & MSG_NOSIGNAL) == 0;
    return fail(EPIPE);
  }
  if (s->phase != socket_phase::connected || s->sock < 0) return fail(ENOTCONN);
  std::size_t wanted = 0;
  for (const auto& v : iov) wanted += v.iov_len;
  if (wanted == 0) return 0;
  const bool nonblocking = s->nonblocking || (flags & MSG_DONTWAIT) != 0;
  std::size_t total = 0;
  std::size_t index = 0, offset = 0;  // where in iov the next byte comes from
  for (;;) {
    while (index < iov.size()) {
      const iovec& v = iov[index];
      if (offset == v.iov_len) {
        ++index;
        offset = 0;
        continue;
      }
      std::span<const std::byte> data{static_cast<const std::byte*>(v.iov_base) + offset, v.iov_len - offset};
      auto n = app_of(*s).write(s->sock, data);
      if (!n) {
        if (n.error().code == errc::would_block) break;
        if (total > 0) return static_cast<ssize_t>(total);
        if (n.error().code == errc::disconnected || n.error().code == errc::reset ||
            n.error().code == errc::invalid_session) {
          broken = (flags & MSG_NOSIGNAL) == 0;
          return fail(EPIPE);
        }
        return fail(errno_of(n.error().code));
      }
      total += *n;
      offset += *n;
      if (*n < data.size()) break;  // the fifo is full
    }
    if (total == wanted) return static_cast<ssize_t>(total);
    if (nonblocking) {
      if (total > 0) return static_cast<ssize_t>(total);
      return fail(EAGAIN);
    }
    if (auto done = wait_for(l, g, *s, client::writable, total, timeout_ms(s->options.send_timeout))) return *done;
  }
}

// Where a datagram call names its peer: recvfrom's and recvmsg's source
// (and recvmsg's flags), sendto's and sendmsg's destination.
struct peer_address {
  sockaddr* from = nullptr;
  socklen_t* from_len = nullptr;
  int* msg_flags = nullptr;
  const sockaddr* to = nullptr;
  socklen_t to_len = 0;
};

// A read-side call on a stack socket: the socket looked up and its worker
// locked once; a datagram socket's call takes one datagram.
ssize_t socket_read(int fd, std::span<const iovec> iov, int flags, const peer_address& peer = {}) {
  held_socket call(fd);
  if (call.s != nullptr && call.s->datagram)
    return datagram_recv(call, fd, iov, flags, peer.from, peer.from_len, peer.msg_flags);
  const ssize_t r = stream_read(call, iov, flags);
  // A stream socket names no source (Linux leaves it empty) and has no flags to say.
  if (r >= 0 && peer.from_len != nullptr) *peer.from_len = 0;
  if (r >= 0 && peer.msg_flags != nullptr) *peer.msg_flags = 0;
  return r;
}

// A write-side call: a datagram socket's sends one datagram; a stream's
// raises SIGPIPE after the lock is let go when it owes the thread one
// (unless MSG_NOSIGNAL), as the kernel does. A connected stream ignores a
// destination, as Linux.
ssize_t socket_write(int fd, std::span<const iovec> iov, int flags, const peer_address& peer = {}) {
  held_socket call(fd);
  if (call.s != nullptr && call.s->datagram) return datagram_send(call, fd, iov, flags, peer.to, peer.to_len);
  bool broken = false;
  const ssize_t n = stream_write(call, iov, flags, broken);
  if (broken) {
    const int e = errno;
    call.lock.reset();
    ::pthread_kill(::pthread_self(), SIGPIPE);
    errno = e;
  }
  return n;
}

bool stack_fd(int fd) { return !passthrough() && link().fds.is_stack(fd); }

}  // namespace

extern "C" {

ssize_t read(int fd, void* buf, size_t n) {
  if (!stack_fd(fd)) return libc().read(fd, buf, n);
  const iovec v{buf, n};
  return socket_read(fd, {&v, 1}, 0);
}

ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) ::abort();  // what glibc's fortified read does
  return read(fd, buf, n);
}

ssize_t write(int fd, const void* buf, size_t n) {
  if (!stack_fd(fd)) return libc().write(fd, buf, n);
  const iovec v{const_cast<void*>(buf), n};
  return socket_write(fd, {&v, 1}, 0);
}

ssize_t readv(int fd, const iovec* iov, int count) {
  if (!stack_fd(fd)) return libc().readv(fd, iov, count);
  if (count < 0 || count > IOV_MAX) return fail(EINVAL);
  return socket_read(fd, {iov, static_cast<std::size_t>(count)}, 0);
}

ssize_t writev(int fd, const iovec* iov, int count) {
  if (!stack_fd(fd)) return libc().writev(fd, iov, count);
  if (count < 0 || count > IOV_MAX) return fail(EINVAL);
  return socket_write(fd, {iov, static_cast<std::size_t>(count)}, 0);
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (!stack_fd(fd)) return libc().recv(fd, buf, n, flags);
  if ((flags & MSG_OOB) != 0) return fail(EINVAL);  // no urgent data, as Linux says without any
  const iovec v{buf, n};
  return socket_read(fd, {&v, 1}, flags);
}

ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) ::abort();
  return recv(fd, buf, n, flags);
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
  if (!stack_fd(fd)) return libc().send(fd, buf, n, flags);
  if ((flags & MSG_OOB) != 0) return fail(EOPNOTSUPP);
  const iovec v{const_cast<void*>(buf), n};
  return socket_write(fd, {&v, 1}, flags);
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* len) {
  if (!stack_fd(fd)) return libc().recvfrom(fd, buf, n, flags, addr, len);
  if ((flags & MSG_OOB) != 0) return fail(EINVAL);
  const iovec v{buf, n};
  return socket_read(fd, {&v, 1}, flags, {.from = addr, .from_len = len});
}

ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, sockaddr* addr, socklen_t* len) {
  if (n > buflen) ::abort();
  return recvfrom(fd, buf, n, flags, addr, len);
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr, socklen_t len) {
  if (!stack_fd(fd)) return libc().sendto(fd, buf, n, flags, addr, len);
  if ((flags & MSG_OOB) != 0) return fail(EOPNOTSUPP);
  const iovec v{const_cast<void*>(buf), n};
  return socket_write(fd, {&v, 1}, flags, {.to = addr, .to_len = len});
}

ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  if (!stack_fd(fd)) return libc().recvmsg(fd, msg, flags);
  if (msg == nullptr) return fail(EFAULT);
  if ((flags & MSG_OOB) != 0) return fail(EINVAL);
  if (msg->msg_iovlen > static_cast<std::size_t>(IOV_MAX)) return fail(EMSGSIZE);
  auto* from = static_cast<sockaddr*>(msg->msg_name);
  int got_flags = 0;
  const ssize_t r = socket_read(fd, {msg->msg_iov, msg->msg_iovlen}, flags,
                                {.from = from, .from_len = &msg->msg_namelen, .msg_flags = &got_flags});
  if (r >= 0) {
    if (from == nullptr) msg->msg_namelen = 0;
    msg->msg_controllen = 0;  // no ancillary data
    msg->msg_flags = got_flags;
  }
  return r;
}

ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  if (!stack_fd(fd)) return libc().sendmsg(fd, msg, flags);
  if (msg == nullptr) return fail(EFAULT);
  if ((flags & MSG_OOB) != 0) return fail(EOPNOTSUPP);
  if (msg->msg_controllen != 0) return fail(EOPNOTSUPP);  // no ancillary data on stack sockets
  if (msg->msg_iovlen > static_cast<std::size_t>(IOV_MAX)) return fail(EMSGSIZE);
  return socket_write(fd, {msg->msg_iov, msg->msg_iovlen}, flags,
                      {.to = static_cast<const sockaddr*>(msg->msg_name), .to_len = msg->msg_namelen});
}

}  // extern "C"
