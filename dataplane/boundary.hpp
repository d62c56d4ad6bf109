#pragma once
/// \file
/// Where a data-plane core meets the session workers (docs/architecture.md
/// §3, "lock-free ring + doorbell"). Per (worker, core) pair there is one
/// command channel (worker produces, core consumes) and one event channel
/// (core produces, worker consumes), both single-producer single-consumer
/// rings. The core polls its command rings every loop, so commands need no
/// wake-up; a worker sleeps in its mailbox, so the core rings its doorbell —
/// one message — only when the worker may have gone idle on an empty ring.
///
/// Nothing here knows CAF: the doorbell is an interface the actor layer
/// implements.

#include "shm/fifo.hpp"
#include "shm/private_end.hpp"

#include <actorstack/error.hpp>
#include <actorstack/tcp_info.hpp>

#include "dataplane/fault_in.hpp"

#include <boost/lockfree/spsc_queue.hpp>

#include <atomic>
#include <cstdint>

namespace actorstack::shm {
class fifo_segment;
}

namespace actorstack::dataplane {

/// A UDP transport connection as the core sees it: a listener (remote
/// unset, connectionless: the fifos carry each datagram's addresses) or a
/// connected 5-tuple. `id` is the transport's connection index, unique
/// within its worker.
///
/// Every core holds every binding, but only one core — `core`, its owner —
/// touches its fifos; the others keep a forwarding entry and hand the
/// connection's frames to the owner (docs/architecture.md §6, "several
/// cores").
struct udp_binding {
  std::uint32_t id = 0;
  std::uint32_t worker = 0;
  std::uint64_t session = 0;  ///< session_handle::value() of its session
  std::uint32_t core = 0;     ///< the owner core
  /// A connected binding that already moved once: its frames arriving on
  /// another core are forwarded, never a reason to move it again.
  bool settled = false;
  shm::fifo rx;               ///< the core produces (datagrams in)
  shm::fifo tx;               ///< the core consumes (datagrams out)
  /// The owner's record of its ends of the fifos (shm/private_end.hpp):
  /// made by the worker before the app hears of the session, moved with
  /// the binding.
  shm::private_end rx_end{shm::private_end::side::producer};
  shm::private_end tx_end{shm::private_end::side::consumer};
  /// The app left the fifos inconsistent: the owner no longer touches them
  /// (its frames are dropped) until the worker removes the binding.
  bool broken = false;
  std::uint32_t local_ip = 0;   ///< host order; 0 = any of ours (listeners)
  std::uint32_t remote_ip = 0;  ///< connected only
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  bool connected = false;
};

/// A TCP request from a worker; the core's TCP engine carries it out
/// (dataplane/tcp/engine.hpp, SPEC-TCP). Connections are named by the
/// engine's (index, generation), which tcp_established reports.
struct tcp_request {
  std::uint32_t local_ip = 0;   ///< listen: 0 = any of ours; connect: 0 = the port's
  std::uint32_t remote_ip = 0;  ///< connect
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  /// listen / connect: names them in tcp_established / tcp_connect_failed.
  /// Unique per core among live listeners and pending connects.
  std::uint64_t cookie = 0;
  std::uint32_t conn = 0;        ///< per-connection requests: the engine's index...
  std::uint32_t generation = 0;  ///< ...and generation
  /// listen / connect: the segment the core carves the connection's fifos
  /// from once it is established (the app worker's; its allocator is
  /// lock-free). The worker keeps it mapped while the listener or the
  /// connect lives, and until every connection it made is gone.
  shm::fifo_segment* fifos_from = nullptr;
  std::uint32_t rx_fifo_size = 0;
  std::uint32_t tx_fifo_size = 0;
  bool nodelay = false;  ///< tcp_sent: Nagle off for this connection (sticky)
  /// listen: the listener session (its handle's value, never 0) this
  /// listen is a part of. Listens of one group share their address, each
  /// for its own app worker's segment, and take its connections in turn
  /// (SO_REUSEPORT across apps, an app's workers); a listen of another
  /// group, or of none (0), is refused while the address is taken.
  std::uint64_t group = 0;
  /// tcp_info: where the core writes (conn, generation)'s state before it
  /// answers tcp_info with `cookie`; the worker's, untouched until then.
  tcp_conn_info* info_out = nullptr;
};

enum class command_kind : std::uint8_t {
  add,     ///< install `binding` (owned here if binding.core is this core, else forwarding)
  remove,  ///< uninstall (id, worker); the owner answers event_kind::removed
  tx,      ///< the app queued datagrams on (id, worker): send them
  /// Owner only: hand (id, worker) to core `to_core` under the key
  /// (new_worker, new_id) and session `new_session`. This core keeps a
  /// forwarding entry; the new owner answers event_kind::taken to new_worker.
  move,
  tcp_listen,    ///< tcp: accept connections to (local_ip, local_port)
  tcp_unlisten,  ///< tcp: stop; half-open connections of the listener go
  tcp_connect,   ///< tcp: open (local, remote); the answer is tcp_established or tcp_connect_failed
  tcp_sent,      ///< tcp: the app queued bytes on (conn, generation)
  tcp_read,      ///< tcp: the app read from (conn, generation): the window may open
  tcp_close,     ///< tcp: orderly close; tcp_released follows
  tcp_shutdown,  ///< tcp: half-close (FIN after the queued bytes), still receiving
  tcp_abort,     ///< tcp: RST now; tcp_released follows (unless a tcp_reset was already on its way)
  tcp_info,      ///< tcp: write (conn, generation)'s TCP_INFO to `info_out`, answer tcp_info
};

struct command {
  command_kind kind = command_kind::tx;
  std::uint32_t id = 0;
  std::uint32_t worker = 0;
  udp_binding binding;  ///< add only
  std::uint32_t to_core = 0;      ///< move only
  std::uint32_t new_worker = 0;   ///< move only
  std::uint32_t new_id = 0;       ///< move only
  std::uint64_t new_session = 0;  ///< move only
  tcp_request tcp;                ///< tcp_* only
};

enum class event_kind : std::uint8_t {
  rx,        ///< datagrams were queued on `session`'s rx fifo (coalesced by its event flag)
  tx_space,  ///< the core sent `bytes` from a tx fifo whose producer asked to hear it
  removed,   ///< the core let go of (id): its fifos are the worker's again
  add_failed,  ///< an add was refused (the 5-tuple or listener is taken)
  /// A connected binding's datagram arrived on `core`, which does not own
  /// it (the port's RSS or the peer chose that queue). Posted once per
  /// binding: the worker may move the connection there.
  seen,
  taken,  ///< a moved binding arrived: this core (`core`) owns (id) now
  /// The app left (id)'s fifos inconsistent: the core stopped using them;
  /// the worker resets the session and removes the binding.
  violation,
  // TCP (`id`, `generation`: the engine's connection; `session`: the cookie)
  tcp_established,     ///< a connection is up: `rx`/`tx` carved, `session` = the listen's or connect's cookie
  tcp_connect_failed,  ///< the connect `session` failed: `error` refused / timeout / alloc
  tcp_rx,              ///< new in-order bytes in the rx fifo (coalesced by its event flag)
  tcp_tx_space,        ///< acknowledged bytes left the tx fifo (`bytes`), and its producer asked
  tcp_peer_closed,     ///< the peer's FIN: no more bytes will arrive
  tcp_reset,           ///< the connection is gone (`error` reset / timeout): its fifos are the worker's
  tcp_released,        ///< after tcp_close or tcp_abort: the core is done with the fifos
  tcp_unlistened,      ///< after tcp_unlisten (`session`: the listen's cookie): nothing more is carved for it
  tcp_state,           ///< the connection moved to RFC state `bytes` (tcp::state) while its session holds it
  /// The answer to tcp_info `session` (its cookie): `info_out` written, or
  /// `error` invalid_session (the connection is gone).
  tcp_info,
};

struct event {
  event_kind kind = event_kind::rx;
  std::uint32_t id = 0;
  std::uint64_t session = 0;
  std::uint32_t bytes = 0;
  std::uint32_t core = 0;  ///< seen, taken
  std::uint32_t generation = 0;  ///< tcp_*: with `id`, the engine's connection
  errc error = errc::none;       ///< tcp_connect_failed, tcp_reset
  shm::fifo rx{};                ///< tcp_established
  shm::fifo tx{};                ///< tcp_established
  std::uint32_t local_ip = 0;    ///< tcp_established
  std::uint32_t remote_ip = 0;   ///< tcp_established
  std::uint16_t local_port = 0;  ///< tcp_established
  std::uint16_t remote_port = 0; ///< tcp_established
};

/// Wakes a worker whose event ring went non-empty. Called from a core's
/// thread; must not block.
class doorbell {
 public:
  virtual ~doorbell() = default;
  virtual void ring() noexcept = 0;
};

/// One SPSC ring. The consumer arms the doorbell when it found the ring
/// empty; the producer rings only if it disarms it, so a wake-up is never
/// lost and never repeated per item:
///   consumer: drain; arm(); if (!empty() && disarm()) drain again.
///   producer: push; if (disarm()) ring.
template <class T>
class channel {
 public:
  explicit channel(std::size_t capacity) : ring_(capacity) { fault_in(ring_, capacity); }

  bool push(const T& x) noexcept { return ring_.push(x); }
  bool pop(T& x) noexcept { return ring_.pop(x); }
  bool empty() const noexcept { return ring_.read_available() == 0; }
  std::size_t size() const noexcept { return ring_.read_available(); }

  void arm() noexcept { armed_.store(true, std::memory_order_seq_cst); }
  bool disarm() noexcept { return armed_.exchange(false, std::memory_order_seq_cst); }

 private:
  boost::lockfree::spsc_queue<T> ring_;
  std::atomic<bool> armed_{true};
};

}  // namespace actorstack::dataplane
