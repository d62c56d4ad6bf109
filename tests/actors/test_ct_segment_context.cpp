// The ct_segment_context actor under CAF's deterministic test coordinator
// (SPEC 6 "Segments", 9.3): which segment a pair goes to, when a segment is
// added and deleted, and what both apps are told — in order.

#include "actors/ct_segment_context.hpp"

#include <caf/scheduler/test_coordinator.hpp>
#include <doctest/doctest.h>

#include <optional>
#include <vector>

using namespace actorstack;

namespace {

constexpr std::uint64_t floor_bytes = 4u << 20;  // tests lower SPEC's 128 MiB floor

struct context_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::vector<app_notification> client_log;
  std::vector<app_notification> server_log;
  ct_fifo_actor ctx;
  std::vector<caf::actor> spawned;

  context_fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    ct_segment_context_config c;
    c.id = 3;
    c.segment_size = 0;  // below the floor: the floor wins (max of both)
    c.min_segment_size = floor_bytes;
    c.client_app = recorder(&client_log);
    c.server_app = recorder(&server_log);
    c.client_app_worker = 6;
    c.server_app_worker = 5;
    ctx = spawn_ct_segment_context(*sys, c);
    spawned.push_back(caf::actor_cast<caf::actor>(ctx));
  }
  ~context_fixture() {
    sched->run();
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }

  app_worker_actor recorder(std::vector<app_notification>* log) {
    auto a = sys->spawn(
        [](app_worker_actor::pointer, std::vector<app_notification>* log) -> app_worker_actor::behavior_type {
          return {[log](notify_atom, const app_notification& n) { log->push_back(n); },
                  [log](notify_atom, const std::vector<app_notification>& b) {
                    log->insert(log->end(), b.begin(), b.end());
                  },
                  [](detach_atom) {}};
        },
        log);
    spawned.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  std::optional<ct::ct_fifo_pair> alloc(std::uint32_t size) {
    std::optional<ct::ct_fifo_pair> out;
    sys->spawn(
        [](caf::event_based_actor* self, ct_fifo_actor ctx, std::uint32_t size,
           std::optional<ct::ct_fifo_pair>* out) {
          self->request(ctx, caf::infinite, ct_alloc_atom_v, ct_alloc_request{5, 6, size, size})
              .then([=](ct::ct_fifo_pair& p) { *out = p; }, [](caf::error&) {});
        },
        ctx, size, &out);
    sched->run();
    return out;
  }

  void release(const ct::ct_fifo_pair& p, bool client_side) {
    caf::anon_send(ctx, ct_release_atom_v, std::vector<ct::ct_release>{{p, client_side}});
    sched->run();
  }

  ct_context_stats stats() {
    ct_context_stats out;
    auto typed = caf::actor_cast<ct_segment_context_actor>(ctx);
    sys->spawn(
        [](caf::event_based_actor* self, ct_segment_context_actor c, ct_context_stats* out) {
          self->request(c, caf::infinite, stats_atom_v).then([=](const ct_context_stats& s) { *out = s; });
        },
        typed, &out);
    sched->run();
    return out;
  }

  static std::size_t count(const std::vector<app_notification>& log, notification k) {
    std::size_t n = 0;
    for (const auto& x : log) n += x.kind == k ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("SPEC 6 segments: the first pair adds a segment of max(size, floor), both apps hear of it") {
  context_fixture fx;
  auto p = fx.alloc(4096);
  REQUIRE(p.has_value());
  CHECK(p->context == 3);
  const auto s = fx.stats();
  CHECK(s.segments == 1);
  CHECK(s.fifos == 2);
  CHECK(s.bytes_used + s.bytes_free >= floor_bytes - 4096);
  REQUIRE(fx.count(fx.server_log, notification::segment_add) == 1);
  REQUIRE(fx.count(fx.client_log, notification::segment_add) == 1);
  const auto& added = fx.server_log.front().segment;
  CHECK(added.id == ((std::uint64_t{3} << 32) | p->segment));
  CHECK(added.fd >= 0);
  CHECK(added.size >= floor_bytes);
  CHECK(fx.server_log.front().app_worker == 5);
  CHECK(fx.client_log.front().app_worker == 6);
}

TEST_CASE("SPEC 6 segments: a full segment makes a new one, a pair goes where most room is left") {
  context_fixture fx;
  // 512 KiB fifos reserve 2*(0.5+0.5) MiB + 16 KiB each: a 4 MiB segment
  // takes one such pair, the second needs a new segment.
  auto a = fx.alloc(512u << 10);
  auto b = fx.alloc(512u << 10);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->segment != b->segment);
  CHECK(fx.stats().segments == 2);
  CHECK(fx.count(fx.server_log, notification::segment_add) == 2);
  // Free the first segment's pair: a small pair now fits in both, and goes
  // to the emptier one (the first).
  fx.release(*a, true);
  fx.release(*a, false);
  auto c = fx.alloc(4096);
  REQUIRE(c.has_value());
  CHECK(c->segment == a->segment);
}

TEST_CASE("SPEC 6 segments: deleted once both sides detached, after the linger, del segment to both apps") {
  context_fixture fx;
  auto p = fx.alloc(4096);
  REQUIRE(p.has_value());
  fx.release(*p, true);  // the client side detached: the segment stays
  CHECK(fx.stats().segments == 1);
  fx.release(*p, false);  // both detached: deletion is due after the linger
  CHECK(fx.stats().segments == 1);
  CHECK(fx.count(fx.server_log, notification::segment_del) == 0);
  REQUIRE(fx.sched->trigger_timeouts() == 1);
  fx.sched->run();
  const auto s = fx.stats();
  CHECK(s.segments == 0);
  CHECK(s.segments_deleted == 1);
  CHECK(fx.count(fx.server_log, notification::segment_del) == 1);
  CHECK(fx.count(fx.client_log, notification::segment_del) == 1);
  CHECK(fx.server_log.back().segment.id == fx.server_log.front().segment.id);
}

TEST_CASE("SPEC 6 segments: a pair placed during the linger keeps the segment") {
  context_fixture fx;
  auto p = fx.alloc(4096);
  REQUIRE(p.has_value());
  fx.release(*p, true);
  fx.release(*p, false);
  auto q = fx.alloc(4096);  // reuses the emptied segment: no new one
  REQUIRE(q.has_value());
  CHECK(q->segment == p->segment);
  CHECK(fx.count(fx.server_log, notification::segment_add) == 1);
  fx.sched->trigger_timeouts();
  fx.sched->run();
  CHECK(fx.stats().segments == 1);  // the reap saw it in use
  // Emptied again: one fresh linger, then it goes.
  fx.release(*q, false);
  fx.release(*q, true);
  while (fx.sched->trigger_timeouts() > 0) fx.sched->run();
  CHECK(fx.stats().segments == 0);
  CHECK(fx.count(fx.client_log, notification::segment_del) == 1);
}

TEST_CASE("SPEC 6 segments: a pair larger than any segment is an alloc error, no segment left") {
  context_fixture fx;
  auto p = fx.alloc(64u << 20);  // reserves far more than a 4 MiB segment
  CHECK_FALSE(p.has_value());
  CHECK(fx.stats().segments == 0);
  CHECK(fx.count(fx.server_log, notification::segment_add) == 0);
}
