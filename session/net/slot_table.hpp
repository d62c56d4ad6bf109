#pragma once
/// \file
/// Connections of a transport by index: a freed slot is reused, so an index
/// stays small and a stale event names a slot that may hold another
/// connection now (the transports compare what the slot holds).

#include "base/paged_vector.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace actorstack::net {

template <class T>
class slot_table {
 public:
  /// A slot holding a fresh T; returns its index.
  std::uint32_t alloc() {
    ++live_;
    if (!free_.empty()) {
      const std::uint32_t id = free_.back();
      free_.pop_back();
      items_[id] = T{};
      return id;
    }
    items_.emplace_back();
    return static_cast<std::uint32_t>(items_.size() - 1);
  }
  /// The slot holds a fresh T again and may be handed out.
  void free(std::uint32_t id) {
    items_[id] = T{};
    free_.push_back(id);
    --live_;
  }
  T& operator[](std::uint32_t id) { return items_[id]; }
  const T& operator[](std::uint32_t id) const { return items_[id]; }
  /// Slots ever made: every valid index is below it.
  std::size_t size() const noexcept { return items_.size(); }
  /// Slots in use.
  std::size_t live() const noexcept { return live_; }

 private:
  paged_vector<T> items_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
};

}  // namespace actorstack::net
