// The per-core timer wheel (see timer_wheel.hpp).

#include "dataplane/tcp/timer_wheel.hpp"

#include <bit>

namespace actorstack::tcp {

timer_wheel::timer_wheel(std::uint32_t tick_us, std::uint32_t slots, std::uint64_t now_us)
    : tick_us_(tick_us == 0 ? 1 : tick_us),
      mask_(std::bit_ceil(slots < 2 ? 2u : slots) - 1),
      now_tick_(now_us / tick_us_),
      heads_(mask_ + 1, none) {}

void timer_wheel::reserve(std::size_t n) {
  nodes_.grow_to(n);
}

void timer_wheel::link(timer_id id) noexcept {
  node& n = nodes_[id];
  std::uint32_t& head = heads_[n.when & mask_];
  n.prev = none;
  n.next = head;
  if (head != none) nodes_[head].prev = id;
  head = id;
  ++armed_;
}

void timer_wheel::unlink(timer_id id) noexcept {
  node& n = nodes_[id];
  if (n.prev != none) nodes_[n.prev].next = n.next;
  else heads_[n.when & mask_] = n.next;
  if (n.next != none) nodes_[n.next].prev = n.prev;
  n.prev = unarmed;
  n.next = none;
  --armed_;
}

void timer_wheel::arm(timer_id id, std::uint64_t when_us) noexcept {
  if (nodes_[id].armed()) unlink(id);
  std::uint64_t t = (when_us + tick_us_ - 1) / tick_us_;
  if (t <= now_tick_) t = now_tick_ + 1;  // the next advance looks at this slot
  if (t - now_tick_ > max_ahead_ticks) t = now_tick_ + max_ahead_ticks;
  nodes_[id].when = static_cast<std::uint32_t>(t);
  link(id);
}

void timer_wheel::cancel(timer_id id) noexcept {
  if (id < nodes_.size() && nodes_[id].armed()) unlink(id);
}

void timer_wheel::advance(std::uint64_t now_us, std::vector<timer_id>& expired) {
  const std::uint64_t target = now_us / tick_us_;
  if (target <= now_tick_) return;
  // A jump of more than one turn visits every slot once; what is due is
  // found by its expiry, not by the slot it sits in.
  const std::uint64_t steps = target - now_tick_ > mask_ + 1 ? mask_ + 1 : target - now_tick_;
  for (std::uint64_t s = 1; s <= steps; ++s) {
    std::uint32_t id = heads_[(now_tick_ + s) & mask_];
    while (id != none) {
      const std::uint32_t next = nodes_[id].next;
      // Due: at or before `target`, modulo 2^32 (both are within 2^31).
      if (static_cast<std::int32_t>(nodes_[id].when - static_cast<std::uint32_t>(target)) <= 0) {
        unlink(id);
        expired.push_back(id);
      }
      id = next;
    }
  }
  now_tick_ = target;
}

}  // namespace actorstack::tcp
