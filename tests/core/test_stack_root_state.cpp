// The stack root's registry and decisions without an actor system: apps
// and app workers, listeners and who accepts on them, the connect decision
// (SPEC §6) and the segment contexts, with every effect recorded.
#include "session/stack_root_state.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace actorstack;
using session_layer::stack_root_state;

namespace {

// Every effect as one line of text, in order.
struct recorded_effects final : session_layer::root_effects {
  std::vector<std::string> log;
  std::vector<ct::pending_connect> connects;

  void app_worker_dropped(std::uint32_t index) override { log.push_back("drop " + std::to_string(index)); }
  void close_listener(session_handle l) override { log.push_back("close " + std::to_string(l.value())); }
  void move_listener(session_handle l, std::uint32_t owner) override {
    log.push_back("move " + std::to_string(l.value()) + " to " + std::to_string(owner));
  }
  void listener_members(session_handle l, const std::vector<std::uint32_t>& app_workers) override {
    std::string line = "members " + std::to_string(l.value()) + ":";
    for (std::uint32_t w : app_workers) line += " " + std::to_string(w);
    log.push_back(line);
  }
  void context_created(std::uint32_t id, std::uint32_t client, std::uint32_t server) override {
    log.push_back("context " + std::to_string(id) + " " + std::to_string(client) + "->" + std::to_string(server));
  }
  void context_retired(std::uint32_t id) override { log.push_back("retire " + std::to_string(id)); }
  void ct_connect(const ct::pending_connect& pc) override {
    connects.push_back(pc);
    log.push_back("ct connect " + std::to_string(pc.client_app_worker) + "->" +
                  std::to_string(pc.server_app_worker) + " via " + std::to_string(pc.context));
  }
  void net_connect(std::uint32_t worker, std::uint32_t app_worker, const endpoint& remote, std::uint64_t opaque,
                   std::uint16_t local_port) override {
    log.push_back("net connect " + std::to_string(app_worker) + " on worker " + std::to_string(worker) + " to " +
                  remote.to_string() + " #" + std::to_string(opaque) +
                  (local_port != 0 ? " from port " + std::to_string(local_port) : std::string{}));
  }
  void connect_failed(std::uint32_t app_worker, std::uint64_t opaque, errc why) override {
    log.push_back("connect failed " + std::to_string(app_worker) + " #" + std::to_string(opaque) + " " +
                  std::string{to_string(why)});
  }
  std::vector<std::string> take() { return std::exchange(log, {}); }
};

endpoint ep(const char* uri) {
  auto e = parse_uri(uri);
  REQUIRE(e);
  return *e;
}

// A registry with two session workers and a data plane, and helpers that
// attach apps and listen as the stack root actor does.
struct root_fixture {
  recorded_effects fx;
  stack_root_state root{[] {
                          stack_config c;
                          c.dataplane_port = "net_memif0";
                          c.dataplane_ip = "10.0.0.2/24";
                          return c;
                        }(),
                        fx};
  std::uint64_t next_handle = 100;

  root_fixture() { root.set_session_workers(2); }

  app_reservation attach(app_options opts) {
    auto r = root.reserve_app(opts);
    REQUIRE(r);
    REQUIRE(root.add_app_workers(r->app, opts.workers));
    return *r;
  }
  app_reservation attach(const char* name, std::uint32_t workers = 1) {
    app_options o;
    o.name = name;
    o.workers = workers;
    return attach(o);
  }
  // Both halves of a listen; the listener session's handle made up here.
  result<session_handle> listen(std::uint32_t app, std::uint32_t app_worker, const char* uri,
                                bool whole_app = false, bool reuse_port = false) {
    auto plan = root.listen(app, app_worker, ep(uri), whole_app, reuse_port);
    if (!plan) return unexpected{plan.error()};
    if (*plan) return **plan;
    const auto h = session_handle::from_value(next_handle++);
    if (auto r = root.listened(app, app_worker, ep(uri), whole_app, h, reuse_port); !r) return unexpected{r.error()};
    return h;
  }
  result<void> connect(std::uint32_t app, std::uint32_t app_worker, const char* uri, bool async = false,
                       std::uint64_t opaque = 7) {
    return root.connect({app, app_worker, ep(uri), opaque, async});
  }
};

}  // namespace

TEST_CASE("stack root: app workers are 1..64 and fifo sizes 4096..max or 0, each refusal invalid_argument") {
  root_fixture f;
  for (std::uint32_t workers : {0u, 65u}) {
    app_options o;
    o.workers = workers;
    auto r = f.root.reserve_app(o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::invalid_argument);
  }
  app_options small;
  small.rx_fifo_size = 4095;
  CHECK(f.root.reserve_app(small).error().code == errc::invalid_argument);
  app_options big;
  big.tx_fifo_size = stack_config{}.max_fifo_size + 1;
  CHECK(big.tx_fifo_size > stack_config{}.max_fifo_size);
  CHECK(f.root.reserve_app(big).error().code == errc::invalid_argument);
  CHECK(f.root.apps().empty());
}

TEST_CASE("stack root: an app's fifo sizes 0 take the stack's, its workers get consecutive global indices") {
  root_fixture f;
  auto a = f.attach("a", 3);
  auto b = f.attach("b", 2);
  CHECK(a.first_worker == 0);
  CHECK(b.first_worker == 3);
  CHECK(f.root.options_of_worker(4)->name == "b");
  CHECK(f.root.options_of_worker(4)->rx_fifo_size == stack_config{}.rx_fifo_size);
  for (std::uint32_t w = 0; w < 5; ++w) CHECK(f.root.is_live(w));
  CHECK_FALSE(f.root.is_live(5));
  // Registering an app's workers twice, or an unknown app's: no_such_app.
  CHECK(f.root.add_app_workers(a.app, 3).error().code == errc::no_such_app);
  CHECK(f.root.add_app_workers(9, 1).error().code == errc::no_such_app);
  CHECK(f.root.live_apps() == 2);
}

TEST_CASE("stack root: worker add reserves a fresh index, only that index registers, never twice") {
  root_fixture f;
  auto a = f.attach("a", 1);
  auto r = f.root.reserve_worker(a.app);
  REQUIRE(r);
  CHECK(r->first_worker == 1);
  CHECK(f.root.add_worker(a.app, 0).error().code == errc::no_such_app);  // the app's first worker
  CHECK(f.root.add_worker(a.app, 2).error().code == errc::no_such_app);  // never reserved
  REQUIRE(f.root.add_worker(a.app, 1));
  CHECK(f.root.add_worker(a.app, 1).error().code == errc::no_such_app);
  CHECK(f.root.is_live(1));
  CHECK(f.root.reserve_worker(7).error().code == errc::no_such_app);
}

TEST_CASE("stack root: worker add stops at 64 live workers of one app") {
  root_fixture f;
  auto a = f.attach("a", 64);
  auto r = f.root.reserve_worker(a.app);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::invalid_argument);
}

TEST_CASE("stack root: worker del drops the worker, the last worker goes only with detach") {
  root_fixture f;
  auto a = f.attach("a", 2);
  CHECK(f.root.del_worker(a.app, 5).error().code == errc::invalid_argument);
  REQUIRE(f.root.del_worker(a.app, 1));
  CHECK(f.fx.take() == std::vector<std::string>{"drop 1"});
  CHECK_FALSE(f.root.is_live(1));
  CHECK(f.root.del_worker(a.app, 0).error().code == errc::invalid_argument);
  CHECK(f.root.is_live(0));
}

TEST_CASE("stack root: a second app's listen on another port succeeds, on the same endpoint already_listening") {
  root_fixture f;
  auto a = f.attach("a");
  auto b = f.attach("b");
  auto la = f.listen(a.app, a.first_worker, "ct://0.0.0.0/5000");
  REQUIRE(la);
  REQUIRE(f.listen(b.app, b.first_worker, "ct://0.0.0.0/5001"));
  auto again = f.listen(b.app, b.first_worker, "ct://0.0.0.0/5000");
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::already_listening);
  CHECK(f.root.listener_count() == 2);
  const auto rows = f.root.listeners();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].app_name == "a");
  CHECK(rows[0].endpoint == "ct://0.0.0.0/5000");
}

TEST_CASE("stack root: listen names a live worker of the app, and needs session workers") {
  root_fixture f;
  auto a = f.attach("a");
  auto b = f.attach("b");
  CHECK(f.root.listen(a.app, b.first_worker, ep("ct://0.0.0.0/1"), false).error().code == errc::no_such_app);
  CHECK(f.root.listen(a.app, 99, ep("ct://0.0.0.0/1"), false).error().code == errc::no_such_app);
  CHECK(f.root.listen(9, 0, ep("ct://0.0.0.0/1"), false).error().code == errc::no_such_app);
  recorded_effects fx;
  stack_root_state bare{stack_config{}, fx};
  auto r = bare.reserve_app(app_options{});
  REQUIRE(bare.add_app_workers(r->app, 1));
  CHECK(bare.listen(r->app, 0, ep("ct://0.0.0.0/1"), false).error().code == errc::no_such_app);
}

TEST_CASE("stack root: a listen that lost the race for its endpoint closes its listener session") {
  root_fixture f;
  auto a = f.attach("a");
  auto b = f.attach("b");
  // Both asked before either listener session existed.
  REQUIRE(f.root.listen(a.app, a.first_worker, ep("ct://0.0.0.0/80"), false));
  REQUIRE(f.root.listen(b.app, b.first_worker, ep("ct://0.0.0.0/80"), false));
  REQUIRE(f.root.listened(a.app, a.first_worker, ep("ct://0.0.0.0/80"), false, session_handle::from_value(1)));
  auto lost = f.root.listened(b.app, b.first_worker, ep("ct://0.0.0.0/80"), false, session_handle::from_value(2));
  REQUIRE_FALSE(lost);
  CHECK(f.fx.take() == std::vector<std::string>{"close 2"});
  CHECK(f.root.listener_count() == 1);
}

TEST_CASE("stack root: workers of one app listening on one endpoint share it, connects go round robin") {
  root_fixture f;
  auto server = f.attach("server", 2);
  auto client = f.attach("client");
  auto l0 = f.listen(server.app, 0, "ct://0.0.0.0/7");
  auto l1 = f.listen(server.app, 1, "ct://0.0.0.0/7");
  REQUIRE(l0);
  REQUIRE(l1);
  CHECK(*l0 == *l1);  // joined
  CHECK(f.listen(server.app, 1, "ct://0.0.0.0/7").error().code == errc::already_listening);
  for (int i = 0; i < 4; ++i) REQUIRE(f.connect(client.app, client.first_worker, "ct://127.0.0.1/7"));
  REQUIRE(f.fx.connects.size() == 4);
  CHECK(f.fx.connects[0].server_app_worker == 0);
  CHECK(f.fx.connects[1].server_app_worker == 1);
  CHECK(f.fx.connects[2].server_app_worker == 0);
  CHECK(f.fx.connects[3].server_app_worker == 1);
  CHECK(f.fx.connects[0].listener == *l0);
  // One context per (server app, client worker, server worker), made once.
  CHECK(f.fx.connects[0].context == f.fx.connects[2].context);
  CHECK(f.fx.connects[0].context != f.fx.connects[1].context);
  CHECK(f.fx.take() == std::vector<std::string>{"context 0 2->0", "ct connect 2->0 via 0", "context 1 2->1",
                                                "ct connect 2->1 via 1", "ct connect 2->0 via 0",
                                                "ct connect 2->1 via 1"});
}

TEST_CASE("stack root: a whole-app listen accepts on every worker of the app") {
  root_fixture f;
  auto server = f.attach("server", 3);
  auto client = f.attach("client");
  REQUIRE(f.listen(server.app, server.first_worker, "ct://0.0.0.0/9", true));
  for (int i = 0; i < 3; ++i) REQUIRE(f.connect(client.app, client.first_worker, "ct://127.0.0.1/9"));
  REQUIRE(f.fx.connects.size() == 3);
  CHECK(f.fx.connects[0].server_app_worker == 0);
  CHECK(f.fx.connects[1].server_app_worker == 1);
  CHECK(f.fx.connects[2].server_app_worker == 2);
  // A whole-app listener is never joined.
  CHECK(f.listen(server.app, 1, "ct://0.0.0.0/9").error().code == errc::already_listening);
}

TEST_CASE("stack root: the owner of a shared listener leaving hands it on, the last one closes it") {
  root_fixture f;
  auto server = f.attach("server", 2);
  auto l = f.listen(server.app, 0, "ct://0.0.0.0/7");
  REQUIRE(f.listen(server.app, 1, "ct://0.0.0.0/7"));
  REQUIRE(f.root.stop_listen(server.app, *l, 0, false));
  CHECK(f.fx.take() == std::vector<std::string>{"move " + std::to_string(l->value()) + " to 1"});
  CHECK(f.root.stop_listen(server.app, *l, 0, false).error().code == errc::no_listener);
  REQUIRE(f.root.stop_listen(server.app, *l, 1, false));
  CHECK(f.fx.take() == std::vector<std::string>{"close " + std::to_string(l->value())});
  CHECK(f.root.listener_count() == 0);
  CHECK(f.root.stop_listen(server.app, *l, 1, true).error().code == errc::no_listener);
}

TEST_CASE("stack root: a tcp listener on a stack with a data plane is shared by apps of one uid that say SO_REUSEPORT, and its cores hear who accepts at every join and leave") {
  root_fixture f;
  auto a = f.attach("a");
  auto b = f.attach("b");
  auto c = f.attach("c");
  auto l = f.listen(a.app, a.first_worker, "tcp://0.0.0.0/80", false, true);
  REQUIRE(l);
  CHECK(f.fx.take().empty());  // one app worker: nothing to spread
  const std::string members = "members " + std::to_string(l->value()) + ":";
  auto joined = f.listen(b.app, b.first_worker, "tcp://0.0.0.0/80", false, true);
  REQUIRE(joined);
  CHECK(*joined == *l);
  CHECK(f.fx.take() == std::vector<std::string>{members + " 0 1"});
  // Without SO_REUSEPORT on its side: refused, and nobody hears of it.
  CHECK(f.listen(c.app, c.first_worker, "tcp://0.0.0.0/80").error().code == errc::already_listening);
  CHECK(f.fx.take().empty());
  // The owner leaves: the listener is b's, and b alone accepts.
  REQUIRE(f.root.detach(a.app));
  CHECK(f.fx.take() == std::vector<std::string>{"move " + std::to_string(l->value()) + " to 1", members + " 1",
                                                "drop 0"});
  REQUIRE(f.root.detach(b.app));
  CHECK(f.fx.take() == std::vector<std::string>{"close " + std::to_string(l->value()), "drop 1"});
  CHECK(f.root.listener_count() == 0);
}

TEST_CASE("stack root: a whole-app tcp listen on a stack with a data plane names every worker of the app to its cores") {
  root_fixture f;
  auto server = f.attach("server", 2);
  auto l = f.listen(server.app, server.first_worker, "tcp://0.0.0.0/80", true);
  REQUIRE(l);
  CHECK(f.fx.take() == std::vector<std::string>{"members " + std::to_string(l->value()) + ": 0 1"});
}

TEST_CASE("stack root: stop listen names the app's own listener, another app's is no_listener") {
  root_fixture f;
  auto a = f.attach("a");
  auto b = f.attach("b");
  auto l = f.listen(a.app, a.first_worker, "ct://0.0.0.0/7");
  CHECK(f.root.stop_listen(b.app, *l, b.first_worker, true).error().code == errc::no_listener);
  CHECK(f.root.listener_count() == 1);
  REQUIRE(f.root.stop_listen(a.app, *l, a.first_worker, true));
  CHECK(f.root.listener_count() == 0);
}

TEST_CASE("stack root: deleting a worker that accepts on a listener hands the listener on") {
  root_fixture f;
  auto server = f.attach("server", 2);
  auto l = f.listen(server.app, 0, "ct://0.0.0.0/7");
  REQUIRE(f.listen(server.app, 1, "ct://0.0.0.0/7"));
  REQUIRE(f.root.del_worker(server.app, 0));
  CHECK(f.fx.take() == std::vector<std::string>{"move " + std::to_string(l->value()) + " to 1", "drop 0"});
  CHECK(f.root.listener_count() == 1);
}

TEST_CASE("SPEC 6 connect: nobody listening on the endpoint is refused, blocking as the error, async as a notification") {
  root_fixture f;
  auto a = f.attach("a");
  auto b = f.attach("b");
  REQUIRE(f.listen(a.app, a.first_worker, "ct://0.0.0.0/5000"));
  auto r = f.connect(b.app, b.first_worker, "ct://127.0.0.1/5001");
  REQUIRE_FALSE(r);
  const errc why = r.error().code;
  CHECK(why != errc::none);
  REQUIRE(f.connect(b.app, b.first_worker, "ct://127.0.0.1/5001", true, 42));
  CHECK(f.fx.take() ==
        std::vector<std::string>{"connect failed 1 #42 " + std::string{to_string(why)}});
  CHECK(f.fx.connects.empty());
  CHECK(f.connect(9, 0, "ct://127.0.0.1/5000").error().code == errc::no_such_app);
}

TEST_CASE("SPEC 6 connect: udp goes to the network round robin over the session workers") {
  root_fixture f;
  auto a = f.attach("a");
  REQUIRE(f.connect(a.app, a.first_worker, "udp://10.0.0.2/53", false, 1));
  REQUIRE(f.connect(a.app, a.first_worker, "udp://10.0.0.2/53", false, 2));
  REQUIRE(f.connect(a.app, a.first_worker, "udp://10.0.0.2/53", false, 3));
  CHECK(f.fx.take() == std::vector<std::string>{"net connect 0 on worker 0 to udp://10.0.0.2/53 #1",
                                                "net connect 0 on worker 1 to udp://10.0.0.2/53 #2",
                                                "net connect 0 on worker 0 to udp://10.0.0.2/53 #3"});
}

TEST_CASE("SPEC 6 connect: udp without global scope is scope, without a data plane not_supported") {
  root_fixture f;
  app_options local;
  local.name = "local";
  local.global_scope = false;
  auto a = f.attach(local);
  CHECK(f.connect(a.app, a.first_worker, "udp://10.0.0.2/53").error().code == errc::scope);
  REQUIRE(f.connect(a.app, a.first_worker, "udp://10.0.0.2/53", true, 5));
  CHECK(f.fx.take() == std::vector<std::string>{"connect failed 0 #5 " + std::string{to_string(errc::scope)}});

  recorded_effects fx;
  stack_root_state no_dataplane{stack_config{}, fx};
  no_dataplane.set_session_workers(1);
  auto r = no_dataplane.reserve_app(app_options{});
  REQUIRE(no_dataplane.add_app_workers(r->app, 1));
  CHECK(no_dataplane.connect({r->app, 0, ep("udp://10.0.0.2/53"), 0, false}).error().code == errc::not_supported);
}

TEST_CASE("TCP 9.4 connect: tcp to a listener on this stack is cut-through, anything else goes out on the wire") {
  root_fixture f;
  auto server = f.attach("server");
  auto client = f.attach("client");
  REQUIRE(f.listen(server.app, server.first_worker, "tcp://10.0.0.2/80"));
  REQUIRE(f.listen(server.app, server.first_worker, "tcp://0.0.0.0/81"));
  (void)f.fx.take();
  REQUIRE(f.connect(client.app, client.first_worker, "tcp://10.0.0.2/80", false, 1));
  REQUIRE(f.connect(client.app, client.first_worker, "tcp://10.0.0.2/81", false, 2));  // a wildcard, our address
  REQUIRE(f.connect(client.app, client.first_worker, "tcp://127.0.0.1/81", false, 3));
  auto log = f.fx.take();
  REQUIRE(log.size() == 4);  // a context, then three cut-through connects
  CHECK(log[1].starts_with("ct connect"));
  CHECK(log[2].starts_with("ct connect"));
  CHECK(log[3].starts_with("ct connect"));
  // Another host: its port 81 is not our wildcard's; port 80 has no listener here.
  REQUIRE(f.connect(client.app, client.first_worker, "tcp://10.0.0.9/81", false, 4));
  REQUIRE(f.connect(client.app, client.first_worker, "tcp://10.0.0.9/80", false, 5));
  CHECK(f.fx.take() == std::vector<std::string>{"net connect 1 on worker 0 to tcp://10.0.0.9/81 #4",
                                                "net connect 1 on worker 1 to tcp://10.0.0.9/80 #5"});
  // No data plane: only cut-through (the §6 error otherwise).
  recorded_effects fx;
  stack_root_state no_dataplane{stack_config{}, fx};
  no_dataplane.set_session_workers(1);
  auto r = no_dataplane.reserve_app(app_options{});
  REQUIRE(no_dataplane.add_app_workers(r->app, 1));
  CHECK(no_dataplane.connect({r->app, 0, ep("tcp://10.0.0.9/80"), 0, false}).error().code == errc::local_connect);
  CHECK(fx.take().empty());
}

TEST_CASE("stack root: detach closes the app's listeners first, then drops its workers and retires their contexts") {
  root_fixture f;
  auto server = f.attach("server", 2);
  auto client = f.attach("client");
  auto l = f.listen(server.app, server.first_worker, "ct://0.0.0.0/7", true);
  REQUIRE(f.connect(client.app, client.first_worker, "ct://127.0.0.1/7"));
  (void)f.fx.take();
  REQUIRE(f.root.detach(server.app));
  CHECK(f.fx.take() == std::vector<std::string>{"close " + std::to_string(l->value()), "drop 0", "retire 0",
                                                "drop 1"});
  CHECK(f.root.listener_count() == 0);
  CHECK(f.root.live_apps() == 1);
  CHECK_FALSE(f.root.apps()[server.app].live);
  // Detached twice is done, with nothing more to do; never attached is no_such_app.
  REQUIRE(f.root.detach(server.app));
  CHECK(f.fx.take().empty());
  CHECK(f.root.detach(5).error().code == errc::no_such_app);
  // Its endpoint is free again, and the client's connect there refused.
  CHECK_FALSE(f.connect(client.app, client.first_worker, "ct://127.0.0.1/7"));
}

TEST_CASE("stack root: an app worker's end detaches its app once, a deleted worker's end is no news") {
  root_fixture f;
  auto a = f.attach("a", 2);
  REQUIRE(f.listen(a.app, a.first_worker, "ct://0.0.0.0/7"));
  REQUIRE(f.root.reserve_worker(a.app));
  REQUIRE(f.root.add_worker(a.app, 2));
  REQUIRE(f.root.del_worker(a.app, 2));
  (void)f.fx.take();
  CHECK_FALSE(f.root.app_worker_down(2));
  auto gone = f.root.app_worker_down(1);
  REQUIRE(gone);
  CHECK(gone->app_name == "a");
  CHECK(gone->listeners == 1);
  CHECK_FALSE(f.root.app_worker_down(0));  // its app went with the first
  CHECK(f.root.live_apps() == 0);
}

TEST_CASE("stack root: a listen answered after its app detached is not registered") {
  root_fixture f;
  auto a = f.attach("a");
  REQUIRE(f.root.listen(a.app, a.first_worker, ep("ct://0.0.0.0/7"), false));
  REQUIRE(f.root.detach(a.app));
  auto late = f.root.listened(a.app, a.first_worker, ep("ct://0.0.0.0/7"), false, session_handle::from_value(3));
  REQUIRE_FALSE(late);
  CHECK(late.error().code == errc::no_such_app);
  CHECK(f.root.listener_count() == 0);
  CHECK(f.root.listeners().empty());
}

TEST_CASE("stack root: a context asked for a pair whose app worker is gone serves the request, then retires") {
  root_fixture f;
  auto a = f.attach("a", 2);
  REQUIRE(f.root.del_worker(a.app, 1));
  (void)f.fx.take();
  const auto id = f.root.context_for(0, 1);
  f.root.retire_if_orphaned(0, 1);
  CHECK(f.fx.take() == std::vector<std::string>{"context 0 0->1", "retire 0"});
  // The next request for the pair makes a fresh context.
  CHECK(f.root.context_for(0, 1) != id);
}

TEST_CASE("stack root: a context that ended is forgotten, the next pair makes a new one") {
  root_fixture f;
  f.attach("a", 2);
  const auto id = f.root.context_for(0, 1);
  CHECK(f.root.context_for(0, 1) == id);
  f.root.forget_context(id);
  CHECK(f.root.context_for(0, 1) == id + 1);
  CHECK(f.fx.take() == std::vector<std::string>{"context 0 0->1", "context 1 0->1"});
}

TEST_CASE("stack root: quota.listeners caps one app's listeners with errc::quota, counted, joining is free, a freed one counts again") {
  recorded_effects fx;
  stack_config cfg;
  cfg.quota_listeners = 2;
  stack_root_state root{cfg, fx};
  root.set_session_workers(1);
  app_options two;
  two.workers = 2;
  auto a = root.reserve_app(two);
  REQUIRE(root.add_app_workers(a->app, 2));
  auto b = root.reserve_app(app_options{});
  REQUIRE(root.add_app_workers(b->app, 1));
  auto listen = [&](std::uint32_t app, std::uint32_t worker, const char* uri, std::uint64_t h) -> result<void> {
    auto plan = root.listen(app, worker, ep(uri), false);
    if (!plan) return unexpected{plan.error()};
    if (*plan) return {};
    return root.listened(app, worker, ep(uri), false, session_handle::from_value(h));
  };
  REQUIRE(listen(a->app, 0, "ct://0.0.0.0/1", 1));
  REQUIRE(listen(a->app, 0, "ct://0.0.0.0/2", 2));
  auto third = listen(a->app, 0, "ct://0.0.0.0/3", 3);
  REQUIRE_FALSE(third);
  CHECK(third.error().code == errc::quota);
  CHECK(root.apps()[a->app].quota_refusals == 1);
  REQUIRE(listen(a->app, 1, "ct://0.0.0.0/2", 0));  // its second worker joins: no new listener
  REQUIRE(listen(b->app, 2, "ct://0.0.0.0/3", 4));  // another app has its own quota
  REQUIRE(root.stop_listen(a->app, session_handle::from_value(1), 0, true));
  REQUIRE(listen(a->app, 0, "ct://0.0.0.0/3", 5).error().code == errc::already_listening);
  REQUIRE(listen(a->app, 0, "ct://0.0.0.0/4", 5));
  CHECK(root.apps()[a->app].quota_refusals == 1);
}

TEST_CASE("stack root: shm violations are counted for the app of the app worker that broke its fifos, detached apps included") {
  recorded_effects fx;
  stack_root_state root{stack_config{}, fx};
  root.set_session_workers(2);
  app_options two;
  two.workers = 2;
  auto a = root.reserve_app(two);
  REQUIRE(root.add_app_workers(a->app, 2));
  auto b = root.reserve_app(app_options{});
  REQUIRE(root.add_app_workers(b->app, 1));
  root.shm_violation(1);  // a's second worker
  root.shm_violation(2);  // b's
  root.shm_violation(1);
  CHECK(root.apps()[a->app].shm_violations == 2);
  CHECK(root.apps()[b->app].shm_violations == 1);
  REQUIRE(root.detach(a->app));
  root.shm_violation(0);       // reported after the detach: still a's
  root.shm_violation(1000);    // no app ever had it: ignored
  CHECK(root.apps()[a->app].shm_violations == 3);
  CHECK(root.apps()[b->app].shm_violations == 1);
}
