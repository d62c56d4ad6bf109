#include "client/process_link.hpp"

#include "actors/caf_error.hpp"

#include <caf/io/all.hpp>

namespace actorstack::client {

namespace {

thread_local bool library_thread = false;

// Marks every thread the process link's actor system starts (scheduler,
// clock, middleman): is_library_thread() names them.
class mark_library_threads final : public caf::thread_hook {
 public:
  void init(caf::actor_system&) override {}
  void thread_started() override { library_thread = true; }
  void thread_terminates() override {}
};

}  // namespace

bool is_library_thread() noexcept { return library_thread; }

namespace detail {

result<std::shared_ptr<process_link>> process_link::connect(std::uint16_t port) {
  auto link = std::make_shared<process_link>();
  link->cfg.set("scheduler.max-threads", 1);
  link->cfg.add_thread_hook<mark_library_threads>();
  link->cfg.load<caf::io::middleman>();
  // Scheduled, not detached: CAF 0.17's shutdown could hang on a detached
  // utility actor (see actors/stack.cpp).
  link->cfg.set("middleman.attach-utility-actors", true);
  add_actorstack_types(link->cfg);
  link->sys = std::make_unique<caf::actor_system>(link->cfg);
  auto door = link->sys->middleman().remote_actor<attach_door_actor>("127.0.0.1", port);
  if (!door)
    return unexpected{errc::disconnected,
                      intern("cannot reach the stack's attach actor: " + link->sys->render(door.error()))};
  link->door = std::move(*door);
  link->port = port;
  return link;
}

}  // namespace detail

}  // namespace actorstack::client
