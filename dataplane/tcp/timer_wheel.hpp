#pragma once
/// \file
/// One timer wheel per data-plane core (SPEC-TCP 1.4). A timer is named by
/// a dense id (connection index * timers per connection + kind) that the
/// owner chooses; the wheel keeps one intrusive node per id, grown when
/// the owner grows its table, so arming, re-arming and cancelling never
/// allocate. Ticks are whole units of `tick` microseconds; a timer further
/// out than one turn of the wheel stays in its slot until its turn comes.
/// A node is 12 bytes (one per timer of every connection): its expiry is
/// kept as the tick count modulo 2^32 and compared with wrap-around, so a
/// timer is armed at most `max_ahead_ticks` out (later: clamped there) and
/// the owner advances the wheel more often than every 2^31 ticks.

#include "base/paged_vector.hpp"

#include <cstdint>
#include <vector>

namespace actorstack::tcp {

class timer_wheel {
 public:
  using timer_id = std::uint32_t;
  static constexpr std::uint32_t none = 0xffffffffu;

  /// `slots` is rounded up to a power of two; `tick_us` > 0.
  explicit timer_wheel(std::uint32_t tick_us = 1000, std::uint32_t slots = 1024, std::uint64_t now_us = 0);

  /// Makes ids [0, n) usable (only grows; call before arming such an id).
  void reserve(std::size_t n);
  /// Arms (or re-arms) `id` to fire at `when_us` (rounded up to a tick;
  /// a time already past fires at the next advance).
  void arm(timer_id id, std::uint64_t when_us) noexcept;
  void cancel(timer_id id) noexcept;
  bool armed(timer_id id) const noexcept { return id < nodes_.size() && nodes_[id].armed(); }

  /// Moves time to `now_us` and appends to `expired` every timer due by
  /// then (disarmed, in expiry order within a slot). The caller fires them
  /// afterwards, so a handler may arm or cancel any timer.
  void advance(std::uint64_t now_us, std::vector<timer_id>& expired);

  std::size_t armed_count() const noexcept { return armed_; }
  std::uint32_t tick_us() const noexcept { return tick_us_; }

  static constexpr std::uint32_t max_ahead_ticks = 1u << 30;

 private:
  /// `prev` of a node on no list: an armed node's is an id or `none`.
  static constexpr std::uint32_t unarmed = 0xfffffffeu;
  // 16 bytes, three per TCP connection: the flag lives in `prev`.
  struct node {
    std::uint32_t prev = unarmed;
    std::uint32_t next = none;
    std::uint32_t when = 0;  // in ticks, modulo 2^32
    bool armed() const noexcept { return prev != unarmed; }
  };
  void link(timer_id id) noexcept;
  void unlink(timer_id id) noexcept;

  std::uint32_t tick_us_;
  std::uint32_t mask_;
  std::uint64_t now_tick_;  // every slot up to here was processed
  std::vector<std::uint32_t> heads_;
  paged_vector<node> nodes_;
  std::size_t armed_ = 0;
};

}  // namespace actorstack::tcp
