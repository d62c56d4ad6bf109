#pragma once
/// \file
/// An application's (or worker's) event queue: an io ring of 16-byte
/// events and a control ring of 256-byte events in one memory region (a
/// memfd segment, so another process can map it, or process memory), plus
/// an eventfd the consumer can wait on — epoll-able, so it fits a caller's
/// own loop.
///
/// Doorbell rule: producers write the eventfd only when the consumer said
/// it is about to sleep (the "armed" flag in shared memory), never per
/// event. The consumer arms, re-checks both rings, and sleeps only if they
/// are still empty; a producer publishes its event, then takes the flag
/// (exchange to 0) and rings if it was set. Full fences on both sides make
/// this a Dekker handshake: either the consumer sees the event, or the
/// producer sees the flag — a wake-up is never lost. A producer never waits.

#include "shm/event.hpp"
#include "shm/event_ring.hpp"

#include <actorstack/result.hpp>

#include <chrono>
#include <cstddef>
#include <span>

namespace actorstack::shm {

struct event_queue_config {
  std::size_t io_capacity = 2048;   ///< SPEC 8 default
  std::size_t ctrl_capacity = 1024; ///< SPEC 8: half the io length
};

class event_queue {
 public:
  static std::size_t required_bytes(const event_queue_config& cfg) noexcept;

  /// Lays the queue out in `mem` (64-byte aligned) and creates its
  /// eventfd. Errors: invalid_argument (capacities, size, alignment),
  /// system (eventfd, with errno).
  static result<event_queue> create(void* mem, std::size_t bytes, const event_queue_config& cfg);
  /// Views a queue created elsewhere; duplicates `eventfd` (the caller
  /// keeps its own). Errors: bad_layout, system.
  static result<event_queue> attach(void* mem, std::size_t bytes, int eventfd);

  event_queue() noexcept = default;
  event_queue(event_queue&& other) noexcept;
  event_queue& operator=(event_queue&& other) noexcept;
  event_queue(const event_queue&) = delete;
  event_queue& operator=(const event_queue&) = delete;
  ~event_queue();

  // ---- producers (any thread, any process) ------------------------------
  /// Errors: queue_full, queue_contended.
  result<void> post_io(const io_event& ev) noexcept;
  /// Posts as many as fit with one claim and one doorbell; returns how many.
  std::size_t post_io_batch(std::span<const io_event> evs) noexcept;
  /// Errors: queue_full, queue_contended.
  result<void> post_ctrl(const ctrl_event& ev) noexcept;

  // ---- the consumer ----------------------------------------------------------
  bool try_pop_io(io_event& out) noexcept { return io_.try_pop(out); }
  std::size_t pop_io_batch(std::span<io_event> out) noexcept { return io_.pop_batch(out); }
  bool try_pop_ctrl(ctrl_event& out) noexcept { return ctrl_.try_pop(out); }
  bool empty() const noexcept { return io_.empty() && ctrl_.empty(); }

  /// The fd to put in epoll; readable after a doorbell.
  int eventfd() const noexcept { return fd_; }
  /// Declares the consumer is going to sleep. False when something is
  /// already queued (then the caller must not sleep; the flag is cleared).
  bool prepare_wait() noexcept;
  /// Drains the eventfd counter once epoll said it is readable, and
  /// disarms.
  void consume_wakeup() noexcept;
  /// Arms, re-checks, waits up to `timeout` on the eventfd. True when
  /// events may be available, false on timeout. Errors: system.
  result<bool> wait(std::chrono::milliseconds timeout) noexcept;

  std::size_t io_capacity() const noexcept { return io_.capacity(); }
  std::size_t ctrl_capacity() const noexcept { return ctrl_.capacity(); }
  /// Doorbells this producer side has rung (for tests and counters).
  std::uint64_t doorbells() const noexcept;

 private:
  struct header;
  event_queue(header* h, event_ring<io_event> io, event_ring<ctrl_event> ctrl, int fd) noexcept
      : hdr_(h), io_(io), ctrl_(ctrl), fd_(fd) {}
  void ring_doorbell() noexcept;

  header* hdr_ = nullptr;
  event_ring<io_event> io_{};
  event_ring<ctrl_event> ctrl_{};
  int fd_ = -1;
};

}  // namespace actorstack::shm
