#include "client/sock_table.hpp"

#include <algorithm>

namespace actorstack::client::detail {

sock sock_table::add() {
  sock id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<sock>(socks_.size());
    socks_.emplace_back();
  }
  socks_[id] = sock_state{};
  socks_[id].used = true;
  return id;
}

void sock_table::release(sock id) {
  socks_[id] = sock_state{};
  free_.push_back(id);
}

void sock_table::forget(sock id) {
  auto it = by_handle_.find(socks_[id].handle.value());
  if (it != by_handle_.end() && it->second == id) by_handle_.erase(it);
  release(id);
}

sock_state* sock_table::find(sock id) {
  if (id < 0 || static_cast<std::size_t>(id) >= socks_.size() || !socks_[id].used) return nullptr;
  return &socks_[id];
}

sock_state* sock_table::by(session_handle h) {
  auto s = sock_of(h);
  return s ? find(*s) : nullptr;
}

std::optional<sock> sock_table::sock_of(session_handle h) const {
  auto it = by_handle_.find(h.value());
  if (it == by_handle_.end()) return std::nullopt;
  return it->second;
}

std::size_t sock_table::open() const {
  return static_cast<std::size_t>(std::count_if(socks_.begin(), socks_.end(), [](const sock_state& s) { return s.used; }));
}

}  // namespace actorstack::client::detail
