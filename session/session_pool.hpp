#pragma once
/// \file
/// One worker's sessions. Slots are reused; each reuse bumps the slot's
/// generation so a stale handle is detected, never aliased (SPEC §1, §9.1);
/// a slot whose generation would wrap is retired, never reused.
/// References stay valid across allocations (deque storage), so code may
/// hold a `session&` while it allocates another.

#include "session/session.hpp"

#include <deque>
#include <vector>

namespace actorstack::session_layer {

class session_pool {
 public:
  explicit session_pool(std::uint32_t worker) noexcept : worker_(worker) {}

  /// A fresh session in state `created` with a new handle.
  session& alloc();
  /// The live session `h` names, or nullptr when `h` is invalid, belongs to
  /// another worker, names a free slot, or carries an old generation.
  session* get(session_handle h) noexcept;
  const session* get(session_handle h) const noexcept;
  /// Returns the slot; its handle stops resolving.
  void free(session& s) noexcept;

  std::size_t live() const noexcept { return live_; }
  /// Slots retired because their generation ran out.
  std::uint64_t retired() const noexcept { return retired_; }
  std::uint32_t worker() const noexcept { return worker_; }

  template <class Fn>
  void for_each(Fn&& fn) {
    for (auto& slot : slots_)
      if (slot.live) fn(slot.s);
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const auto& slot : slots_)
      if (slot.live) fn(slot.s);
  }

 private:
  struct slot {
    session s;
    std::uint32_t generation = 0;
    bool live = false;
  };
  std::uint32_t worker_;
  std::deque<slot> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
  std::uint64_t retired_ = 0;
};

}  // namespace actorstack::session_layer
