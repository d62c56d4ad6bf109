#pragma once
/// \file
/// One worker's sessions. Slots are reused; each reuse bumps the slot's
/// generation so a stale handle is detected, never aliased (SPEC §1, §9.1);
/// a slot whose generation would wrap is retired, never reused.
/// References stay valid across allocations (pages, never moved), so code
/// may hold a `session&` while it allocates another.

#include "base/paged_vector.hpp"
#include "session/session.hpp"

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
    for (std::size_t i = 0; i < sessions_.size(); ++i)
      if (slots_[i].live) fn(sessions_[i]);
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (std::size_t i = 0; i < sessions_.size(); ++i)
      if (slots_[i].live) fn(sessions_[i]);
  }

 private:
  // Beside the sessions, not in them: a slot's generation outlives the
  // session it held. Four bytes a slot (the deque of {session, generation,
  // live} it replaced rounded each to 128).
  struct slot {
    std::uint32_t generation : session_handle::generation_bits = 0;
    std::uint32_t live : 1 = 0;
  };
  std::uint32_t worker_;
  paged_vector<session> sessions_;  // by index
  std::vector<slot> slots_;         // by index
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
  std::uint64_t retired_ = 0;
};

}  // namespace actorstack::session_layer
