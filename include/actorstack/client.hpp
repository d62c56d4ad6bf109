#pragma once
/// \file
/// libactorstack-client: an application in its own process, attached to a
/// stack that serves remote apps (`actorstack-stackd`, or any program that
/// called stack::serve_remote_apps). A socket-like API for programs that do
/// not want to know CAF: the library starts no thread and no actor system.
///
///     auto app = actorstack::client::app::attach({.socket_path = "/run/actorstack.sock"}).value();
///     auto l = app->listen("ct://127.0.0.1/7000").value();
///     auto s = app->accept(l).value();            // blocks (see set_nonblocking)
///     std::array<std::byte, 4096> buf;
///     auto n = app->read(s, buf).value();         // 0: the peer closed
///
/// Reads and writes go straight to the shared fifos, mapped in this process
/// from the memfds the stack passes over its Unix socket: no copy beyond
/// the fifo's own. Control (listen, connect, close, ...) and the stack's
/// control notifications travel over that same Unix connection, as small
/// records both sides check; io events (data to read, room to write) come
/// through a shared-memory event queue the stack maps for this app alone.
///
/// Threading: an `app` belongs to one thread — every call, including
/// poll(), from the same thread (like a non-thread-safe event loop). The
/// stack's notifications queue up in between. To sit in its own epoll
/// loop, an app calls poll() with a zero timeout before it waits on
/// event_fd(): a poll that finds nothing ready tells the stack the app is
/// about to sleep, so the next news makes event_fd() readable; then
/// process_events() and poll() again.
///
/// An app is one app worker of its application. add_worker() makes
/// another — its own socks, event queue and Unix connection, for another
/// thread — like a VPP app adding a worker per thread. Workers listening
/// on the same ct:// uri share the listener: the stack hands its
/// connections to them in turn.
///
/// If the stack goes away, every call fails with errc::disconnected.

#include <actorstack/datagram.hpp>
#include <actorstack/endpoint.hpp>
#include <actorstack/result.hpp>
#include <actorstack/tcp_info.hpp>

#include <poll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace actorstack::client {

/// A session or listener of this app (like a file descriptor: small,
/// reused after close).
using sock = std::int32_t;

struct attach_options {
  std::string socket_path;            ///< the stack's Unix socket
  std::string name = "app";           ///< shows in actorstack-ctl
  std::uint32_t rx_fifo_size = 0;     ///< 0: the stack's defaults
  std::uint32_t tx_fifo_size = 0;
  /// Bound of every blocking control call (attach, listen, connect).
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  /// How long after its last progress a waiting call keeps looking at the
  /// fifos (spinning, yielding the CPU between looks) before it sleeps on
  /// the eventfd until the stack notifies it. Spinning reacts within
  /// microseconds while data flows; 0 never spins (no CPU burnt waiting,
  /// every wait costs a notification through the stack).
  std::chrono::microseconds spin = std::chrono::milliseconds(2);
  /// poll() ends with errc::system (EINTR) when a signal interrupts its
  /// sleep, as poll(2) does (the preload library needs it); off, it sleeps
  /// on until something is ready or its timeout passes.
  bool interruptible = false;
};

/// poll() interest and results.
enum poll_events : std::uint32_t {
  readable = 1,  ///< data to read, a connection to accept, or end of stream
  writable = 2,  ///< room in the tx fifo (a quarter of it, or all a blocked write still needs)
  hangup = 4,    ///< the peer closed (reads drain, then return 0); reported to readers (or when asked)
  failed = 8,    ///< the peer reset, or the session is gone: reported to any interest
};

struct poll_entry {
  sock s = -1;
  std::uint32_t events = 0;   ///< what to wait for (readable | writable)
  std::uint32_t revents = 0;  ///< what is ready (set by poll)
};

/// A sock as app::info() sees it.
struct sock_info {
  endpoint_pair ends;            ///< a listener: only `local`
  /// What carries the session: ct (another app on this stack), tcp or udp
  /// (the wire); a listener: the protocol it listens for.
  transport_proto transport = transport_proto::ct;
  /// A datagram sock (udp): a bound one (listen) or a connected one;
  /// send_to / recv_from move whole datagrams.
  bool datagram = false;
  std::uint32_t rx_fifo_size = 0;  ///< 0 for a listener
  std::uint32_t tx_fifo_size = 0;
  std::size_t readable = 0;      ///< bytes queued to read
  std::size_t writable = 0;      ///< room in the tx fifo
  std::uint64_t rx_arrived = 0;  ///< bytes that ever arrived (moves with each arrival)
  std::uint64_t tx_drained = 0;  ///< bytes the peer ever took (moves as room frees)
};

struct client_counters {
  std::uint64_t sessions = 0;          ///< open socks (listeners included)
  std::uint64_t segments_mapped = 0;   ///< segments mapped right now
  /// Segment deletions not done because a session still had fifos there
  /// (the stack never sends one: a forged message, kept out).
  std::uint64_t segment_deletions_refused = 0;
  std::uint64_t notifications = 0;     ///< notifications taken from the stack (io events included)
  std::uint64_t io_events = 0;         ///< of those, io events from the shared event queue
  /// Waits that ended on the periodic recheck (at most 100 ms asleep)
  /// with what they waited for ready: wake-ups that never came. Expected 0.
  std::uint64_t late_wakeups = 0;
  /// Io events the shared event queue from the stack holds
  /// (the stack's session.event-queue-length); past that, events come as
  /// records on the connection.
  std::uint64_t io_event_capacity = 0;
};

/// What actorstack-ctl shows (`topic`: summary, workers, sessions,
/// listeners, apps, ct, dataplane; `options` as ctl passes them, e.g.
/// "--json"), asked over the stack's Unix socket: no attach, no network
/// port. Errors: those of connecting (system, disconnected), bad_message
/// (the stack speaks another protocol, or refused the topic), timeout.
result<std::string> show(const std::string& socket_path, std::string_view topic, std::string_view options = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// The same over a stack's plain inspect port (`--inspect-port`,
/// stack::publish_inspector without TLS) at `host` (IPv4):`port`. Errors:
/// invalid_argument (host), refused (no inspect port there), disconnected,
/// bad_message, quota (more than 100 shows a second), timeout.
result<std::string> show_at(const std::string& host, std::uint16_t port, std::string_view topic,
                            std::string_view options = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(5));

class app {
 public:
  /// Connects to the stack's Unix socket and attaches over it. Errors:
  /// system (no socket there), disconnected (hung up on: a uid not
  /// allowed, or quota.attach-per-uid), bad_message (the stack refused the
  /// attach, or speaks another protocol version), quota and the stack's
  /// other refusals by their code, timeout.
  static result<std::unique_ptr<app>> attach(const attach_options& opts);

  /// Detaches (every session still open is reset towards its peer); a
  /// worker from add_worker() deletes just itself.
  virtual ~app() = default;

  /// Worker add: another app worker of this application, attached over its
  /// own Unix connection, to be used by another thread (each app belongs
  /// to one thread). It listens, connects and polls on its own; listening
  /// on a ct:// uri this app already listens on joins that listener. Its
  /// detach() (or destruction) is the worker del: its sessions are reset
  /// towards their peers, it leaves its listeners (the last to leave
  /// closes one), the app goes on. The app that attached detaches every
  /// worker. Errors: disconnected, timeout, invalid_argument (64 workers).
  virtual result<std::unique_ptr<app>> add_worker() = 0;
  /// This worker's global app worker index (what actorstack-ctl shows).
  virtual std::uint32_t worker_index() const noexcept = 0;

  /// How a listen shares its address.
  struct listen_options {
    /// SO_REUSEPORT: a cut-through listener of another app of the same
    /// user that set this too is joined (its connections go to each
    /// listening app worker in turn), and such an app may join this one.
    /// Without it (or across users, or for udp://, or tcp:// on a stack
    /// with a data plane), another app's listener there is
    /// already_listening.
    bool reuse_port = false;
  };

  /// Listens on `uri` ("ct://127.0.0.1/7000"). Errors: as
  /// application::listen, plus invalid_argument for a bad uri.
  virtual result<sock> listen(std::string_view uri, listen_options opts) = 0;
  result<sock> listen(std::string_view uri) { return listen(uri, listen_options{}); }
  /// A connection that arrived on `listener`. Blocks unless the listener
  /// is non-blocking (then: would_block).
  virtual result<sock> accept(sock listener) = 0;
  /// Connects to `uri` and waits for the outcome. `local_port` (tcp://,
  /// udp://): leave from that port, as after a bind (0: the stack picks;
  /// already_listening when that 4-tuple is taken). Errors: refused,
  /// alloc, filtered, no_route, scope, local_connect, timeout, ...
  virtual result<sock> connect(std::string_view uri, std::uint16_t local_port = 0) = 0;
  /// Starts connecting to `uri` and returns at once (a non-blocking
  /// socket's connect): the sock polls writable once connected, failed
  /// once the connect failed; status() says which. Errors: as connect
  /// for what is refused before anything is sent (invalid_argument, ...).
  virtual result<sock> connect_start(std::string_view uri, std::uint16_t local_port = 0) = 0;
  /// What a sock's connection is (a socket's SO_ERROR): fine once
  /// connected (or a listener); would_block while a connect_start is
  /// under way; the connect's error once it failed; reset after the peer
  /// reset it. Errors: invalid_session (not an open sock), and those.
  virtual result<void> status(sock s) = 0;
  /// What a sock is right now (getsockname, getpeername, FIONREAD,
  /// SO_RCVBUF, ...). Errors: invalid_session, would_block (a connect
  /// under way).
  virtual result<sock_info> info(sock s) = 0;
  /// TCP_INFO of a connected tcp:// sock on the wire, asked of the
  /// data-plane core that owns its connection (one round trip to the
  /// stack). Errors: invalid_session (not an open sock, not a tcp
  /// connection on the wire, or closed meanwhile), would_block (a connect
  /// under way), timeout, disconnected.
  virtual result<tcp_conn_info> tcp_info(sock s) = 0;
  /// Copies up to out.size() readable bytes starting `offset` bytes in,
  /// without consuming them (recv's MSG_PEEK); blocking as read.
  virtual result<std::size_t> peek(sock s, std::size_t offset, std::span<std::byte> out) = 0;
  /// Reads up to out.size() bytes; 0 once the peer closed and everything
  /// was read. Blocks while nothing is readable (non-blocking: would_block).
  /// Errors: invalid_session (not open), would_block, reset (the peer reset
  /// the connection: never read as a clean end of stream).
  virtual result<std::size_t> read(sock s, std::span<std::byte> out) = 0;
  /// Writes; a blocking sock writes everything (waiting for room), a
  /// non-blocking one what fits (would_block when nothing does). Errors:
  /// invalid_session, would_block, disconnected (the peer is gone).
  virtual result<std::size_t> write(sock s, std::span<const std::byte> data) = 0;
  /// Datagram socks (udp://, on a stack with a data plane): a listen()
  /// on a udp uri binds the address and its sock sends to and receives
  /// from anyone; a connect() to one has a single peer. Sends `payload`
  /// as one datagram to `remote` (a connected sock ignores `remote`),
  /// whole or not at all: a blocking sock waits for room, a non-blocking
  /// one says would_block. Errors: invalid_argument (not a datagram sock,
  /// or longer than max_datagram_payload), invalid_session, would_block,
  /// disconnected.
  virtual result<std::size_t> send_to(sock s, const endpoint& remote, std::span<const std::byte> payload) = 0;
  /// Datagram socks: the next datagram, up to out.size() bytes of its
  /// payload (the rest is dropped: `truncated`), and who sent it; with
  /// `peek` it stays queued. Blocks while none is queued (non-blocking:
  /// would_block). read() on a datagram sock is recv_from without the
  /// sender. Errors: invalid_argument (not a datagram sock),
  /// invalid_session, would_block, disconnected.
  virtual result<datagram_info> recv_from(sock s, std::span<std::byte> out, bool peek = false) = 0;
  /// Orderly close (a listener stops listening). Idempotent for the app.
  virtual result<void> close(sock s) = 0;
  /// Half-close (shutdown(SHUT_WR)): no more writes from this side; the
  /// peer reads what was written, then end of stream; reads here go on
  /// until the peer closes. Errors: invalid_session (not an open session).
  virtual result<void> shutdown(sock s) = 0;
  /// Abortive close: unsent data is dropped, the peer sees a reset.
  virtual result<void> reset(sock s) = 0;
  virtual result<void> set_nonblocking(sock s, bool on) = 0;

  /// Waits until one of `entries` is ready or `timeout` passes (negative:
  /// forever); returns how many are ready (0 on timeout).
  virtual result<std::size_t> poll(std::span<poll_entry> entries, std::chrono::milliseconds timeout) = 0;
  /// The same over socks and the caller's own kernel fds together, in
  /// one wait (no busy loop while idle): `fds` as for ::poll(2), their
  /// revents set; the count includes both. With
  /// attach_options::interruptible, a signal that interrupts the sleep
  /// ends it: errc::system with EINTR.
  virtual result<std::size_t> poll(std::span<poll_entry> entries, std::span<pollfd> fds,
                                   std::chrono::milliseconds timeout) = 0;
  /// Readable when notifications wait (after a poll() that found nothing
  /// ready); an epoll fd, fit for the caller's own epoll.
  virtual int event_fd() const noexcept = 0;
  /// Clears event_fd() and takes every waiting notification (poll and the
  /// blocking calls do it themselves).
  virtual result<void> process_events() = 0;

  virtual client_counters counters() const noexcept = 0;
  /// Detaches now (a worker from add_worker(): deletes that worker).
  /// Idempotent; later calls fail with disconnected.
  virtual result<void> detach() = 0;
};

}  // namespace actorstack::client
