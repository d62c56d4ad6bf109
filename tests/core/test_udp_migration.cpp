// SPEC §5 for real: a connected udp session whose datagrams arrive on
// another data-plane core moves there — to that core's worker, with a new
// session, its binding handed core to core — and the app hears old handle
// -> new handle. Two workers' udp transports against simulated cores (the
// test pops the commands each worker sends to each core and plays the
// cores' answers), and the migration messages carried by the test in the
// order the actors would carry them. Also one worker with two cores (only
// the binding moves) and the table's forwarding entries.

#include "session/udp/udp_transport.hpp"
#include "dataplane/udp_table.hpp"
#include "session_test_env.hpp"

#include <doctest/doctest.h>

#include <deque>

using namespace actorstack;
using namespace actorstack::test;
using namespace actorstack::session_layer;
namespace dp = actorstack::dataplane;

namespace {

constexpr std::uint32_t our_ip = 0x0a000002;
constexpr std::uint32_t cores = 2;

struct segment_apps : recording_apps {
  void segment_added(std::uint32_t app_worker, const segment_info&) override {
    events.push_back({"segment_add", {}, app_worker});
  }
};

struct udp_only : transport_registry {
  transport* udp = nullptr;
  transport* find(transport_proto p) noexcept override { return p == transport_proto::udp ? udp : nullptr; }
};

// What the actors would carry between the workers, held for the test.
struct carrier : udp::udp_migration_port {
  struct departure {
    std::uint32_t worker;
    session_handle origin;
    std::uint32_t app_worker;
    shm::fifo rx, tx;
  };
  std::deque<std::pair<std::uint32_t, udp::udp_migrant>> offers;
  std::deque<departure> departures;
  void offer(std::uint32_t worker, const udp::udp_migrant& m) override { offers.emplace_back(worker, m); }
  void departed(std::uint32_t worker, session_handle origin, std::uint32_t app_worker, shm::fifo rx,
                shm::fifo tx) override {
    departures.push_back({worker, origin, app_worker, rx, tx});
  }
};

// One worker: its session state, its udp transport, its rings to each core.
struct worker_side {
  segment_apps apps;
  udp_only registry;
  session_worker_state w;
  std::vector<std::unique_ptr<dp::channel<dp::command>>> commands;
  std::vector<std::unique_ptr<dp::channel<dp::event>>> events;
  net::app_segments segments;
  std::unique_ptr<udp::udp_transport> tp;

  static net::app_segments_config segments_config(std::uint32_t index) {
    net::app_segments_config c;
    c.worker = index;
    c.rx_fifo_size = c.tx_fifo_size = 16 * 1024;
    c.segment_size = 8u << 20;
    return c;
  }

  worker_side(std::uint32_t index, std::uint32_t workers, udp::udp_migration_port* port)
      : w{index, {&apps, &registry}}, segments{apps, segments_config(index)} {
    std::vector<udp::core_link> links;
    for (std::uint32_t c = 0; c < cores; ++c) {
      commands.push_back(std::make_unique<dp::channel<dp::command>>(64));
      events.push_back(std::make_unique<dp::channel<dp::event>>(64));
      links.push_back({commands.back().get(), events.back().get()});
    }
    udp::udp_worker_config cfg;
    cfg.worker = index;
    cfg.workers = workers;
    cfg.local_ip = our_ip;
    tp = std::make_unique<udp::udp_transport>(w, apps, links, segments, cfg, port);
    registry.udp = tp.get();
  }
  std::vector<dp::command> take(std::uint32_t core) {
    std::vector<dp::command> out;
    dp::command c;
    while (commands[core]->pop(c)) out.push_back(c);
    return out;
  }
  void drop_commands() {
    for (std::uint32_t c = 0; c < cores; ++c) (void)take(c);
  }
  // The close of a connection owned by `owner`: one remove on every core,
  // each naming the owner (it alone answers).
  void expect_removes(std::uint32_t owner) {
    for (std::uint32_t c = 0; c < cores; ++c) {
      auto cmds = take(c);
      REQUIRE(cmds.size() == 1);
      CHECK(cmds[0].kind == dp::command_kind::remove);
      CHECK(cmds[0].to_core == owner);
    }
  }
  void core_says(std::uint32_t core, dp::event ev) {
    REQUIRE(events[core]->push(ev));
    tp->drain_events();
  }
};

endpoint udp_ep(std::uint32_t ip, std::uint16_t port) {
  return endpoint{transport_proto::udp, ip_address::v4(ip), port};
}

// Worker 1 of two connects (its home core is 1); returns (id, handle).
std::pair<std::uint32_t, session_handle> connect_on(worker_side& ws, std::uint32_t app_worker = 4) {
  auto id = ws.tp->connect({udp_ep(0x0a000001, 5000), app_worker, 7});
  REQUIRE(id.has_value());
  const session_handle h = ws.apps.events.back().handle;
  ws.w.on_connected_reply(h, true);
  return {*id, h};
}

// Core 0 saw a datagram of worker 1's connection (id, h): worker 1 offers
// the session to worker 0, which adopts it (a new session, flagged
// migrating). The hand-over is the test's to make.
udp::udp_transport::adopted adopt_on_seen(carrier& port, worker_side& w0, worker_side& w1, std::uint32_t id,
                                          session_handle h) {
  w1.core_says(0, {dp::event_kind::seen, id, h.value(), 0, 0});
  REQUIRE(port.offers.size() == 1);
  const auto got = w0.tp->adopt(port.offers.front().second);
  port.offers.pop_front();
  return got;
}

}  // namespace

TEST_CASE("SPEC 5 udp: with two cores a connection is installed on both, owned by its worker's home core") {
  carrier port;
  worker_side w1{1, 2, &port};
  auto [id, h] = connect_on(w1);
  for (std::uint32_t c = 0; c < cores; ++c) {
    auto cmds = w1.take(c);
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].kind == dp::command_kind::add);
    CHECK(cmds[0].binding.core == 1);  // worker 1 % 2 cores
    CHECK_FALSE(cmds[0].binding.settled);
  }
  // The app's tx kick goes to the owner only; a remove to every core, the
  // owner named (it alone answers).
  w1.tp->custom_tx(*w1.w.get(h));
  CHECK(w1.take(0).empty());
  REQUIRE(w1.take(1).size() == 1);
  REQUIRE(w1.w.app_close(h).has_value());
  w1.w.run_events();
  w1.expect_removes(1);
  w1.core_says(1, {dp::event_kind::removed, id, h.value(), 0, 1});
  w1.w.run_events();
  CHECK(w1.w.get(h) == nullptr);
  CHECK(w1.tp->connections() == 0);
}

TEST_CASE("SPEC 5 udp: a session whose datagrams arrive on another core moves to that core's worker, the app hears old -> new, the fifos go home at the end") {
  carrier port;
  worker_side w0{0, 2, &port};
  worker_side w1{1, 2, &port};
  auto [id, h] = connect_on(w1);
  w1.drop_commands();
  session* old_s = w1.w.get(h);
  const shm::fifo rx = old_s->rx;
  const auto segments_before = w1.segments.count();

  // Core 0 saw one of its datagrams: worker 1 offers it to worker 0.
  w1.core_says(0, {dp::event_kind::seen, id, h.value(), 0, 0});
  REQUIRE(port.offers.size() == 1);
  CHECK(port.offers.front().first == 0);
  // A second hint changes nothing (one move per connection).
  w1.core_says(0, {dp::event_kind::seen, id, h.value(), 0, 0});
  CHECK(port.offers.size() == 1);

  // Worker 0 adopts: a new session, flagged migrating, same fifos.
  const auto got = w0.tp->adopt(port.offers.front().second);
  port.offers.pop_front();
  session* ns = w0.w.get(got.handle);
  REQUIRE(ns != nullptr);
  CHECK(got.handle.worker() == 0);
  CHECK(ns->has(flag_is_migrating));
  CHECK(ns->rx.offset() == rx.offset());
  CHECK(ns->rx.owner().worker_index == 0);

  // Worker 1 hands over: the binding moves from core 1 to core 0 under the
  // new key, the app is told, the old session goes (not its fifos).
  const auto handed = w1.tp->hand_over(id, 0, got.handle, got.id);
  CHECK(handed.outcome == migrate_outcome::completed);
  CHECK(handed.old == h);
  auto moves = w1.take(1);
  REQUIRE(moves.size() == 1);
  CHECK(moves[0].kind == dp::command_kind::move);
  CHECK(moves[0].to_core == 0);
  CHECK(moves[0].new_worker == 0);
  CHECK(moves[0].new_id == got.id);
  CHECK(moves[0].new_session == got.handle.value());
  CHECK(w1.take(0).empty());
  REQUIRE(w1.apps.count("migrate") == 1);
  CHECK(w1.apps.events.back().extra == got.handle.value());
  CHECK(w1.w.get(h) == nullptr);
  CHECK(w1.tp->connections() == 0);
  CHECK(w1.segments.count() == segments_before);  // the fifos still live there

  // Worker 0 finishes: the app reads on the new worker from now on.
  w0.w.migrate_finish(got.handle, handed.outcome);
  w0.w.flush_enqueue_events();
  CHECK_FALSE(ns->has(flag_is_migrating));
  CHECK(w0.apps.count("rx") == 1);
  // Core 0 took the binding: the other core forwards under the new key.
  CHECK(w0.take(0).empty());
  w0.core_says(0, {dp::event_kind::taken, got.id, got.handle.value(), 0, 0});
  auto fwd = w0.take(1);
  REQUIRE(fwd.size() == 1);
  CHECK(fwd[0].kind == dp::command_kind::add);
  CHECK(fwd[0].binding.core == 0);
  CHECK(fwd[0].binding.settled);
  CHECK(fwd[0].binding.worker == 0);
  // A hint about a settled connection is no reason to move it again.
  w0.core_says(1, {dp::event_kind::seen, got.id, got.handle.value(), 0, 1});
  CHECK(port.offers.empty());

  // The app closes the new session: removed on both cores (core 0 answers),
  // then the fifos go back to worker 1's segment.
  REQUIRE(w0.w.app_close(got.handle).has_value());
  w0.w.run_events();
  w0.expect_removes(0);
  CHECK(port.departures.empty());
  w0.core_says(0, {dp::event_kind::removed, got.id, got.handle.value(), 0, 0});
  w0.w.run_events();
  CHECK(w0.w.get(got.handle) == nullptr);
  REQUIRE(port.departures.size() == 1);
  const auto d = port.departures.front();
  CHECK(d.worker == 1);
  CHECK(d.origin == h);
  CHECK(d.rx.offset() == rx.offset());
  w1.segments.app_worker_gone(4);
  CHECK(w1.segments.count() == segments_before);  // one pair still out
  w1.tp->take_back(d.app_worker, d.rx, d.tx);
  CHECK(w1.segments.count() == segments_before - 1);  // the last pair came home
}

TEST_CASE("SPEC 5 udp: a write queued on the old worker when the session moved still reaches the new owner core, and later writes do too") {
  carrier port;
  worker_side w0{0, 2, &port};
  worker_side w1{1, 2, &port};
  auto [id, h] = connect_on(w1);
  w1.drop_commands();
  // The app wrote: its tx event waits on worker 1 when the move starts.
  w1.w.post_custom_tx(*w1.w.get(h));
  const auto got = adopt_on_seen(port, w0, w1, id, h);
  const auto handed = w1.tp->hand_over(id, 0, got.handle, got.id);
  REQUIRE(handed.outcome == migrate_outcome::completed);
  w1.w.run_events();  // the old handle's tx event is stale there now
  w1.drop_commands();
  // Worker 0 finishes the move: the held write is kicked to core 0.
  w0.w.migrate_finish(got.handle, handed.outcome);
  w0.w.run_events();
  auto kick = w0.take(0);
  REQUIRE(kick.size() == 1);
  CHECK(kick[0].kind == dp::command_kind::tx);
  CHECK(kick[0].id == got.id);
  CHECK(kick[0].worker == 0);
  w0.core_says(0, {dp::event_kind::taken, got.id, got.handle.value(), 0, 0});
  w0.drop_commands();
  // A later write on the new worker posts its own event (the old worker's
  // "tx event queued" flag did not come along).
  w0.w.post_custom_tx(*w0.w.get(got.handle));
  w0.w.run_events();
  auto next = w0.take(0);
  REQUIRE(next.size() == 1);
  CHECK(next[0].kind == dp::command_kind::tx);
  CHECK(next[0].id == got.id);
}

TEST_CASE("SPEC 5 / 9.4 udp: a session closed before the hand-over stays where it is, the new worker forgets its copy silently") {
  carrier port;
  worker_side w0{0, 2, &port};
  worker_side w1{1, 2, &port};
  auto [id, h] = connect_on(w1);
  w1.drop_commands();
  const auto got = adopt_on_seen(port, w0, w1, id, h);
  // The app closes on the old worker while the offer travels: the
  // connection is removed where it is (core 1 still owns it).
  REQUIRE(w1.w.app_close(h).has_value());
  w1.w.run_events();
  auto removes = w1.take(1);
  REQUIRE(removes.size() == 1);
  CHECK(removes[0].kind == dp::command_kind::remove);
  CHECK(removes[0].to_core == 1);
  const auto handed = w1.tp->hand_over(id, 0, got.handle, got.id);
  CHECK(handed.outcome == migrate_outcome::gone);
  CHECK(w1.take(1).empty());  // nothing moved
  CHECK(w1.apps.count("migrate") == 0);
  w0.tp->abandon(got.handle);
  CHECK(w0.w.get(got.handle) == nullptr);
  CHECK(w0.tp->connections() == 0);
  CHECK(w0.apps.events.empty());  // the app never heard of the copy
  // The old worker finishes its close as usual.
  w1.core_says(1, {dp::event_kind::removed, id, h.value(), 0, 1});
  w1.w.run_events();
  CHECK(w1.w.get(h) == nullptr);
  CHECK(w1.apps.count("cleanup_session") == 1);
  CHECK(port.departures.empty());
}

TEST_CASE("SPEC 5 udp: one worker, two cores: only the binding moves, and a close while it travels waits for the new owner") {
  worker_side w0{0, 1, nullptr};
  auto [id, h] = connect_on(w0);
  w0.drop_commands();
  w0.core_says(1, {dp::event_kind::seen, id, h.value(), 0, 1});
  auto moves = w0.take(0);
  REQUIRE(moves.size() == 1);
  CHECK(moves[0].kind == dp::command_kind::move);
  CHECK(moves[0].to_core == 1);
  CHECK(moves[0].new_worker == 0);
  CHECK(moves[0].new_id == id);
  CHECK(w0.apps.count("migrate") == 0);  // same session, same handle
  // Closed before core 1 said taken: nobody is asked to remove it yet.
  REQUIRE(w0.w.app_close(h).has_value());
  w0.w.run_events();
  CHECK(w0.take(0).empty());
  CHECK(w0.take(1).empty());
  w0.core_says(1, {dp::event_kind::taken, id, h.value(), 0, 1});
  auto old_core = w0.take(0);
  REQUIRE(old_core.size() == 2);
  CHECK(old_core[0].kind == dp::command_kind::add);  // forwarding to the new owner
  CHECK(old_core[0].binding.core == 1);
  CHECK(old_core[1].kind == dp::command_kind::remove);
  CHECK(old_core[1].to_core == 1);
  auto new_core = w0.take(1);
  REQUIRE(new_core.size() == 1);
  CHECK(new_core[0].kind == dp::command_kind::remove);
  w0.core_says(1, {dp::event_kind::removed, id, h.value(), 0, 1});
  w0.w.run_events();
  CHECK(w0.w.get(h) == nullptr);
  CHECK(w0.tp->connections() == 0);
}

TEST_CASE("udp table: a forwarding entry gives way to a newer binding of the same connection, an owned one never") {
  dp::udp_table t{0};
  dp::udp_binding fwd;
  fwd.id = 1;
  fwd.worker = 1;
  fwd.core = 1;  // owned by core 1: forwarding here
  fwd.connected = true;
  fwd.local_ip = our_ip;
  fwd.local_port = 50000;
  fwd.remote_ip = 0x0a000001;
  fwd.remote_port = 5000;
  auto e = t.add(fwd);
  REQUIRE(e.has_value());
  CHECK_FALSE(t.owned(**e));
  CHECK_FALSE((*e)->hinted);  // its first datagram here may hint a move
  // The same connection moved here under another key: the forwarding entry goes.
  dp::udp_binding mine = fwd;
  mine.id = 9;
  mine.worker = 0;
  mine.core = 0;
  mine.settled = true;
  auto m = t.add(mine);
  REQUIRE(m.has_value());
  CHECK(t.owned(**m));
  CHECK(t.size() == 1);
  CHECK(t.find(1, 1) == nullptr);
  CHECK(t.match(0x0a000001, 5000, our_ip, 50000) == *m);
  // A late forwarding add of the old key cannot displace the owner.
  CHECK_FALSE(t.add(fwd).has_value());
  CHECK(t.match(0x0a000001, 5000, our_ip, 50000) == *m);
  // A listener forwarding here is never a reason to move anything.
  dp::udp_binding l;
  l.id = 2;
  l.worker = 0;
  l.core = 1;
  l.local_port = 7777;
  auto le = t.add(l);
  REQUIRE(le.has_value());
  CHECK((*le)->hinted);
}
