#pragma once
/// \file
/// The stack's private record of its end of a fifo that another process
/// shares (an attached app's rx and tx fifos, which the data plane fills
/// and drains).
///
/// A fifo's cursors live in shared memory, so the other process can write
/// both. The fifo itself stays memory-safe whatever they hold (shm/fifo.cpp
/// bounds every walk); this record is what lets the stack *notice*: it
/// keeps, in its own memory, where it left its own cursor, the furthest the
/// other side's cursor has been seen, and the fifo's size ceiling as it was
/// when the stack took the fifo. A fifo whose shared cursors disagree with
/// that is inconsistent — its session is reset and the app's
/// `shm_violations` counted (docs/behaviour.md §2.14) — instead of the
/// stack carrying on with cursors the app chose.
///
/// Cost on the data path: two loads of cache lines the operation touches
/// anyway and a few compares, per burst.

#include "shm/fifo.hpp"

#include <cstdint>

namespace actorstack::shm {

class private_end {
 public:
  enum class side : std::uint8_t { producer, consumer };

  /// Not yet taken: the first check() takes the fifo as it finds it then.
  explicit private_end(side s) noexcept : side_(s) {}
  /// Takes the fifo as it is now: call before the other process may touch it.
  private_end(const fifo& f, side s) noexcept
      : own_(own_cursor(f, s)), peer_(own_cursor(f, s == side::producer ? side::consumer : side::producer)),
        ceiling_(f.max_size()), side_(s), taken_(true) {}

  /// Are the shared cursors where this end can account for? Own cursor
  /// exactly where this end left it; the other side's never moved backwards
  /// and never past this end (a consumer's head beyond the producer's tail,
  /// or more queued than the fifo can ever hold). Remembers the other
  /// side's cursor when they are.
  bool check(const fifo& f) noexcept {
    if (!taken_) {
      *this = private_end{f, side_};
      return true;
    }
    if (own_cursor(f) != own_) return false;
    const std::uint64_t peer = peer_cursor(f);
    if (peer - peer_ > half_range) return false;  // went backwards (positions wrap modulo 2^64)
    const std::uint64_t queued = side_ == side::producer ? own_ - peer : peer - own_;
    if (queued > ceiling_) return false;
    peer_ = peer;
    return true;
  }

  /// This end moved its own cursor (an enqueue, a dequeue, a drop): remember
  /// where it is now.
  void moved(const fifo& f) noexcept { own_ = own_cursor(f); }

  /// The cursor this end left, as this end knows it.
  std::uint64_t own() const noexcept { return own_; }

 private:
  static constexpr std::uint64_t half_range = std::uint64_t{1} << 63;

  static std::uint64_t own_cursor(const fifo& f, side s) noexcept {
    return s == side::producer ? f.tail_position() : f.head_position();
  }
  std::uint64_t own_cursor(const fifo& f) const noexcept { return own_cursor(f, side_); }
  std::uint64_t peer_cursor(const fifo& f) const noexcept {
    return side_ == side::producer ? f.head_position() : f.tail_position();
  }

  // Widest first: 24 bytes, one per fifo end in every connection.
  std::uint64_t own_ = 0;
  std::uint64_t peer_ = 0;
  std::uint32_t ceiling_ = 0;
  side side_ = side::producer;
  bool taken_ = false;
};

}  // namespace actorstack::shm
