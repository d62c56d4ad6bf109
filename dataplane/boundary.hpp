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

#include <boost/lockfree/spsc_queue.hpp>

#include <atomic>
#include <cstdint>

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
  std::uint32_t local_ip = 0;   ///< host order; 0 = any of ours (listeners)
  std::uint32_t remote_ip = 0;  ///< connected only
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  bool connected = false;
};

enum class command_kind : std::uint8_t {
  add,     ///< install `binding` (owned here if binding.core is this core, else forwarding)
  remove,  ///< uninstall (id, worker); the owner answers event_kind::removed
  tx,      ///< the app queued datagrams on (id, worker): send them
  /// Owner only: hand (id, worker) to core `to_core` under the key
  /// (new_worker, new_id) and session `new_session`. This core keeps a
  /// forwarding entry; the new owner answers event_kind::taken to new_worker.
  move,
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
};

struct event {
  event_kind kind = event_kind::rx;
  std::uint32_t id = 0;
  std::uint64_t session = 0;
  std::uint32_t bytes = 0;
  std::uint32_t core = 0;  ///< seen, taken
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
  explicit channel(std::size_t capacity) : ring_(capacity) {}

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
