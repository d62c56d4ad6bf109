#pragma once
/// \file
/// Where an app worker keeps its `session` objects, by handle.
///
/// One per connection, held as long as the connection is, so its cost is
/// per idle connection (issue 19's memory target): sessions live in pages
/// (`paged_vector`, never moved, so the address a handler got stays good),
/// found by handle through an open-addressed index of 8-byte entries
/// (`hashed_index`). A std::unordered_map of unique_ptrs paid a heap
/// allocation with its header, a node and a bucket on top of each session,
/// and a pointer chase on each lookup — and the app worker looks one up
/// for every burst a core says arrived. A page slot is raw storage for
/// one session, its liveness a bit beside it (a std::optional's flag
/// padded each slot by 8 bytes). Owned by one app worker; not thread-safe.

#include <actorstack/session.hpp>

#include "base/hashed_index.hpp"
#include "base/paged_vector.hpp"

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

namespace actorstack {

class app_session_store {
 public:
  app_session_store() = default;
  app_session_store(const app_session_store&) = delete;
  app_session_store& operator=(const app_session_store&) = delete;
  ~app_session_store() {
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot)
      if (live_[slot]) at(slot).~session();
  }

  /// The session under `h`, or nullptr.
  session* find(session_handle h) noexcept {
    const std::uint32_t slot = slot_of(h);
    return slot == hashed_index::none ? nullptr : &at(slot);
  }

  /// A new session(h, args...), in place of any held under `h`; its address
  /// stays good until it is erased.
  template <class... Args>
  session& emplace(session_handle h, Args&&... args) {
    erase(h);
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
      live_.push_back(false);
    }
    session* s = ::new (static_cast<void*>(slots_[slot].bytes)) session(h, std::forward<Args>(args)...);
    live_[slot] = true;
    index_.insert(hash(h), slot);
    return *s;
  }

  /// Destroys the session under `h`, if any.
  void erase(session_handle h) noexcept {
    const std::uint32_t slot = slot_of(h);
    if (slot == hashed_index::none) return;
    index_.erase(hash(h), slot);
    at(slot).~session();
    live_[slot] = false;
    free_.push_back(slot);
  }

  /// Files the session under `from` as `to` instead, and returns it (or
  /// nullptr: none held) for the caller to rename.
  session* rekey(session_handle from, session_handle to) {
    const std::uint32_t slot = slot_of(from);
    if (slot == hashed_index::none) return nullptr;
    index_.erase(hash(from), slot);
    index_.insert(hash(to), slot);
    return &at(slot);
  }

  /// Calls f(session&) for every session held.
  template <class F>
  void for_each(F&& f) {
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot)
      if (live_[slot]) f(at(slot));
  }
  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot)
      if (live_[slot]) f(at(slot));
  }

  /// Destroys every session held (the pages stay for the next ones).
  void clear() noexcept {
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot)
      if (live_[slot]) erase(at(slot).handle());
  }

  std::size_t size() const noexcept { return index_.size(); }

 private:
  // Handles count up inside a worker: mixed before their low bits file them.
  static std::uint64_t hash(session_handle h) noexcept { return hashed_index::mix(h.value()); }
  std::uint32_t slot_of(session_handle h) const noexcept {
    return index_.find(hash(h), [&](std::uint32_t i) { return at(i).handle() == h; });
  }
  session& at(std::uint32_t slot) noexcept { return *std::launder(reinterpret_cast<session*>(slots_[slot].bytes)); }
  const session& at(std::uint32_t slot) const noexcept {
    return *std::launder(reinterpret_cast<const session*>(slots_[slot].bytes));
  }

  struct storage {
    alignas(session) std::byte bytes[sizeof(session)];
  };
  paged_vector<storage> slots_;
  std::vector<bool> live_;  // by slot: holds a session
  std::vector<std::uint32_t> free_;
  hashed_index index_;  // handle -> slot
};

}  // namespace actorstack
