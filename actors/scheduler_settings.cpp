// The scheduler a stack-owned actor system runs (stack::create), offered to
// embedders too (configure_scheduler in stack.hpp).

#include <actorstack/stack.hpp>

#include <caf/actor_system_config.hpp>

#include <algorithm>

namespace actorstack {

void configure_scheduler(caf::actor_system_config& sys_cfg, const stack_config& cfg) {
  // One scheduler thread per worker (CAF's default is 4 on 2 cores), one
  // for one worker too: with two stacks and their polling cores on two
  // vCPUs, a second CAF thread per stack was one more thread to wait for
  // a CPU on every hop (docs/performance.md, "One worker, one thread").
  // A handler cannot wait on the stack from that thread: such calls fail
  // at once (actors/handler_scope.hpp).
  sys_cfg.set("scheduler.max-threads", static_cast<int>(std::max(1u, effective_workers(cfg))));
  // A thread that runs out of work steals from the others on every poll
  // for a short spell (~1000 polls, tens of microseconds) before CAF's
  // default back-off. CAF's default steals on every 10th of 100 polls and
  // then every 250 us: a connect crosses ~15 actors, and the idle thread
  // picked up that chain's next hop late or not at all. Measured here
  // (actorstack-bench-ct connects, alternating pairs): ~200k -> ~245k
  // connects/s, throughput unchanged. docs/architecture.md, "Where a
  // connect's time goes", has the settings that did not pay.
  sys_cfg.set("work-stealing.aggressive-poll-attempts", 1000);
  sys_cfg.set("work-stealing.aggressive-steal-interval", 1);
}

}  // namespace actorstack
