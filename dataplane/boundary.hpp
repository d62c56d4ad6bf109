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
struct udp_binding {
  std::uint32_t id = 0;
  std::uint32_t worker = 0;
  std::uint64_t session = 0;  ///< session_handle::value() of its session
  shm::fifo rx;               ///< the core produces (datagrams in)
  shm::fifo tx;               ///< the core consumes (datagrams out)
  std::uint32_t local_ip = 0;   ///< host order; 0 = any of ours (listeners)
  std::uint32_t remote_ip = 0;  ///< connected only
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  bool connected = false;
};

enum class command_kind : std::uint8_t {
  add,     ///< install `binding`
  remove,  ///< uninstall (id, worker); answered by event_kind::removed
  tx,      ///< the app queued datagrams on (id, worker): send them
};

struct command {
  command_kind kind = command_kind::tx;
  std::uint32_t id = 0;
  std::uint32_t worker = 0;
  udp_binding binding;  ///< add only
};

enum class event_kind : std::uint8_t {
  rx,        ///< datagrams were queued on `session`'s rx fifo (coalesced by its event flag)
  tx_space,  ///< the core sent `bytes` from a tx fifo whose producer asked to hear it
  removed,   ///< the core let go of (id): its fifos are the worker's again
  add_failed,  ///< an add was refused (the 5-tuple or listener is taken)
};

struct event {
  event_kind kind = event_kind::rx;
  std::uint32_t id = 0;
  std::uint64_t session = 0;
  std::uint32_t bytes = 0;
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
