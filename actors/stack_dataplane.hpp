#pragma once
// The stack's side of the data plane: building it from the configuration,
// the doorbell a core rings to wake its session worker, and the cores'
// counters as the public API reports them.

#include "dataplane/dataplane.hpp"

#include <actorstack/config.hpp>
#include <actorstack/dataplane_stats.hpp>
#include <actorstack/result.hpp>

#include <caf/all.hpp>

#include <memory>
#include <vector>

namespace actorstack {

/// The data plane the config asks for (none when dataplane.port is empty).
result<std::unique_ptr<dataplane::dataplane>> make_dataplane(const stack_config& cfg);

/// Rings a session worker by sending it one message.
class actor_doorbell final : public dataplane::doorbell {
 public:
  explicit actor_doorbell(caf::actor worker) : worker_(std::move(worker)) {}
  void ring() noexcept override;

 private:
  caf::actor worker_;
};

/// Every core's counters, read live (atomics); empty before the cores run.
std::vector<dataplane_core_stats> core_stats(const dataplane::dataplane& dp);

/// The [tcp] keys as the data plane's TCP engines take them (SPEC-TCP 9.3).
tcp::config tcp_config_of(const stack_config& cfg);

}  // namespace actorstack
