// The core-hosting scheduler (actors/core_hosting_scheduler.hpp): CAF's
// threads run actors and, between jobs, a hosted data-plane core's passes.
#include "actors/core_hosting_scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace actorstack;

namespace {

// A fake core: counts its passes and notes the thread they run on.
struct fake_core {
  std::atomic<std::uint64_t> passes{0};
  std::atomic<std::thread::id> thread{};
  std::atomic<bool> report_work{false};

  static bool pass(void* self) {
    auto* c = static_cast<fake_core*>(self);
    c->thread.store(std::this_thread::get_id());
    c->passes.fetch_add(1);
    return c->report_work.load();
  }
};

struct hosting_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  explicit hosting_system(std::size_t threads) {
    install_core_hosting_scheduler(cfg, threads);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

// Waits (bounded) until `pred` holds.
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

TEST_CASE("core hosting scheduler: a hosted core's passes run on the scheduler's thread between actor jobs") {
  hosting_system hs{1};
  auto host = core_host_of(*hs.sys);
  REQUIRE(host != nullptr);
  CHECK(host->can_host(1));
  CHECK_FALSE(host->can_host(2));  // one thread per core, no more cores than threads
  fake_core core;
  host->host(0, &fake_core::pass, &core, false);
  REQUIRE(eventually([&] { return core.passes.load() > 100; }));
  // Actors still run, on the same (only) thread, while the core is hosted.
  std::atomic<std::thread::id> handler_thread{};
  auto a = hs.sys->spawn([&](caf::event_based_actor*, int) -> caf::behavior {
    return {[&](int x) {
      handler_thread.store(std::this_thread::get_id());
      return x + 1;
    }};
  }, 0);
  caf::scoped_actor self{*hs.sys};
  int answer = 0;
  self->request(a, std::chrono::seconds(10), 41).receive([&](int x) { answer = x; }, [](caf::error&) {});
  CHECK(answer == 42);
  CHECK(handler_thread.load() == core.thread.load());
  self->send_exit(a, caf::exit_reason::user_shutdown);
  host->unhost(0);
  // Once unhost returned, no pass is under way and none starts.
  const auto after = core.passes.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(core.passes.load() == after);
}

TEST_CASE("core hosting scheduler: an idle hosted core sleeps, and a message still wakes its thread at once") {
  hosting_system hs{1};
  auto host = core_host_of(*hs.sys);
  REQUIRE(host != nullptr);
  fake_core core;  // never reports work: the thread backs off to sleeps
  host->host(0, &fake_core::pass, &core, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // past the 2 ms yield window
  // Asleep, the thread makes at most one pass per microsecond-or-more
  // sleep; spinning it would make millions in 50 ms.
  const auto before = core.passes.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(core.passes.load() - before < 50'000);
  // A job wakes it (a sleep ends early on an enqueue): many round trips in
  // a row complete.
  auto a = hs.sys->spawn([](caf::event_based_actor*, int) -> caf::behavior { return {[](int x) { return x; }}; }, 0);
  caf::scoped_actor self{*hs.sys};
  int done = 0;
  for (int i = 0; i < 200; ++i)
    self->request(a, std::chrono::seconds(10), i).receive([&](int x) { done += x == i; }, [](caf::error&) {});
  CHECK(done == 200);
  self->send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("core hosting scheduler: a thread that hosts nothing waits for jobs and starts polling when given a core") {
  hosting_system hs{2};
  auto host = core_host_of(*hs.sys);
  REQUIRE(host != nullptr);
  CHECK(host->can_host(2));
  fake_core c0, c1;
  c1.report_work = true;  // a busy core: its thread never sleeps
  host->host(0, &fake_core::pass, &c0, false);
  REQUIRE(eventually([&] { return c0.passes.load() > 0; }));
  // Thread 1 waited for jobs without polling anything; host() wakes it.
  host->host(1, &fake_core::pass, &c1, false);
  REQUIRE(eventually([&] { return c1.passes.load() > 1000; }));
  CHECK(c0.thread.load() != c1.thread.load());  // each core on its own thread
  host->unhost(1);
  host->unhost(0);
  host->unhost(0);  // twice: nothing happens
  const auto p0 = c0.passes.load(), p1 = c1.passes.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(c0.passes.load() == p0);
  CHECK(c1.passes.load() == p1);
}

TEST_CASE("core hosting scheduler: an actor system configured elsewhere has no core host") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  CHECK(core_host_of(sys) == nullptr);  // the stack gives its cores lcores of their own
}

TEST_CASE("core hosting scheduler: two actors that message each other without end do not starve a message from outside") {
  hosting_system hs{1};
  // Each message makes the other actor ready on this thread: that job runs
  // next, and the shared queue, where the outside message waits, must
  // still get its turn.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> volleys{0};
  auto volley = [&](caf::event_based_actor* self, int) -> caf::behavior {
    return {[&, self](caf::actor other) {
      volleys.fetch_add(1);
      if (!stop.load()) self->send(other, caf::actor_cast<caf::actor>(self));
    }};
  };
  auto a = hs.sys->spawn(volley, 0);
  auto b = hs.sys->spawn(volley, 0);
  caf::anon_send(a, b);
  REQUIRE(eventually([&] { return volleys.load() > 10'000; }));
  auto c = hs.sys->spawn([](caf::event_based_actor*, int) -> caf::behavior { return {[](int x) { return x * 2; }}; }, 0);
  caf::scoped_actor self{*hs.sys};
  int answer = 0;
  self->request(c, std::chrono::seconds(10), 21).receive([&](int x) { answer = x; }, [](caf::error&) {});
  CHECK(answer == 42);
  stop = true;
  for (auto& x : {a, b, c}) self->send_exit(x, caf::exit_reason::user_shutdown);
}
