// The UDP transport's worker half (session/udp/udp_transport) against a
// simulated data-plane core: the test pops the commands the worker sends
// and pushes the events a core would. Checks the session-layer flows
// (listen, connect, close, cleanup), the fifo hand-over rule (a fifo the
// core may write is never freed before the core let go) and the per-app
// segment announced before the fifo that lives in it. Also the core's
// connection table (dataplane/udp_table) on its own.

#include "session/udp/udp_transport.hpp"
#include "dataplane/udp_table.hpp"
#include "session_test_env.hpp"

#include <doctest/doctest.h>

using namespace actorstack;
using namespace actorstack::test;
using namespace actorstack::session_layer;
namespace dp = actorstack::dataplane;

namespace {

struct segment_recording_apps : recording_apps {
  std::vector<segment_info> segments;
  std::vector<session_handle> listened_sessions;
  void segment_added(std::uint32_t app_worker, const segment_info& seg) override {
    segments.push_back(seg);
    events.push_back({"segment_add", {}, app_worker});
  }
  void listened(const session& s) override {
    listened_sessions.push_back(s.handle);
    events.push_back({"listened", s.handle, s.app_worker});
  }
  // App worker 9 asked for its own sizes; every other one for none.
  fifo_sizes fifo_sizes_of(std::uint32_t app_worker) const override {
    return app_worker == 9 ? fifo_sizes{32 * 1024, 8 * 1024} : fifo_sizes{};
  }
};

struct udp_registry : transport_registry {
  transport* udp = nullptr;
  transport* find(transport_proto p) noexcept override { return p == transport_proto::udp ? udp : nullptr; }
};

constexpr std::uint32_t our_ip = 0x0a000002;  // 10.0.0.2

struct udp_fixture {
  segment_recording_apps apps;
  udp_registry registry;
  session_worker_state w{0, {&apps, &registry}};  // udp brings its own fifos
  dp::channel<dp::command> commands{64};
  dp::channel<dp::event> events{64};
  net::app_segments segments{apps, segments_config()};
  udp::udp_transport tp{w, apps, {{&commands, &events}}, segments, config()};

  udp_fixture() { registry.udp = &tp; }

  static udp::udp_worker_config config() {
    udp::udp_worker_config c;
    c.worker = 0;
    c.workers = 2;
    c.local_ip = our_ip;
    return c;
  }
  static net::app_segments_config segments_config() {
    net::app_segments_config c;
    c.rx_fifo_size = c.tx_fifo_size = 16 * 1024;
    c.segment_size = 8u << 20;
    return c;
  }

  std::vector<dp::command> take_commands() {
    std::vector<dp::command> out;
    dp::command c;
    while (commands.pop(c)) out.push_back(c);
    return out;
  }
  void core_says(dp::event_kind k, std::uint32_t id, std::uint64_t session, std::uint32_t bytes = 0) {
    REQUIRE(events.push({k, id, session, bytes}));
    tp.drain_events();
  }
};

endpoint udp_ep(std::uint32_t ip, std::uint16_t port) {
  return endpoint{transport_proto::udp, ip_address::v4(ip), port};
}

}  // namespace

TEST_CASE("udp transport: a listener gets fifos from its app's segment, announced first") {
  udp_fixture fx;
  auto h = fx.w.listen(3, udp_ep(0, 7777));
  REQUIRE(h.has_value());
  session* s = fx.w.get(*h);
  REQUIRE(s != nullptr);
  CHECK(s->rx.valid());
  CHECK(s->tx.valid());
  // SPEC 9.3: the segment is announced before the notification naming its fifos.
  REQUIRE(fx.apps.kinds() == std::vector<std::string>{"segment_add", "listened"});
  REQUIRE(fx.apps.segments.size() == 1);
  CHECK(fx.apps.segments[0].fd >= 0);
  auto cmds = fx.take_commands();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::add);
  CHECK_FALSE(cmds[0].binding.connected);
  CHECK(cmds[0].binding.local_port == 7777);
  CHECK(cmds[0].binding.session == h->value());
  CHECK(cmds[0].binding.rx.offset() == s->rx.offset());
  // A second listener of the same app worker shares the segment.
  REQUIRE(fx.w.listen(3, udp_ep(our_ip, 7778)).has_value());
  CHECK(fx.apps.segments.size() == 1);
}

TEST_CASE("udp transport: an app's own fifo sizes win over the transport's") {
  udp_fixture fx;
  auto own = fx.w.listen(9, udp_ep(0, 7780));
  auto plain = fx.w.listen(3, udp_ep(0, 7781));
  REQUIRE(own.has_value());
  REQUIRE(plain.has_value());
  CHECK(fx.w.get(*own)->rx.size() == 32 * 1024);
  CHECK(fx.w.get(*own)->tx.size() == 8 * 1024);
  CHECK(fx.w.get(*plain)->rx.size() == 16 * 1024);  // app_segments_config's
  CHECK(fx.w.get(*plain)->tx.size() == 16 * 1024);
}

TEST_CASE("udp transport: listening on another host's address is no_route, IPv6 not_supported") {
  udp_fixture fx;
  CHECK(fx.w.listen(1, udp_ep(0x0a000009, 53)).code() == errc::no_route);
  endpoint v6{transport_proto::udp, *ip_address::parse("::1"), 53};
  CHECK(fx.w.listen(1, v6).code() == errc::not_supported);
  CHECK(fx.take_commands().empty());
  CHECK(fx.w.pool().live() == 0);
}

TEST_CASE("udp transport: stop_listen frees the listener's fifos only after the core let go") {
  udp_fixture fx;
  auto h = *fx.w.listen(1, udp_ep(0, 9000));
  auto& seg_fifos = fx.apps.segments;
  REQUIRE(seg_fifos.size() == 1);
  const std::uint32_t conn = fx.w.get(h)->connection;
  (void)fx.take_commands();
  REQUIRE(fx.w.stop_listen(h).has_value());
  // The app heard its listener's cleanup; the core is asked to remove it.
  CHECK(fx.apps.count("cleanup_session") == 1);
  auto cmds = fx.take_commands();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::remove);
  CHECK(fx.tp.connections() == 1);  // still held: the core may be writing
  fx.core_says(dp::event_kind::removed, conn, h.value());
  CHECK(fx.tp.connections() == 0);
}

TEST_CASE("udp transport: connect creates the session at once and installs its 5-tuple") {
  udp_fixture fx;
  connect_args args{udp_ep(0x0a000001, 5000), 4, 42};
  auto id = fx.tp.connect(args);
  REQUIRE(id.has_value());
  REQUIRE(fx.apps.kinds() == std::vector<std::string>{"segment_add", "connected"});
  const auto& ev = fx.apps.events.back();
  CHECK(ev.err == errc::none);
  CHECK(ev.extra == 42);
  auto cmds = fx.take_commands();
  REQUIRE(cmds.size() == 1);
  const auto& b = cmds[0].binding;
  CHECK(b.connected);
  CHECK(b.remote_ip == 0x0a000001);
  CHECK(b.remote_port == 5000);
  CHECK(b.local_ip == our_ip);
  // Worker 0 of 2 takes the lower half of the ephemeral range.
  CHECK(b.local_port >= 49152);
  CHECK(b.local_port < 49152 + 8192);
  CHECK(fx.w.get(ev.handle)->state == session_state::ready);
}

TEST_CASE("udp transport: a connect from the app's own port (a bind before connect) keeps that port, and the same 5-tuple twice is refused") {
  udp_fixture fx;
  REQUIRE(fx.tp.connect({udp_ep(0x0a000001, 5000), 4, 1, 7500}).has_value());
  auto cmds = fx.take_commands();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].binding.local_port == 7500);
  CHECK(fx.tp.connect({udp_ep(0x0a000001, 5000), 4, 2, 7500}).error().code == errc::already_listening);
  CHECK(fx.take_commands().empty());
  // Another peer from the same port is another 5-tuple.
  REQUIRE(fx.tp.connect({udp_ep(0x0a000002, 5000), 4, 3, 7500}).has_value());
  CHECK(fx.apps.count("connected") == 2);
}

TEST_CASE("udp transport: rx and tx-space events become app notifications, stale ones do not") {
  udp_fixture fx;
  auto id = *fx.tp.connect({udp_ep(0x0a000001, 5000), 4, 1});
  const session_handle h = fx.apps.events.back().handle;
  fx.w.on_connected_reply(h, true);
  fx.apps.clear();
  fx.core_says(dp::event_kind::rx, id, h.value());
  fx.w.flush_enqueue_events();
  CHECK(fx.apps.count("rx") == 1);
  // An event for an older session under the same id is ignored.
  fx.core_says(dp::event_kind::rx, id, h.value() + 1);
  fx.w.flush_enqueue_events();
  CHECK(fx.apps.count("rx") == 1);
  // The app wants to hear about room: a tx-space event tells it.
  session* s = fx.w.get(h);
  s->tx.add_want_deq_ntf(shm::deq_ntf::on_every_dequeue);
  fx.core_says(dp::event_kind::tx_space, id, h.value(), 100);
  CHECK(fx.apps.count("tx") == 1);
  // The app wrote: custom tx asks the core to send.
  (void)fx.take_commands();
  fx.tp.custom_tx(*s);
  auto cmds = fx.take_commands();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tx);
  CHECK(cmds[0].id == id);
}

TEST_CASE("udp transport: an app close removes the 5-tuple, then frees session and fifos") {
  udp_fixture fx;
  auto id = *fx.tp.connect({udp_ep(0x0a000001, 5000), 4, 1});
  const session_handle h = fx.apps.events.back().handle;
  fx.w.on_connected_reply(h, true);
  (void)fx.take_commands();
  REQUIRE(fx.w.app_close(h).has_value());
  fx.w.run_events();
  auto cmds = fx.take_commands();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::remove);
  CHECK(fx.w.get(h) != nullptr);  // waits for the core
  fx.core_says(dp::event_kind::removed, id, h.value());
  fx.w.run_events();
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.apps.count("cleanup_session") == 1);
  CHECK(fx.tp.connections() == 0);
}

TEST_CASE("udp transport: the core finding the app's fifos broken resets the session, counted, and the app close removes it") {
  udp_fixture fx;
  auto id = *fx.tp.connect({udp_ep(0x0a000001, 5000), 4, 1});
  const session_handle h = fx.apps.events.back().handle;
  fx.w.on_connected_reply(h, true);
  auto adds = fx.take_commands();
  REQUIRE(adds.size() == 1);
  // The binding carries the worker's record of the core's ends, taken before the app heard of the fifos.
  CHECK(adds[0].binding.rx_end.own() == fx.w.get(h)->rx.tail_position());
  fx.core_says(dp::event_kind::violation, id, h.value());
  fx.core_says(dp::event_kind::violation, id, h.value() + 1);  // not this session: ignored
  CHECK(fx.apps.count("shm_violation") == 1);
  CHECK(fx.apps.count("reset") == 1);
  CHECK(fx.w.counters().shm_violations == 1);
  REQUIRE(fx.w.app_close(h).has_value());
  fx.w.run_events();
  auto cmds = fx.take_commands();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::remove);
  fx.core_says(dp::event_kind::removed, id, h.value());
  fx.w.run_events();
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.tp.connections() == 0);
}

TEST_CASE("udp transport: a full command ring defers commands in order, never drops them") {
  udp_fixture fx;
  // Fill the ring (64) with listeners' adds, then keep going.
  std::vector<session_handle> hs;
  for (std::uint16_t p = 1; p <= 80; ++p) hs.push_back(*fx.w.listen(1, udp_ep(0, p)));
  CHECK(fx.tp.has_deferred());
  CHECK(fx.tp.commands_deferred() > 0);
  std::vector<dp::command> all = fx.take_commands();
  while (fx.tp.flush_commands()) {
    auto more = fx.take_commands();
    all.insert(all.end(), more.begin(), more.end());
  }
  auto rest = fx.take_commands();
  all.insert(all.end(), rest.begin(), rest.end());
  REQUIRE(all.size() == 80);
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].binding.local_port == i + 1);
}

TEST_CASE("udp transport: an add the core refuses resets the session") {
  udp_fixture fx;
  auto id = *fx.tp.connect({udp_ep(0x0a000001, 5000), 4, 1});
  const session_handle h = fx.apps.events.back().handle;
  fx.w.on_connected_reply(h, true);
  fx.core_says(dp::event_kind::add_failed, id, h.value());
  CHECK(fx.apps.count("reset") == 1);
  CHECK(fx.tp.connections() == 0);
}

TEST_CASE("udp table: connected 5-tuples win over listeners, exact address over any") {
  dp::udp_table t;
  dp::udp_binding any;
  any.id = 1;
  any.local_port = 53;
  dp::udp_binding exact = any;
  exact.id = 2;
  exact.local_ip = our_ip;
  dp::udp_binding flow = any;
  flow.id = 3;
  flow.local_ip = our_ip;
  flow.connected = true;
  flow.remote_ip = 0x0a000001;
  flow.remote_port = 4000;
  REQUIRE(t.add(any).has_value());
  CHECK(t.match(0x0a000001, 4000, our_ip, 53)->binding.id == 1);
  REQUIRE(t.add(exact).has_value());
  CHECK(t.match(0x0a000001, 4000, our_ip, 53)->binding.id == 2);
  CHECK(t.match(0x0a000001, 4000, 0xffffffff, 53)->binding.id == 1);  // broadcast: the wildcard
  REQUIRE(t.add(flow).has_value());
  CHECK(t.match(0x0a000001, 4000, our_ip, 53)->binding.id == 3);
  CHECK(t.match(0x0a000001, 4001, our_ip, 53)->binding.id == 2);
  CHECK(t.match(0x0a000001, 4000, our_ip, 54) == nullptr);
  CHECK(t.size() == 3);
  CHECK(t.listeners() == 2);
}

TEST_CASE("udp table: duplicates are refused, remove forgets every index") {
  dp::udp_table t;
  dp::udp_binding l;
  l.id = 1;
  l.local_port = 53;
  REQUIRE(t.add(l).has_value());
  auto same_port = l;
  same_port.id = 2;
  CHECK(t.add(same_port).code() == errc::already_listening);
  CHECK(t.add(l).code() == errc::invalid_argument);  // same (worker, id)
  auto no_port = l;
  no_port.id = 3;
  no_port.local_port = 0;
  CHECK(t.add(no_port).code() == errc::invalid_argument);
  dp::udp_binding f;
  f.id = 4;
  f.connected = true;
  f.local_port = 50000;
  f.remote_ip = 1;
  f.remote_port = 2;
  REQUIRE(t.add(f).has_value());
  auto f2 = f;
  f2.id = 5;
  CHECK(t.add(f2).code() == errc::invalid_argument);
  CHECK(t.remove(0, 1));
  CHECK(t.remove(0, 4));
  CHECK_FALSE(t.remove(0, 4));
  CHECK(t.find(0, 1) == nullptr);
  CHECK(t.match(1, 2, 0, 50000) == nullptr);
  CHECK(t.size() == 0);
  REQUIRE(t.add(same_port).has_value());  // the port is free again
}
