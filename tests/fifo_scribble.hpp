#pragma once
// What a hostile process can do to a fifo it shares: write its cursors
// directly, as raw words in the segment, bypassing every fifo call.
#include "shm/fifo.hpp"
#include "shm/fifo_layout.hpp"

#include <cstdint>

namespace actorstack::test {

enum class cursor { head, tail };

inline void scribble_cursor(const shm::fifo& f, cursor which, std::uint64_t value) {
  auto* h = reinterpret_cast<shm::detail::fifo_header*>(const_cast<std::byte*>(f.segment_base()) + f.offset());
  (which == cursor::head ? h->head : h->tail).store(value, std::memory_order_release);
}

}  // namespace actorstack::test
