#include "session/session_pool.hpp"

namespace actorstack::session_layer {

session& session_pool::alloc() {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
    sessions_.emplace_back();
  }
  slot& sl = slots_[index];
  sl.live = 1;
  session& s = sessions_[index];  // fresh: new, or reset by free()
  s.handle = session_handle{worker_, index, sl.generation};
  ++live_;
  return s;
}

session* session_pool::get(session_handle h) noexcept {
  return const_cast<session*>(static_cast<const session_pool*>(this)->get(h));
}

const session* session_pool::get(session_handle h) const noexcept {
  if (!h.valid() || h.worker() != worker_ || h.index() >= slots_.size()) return nullptr;
  const slot& sl = slots_[h.index()];
  if (!sl.live || sl.generation != h.generation()) return nullptr;
  return &sessions_[h.index()];
}

void session_pool::free(session& s) noexcept {
  const std::uint32_t index = s.handle.index();
  if (index >= slots_.size() || &sessions_[index] != &s) return;  // not ours
  slot& sl = slots_[index];
  if (!sl.live) return;
  sl.live = 0;
  sl.generation = (sl.generation + 1) & session_handle::generation_mask;
  s = session{};
  --live_;
  // A generation that wrapped would make a handle from 2^24 reuses ago
  // name the slot's next session: the slot retires instead (a few hundred
  // bytes per 16 million sessions of one slot).
  if (sl.generation == 0) {
    ++retired_;
    return;
  }
  free_.push_back(index);
}

}  // namespace actorstack::session_layer
