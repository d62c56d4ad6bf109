// The socket's life: socket, bind, listen, accept, connect, shutdown,
// close, names, options, fcntl/ioctl, dup. Each call on an fd that is not
// the stack's goes to the C library unchanged.

#include "preload/datagram_calls.hpp"
#include "preload/errno_of.hpp"
#include "preload/libc_calls.hpp"
#include "preload/sockaddr.hpp"
#include "preload/socket_ops.hpp"
#include "preload/stack_link.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdarg>
#include <cstring>
#include <optional>
#include <string>

using namespace actorstack;
using namespace actorstack::preload;

namespace {

stack_link& link() { return stack_link::get(); }

// The fd number a stack socket goes by: a placeholder kernel fd the
// preload holds, so the kernel never hands the number to anything else.
int placeholder(bool cloexec) {
  const int fd = ::eventfd(0, cloexec ? EFD_CLOEXEC : 0);
  if (fd < 0) return -1;
  if (fd >= fd_table::capacity) {
    libc().close(fd);
    return fail(EMFILE);
  }
  return fd;
}

std::string uri_of(const endpoint& ep) { return ep.to_string(); }

// A new stack socket named `fd`.
int adopt(int fd, std::shared_ptr<stack_socket> s) {
  link().fds.put(fd, std::move(s));
  return fd;
}

// Accepts one connection from a listening stack socket.
int accept_on(int fd, sockaddr* addr, socklen_t* len, int flags) {
  held_socket call(fd);
  stack_link& l = call.link;
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  stack_link::guard& g = *call.lock;
  if (s->datagram) return fail(EOPNOTSUPP);
  if (s->phase != socket_phase::listening) return fail(EINVAL);
  for (;;) {
    if (s->sock < 0) return fail(EBADF);  // closed by another thread meanwhile
    auto a = app_of(*s).accept(s->sock);
    if (a) {
      const int nfd = placeholder((flags & SOCK_CLOEXEC) != 0);
      if (nfd < 0) {
        (void)app_of(*s).reset(*a);
        return -1;
      }
      auto c = std::make_shared<stack_socket>();
      c->owner = s->owner;  // the session came to the listener's worker
      c->sock = *a;
      c->phase = socket_phase::connected;
      c->nonblocking = (flags & SOCK_NONBLOCK) != 0;
      c->options = s->options;  // Linux: accepted sockets inherit the listener's options
      (void)app_of(*s).set_nonblocking(*a, true);
      if (auto i = app_of(*s).info(*a)) {
        c->bound = i->ends.local;
        write_sockaddr(i->ends.remote, addr, len);
      }
      return adopt(nfd, std::move(c));
    }
    if (a.error().code != errc::would_block) return fail(errno_of(a.error().code));
    if (s->nonblocking) return fail(EAGAIN);
    client::poll_entry e{.s = s->sock, .events = client::readable};
    const int timeout = timeout_ms(s->options.receive_timeout);  // SO_RCVTIMEO bounds accept too
    auto w = l.wait(g, {&e, 1}, {}, timeout);
    if (!w) return fail(errno_of(w.error()));
    if (*w == 0 && timeout >= 0) return fail(EAGAIN);
  }
}

// Closes `fd` if it names a stack socket or an epoll set; the caller then
// closes the placeholder with the C library. The last fd that names a
// socket lets its session go.
void forget_fd(int fd) {
  stack_link& l = link();
  if (auto s = l.fds.take(fd); s != nullptr && s.use_count() == 1) {
    stack_link::guard g(*s->owner);
    let_go(*s);
  }
  if (fd >= 0 && fd < fd_table::capacity && l.is_epoll[static_cast<std::size_t>(fd)].exchange(false)) {
    std::lock_guard lock(l.epoll_mutex);
    l.epolls.erase(fd);
  }
}

int int_option(const void* value, socklen_t len, int& out) {
  if (value == nullptr || len < static_cast<socklen_t>(sizeof(int))) return EINVAL;
  std::memcpy(&out, value, sizeof(int));
  return 0;
}

int put_int(void* value, socklen_t* len, int v) {
  if (value == nullptr || len == nullptr) return EFAULT;
  if (*len < static_cast<socklen_t>(sizeof(int))) return EINVAL;
  std::memcpy(value, &v, sizeof v);
  *len = sizeof v;
  return 0;
}

// The core's view of a connection in Linux's layout: windows and
// thresholds in segments of snd_mss, as Linux counts them.
void fill_tcp_info(const tcp_conn_info& i, tcp_info& t) {
  const std::uint32_t mss = std::max<std::uint32_t>(i.snd_mss, 1);
  auto segments = [mss](std::uint32_t bytes) { return (bytes + mss - 1) / mss; };
  t.tcpi_state = i.state;
  t.tcpi_retransmits = i.retransmits;
  t.tcpi_backoff = i.backoff;
  t.tcpi_options = static_cast<std::uint8_t>((i.timestamps ? TCPI_OPT_TIMESTAMPS : 0) | (i.sack ? TCPI_OPT_SACK : 0) |
                                             (i.window_scaling ? TCPI_OPT_WSCALE : 0));
  t.tcpi_snd_wscale = i.snd_wscale & 0xf;
  t.tcpi_rcv_wscale = i.rcv_wscale & 0xf;
  t.tcpi_rto = i.rto_us;
  t.tcpi_snd_mss = i.snd_mss;
  t.tcpi_rcv_mss = i.rcv_mss;
  t.tcpi_advmss = i.snd_mss;
  t.tcpi_unacked = segments(i.unacked_bytes);
  t.tcpi_rtt = i.rtt_us;
  t.tcpi_rttvar = i.rttvar_us;
  // Linux says "no threshold yet" as 0x7fffffff segments.
  t.tcpi_snd_ssthresh = i.ssthresh_bytes >= 0x7fffffffu / mss ? 0x7fffffffu : segments(i.ssthresh_bytes);
  t.tcpi_snd_cwnd = segments(i.cwnd_bytes);
  t.tcpi_rcv_space = i.rcv_wnd;
  t.tcpi_total_retrans = i.total_retrans;
}

// TCP_INFO. A connection on the wire: what its data-plane core knows
// (one round trip to the stack); a closed one, or a cut-through session,
// has only its state to say — a cut-through session has no segments, so
// nothing is ever retransmitted, no round trip is timed, no window
// limits it: the zeros are the truth there.
int put_tcp_info(stack_socket& s, const std::optional<client::sock_info>& info, void* value, socklen_t* len) {
  if (value == nullptr || len == nullptr) return EFAULT;
  tcp_info t{};
  bool from_core = false;
  if (info && info->transport == transport_proto::tcp && !info->datagram) {
    auto got = app_of(s).tcp_info(s.sock);
    if (got) {
      fill_tcp_info(*got, t);
      from_core = true;
    } else if (got.error().code != errc::invalid_session) {
      return errno_of(got.error());
    }
  }
  if (!from_core) {
    switch (s.phase) {
      case socket_phase::listening: t.tcpi_state = TCP_LISTEN; break;
      case socket_phase::connecting: t.tcpi_state = TCP_SYN_SENT; break;
      case socket_phase::connected:
        t.tcpi_state = info ? (s.shut_write ? TCP_FIN_WAIT1 : TCP_ESTABLISHED) : TCP_CLOSE;
        break;
      default: t.tcpi_state = TCP_CLOSE; break;
    }
  }
  const auto n = std::min<socklen_t>(*len, static_cast<socklen_t>(sizeof t));
  std::memcpy(value, &t, static_cast<std::size_t>(n));
  *len = n;
  return 0;
}

}  // namespace

extern "C" {

int socket(int domain, int type, int protocol) {
  const int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  const bool stream = kind == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP);
  const bool datagram = kind == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP);
  if (passthrough() || domain != AF_INET || (!stream && !datagram)) return libc().socket(domain, type, protocol);
  worker* w = link().worker_of_this_thread();
  if (w == nullptr) return libc().socket(domain, type, protocol);  // no stack: the kernel's (fallback)
  const int fd = placeholder((type & SOCK_CLOEXEC) != 0);
  if (fd < 0) return -1;
  auto s = std::make_shared<stack_socket>();
  s->owner = w;
  s->nonblocking = (type & SOCK_NONBLOCK) != 0;
  s->datagram = datagram;
  if (datagram) s->bound.proto = transport_proto::udp;
  return adopt(fd, std::move(s));
}

int bind(int fd, const sockaddr* addr, socklen_t len) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().bind(fd, addr, len);
  held_socket call(fd);
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  if (s->datagram) return datagram_bind(call, fd, addr, len);
  if (s->phase != socket_phase::fresh) return fail(EINVAL);
  endpoint ep;
  if (const int e = endpoint_of(addr, len, ep); e != 0) return fail(e);
  s->port_picked = ep.port == 0;
  if (s->port_picked) ep.port = pick_port();
  s->bound = ep;
  s->phase = socket_phase::bound;
  return 0;
}

int listen(int fd, int backlog) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().listen(fd, backlog);
  held_socket call(fd);
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  if (s->datagram) return fail(EOPNOTSUPP);
  if (s->phase == socket_phase::listening) return 0;  // Linux: a second listen only changes the backlog
  if (s->phase == socket_phase::fresh) {              // Linux binds an unbound socket to a free port
    s->bound.port = pick_port();
    s->port_picked = true;
  } else if (s->phase != socket_phase::bound) {
    return fail(EINVAL);
  }
  // SO_REUSEPORT on both, the same address: Linux lets both listen and
  // spreads the connections over them. Here this fd joins the listening
  // socket, as a dup of it: one backlog, each accept takes the next
  // connection, the listener stays until the last of them is closed.
  // Another process's listener is another app's: the stack lets this one
  // join it when both set SO_REUSEPORT (and are one user's), cut-through.
  if (s->options.reuse_port && !s->port_picked) {
    if (auto shared = call.link.reuse_port_listener(s->bound)) {
      call.link.fds.put(fd, std::move(shared));
      return 0;
    }
  }
  // A port the preload picked may be taken: pick another, as the kernel
  // would have at bind.
  for (int tries = 0;; ++tries) {
    auto h = app_of(*s).listen(uri_of(s->bound), {.reuse_port = s->options.reuse_port});
    if (h) {
      s->sock = *h;
      s->phase = socket_phase::listening;
      (void)app_of(*s).set_nonblocking(*h, true);
      call.link.listening(s->bound, s->options.reuse_port, s);
      return 0;
    }
    if (h.error().code == errc::already_listening && s->port_picked && tries < 32) {
      s->bound.port = pick_port();
      continue;
    }
    if (h.error().code == errc::no_route) return fail(EADDRNOTAVAIL);
    return fail(errno_of(h.error().code));
  }
}

int accept(int fd, sockaddr* addr, socklen_t* len) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().accept(fd, addr, len);
  return accept_on(fd, addr, len, 0);
}

int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().accept4(fd, addr, len, flags);
  return accept_on(fd, addr, len, flags);
}

int connect(int fd, const sockaddr* addr, socklen_t len) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().connect(fd, addr, len);
  held_socket call(fd);
  stack_link& l = call.link;
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  if (s->datagram) return datagram_connect(call, fd, addr, len);
  switch (s->phase) {
    case socket_phase::connecting:
      settle_connect(*s);
      if (s->phase == socket_phase::connecting) return fail(EALREADY);
      if (s->phase == socket_phase::connected) return fail(EISCONN);
      [[fallthrough]];
    case socket_phase::failed: {
      // Linux reports a failed non-blocking connect once more, then lets
      // the socket try again.
      const int e = s->pending_error;
      let_go(*s);
      s->pending_error = 0;
      s->phase = socket_phase::fresh;
      if (e != 0) return fail(e);
      break;
    }
    case socket_phase::connected: return fail(EISCONN);
    case socket_phase::listening: return fail(EINVAL);
    case socket_phase::fresh:
    case socket_phase::bound: break;
  }
  endpoint to;
  if (const int e = endpoint_of(addr, len, to); e != 0) return fail(e);
  if (to.port == 0) return fail(ECONNREFUSED);
  if (to.ip.is_any()) to.ip = ip_address::v4(INADDR_LOOPBACK);  // Linux: 0.0.0.0 means this host
  if (l.own_listener(to)) {
    // To this process's own listener: through its second app (stack_link.hpp).
    // The socket has no session yet, so it can change workers: its new
    // worker's lock is taken with no other held (the control lock comes first).
    call.lock.reset();
    worker* via = l.self_connect_worker();
    call.lock.emplace(via != nullptr ? *via : *s->owner);
    if (via == nullptr) return fail(ECONNREFUSED);
    s->owner = via;
    l.note_thread(*via);
  }
  s->target = to;
  // After a bind to a port of its own choosing the connect leaves from it,
  // as Linux's does (a picked port: the stack picks its own).
  const std::uint16_t local_port = s->phase == socket_phase::bound && !s->port_picked ? s->bound.port : 0;
  auto c = app_of(*s).connect_start(uri_of(to), local_port);
  if (!c) {
    const int e = c.error().code == errc::no_route && to.ip.is_loopback() ? ECONNREFUSED : errno_of(c.error().code);
    // Linux answers a non-blocking connect EINPROGRESS even when the
    // refusal is known at once (loopback): the outcome is SO_ERROR's.
    if (e == ECONNREFUSED && s->nonblocking) {
      s->phase = socket_phase::failed;
      s->pending_error = e;
      return fail(EINPROGRESS);
    }
    return fail(e);
  }
  s->sock = *c;
  s->phase = socket_phase::connecting;
  (void)app_of(*s).set_nonblocking(*c, true);
  if (s->nonblocking) return fail(EINPROGRESS);
  stack_link::guard& g = *call.lock;
  for (;;) {
    settle_connect(*s);
    if (s->phase == socket_phase::connected) return 0;
    if (s->phase == socket_phase::failed) {
      const int e = s->pending_error;
      s->pending_error = 0;
      return fail(e);
    }
    client::poll_entry e{.s = s->sock, .events = client::readable | client::writable};
    const int timeout = timeout_ms(s->options.send_timeout);  // Linux: SO_SNDTIMEO bounds connect
    auto w = l.wait(g, {&e, 1}, {}, timeout);
    if (!w) return fail(errno_of(w.error()));
    if (*w == 0 && timeout >= 0) return fail(EINPROGRESS);  // the connect goes on, as Linux's does
  }
}

int shutdown(int fd, int how) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().shutdown(fd, how);
  held_socket call(fd);
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return fail(EINVAL);
  if (s->datagram) {  // Linux: only a connected one; nothing goes on the wire
    if (!s->has_peer()) return fail(ENOTCONN);
    if (how != SHUT_WR) s->shut_read = true;
    if (how != SHUT_RD) s->shut_write = true;
    return 0;
  }
  settle_connect(*s);
  if (s->phase == socket_phase::listening && how != SHUT_WR) {
    let_go(*s);  // Linux: shutting a listener's reading side stops it listening
    s->phase = socket_phase::fresh;
    return 0;
  }
  if (s->phase != socket_phase::connected) return fail(ENOTCONN);
  if (how != SHUT_WR) s->shut_read = true;
  if (how != SHUT_RD && !s->shut_write) {
    s->shut_write = true;
    // The peer reads what was written, then end of stream (a FIN on tcp).
    if (auto r = app_of(*s).shutdown(s->sock); !r) return fail(errno_of(r.error().code));
  }
  return 0;
}

int close(int fd) {
  if (!passthrough()) forget_fd(fd);
  return libc().close(fd);
}

int getsockname(int fd, sockaddr* addr, socklen_t* len) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().getsockname(fd, addr, len);
  held_socket call(fd);
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  if (addr == nullptr || len == nullptr) return fail(EFAULT);
  settle_connect(*s);
  endpoint local = s->bound;
  if (s->phase == socket_phase::connected) {
    if (auto i = app_of(*s).info(s->sock)) local = i->ends.local;
  }
  write_sockaddr(local, addr, len);
  return 0;
}

int getpeername(int fd, sockaddr* addr, socklen_t* len) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().getpeername(fd, addr, len);
  held_socket call(fd);
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  if (addr == nullptr || len == nullptr) return fail(EFAULT);
  settle_connect(*s);
  if (s->datagram) {
    if (!s->has_peer()) return fail(ENOTCONN);
    write_sockaddr(s->target, addr, len);
    return 0;
  }
  if (s->phase != socket_phase::connected || s->sock < 0) return fail(ENOTCONN);
  auto i = app_of(*s).info(s->sock);
  if (!i) return fail(ENOTCONN);
  write_sockaddr(i->ends.remote, addr, len);
  return 0;
}

int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().getsockopt(fd, level, name, value, len);
  held_socket call(fd);
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  settle_connect(*s);
  const socket_options& o = s->options;
  std::optional<client::sock_info> info;
  if (s->phase == socket_phase::connected && s->sock >= 0) {
    if (auto i = app_of(*s).info(s->sock)) info = *i;
  }
  int e = ENOPROTOOPT;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: {
        int err = s->pending_error;
        s->pending_error = 0;
        if (err == 0 && s->phase == socket_phase::connected) {
          if (auto st = app_of(*s).status(s->sock); !st && st.error().code == errc::reset) err = ECONNRESET;
        }
        e = put_int(value, len, err);
        break;
      }
      case SO_TYPE: e = put_int(value, len, s->datagram ? SOCK_DGRAM : SOCK_STREAM); break;
      case SO_DOMAIN: e = put_int(value, len, AF_INET); break;
      case SO_PROTOCOL: e = put_int(value, len, s->datagram ? IPPROTO_UDP : IPPROTO_TCP); break;
      case SO_ACCEPTCONN: e = put_int(value, len, s->phase == socket_phase::listening ? 1 : 0); break;
      case SO_REUSEADDR: e = put_int(value, len, o.reuse_address ? 1 : 0); break;
      case SO_REUSEPORT: e = put_int(value, len, o.reuse_port ? 1 : 0); break;
      case SO_KEEPALIVE: e = put_int(value, len, o.keepalive ? 1 : 0); break;
      // The session's fifo is the buffer; before there is one, what was
      // set (doubled, as Linux reports it).
      case SO_RCVBUF: e = put_int(value, len, info ? static_cast<int>(info->rx_fifo_size) : 2 * o.receive_buffer); break;
      case SO_SNDBUF: e = put_int(value, len, info ? static_cast<int>(info->tx_fifo_size) : 2 * o.send_buffer); break;
      case SO_LINGER: {
        if (value == nullptr || len == nullptr) return fail(EFAULT);
        if (*len < static_cast<socklen_t>(sizeof(linger))) return fail(EINVAL);
        const linger lg{o.linger_on, o.linger_seconds};
        std::memcpy(value, &lg, sizeof lg);
        *len = sizeof lg;
        e = 0;
        break;
      }
      case SO_RCVTIMEO:
      case SO_SNDTIMEO: {
        if (value == nullptr || len == nullptr) return fail(EFAULT);
        if (*len < static_cast<socklen_t>(sizeof(timeval))) return fail(EINVAL);
        const timeval& tv = name == SO_RCVTIMEO ? o.receive_timeout : o.send_timeout;
        std::memcpy(value, &tv, sizeof tv);
        *len = sizeof tv;
        e = 0;
        break;
      }
      default: break;
    }
  } else if (level == IPPROTO_TCP && !s->datagram) {
    if (name == TCP_NODELAY) e = put_int(value, len, o.no_delay ? 1 : 0);
    if (name == TCP_INFO) e = put_tcp_info(*s, info, value, len);
  }
  return e == 0 ? 0 : fail(e);
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().setsockopt(fd, level, name, value, len);
  held_socket call(fd);
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  socket_options& o = s->options;
  int v = 0;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
      case SO_REUSEPORT:
      case SO_KEEPALIVE:
      case SO_RCVBUF:
      case SO_SNDBUF: {
        if (const int e = int_option(value, len, v); e != 0) return fail(e);
        if (name == SO_REUSEADDR) o.reuse_address = v != 0;
        if (name == SO_REUSEPORT) o.reuse_port = v != 0;
        if (name == SO_KEEPALIVE) o.keepalive = v != 0;
        if (name == SO_RCVBUF) o.receive_buffer = v;
        if (name == SO_SNDBUF) o.send_buffer = v;
        return 0;
      }
      case SO_LINGER: {
        if (value == nullptr || len < static_cast<socklen_t>(sizeof(linger))) return fail(EINVAL);
        linger lg{};
        std::memcpy(&lg, value, sizeof lg);
        o.linger_on = lg.l_onoff;
        o.linger_seconds = lg.l_linger;
        return 0;
      }
      case SO_RCVTIMEO:
      case SO_SNDTIMEO: {
        if (value == nullptr || len < static_cast<socklen_t>(sizeof(timeval))) return fail(EINVAL);
        timeval tv{};
        std::memcpy(&tv, value, sizeof tv);
        if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1'000'000) return fail(EDOM);  // as Linux
        (name == SO_RCVTIMEO ? o.receive_timeout : o.send_timeout) = tv;
        return 0;
      }
      default: return fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_TCP && name == TCP_NODELAY && !s->datagram) {
    if (const int e = int_option(value, len, v); e != 0) return fail(e);
    o.no_delay = v != 0;
    return 0;
  }
  return fail(ENOPROTOOPT);
}

static int fcntl_impl(int fd, int cmd, long arg) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().fcntl(fd, cmd, arg);
  switch (cmd) {
    case F_GETFL:
    case F_SETFL: {
      held_socket call(fd);
      auto& s = call.s;
      if (s == nullptr) return fail(EBADF);
      if (cmd == F_GETFL) return O_RDWR | (s->nonblocking ? O_NONBLOCK : 0);
      s->nonblocking = (arg & O_NONBLOCK) != 0;
      return 0;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      stack_link& l = link();
      auto s = l.fds.get(fd);
      if (s == nullptr) return fail(EBADF);
      const int nfd = libc().fcntl(fd, cmd, arg);
      if (nfd < 0) return -1;
      if (nfd >= fd_table::capacity) {
        libc().close(nfd);
        return fail(EMFILE);
      }
      l.fds.put(nfd, s);
      return nfd;
    }
    default: return libc().fcntl(fd, cmd, arg);  // F_GETFD / F_SETFD: the placeholder's close-on-exec is the socket's
  }
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const long arg = va_arg(ap, long);
  va_end(ap);
  return fcntl_impl(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const long arg = va_arg(ap, long);
  va_end(ap);
  return fcntl_impl(fd, cmd, arg);
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (passthrough() || !link().fds.is_stack(fd)) return libc().ioctl(fd, request, arg);
  held_socket call(fd);
  auto& s = call.s;
  if (unusable(s)) return fail(EBADF);
  if (arg == nullptr && (request == FIONBIO || request == FIONREAD)) return fail(EFAULT);
  if (request == FIONBIO) {
    int on = 0;
    std::memcpy(&on, arg, sizeof on);
    s->nonblocking = on != 0;
    return 0;
  }
  if (request == FIONREAD) {
    if (s->phase == socket_phase::listening) return fail(EINVAL);
    int n = 0;
    if (s->datagram) {
      n = datagram_next_length(*s);  // Linux: the next datagram's payload
    } else if (s->sock >= 0) {
      if (auto i = app_of(*s).info(s->sock)) n = static_cast<int>(std::min<std::size_t>(i->readable, INT32_MAX));
    }
    std::memcpy(arg, &n, sizeof n);
    return 0;
  }
  return fail(ENOTTY);
}

int dup(int fd) {
  if (passthrough() || !link().fds.is_stack(fd)) return libc().dup(fd);
  return fcntl_impl(fd, F_DUPFD, 0);
}

static int dup_onto(int fd, int target, int flags) {
  stack_link& l = link();
  if (target == fd) return flags != 0 ? fail(EINVAL) : fd;  // dup2 onto itself: nothing happens (dup3: EINVAL)
  if (target >= fd_table::capacity) return fail(EBADF);
  forget_fd(target);  // dup2 closes what `target` named
  auto s = l.fds.get(fd);
  if (s == nullptr) return fail(EBADF);
  const int r = libc().dup3(fd, target, flags);
  if (r < 0) return -1;
  l.fds.put(target, s);
  return target;
}

int dup2(int fd, int target) {
  if (passthrough() || !link().fds.is_stack(fd)) {
    if (!passthrough() && fd != target) forget_fd(target);
    return libc().dup2(fd, target);
  }
  return dup_onto(fd, target, 0);
}

int dup3(int fd, int target, int flags) {
  if (passthrough() || !link().fds.is_stack(fd)) {
    if (!passthrough() && fd != target) forget_fd(target);
    return libc().dup3(fd, target, flags);
  }
  return dup_onto(fd, target, flags);
}

}  // extern "C"
