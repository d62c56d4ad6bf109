// The scheduler a stack-owned actor system runs (stack::create), offered to
// embedders too (configure_scheduler in stack.hpp).

#include <actorstack/stack.hpp>

#include "actors/core_hosting_scheduler.hpp"

#include <caf/actor_system_config.hpp>

namespace actorstack {

void configure_scheduler(caf::actor_system_config& sys_cfg, const stack_config& cfg) {
  // One scheduler thread per worker (CAF's default is 4 on 2 cores), one
  // for one worker too: with two stacks and their polling cores on two
  // vCPUs, a second CAF thread per stack was one more thread to wait for
  // a CPU on every hop (docs/performance.md, "One worker, one thread").
  // A handler cannot wait on the stack from that thread: such calls fail
  // at once (actors/handler_scope.hpp). The threads may also run the
  // data-plane cores (dataplane.threads = shared).
  install_core_hosting_scheduler(sys_cfg, effective_workers(cfg));  // at least one
}

}  // namespace actorstack
