#pragma once
/// \file
/// A bounded multi-producer single-consumer ring of fixed-size elements,
/// laid out entirely inside caller-provided memory (a segment shared
/// between processes, mapped anywhere): no pointers inside, only indices.
///
/// Each slot carries a sequence number (the Vyukov scheme): slot i is free
/// for the producer at position p when seq == p, readable when seq == p+1,
/// and the consumer frees it by setting seq = p + capacity. A producer
/// claims a position with one CAS on the shared cursor and never waits: a
/// full ring is `queue_full`, and losing the CAS race more than
/// `max_attempts` times is `queue_contended` (SPEC §3's "could not lock").

#include <actorstack/result.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <type_traits>

namespace actorstack::shm {

template <class T>
class event_ring {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  static constexpr int max_attempts = 64;

  static std::size_t required_bytes(std::size_t capacity) noexcept {
    return sizeof(header) + capacity * sizeof(slot);
  }

  /// Lays out a ring of `capacity` (a power of two >= 2) slots in `mem`
  /// (64-byte aligned, at least required_bytes). Errors: invalid_argument.
  static result<event_ring> create(void* mem, std::size_t bytes, std::size_t capacity) {
    if (capacity < 2 || (capacity & (capacity - 1)) != 0)
      return unexpected{errc::invalid_argument, "ring capacity must be a power of two >= 2"};
    if (reinterpret_cast<std::uintptr_t>(mem) % 64 != 0)
      return unexpected{errc::invalid_argument, "ring memory must be 64-byte aligned"};
    if (bytes < required_bytes(capacity))
      return unexpected{errc::invalid_argument, "ring memory too small"};
    auto* h = new (mem) header{};
    h->capacity = capacity;
    auto* slots = reinterpret_cast<slot*>(h + 1);
    for (std::size_t i = 0; i < capacity; ++i) {
      new (&slots[i]) slot{};
      slots[i].seq.store(i, std::memory_order_relaxed);
    }
    h->magic = magic_value;  // last: an attacher only trusts a finished ring
    return event_ring{h, capacity};
  }

  /// Views a ring another thread or process created in `mem`.
  /// Errors: bad_layout.
  static result<event_ring> attach(void* mem, std::size_t bytes) {
    if (bytes < sizeof(header) || reinterpret_cast<std::uintptr_t>(mem) % 64 != 0)
      return unexpected{errc::bad_layout, "ring memory too small or misaligned"};
    auto* h = static_cast<header*>(mem);
    // The capacity is another process's word: compared by division, so a
    // huge one cannot wrap the size it implies.
    const std::uint64_t capacity = h->capacity;
    if (h->magic != magic_value || h->elem_size != sizeof(T) || capacity < 2 || (capacity & (capacity - 1)) != 0 ||
        capacity > (bytes - sizeof(header)) / sizeof(slot))
      return unexpected{errc::bad_layout, "not an event ring of this element type"};
    return event_ring{h, capacity};
  }

  event_ring() noexcept = default;

  std::size_t capacity() const noexcept { return capacity_; }

  /// Errors: queue_full, queue_contended.
  result<void> push(const T& value) noexcept {
    std::uint64_t pos = hdr_->enqueue.load(std::memory_order_relaxed);
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
      slot& s = at(pos);
      const std::uint64_t seq = s.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::int64_t>(seq - pos);
      if (diff == 0) {
        if (hdr_->enqueue.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          s.value = value;
          s.seq.store(pos + 1, std::memory_order_release);
          return {};
        }
      } else if (diff < 0) {
        return unexpected{errc::queue_full};
      } else {
        pos = hdr_->enqueue.load(std::memory_order_relaxed);
      }
    }
    return unexpected{errc::queue_contended};
  }

  /// Pushes as many of `values` as fit, claiming them with one CAS; returns
  /// how many (0 when full or contended).
  std::size_t push_batch(std::span<const T> values) noexcept {
    if (values.empty()) return 0;
    std::uint64_t pos = hdr_->enqueue.load(std::memory_order_relaxed);
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
      const std::uint64_t head = hdr_->dequeue.load(std::memory_order_acquire);
      const std::uint64_t used = pos - head;
      if (used > capacity_) {  // stale cursor read: retry
        pos = hdr_->enqueue.load(std::memory_order_relaxed);
        continue;
      }
      const std::size_t n = std::min<std::size_t>(values.size(), capacity_ - used);
      if (n == 0) return 0;
      // The single consumer frees slots in order, so if the batch's last
      // slot is free for this round, all before it are.
      if (at(pos + n - 1).seq.load(std::memory_order_acquire) != pos + n - 1) {
        pos = hdr_->enqueue.load(std::memory_order_relaxed);
        continue;
      }
      if (!hdr_->enqueue.compare_exchange_weak(pos, pos + n, std::memory_order_relaxed)) continue;
      for (std::size_t i = 0; i < n; ++i) {
        slot& s = at(pos + i);
        s.value = values[i];
        s.seq.store(pos + i + 1, std::memory_order_release);
      }
      return n;
    }
    return 0;
  }

  /// Consumer only.
  bool try_pop(T& out) noexcept {
    const std::uint64_t pos = hdr_->dequeue.load(std::memory_order_relaxed);
    slot& s = at(pos);
    if (s.seq.load(std::memory_order_acquire) != pos + 1) return false;
    out = s.value;
    s.seq.store(pos + capacity_, std::memory_order_release);
    hdr_->dequeue.store(pos + 1, std::memory_order_release);
    return true;
  }

  /// Consumer only: pops up to out.size() events in order.
  std::size_t pop_batch(std::span<T> out) noexcept {
    const std::uint64_t pos = hdr_->dequeue.load(std::memory_order_relaxed);
    std::size_t n = 0;
    while (n < out.size()) {
      slot& s = at(pos + n);
      if (s.seq.load(std::memory_order_acquire) != pos + n + 1) break;
      out[n] = s.value;
      s.seq.store(pos + n + capacity_, std::memory_order_release);
      ++n;
    }
    if (n > 0) hdr_->dequeue.store(pos + n, std::memory_order_release);
    return n;
  }

  /// Claimed positions not yet consumed (approximate while producers run).
  std::size_t size_approx() const noexcept {
    return hdr_->enqueue.load(std::memory_order_acquire) -
           hdr_->dequeue.load(std::memory_order_acquire);
  }
  /// True when the consumer would find nothing published at its position.
  bool empty() const noexcept {
    const std::uint64_t pos = hdr_->dequeue.load(std::memory_order_relaxed);
    return at(pos).seq.load(std::memory_order_acquire) != pos + 1;
  }

 private:
  static constexpr std::uint32_t magic_value = 0x41534552;  // "ASER"
  struct header {
    std::uint32_t magic = 0;
    std::uint32_t elem_size = sizeof(T);
    std::uint64_t capacity = 0;
    alignas(64) std::atomic<std::uint64_t> enqueue{0};  // producers
    alignas(64) std::atomic<std::uint64_t> dequeue{0};  // the consumer
  };
  struct slot {
    std::atomic<std::uint64_t> seq{0};
    T value{};
  };
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

  // The capacity is read from shared memory once, when validated: another
  // process may scribble over the header later (a misbehaving app), and
  // indices masked with its value must still land inside this mapping.
  event_ring(header* h, std::uint64_t capacity) noexcept : hdr_(h), capacity_(capacity) {}
  slot& at(std::uint64_t pos) const noexcept {
    return reinterpret_cast<slot*>(hdr_ + 1)[pos & (capacity_ - 1)];
  }

  header* hdr_ = nullptr;
  std::uint64_t capacity_ = 0;
};

}  // namespace actorstack::shm
