#pragma once
/// \file
/// The scheduler a stack-owned actor system runs: CAF's scheduler threads,
/// each of which may also run a data-plane core's passes between actor
/// jobs (dataplane::core_host). A request/response turn then stays on one
/// thread — the core hands a segment's bytes to its session worker, the
/// worker and the app's handler run, the answer goes back to the core —
/// instead of crossing from a core's lcore to a scheduler thread and back,
/// each crossing waiting for a CPU (docs/performance.md, "Cores on the
/// scheduler's threads").

#include "dataplane/dataplane.hpp"

#include <caf/fwd.hpp>

#include <cstddef>
#include <memory>

namespace actorstack {

/// Makes `cfg`'s actor system run the core-hosting scheduler with
/// `threads` threads (again: only the thread count changes).
void install_core_hosting_scheduler(caf::actor_system_config& cfg, std::size_t threads);
/// `cfg` will run the core-hosting scheduler.
bool installs_core_hosting_scheduler(const caf::actor_system_config& cfg);

/// The core_host of `sys`'s scheduler threads; null when `sys` does not run
/// the core-hosting scheduler (an embedder's own system). Its cores must be
/// unhosted (the data plane stopped) before `sys` ends.
std::unique_ptr<dataplane::core_host> core_host_of(caf::actor_system& sys);

}  // namespace actorstack
