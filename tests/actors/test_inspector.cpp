// The inspector actor under CAF's deterministic test coordinator: what it
// does when a watched actor ends, and what it reports.

#include "actors/inspector.hpp"
#include "actors/mailbox_depth.hpp"

#include <caf/scheduler/test_coordinator.hpp>
#include <doctest/doctest.h>

#include <vector>

using namespace actorstack;

namespace {

struct inspector_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::vector<std::uint32_t> app_downs;  // what the stand-in root heard
  stack_root_actor root;
  inspector_actor inspector;

  inspector_fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    root = caf::actor_cast<stack_root_actor>(sys->spawn(
        [](caf::event_based_actor*, std::vector<std::uint32_t>* log) -> caf::behavior {
          return {[log](app_down_atom, std::uint32_t w, bool) { log->push_back(w); }};
        },
        &app_downs));
    inspector = spawn_inspector(*sys, root);
    sched->run();
  }
  ~inspector_fixture() {
    caf::anon_send_exit(inspector, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    sched->run();
  }

  // An actor that just lives until told otherwise.
  caf::actor idle() {
    return sys->spawn([](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; }, 0);
  }

  void watch(const caf::actor& a, actor_role role, std::uint32_t index, std::string name) {
    caf::anon_send(inspector, watch_atom_v, a, role, index, std::move(name));
    sched->run();
  }

  std::vector<watched_actor> list() {
    std::vector<watched_actor> out;
    sys->spawn(
        [](caf::event_based_actor* self, inspector_actor i, std::vector<watched_actor>* out) {
          self->request(i, caf::infinite, list_atom_v).then([=](std::vector<watched_actor>& v) { *out = v; });
        },
        inspector, &out);
    sched->run();
    return out;
  }

  bool alive(const caf::actor& a) {
    bool down = false;
    sys->spawn(
        [](caf::event_based_actor* self, caf::actor a, bool* down) -> caf::behavior {
          self->monitor(a);
          self->set_down_handler([=](caf::down_msg&) { *down = true; });
          return {[](int) {}};
        },
        a, &down);
    sched->run();
    return !down;
  }
};

}  // namespace

TEST_CASE("inspector: an app worker that ends has its app detached by the root") {
  inspector_fixture fx;
  auto app = fx.idle();
  fx.watch(app, actor_role::app_worker, 7, "echo");
  caf::anon_send_exit(app, caf::exit_reason::kill);
  fx.sched->run();
  REQUIRE(fx.app_downs.size() == 1);
  CHECK(fx.app_downs.front() == 7);
  const auto listed = fx.list();
  REQUIRE(listed.size() == 1);
  CHECK_FALSE(listed.front().alive);
  CHECK(listed.front().name == "echo");
  CHECK(listed.front().exit_reason.find("kill") != std::string::npos);
}

TEST_CASE("inspector: a session worker that ends stops every watched actor") {
  inspector_fixture fx;
  auto worker = fx.idle();
  auto other_worker = fx.idle();
  auto app = fx.idle();
  fx.watch(worker, actor_role::session_worker, 0, "worker 0");
  fx.watch(other_worker, actor_role::session_worker, 1, "worker 1");
  fx.watch(app, actor_role::app_worker, 3, "app");
  caf::anon_send_exit(worker, caf::exit_reason::kill);
  fx.sched->run();
  CHECK_FALSE(fx.alive(other_worker));
  CHECK_FALSE(fx.alive(app));
  // The app worker ended because the stack stopped: no detach on its behalf.
  CHECK(fx.app_downs.empty());
  for (const auto& w : fx.list()) CHECK_FALSE(w.alive);
}

TEST_CASE("inspector: once the stack is stopping, ends are expected and change nothing") {
  inspector_fixture fx;
  auto worker = fx.idle();
  auto app = fx.idle();
  fx.watch(worker, actor_role::session_worker, 0, "worker 0");
  fx.watch(app, actor_role::app_worker, 3, "app");
  caf::anon_send(fx.inspector, stop_atom_v);
  fx.sched->run();
  caf::anon_send_exit(app, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  fx.sched->run();
  CHECK(fx.app_downs.empty());
  const auto listed = fx.list();
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].role == actor_role::session_worker);  // sorted by role, then index
  CHECK_FALSE(listed[0].alive);
}

TEST_CASE("inspector: mailbox depth counts the messages waiting behind the one being handled, without touching the inbox") {
  inspector_fixture fx;
  std::vector<std::uint64_t> seen;
  auto counter = fx.sys->spawn(
      [](caf::event_based_actor* self, std::vector<std::uint64_t>* out) -> caf::behavior {
        return {[=](int) { out->push_back(mailbox_depth(self)); }};
      },
      &seen);
  fx.sched->run();
  for (int i = 0; i < 4; ++i) caf::anon_send(counter, i);
  fx.sched->run();
  // The first round takes all four in; each handler sees the ones after it.
  CHECK(seen == std::vector<std::uint64_t>{3, 2, 1, 0});
  caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
  fx.sched->run();
}
