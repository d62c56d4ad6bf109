#pragma once
// What the stateful fuzz targets share: the input read as a script of
// big-endian numbers (zeros once it runs out), and a round of use of an
// event queue that was attached from memory someone else wrote.
#include "shm/event_queue.hpp"

#include <cstddef>
#include <cstdint>

namespace actorstack::fuzz {

struct script {
  const std::uint8_t* at;
  std::size_t left;
  std::uint64_t take(std::size_t bytes) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
      v = (v << 8) | (left > 0 ? *at : 0);
      if (left > 0) ++at, --left;
    }
    return v;
  }
};

/// Posts and pops on both rings `rounds` times: every access must stay in
/// the queue's memory whatever its header held.
inline void exercise(shm::event_queue& q, int rounds) {
  shm::io_event io;
  shm::ctrl_event ctrl;
  for (int i = 0; i < rounds; ++i) {
    (void)q.post_io(io);
    (void)q.post_ctrl(ctrl);
    (void)q.try_pop_io(io);
    (void)q.try_pop_ctrl(ctrl);
  }
}

}  // namespace actorstack::fuzz
