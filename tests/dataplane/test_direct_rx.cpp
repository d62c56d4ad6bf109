// "Bytes arrived" straight from data-plane cores to an app worker
// (dataplane/direct_rx.hpp): the app worker's inbox, its wake-up, the
// route notice that carries it to a core, and its references. No DPDK: the
// inbox is a lock-free ring, a flag and a count.
#include "dataplane/direct_tx.hpp"
#include "tx_routes.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

using namespace actorstack;
using namespace actorstack::dataplane;

namespace {

tx_route rx_route(std::uint32_t core, std::uint32_t conn, std::uint32_t generation) {
  return test::route(core, conn, generation, true);
}

session_handle handle(std::uint32_t index) { return session_handle{0, index, 1}; }

}  // namespace

TEST_CASE("direct rx: a route reaches its core as a notice carrying the inbox and the session's handle") {
  direct_tx_inboxes cores{2};
  auto inbox = cores.make_rx_inbox([] {});
  REQUIRE(inbox != nullptr);
  REQUIRE(cores.route_rx(rx_route(1, 7, 3), *inbox, handle(42)));
  tx_notice n;
  CHECK_FALSE(cores.core(0).pop(n));
  REQUIRE(cores.core(1).pop(n));
  CHECK(n.conn == 7);
  CHECK(n.generation == 3);
  CHECK(n.rx_to == inbox.get());
  CHECK(session_handle::from_value(n.handle) == handle(42));
  n.rx_to->release();  // what a core does with a route whose connection ended
}

TEST_CASE("direct rx: no route for an invalid route, one that forbids rx (fifo tuning), a core that does not exist, a full core inbox") {
  direct_tx_inboxes cores{1};
  auto inbox = cores.make_rx_inbox([] {});
  tx_route invalid = rx_route(0, 1, 1);
  invalid.valid = false;
  CHECK_FALSE(cores.route_rx(invalid, *inbox, handle(1)));
  tx_route tuned = rx_route(0, 1, 1);
  tuned.rx = false;
  CHECK_FALSE(cores.route_rx(tuned, *inbox, handle(1)));
  CHECK_FALSE(cores.route_rx(rx_route(1, 1, 1), *inbox, handle(1)));
  tx_notice n;
  CHECK_FALSE(cores.core(0).pop(n));

  cores.core(0).set_dozing(false);
  while (cores.post(rx_route(0, 1, 1))) {
  }
  CHECK_FALSE(cores.route_rx(rx_route(0, 2, 1), *inbox, handle(2)));
  // The failed route took no reference: the inbox goes with its maker.
  std::weak_ptr<actorstack::detail::rx_inbox> watch = inbox;
  inbox.reset();
  CHECK(watch.expired());
}

TEST_CASE("direct rx: one wake-up per burst, re-armed only once the app worker found the inbox empty") {
  int wakes = 0;
  direct_tx_inboxes cores{1};
  auto maker = cores.make_rx_inbox([&] { ++wakes; });
  auto& in = static_cast<rx_inbox&>(*maker);
  CHECK_FALSE(in.waiting());

  // A core's pass: three sessions, one disarm that says "wake".
  REQUIRE(in.push(0, handle(1)));
  CHECK(in.disarm());
  REQUIRE(in.push(0, handle(2)));
  CHECK_FALSE(in.disarm());
  REQUIRE(in.push(0, handle(3)));
  CHECK_FALSE(in.disarm());
  in.wake();
  CHECK(wakes == 1);
  CHECK(in.waiting());

  std::vector<session_handle> got;
  in.take(got);
  CHECK(got == std::vector<session_handle>{handle(1), handle(2), handle(3)});
  CHECK_FALSE(in.waiting());
  // Armed again: the next push wakes.
  REQUIRE(in.push(0, handle(4)));
  CHECK(in.disarm());
  got.clear();
  in.take(got);
  CHECK(got == std::vector<session_handle>{handle(4)});
}

TEST_CASE("direct rx: a core's full ring refuses the push (the core tells the session worker instead), and so does a core the inbox does not know") {
  direct_tx_inboxes cores{1};
  auto maker = cores.make_rx_inbox([] {});
  auto& in = static_cast<rx_inbox&>(*maker);
  std::size_t pushed = 0;
  while (in.push(0, handle(static_cast<std::uint32_t>(pushed)))) ++pushed;
  CHECK(pushed == rx_inbox::capacity);
  std::vector<session_handle> got;
  in.take(got);
  CHECK(got.size() == rx_inbox::capacity);
  CHECK(got.front() == handle(0));  // first in, first out
  CHECK(in.push(0, handle(1)));
  CHECK_FALSE(in.push(1, handle(2)));
}

TEST_CASE("direct rx: the inbox lives while a core's connection holds it, after its app worker let go") {
  direct_tx_inboxes cores{1};
  auto maker = cores.make_rx_inbox([] {});
  std::weak_ptr<actorstack::detail::rx_inbox> watch = maker;
  REQUIRE(cores.route_rx(rx_route(0, 1, 1), *maker, handle(1)));
  tx_notice n;
  REQUIRE(cores.core(0).pop(n));  // the core keeps the notice's reference
  maker.reset();                  // the app worker is gone
  // The shared_ptr says expired; the core's plain pointer still works.
  CHECK(watch.expired());
  CHECK(n.rx_to->push(0, handle(1)));
  n.rx_to->release();  // the connection ended: the last reference
}

TEST_CASE("direct rx: routes no core took go with the inboxes, their references released") {
  auto maker = std::shared_ptr<actorstack::detail::rx_inbox>{};
  {
    direct_tx_inboxes cores{1};
    maker = cores.make_rx_inbox([] {});
    REQUIRE(cores.route_rx(rx_route(0, 1, 1), *maker, handle(1)));
    REQUIRE(cores.route_rx(rx_route(0, 2, 1), *maker, handle(2)));
  }
  // Under ASan a leaked or doubly released inbox fails this test.
  maker.reset();
}

TEST_CASE("direct rx: handles from two cores at once, each into its own ring, each arrive once, and no wake-up is lost") {
  std::atomic<int> wakes{0};
  direct_tx_inboxes cores{2};
  auto maker = cores.make_rx_inbox([&] { wakes.fetch_add(1); });
  auto& in = static_cast<rx_inbox&>(*maker);
  constexpr std::uint32_t producers = 2, each = 50000;
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> full{0};
  for (std::uint32_t t = 0; t < producers; ++t)
    threads.emplace_back([&, t] {
      for (std::uint32_t i = 0; i < each; ++i) {
        while (!in.push(t, handle(t * each + i))) full.fetch_add(1);  // a core would tell the worker
        if (in.disarm()) in.wake();
      }
    });
  // The app worker: takes only when woken, as its actor would.
  std::vector<std::uint32_t> seen(producers * each, 0);
  std::vector<session_handle> got;
  int taken_for = 0;
  std::size_t total = 0;
  auto last = std::chrono::steady_clock::now();
  while (total < seen.size()) {
    if (wakes.load() == taken_for) {
      // Handles waiting with no wake-up on its way: lost.
      if (std::chrono::steady_clock::now() - last > std::chrono::seconds(10)) break;
      std::this_thread::yield();
      continue;
    }
    last = std::chrono::steady_clock::now();
    ++taken_for;
    got.clear();
    in.take(got);
    for (session_handle h : got) ++seen.at(h.index());
    total += got.size();
  }
  for (auto& t : threads) t.join();
  CHECK(total == seen.size());
  got.clear();
  in.take(got);
  CHECK(got.empty());
  std::uint32_t once = 0;
  for (std::uint32_t c : seen) once += c == 1 ? 1 : 0;
  CHECK(once == producers * each);
}

TEST_CASE("fault_in: a ring written through once at start is empty again, holds its whole capacity and keeps order") {
  constexpr std::size_t slots = 64;
  boost::lockfree::spsc_queue<std::uint64_t> ring(slots);
  fault_in(ring, slots);
  CHECK(ring.read_available() == 0);
  CHECK(ring.write_available() == slots);
  for (std::uint64_t i = 1; i <= slots; ++i) REQUIRE(ring.push(i));
  CHECK_FALSE(ring.push(99));
  for (std::uint64_t i = 1; i <= slots; ++i) {
    std::uint64_t v = 0;
    REQUIRE(ring.pop(v));
    CHECK(v == i);
  }
  // An inbox's rings are faulted in the same way and still take a full burst.
  auto* inbox = new rx_inbox([] {}, 1);
  for (std::uint32_t i = 0; i < rx_inbox::capacity; ++i) REQUIRE(inbox->push(0, handle(i)));
  CHECK_FALSE(inbox->push(0, handle(9)));
  std::vector<session_handle> got;
  inbox->take(got);
  CHECK(got.size() == rx_inbox::capacity);
  inbox->release();
}
