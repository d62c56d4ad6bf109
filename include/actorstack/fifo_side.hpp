#pragma once
/// \file
/// Names for a session's two fifos and for what happened to one — the
/// vocabulary of fifo tuning (SPEC 4) and subscriber events (SPEC 3).

#include <cstdint>

namespace actorstack {

/// Which of a session's two fifos.
enum class fifo_side : std::uint8_t { rx, tx };
/// Why the fifo-tuning callback runs (SPEC 4): the peer or transport
/// enqueued into the rx fifo, or dequeued from the tx fifo.
enum class fifo_action : std::uint8_t { enqueued, dequeued };

}  // namespace actorstack
