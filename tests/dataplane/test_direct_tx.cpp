// "Data written" straight from app workers to a data-plane core
// (dataplane/direct_tx.hpp): the per-core inbox, its dozing flag, and what
// a poster is told. No DPDK: the inbox is a lock-free ring and a flag.
#include "dataplane/direct_tx.hpp"
#include "tx_routes.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace actorstack;
using namespace actorstack::dataplane;

using test::route;

TEST_CASE("direct tx: a notice reaches its core's inbox, and while that core may doze the poster must tell the session worker too") {
  direct_tx_inboxes in{2};
  // A core that has not run yet counts as dozing: queued, but not enough.
  CHECK_FALSE(in.post(route(1, 5, 9)));
  tx_notice n;
  REQUIRE(in.core(1).pop(n));
  CHECK(n.conn == 5);
  CHECK(n.generation == 9);
  CHECK_FALSE(in.core(0).pop(n));

  in.core(1).set_dozing(false);  // the core's pass found work
  auto r = route(1, 6, 10);
  r.nodelay = true;
  CHECK(in.post(r));
  REQUIRE(in.core(1).pop(n));
  CHECK(n.conn == 6);
  CHECK(n.nodelay);

  in.core(1).set_dozing(true);  // a run of empty passes: its thread may sleep
  CHECK_FALSE(in.post(route(1, 7, 11)));
  CHECK(in.core(1).pop(n));
}

TEST_CASE("direct tx: an invalid route, a core that does not exist and a full inbox are not posted") {
  direct_tx_inboxes in{1};
  in.core(0).set_dozing(false);
  tx_route invalid = route(0, 1, 1);
  invalid.valid = false;
  CHECK_FALSE(in.post(invalid));
  CHECK_FALSE(in.post(route(1, 1, 1)));
  CHECK_FALSE(in.post(route(0xffffffffu, 1, 1)));
  tx_notice n;
  CHECK_FALSE(in.core(0).pop(n));

  std::size_t taken = 0;
  while (in.post(route(0, static_cast<std::uint32_t>(taken), 1))) ++taken;
  CHECK(taken == tx_inbox::capacity);
  REQUIRE(in.core(0).pop(n));
  CHECK(n.conn == 0);  // first in, first out
  CHECK(in.post(route(0, 99, 1)));  // room again
}

TEST_CASE("direct tx: notices from several app threads at once each arrive once") {
  direct_tx_inboxes in{1};
  in.core(0).set_dozing(false);
  constexpr std::uint32_t threads = 4, each = 20000;
  std::vector<std::uint32_t> seen(threads * each, 0);
  std::atomic<bool> done{false};
  std::thread core([&] {
    tx_notice n;
    for (;;) {
      const bool finished = done.load();
      while (in.core(0).pop(n)) ++seen.at(n.conn);
      if (finished) break;
    }
  });
  std::vector<std::thread> apps;
  std::atomic<std::uint64_t> fell_back{0};
  for (std::uint32_t t = 0; t < threads; ++t)
    apps.emplace_back([&, t] {
      for (std::uint32_t i = 0; i < each; ++i) {
        const auto r = route(0, t * each + i, 1);
        while (!in.post(r)) fell_back.fetch_add(1);  // full for a moment: the worker would be told
      }
    });
  for (auto& a : apps) a.join();
  done.store(true);
  core.join();
  std::uint32_t once = 0;
  for (std::uint32_t c : seen) once += c == 1 ? 1 : 0;
  CHECK(once == threads * each);
}
