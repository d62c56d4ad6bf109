#pragma once
// How many messages an actor has waiting, for inspection.

#include <cstdint>

namespace actorstack {

/// Messages the actor has taken into its queue and not yet handled. Called from
/// inside one of the actor's own handlers.
///
/// Why not `self->mailbox().size()`: that call first moves the concurrent inbox
/// into the queue (`fetch_more`), and CAF 0.17 does so by downcasting the queue's
/// own sentinel node when the queue is empty mid-round — undefined behaviour that
/// UBSan's vptr check reports and that ended stackd under the sanitizer suite
/// whenever a message arrived during an inspection query. Messages still in the
/// inbox are left out; the scheduler takes them in at the actor's next round, so
/// the figure lags by at most one round.
template <class Self>
std::uint64_t mailbox_depth(Self* self) noexcept {
  return self->mailbox().queue().total_task_size();
}

}  // namespace actorstack
