#pragma once
/// \file
/// `fifo_ref`: one of a session's shared-memory fifos as the public API
/// carries it (in `session` and in the notifications an app worker gets).
/// Opaque and trivially copyable: the stack's shared-memory layer, which is
/// not part of the public API, says what it holds and reads and writes
/// through it. Applications use `session`'s calls, never a fifo directly.

#include <cstddef>

namespace actorstack {

class fifo_ref {
 public:
  /// Bytes of the stack's fifo handle this holds (checked where it is made).
  static constexpr std::size_t storage_size = 16;

  /// Names no fifo.
  constexpr fifo_ref() noexcept = default;

  /// True once it names a fifo.
  bool valid() const noexcept {
    for (std::byte b : raw_)
      if (b != std::byte{0}) return true;
    return false;
  }

 private:
  friend struct fifo_ref_access;  // the shared-memory layer (shm/fifo.hpp)
  alignas(8) std::byte raw_[storage_size]{};
};

}  // namespace actorstack
