#include "actors/registry_warden.hpp"

#include "actors/door_shield.hpp"
#include "actors/log.hpp"

#include <atomic>
#include <string>
#include <typeinfo>

namespace actorstack {

namespace {

// An actor is spawned (its id taken) before whoever spawned it puts it in
// the registry: a pass that read the latest id in between has to look at
// that id again next time. BASP spawns and registers its helper in one
// handler, so a few ids would do; this many costs a few µs a pass.
constexpr caf::actor_id margin = 1024;

std::atomic<std::uint64_t> logged{0};

void log_some(const std::string& line) {
  if (logged.fetch_add(1, std::memory_order_relaxed) < 16) log_line(line);
}

struct warden_state {
  caf::actor_id scanned = 0;
  static inline const char* name = "registry_warden";
};

}  // namespace

std::size_t scrub_registry(caf::actor_system& sys, caf::actor_id& scanned) {
  auto& reg = sys.registry();
  const caf::actor_id latest = sys.latest_actor_id();
  std::size_t taken = 0;
  for (caf::actor_id id = scanned > margin ? scanned - margin : 1; id <= latest; ++id) {
    auto ptr = reg.get(id);
    if (!ptr) continue;
    auto* a = caf::actor_cast<caf::abstract_actor*>(ptr);
    if (is_shield(a)) continue;
    reg.erase(id);
    ++taken;
    // Hidden: not one of the stack's (it spawns none), so one of CAF's own
    // per-node helpers; ended, or it would live on out of reach for up to
    // five minutes.
    // (Expected at every handshake: not logged.)
    if (!a->getf(caf::abstract_actor::is_registered_flag)) {
      caf::anon_send_exit(ptr, caf::exit_reason::kill);
      continue;
    }
    log_some(std::string{"registry warden: took actor "} + std::to_string(id) + " (" + typeid(*a).name() + ") out of the registry: one of this process's own that other processes could name");
  }
  if (latest > scanned) scanned = latest;
  return taken;
}

caf::actor spawn_registry_warden(caf::actor_system& sys, std::chrono::milliseconds period) {
  // (With an argument: CAF 0.17.6 spawns a function actor without one
  // through a null argument tuple.)
  return sys.spawn([](caf::stateful_actor<warden_state>* self, std::chrono::milliseconds period) -> caf::behavior {
    drop_unexpected_quietly(self);
    scrub_registry(self->system(), self->state.scanned);
    self->delayed_send(self, period, caf::tick_atom_v);
    return {
        [=](caf::tick_atom) {
          scrub_registry(self->system(), self->state.scanned);
          self->delayed_send(self, period, caf::tick_atom_v);
        },
    };
  }, period);
}

void forget_caf_utility_actors(caf::actor_system& sys) {
  for (const auto& utility : {sys.spawn_serv(), sys.config_serv()})
    if (utility) sys.registry().erase(utility->id());
  sys.registry().erase(caf::atom("SpawnServ"));
  sys.registry().erase(caf::atom("ConfigServ"));
}

}  // namespace actorstack
