#pragma once
// A socket the preload serves from the stack: what the program made of it
// so far (bound, listening, connecting, connected) and the options it set.
// Shared by every fd that names it (dup), owned by the fd table, touched
// only under its worker's lock.

#include <actorstack/client.hpp>
#include <actorstack/endpoint.hpp>

#include <sys/time.h>

#include <cstdint>

namespace actorstack::preload {

struct worker;

enum class socket_phase : std::uint8_t {
  fresh,       ///< socket(): nothing asked of the stack yet
  bound,       ///< bind(): an address of its own, still no session
  listening,   ///< listen(): a stack listener (sock)
  connecting,  ///< a non-blocking connect under way (sock)
  connected,   ///< a session (sock), accepted or connected
  failed,      ///< a connect that failed: SO_ERROR says why
};

/// The options a program set and reads back. The stack's fifos and
/// timers apply, whatever they say, except where noted in docs/preload.md.
struct socket_options {
  bool reuse_address = false;
  bool reuse_port = false;
  bool keepalive = false;
  bool no_delay = false;
  int linger_on = 0;
  int linger_seconds = 0;
  int receive_buffer = 0;  ///< 0: not set (the session's rx fifo size)
  int send_buffer = 0;     ///< 0: not set (the session's tx fifo size)
  /// SO_RCVTIMEO / SO_SNDTIMEO: how long a blocking call waits before
  /// EAGAIN (reads and accept / writes and connect); 0: for ever.
  timeval receive_timeout{};
  timeval send_timeout{};
};

/// A SO_*TIMEO value as a wait's timeout in ms (-1: for ever).
inline int timeout_ms(const timeval& tv) noexcept {
  if (tv.tv_sec == 0 && tv.tv_usec == 0) return -1;
  const long long ms = static_cast<long long>(tv.tv_sec) * 1000 + (tv.tv_usec + 999) / 1000;
  return static_cast<int>(ms > 0x7fffffff ? 0x7fffffff : ms);
}

struct stack_socket {
  /// The app worker whose session (or listener) this is: the one whose
  /// thread opened it, or the listener's for an accepted one; a connect to
  /// this process's own listener moves a socket that has no session yet to
  /// the self-connect worker (stack_link.hpp). Fixed once there is a session.
  worker* owner = nullptr;
  client::sock sock = -1;  ///< the client library's sock, once there is one
  socket_phase phase = socket_phase::fresh;
  bool nonblocking = false;
  bool shut_read = false;
  bool shut_write = false;
  /// Inherited across fork(): the child cannot use it (the parent's
  /// attachment is not the child's). Only close works.
  bool inherited = false;
  int pending_error = 0;  ///< SO_ERROR, cleared when read
  endpoint bound{transport_proto::tcp, ip_address::any(ip_address::family::v4), 0};
  bool port_picked = false;  ///< bind() asked for port 0: the preload chose `bound.port`
  endpoint target;           ///< what connect() named
  /// SOCK_DGRAM (preload/datagram_calls.hpp): `sock` is a udp:// listener
  /// (bound: sends anywhere, receives from anyone) or a connected udp://
  /// session to `target`.
  bool datagram = false;
  bool datagram_listener = false;

  /// A datagram socket connected to `target` (getpeername, send without
  /// an address).
  bool has_peer() const noexcept { return datagram && sock >= 0 && !datagram_listener; }
  socket_options options;
};

}  // namespace actorstack::preload
