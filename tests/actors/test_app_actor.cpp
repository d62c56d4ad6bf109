// An application whose app worker is a user-written CAF actor (the
// app-worker interface of app_worker.hpp), next to ordinary handler apps.

#include "stack_fixture.hpp"

#include <actorstack/app_worker.hpp>

using namespace stack_test;

namespace {

// The app-worker interface plus a message of the app's own (an atom of its
// own too: the stack's internal ones are not part of the public API).
using count_atom = caf::atom_constant<caf::atom("count")>;
constexpr count_atom count_atom_v{};
using holds_atom = caf::atom_constant<caf::atom("holds")>;
constexpr holds_atom holds_atom_v{};
using counting_app = app_worker_actor::extend<caf::replies_to<count_atom>::with<std::uint64_t>,
                                              caf::replies_to<holds_atom>::with<bool, bool>>;

struct counting_state {
  static inline const char* name = "counting_app";
  std::unique_ptr<app_session_table> sessions;
  std::unique_ptr<echo_server> handler;
  std::uint64_t notifications = 0;
  // holds_fifos_in of the last segment added, right after an accept and
  // right after a cleanup.
  const void* segment = nullptr;
  bool held_at_accept = false;
  bool held_after_cleanup = true;

  void take(const app_notification& n) {
    ++notifications;
    if (n.kind == notification::segment_add) segment = reinterpret_cast<const void*>(n.segment.base);
    sessions->deliver(n, *handler);
    if (n.kind == notification::accept) held_at_accept = sessions->holds_fifos_in(segment);
    if (n.kind == notification::cleanup_session) held_after_cleanup = sessions->holds_fifos_in(segment);
  }
};

counting_app spawn_counting_app(caf::actor_system& sys, const app_worker_context& ctx, events& ev) {
  return sys.spawn(
      [](counting_app::stateful_pointer<counting_state> self, app_worker_context ctx,
         events* ev) -> counting_app::behavior_type {
        self->state.sessions = std::make_unique<app_session_table>(std::move(ctx));
        self->state.handler = std::make_unique<echo_server>(*ev);
        return {
            [=](notify_atom, const app_notification& n) { self->state.take(n); },
            [=](notify_atom, const std::vector<app_notification>& batch) {
              for (const auto& n : batch) self->state.take(n);
            },
            [=](detach_atom) {
              self->state.sessions->reset_all();
              self->quit();
            },
            [=](count_atom) { return self->state.notifications; },
            [=](holds_atom) { return caf::make_result(self->state.held_at_accept, self->state.held_after_cleanup); },
        };
      },
      ctx, &ev);
}

}  // namespace

TEST_CASE("app worker interface: a user-written actor serves sessions and its own messages") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  counting_app mine;
  auto server = attach_actors(**st, {.name = "actor-app"},
                              [&](caf::actor_system& sys, const app_worker_context& ctx) {
                                mine = spawn_counting_app(sys, ctx, ev);
                                return app_worker_actor{mine};
                              });
  REQUIRE(server.has_value());
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<client>(ev, "through an actor"); });
  const auto ep = *parse_uri("ct://127.0.0.1/7200");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("echoed"));
  CHECK(ev.received == "through an actor");
  CHECK(ev.wait_for("server close"));

  // Its own message, answered from its own state.
  caf::scoped_actor self{(*st)->system()};
  std::uint64_t seen = 0;
  self->request(mine, std::chrono::seconds(5), count_atom_v)
      .receive([&](std::uint64_t n) { seen = n; }, [&](caf::error&) {});
  CHECK(seen >= 3);  // at least segment add, accept and rx

  // holds_fifos_in: the segment holds the accepted session's fifos, and
  // no more once that session is cleaned up (what a client checks before
  // it unmaps a segment the stack says is deleted).
  bool at_accept = false, after_cleanup = true;
  for (int i = 0; i < 200 && after_cleanup; ++i) {
    self->request(mine, std::chrono::seconds(5), holds_atom_v)
        .receive([&](bool a, bool c) { at_accept = a, after_cleanup = c; }, [&](caf::error&) {});
    if (after_cleanup) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(at_accept);
  CHECK_FALSE(after_cleanup);

  // Detach reaches the user's actor, which stops.
  self->monitor(mine);
  REQUIRE((*server)->detach().has_value());
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(std::chrono::seconds(5)) >> [] {});
  CHECK(down);
  CHECK(drained(**st).sessions == 0);
}

TEST_CASE("app worker interface: a factory that makes no actor is invalid_argument") {
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto r = attach_actors(**st, {}, [](caf::actor_system&, const app_worker_context&) { return app_worker_actor{}; });
  CHECK(r.code() == errc::invalid_argument);
  CHECK(attach_actors(**st, {}, nullptr).code() == errc::invalid_argument);
}
