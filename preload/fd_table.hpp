#pragma once
// Which fds are the stack's: one slot per fd number. The number itself is
// a real kernel fd (a placeholder eventfd the preload holds open), so no
// kernel fd the program opens can ever take it. "Is this fd the stack's"
// is one atomic load — every call on every fd asks it, also from threads
// inside the preload's own waits, so it never takes the lock; what a slot
// holds is read and changed only under the stack link's lock.

#include "preload/stack_socket.hpp"

#include <array>
#include <atomic>
#include <memory>

namespace actorstack::preload {

class fd_table {
 public:
  /// Fds at or above this are never the stack's (socket() fails with
  /// EMFILE rather than hand out one the table cannot hold).
  static constexpr int capacity = 1 << 16;

  bool is_stack(int fd) const noexcept {
    return fd >= 0 && fd < capacity && stack_[static_cast<std::size_t>(fd)].load(std::memory_order_acquire);
  }
  /// The socket `fd` names, or nullptr.
  std::shared_ptr<stack_socket> get(int fd) const {
    if (!is_stack(fd)) return nullptr;
    return sockets_[static_cast<std::size_t>(fd)].load(std::memory_order_acquire);
  }
  /// `fd` names `s` from now on.
  void put(int fd, std::shared_ptr<stack_socket> s) {
    sockets_[static_cast<std::size_t>(fd)].store(std::move(s), std::memory_order_release);
    stack_[static_cast<std::size_t>(fd)].store(true, std::memory_order_release);
  }
  /// `fd` no longer names a stack socket; returns what it named.
  std::shared_ptr<stack_socket> take(int fd) {
    if (!is_stack(fd)) return nullptr;
    stack_[static_cast<std::size_t>(fd)].store(false, std::memory_order_release);
    return sockets_[static_cast<std::size_t>(fd)].exchange(nullptr, std::memory_order_acq_rel);
  }
  template <class F>
  void for_each(F&& f) {
    for (int fd = 0; fd < capacity; ++fd)
      if (auto s = get(fd)) f(fd, s);
  }

 private:
  std::array<std::atomic<bool>, capacity> stack_{};
  std::array<std::atomic<std::shared_ptr<stack_socket>>, capacity> sockets_;
};

}  // namespace actorstack::preload
