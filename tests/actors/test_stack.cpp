// The public API end to end on a real (threaded) actor system: stack,
// applications, sessions over cut-through. Each case waits for callbacks
// with a deadline and ends by checking the stack's counters drained.

#include "stack_fixture.hpp"

#include "actors/core_hosting_scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

using namespace stack_test;

TEST_CASE("stack: an echo over cut-through through the public API, nothing left") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({.name = "server"}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  auto cli = (*st)->attach({.name = "client"},
                           [&](std::uint32_t) { return std::make_unique<client>(ev, "hello, cut-through"); });
  REQUIRE(server.has_value());
  REQUIRE(cli.has_value());
  const auto ep = *parse_uri("ct://127.0.0.1/7000");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 42).has_value());
  REQUIRE(ev.wait_for("echoed"));
  CHECK(ev.saw("server accepted"));
  CHECK(ev.saw("connected 42"));
  CHECK(ev.received == "hello, cut-through");
  CHECK(ev.wait_for("closed end shut"));  // logged right after "echoed"
  CHECK(ev.wait_for("server close"));
  const auto c = drained(**st);
  CHECK(c.sessions == 1);  // the listener
  CHECK(c.listeners == 1);
  CHECK(c.ct_segments == 0);
  CHECK(c.fifos == 0);
}

TEST_CASE("stack: listen twice on one endpoint is already_listening, unknown targets are no_route") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  REQUIRE(server.has_value());
  const auto ep = *parse_uri("ct://127.0.0.1/7001");
  REQUIRE((*server)->listen(ep).has_value());
  CHECK((*server)->listen(ep).code() == errc::already_listening);
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<client>(ev); });
  REQUIRE(cli.has_value());
  CHECK((*cli)->connect(*parse_uri("ct://127.0.0.1/9"), 1).code() == errc::no_route);
  CHECK((*cli)->connect(ep, 1, 7).code() == errc::invalid_argument);  // no such app worker
}

// An echo server that says which listener accepted.
struct named_echo : echo_server {
  std::string name;
  named_echo(events& e, std::string n) : echo_server(e), name(std::move(n)) {}
  bool on_accept(session&) override {
    ev.add("accepted by " + name);
    return true;
  }
};

TEST_CASE("stack: apps listening on different ports and addresses are each reached only by their own endpoint") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  const std::vector<std::string> uris{"ct://127.0.0.1/7011", "ct://127.0.0.1/7012", "ct://127.0.0.2/7011"};
  std::vector<std::unique_ptr<application>> servers;
  for (const auto& u : uris) {
    auto a = (*st)->attach({.name = u}, [&ev, u](std::uint32_t) { return std::make_unique<named_echo>(ev, u); });
    REQUIRE(a.has_value());
    REQUIRE((*a)->listen(*parse_uri(u)).has_value());
    servers.push_back(std::move(*a));
  }
  auto cli = (*st)->attach({.name = "client"}, [&](std::uint32_t) { return std::make_unique<client>(ev); });
  REQUIRE(cli.has_value());
  for (std::size_t i = 0; i < uris.size(); ++i) {
    CAPTURE(uris[i]);
    REQUIRE((*cli)->connect(*parse_uri(uris[i]), i).has_value());
    REQUIRE(ev.wait_for("connected " + std::to_string(i)));
    CHECK(ev.wait_for("accepted by " + uris[i]));
  }
  {
    std::lock_guard lock{ev.mu};
    for (const auto& u : uris) CHECK(std::count(ev.log.begin(), ev.log.end(), "accepted by " + u) == 1);
  }
  for (const char* nobody : {"ct://127.0.0.1/7013", "ct://127.0.0.2/7012", "ct://127.0.0.3/7011"}) {
    CAPTURE(nobody);
    CHECK((*cli)->connect(*parse_uri(nobody), 99).code() == errc::no_route);
  }
  CHECK(!ev.saw("connected 99"));
}

TEST_CASE("stack: a refusing server gives the client refused, nothing left") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev, false); });
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<client>(ev, "x"); });
  const auto ep = *parse_uri("ct://127.0.0.1/7002");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 5).has_value());
  CHECK(ev.wait_for("failed refused"));
  CHECK(ev.saw("server refused"));
  const auto c = drained(**st);
  CHECK(c.sessions == 1);  // the listener only
  CHECK(c.refusals == 1);
  CHECK(c.fifos == 0);
}

TEST_CASE("stack: an app detaching mid-transfer resets its peer, nothing is left") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  // A server that never reads: the client's data stays unread in flight.
  struct sink : echo_server {
    using echo_server::echo_server;
    void on_rx(session&) override {}
  };
  auto server = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<sink>(ev); });
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<client>(ev, std::string(10000, 'z')); });
  const auto ep = *parse_uri("ct://127.0.0.1/7003");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 9).has_value());
  REQUIRE(ev.wait_for("connected 9"));
  REQUIRE((*cli)->detach().has_value());
  REQUIRE((*cli)->detach().has_value());  // idempotent
  CHECK(ev.wait_for("server reset"));
  const auto c = drained(**st);
  CHECK(c.sessions == 1);  // the server's listener
  CHECK(c.ct_connections == 0);
  CHECK(c.ct_segments == 0);
  CHECK(c.fifos == 0);
  REQUIRE((*server)->detach().has_value());
  CHECK(drained(**st).sessions == 0);  // its listener went with it
}

TEST_CASE("stack: segment exhaustion gives clean alloc errors, no crash, nothing left") {
  events ev;  // outlives the stack: handlers may still report while it stops
  stack_config cfg = small_config();
  cfg.rx_fifo_size = cfg.tx_fifo_size = 512u << 20;  // a pair needs more than a segment holds
  cfg.max_fifo_size = 512u << 20;
  cfg.segment_size = 1ull << 30;
  auto st = stack::create(cfg);
  REQUIRE(st.has_value());
  auto server = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<client>(ev); });
  const auto ep = *parse_uri("ct://127.0.0.1/7004");
  REQUIRE((*server)->listen(ep).has_value());
  for (int i = 0; i < 3; ++i) REQUIRE((*cli)->connect(ep, i).has_value());
  CHECK(ev.wait_for("failed alloc"));
  const auto c = drained(**st);
  CHECK(c.sessions == 1);
  CHECK(c.ct_segments == 0);
  CHECK(c.fifos == 0);
  CHECK_FALSE(ev.saw("server accepted"));
}

namespace {
// Reports the sizes of the session's fifos on accept / connect.
struct size_reporter : app_handler {
  events& ev;
  const char* who;
  size_reporter(events& e, const char* w) : ev(e), who(w) {}
  std::string sizes(session& s) {
    return std::string{who} + " rx " + std::to_string(s.fifo_size(fifo_side::rx)) + " tx " +
           std::to_string(s.fifo_size(fifo_side::tx));
  }
  bool on_accept(session& s) override {
    ev.add(sizes(s));
    return true;
  }
  bool on_connected(session& s, std::uint64_t) override {
    ev.add(sizes(s));
    (void)s.close();
    return true;
  }
  void on_close(session& s) override { (void)s.close(); }
};
}  // namespace

TEST_CASE("stack: the listening app's fifo sizes make a cut-through pair, out-of-bounds sizes are refused at attach") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());  // stack default: 64 KiB each way
  REQUIRE(st.has_value());
  auto server = (*st)->attach({.name = "server", .rx_fifo_size = 256u << 10, .tx_fifo_size = 128u << 10},
                              [&](std::uint32_t) { return std::make_unique<size_reporter>(ev, "server"); });
  auto cli = (*st)->attach({.name = "client", .rx_fifo_size = 8u << 10},  // the server's sizes win (VPP)
                           [&](std::uint32_t) { return std::make_unique<size_reporter>(ev, "client"); });
  REQUIRE(server.has_value());
  REQUIRE(cli.has_value());
  const auto ep = *parse_uri("ct://127.0.0.1/7009");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  // Crossed: the client reads what the server writes.
  CHECK(ev.wait_for("server rx 262144 tx 131072"));
  CHECK(ev.wait_for("client rx 131072 tx 262144"));

  // Defaults when the app names none.
  auto plain = (*st)->attach({.name = "plain"}, [&](std::uint32_t) { return std::make_unique<size_reporter>(ev, "plain"); });
  REQUIRE(plain.has_value());
  const auto ep2 = *parse_uri("ct://127.0.0.1/7010");
  REQUIRE((*plain)->listen(ep2).has_value());
  REQUIRE((*cli)->connect(ep2, 2).has_value());
  CHECK(ev.wait_for("plain rx 65536 tx 65536"));

  for (std::uint32_t bad : {100u, 64u << 20}) {  // below 4 KiB; above session.max-fifo-size (4 MiB)
    CHECK((*st)->attach({.rx_fifo_size = bad}, [&](std::uint32_t) { return std::make_unique<size_reporter>(ev, "x"); })
              .code() == errc::invalid_argument);
    CHECK((*st)->attach({.tx_fifo_size = bad}, [&](std::uint32_t) { return std::make_unique<size_reporter>(ev, "x"); })
              .code() == errc::invalid_argument);
  }
  const auto c = drained(**st);
  CHECK(c.apps == 3);  // the refused attaches left nothing behind
  CHECK(c.ct_segments == 0);
  CHECK(c.fifos == 0);
}

TEST_CASE("stack: bad configuration is a typed error") {
  stack_config cfg;
  cfg.rx_fifo_size = 100;  // below 4 KiB
  CHECK(stack::create(cfg).code() == errc::bad_config);
}

namespace {
// A server that, on its first accept, makes the blocking calls a handler
// must not make (they would wait on its own scheduler thread): each must
// fail at once, and the accept goes on.
struct blocking_in_handler : echo_server {
  using echo_server::echo_server;
  application* app = nullptr;
  stack* st = nullptr;
  bool on_accept(session& s) override {
    const auto start = std::chrono::steady_clock::now();
    const auto ep = *parse_uri("ct://127.0.0.1/7013");
    const bool listen_refused = app->listen(ep).code() == errc::invalid_argument;
    const bool connect_refused = app->connect(ep, 9).code() == errc::invalid_argument;
    const bool show_refused = st->show("summary", {}).code() == errc::invalid_argument;
    const bool fast = std::chrono::steady_clock::now() - start < std::chrono::seconds(2);
    ev.add(listen_refused && connect_refused && show_refused && fast ? "blocking calls refused at once"
                                                                      : "a blocking call went ahead");
    (void)app->connect_async(ep, 9);  // the asynchronous one is fine: no listener there, so it fails later
    return echo_server::on_accept(s);
  }
};
}  // namespace

TEST_CASE("stack: with one scheduler thread, blocking stack calls from inside a handler fail at once instead of waiting on that thread, and the asynchronous ones work") {
  auto cfg = small_config();
  cfg.workers = 1;
  auto st = stack::create(cfg);
  REQUIRE(st.has_value());
  CHECK((*st)->system().scheduler().num_workers() == 1);
  events ev;
  blocking_in_handler* server_handler = nullptr;
  auto server = (*st)->attach({}, [&](std::uint32_t) {
    auto h = std::make_unique<blocking_in_handler>(ev);
    server_handler = h.get();
    return h;
  });
  REQUIRE(server.has_value());
  server_handler->app = server->get();
  server_handler->st = st->get();
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<client>(ev, "one thread"); });
  const auto ep = *parse_uri("ct://127.0.0.1/7012");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("echoed"));
  CHECK(ev.saw("blocking calls refused at once"));
  CHECK(ev.received == "one thread");
  CHECK((*st)->stop().empty());
}

TEST_CASE("stack: configure_scheduler gives an embedder's system the stack's scheduler, and a stack runs in it") {
  auto cfg = small_config();
  cfg.workers = 3;
  caf::actor_system_config sys_cfg;
  sys_cfg.set("logger.verbosity", caf::atom("quiet"));  // an embedder's own setting
  configure_scheduler(sys_cfg, cfg);
  CHECK(caf::get_or(sys_cfg, "scheduler.max-threads", std::size_t{0}) == 3);  // one per worker
  CHECK(installs_core_hosting_scheduler(sys_cfg));  // data-plane cores may run on its threads
  CHECK(caf::get_or(sys_cfg, "logger.verbosity", caf::atom("")) == caf::atom("quiet"));  // left alone
  cfg.workers = 1;
  configure_scheduler(sys_cfg, cfg);
  CHECK(caf::get_or(sys_cfg, "scheduler.max-threads", std::size_t{0}) == 1);  // one worker, one thread
  caf::actor_system sys{sys_cfg};
  CHECK(sys.scheduler().num_workers() == 1);
  CHECK(sys_cfg.module_factories.size() == 1);  // configured twice, installed once
  CHECK(core_host_of(sys) != nullptr);
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(sys, cfg);
  REQUIRE(st.has_value());
  auto server = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<client>(ev, "embedded"); });
  const auto ep = *parse_uri("ct://127.0.0.1/7011");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("echoed"));
  CHECK(ev.received == "embedded");
  CHECK((*st)->stop().empty());
}

TEST_CASE("stack: tls files that do not load are a typed error at create, and an embedder's system without the OpenSSL module cannot publish over TLS") {
  auto cfg = small_config();
  cfg.tls_certificate = "/nonexistent/actorstack.pem";
  cfg.tls_key = "/nonexistent/actorstack.key";
  cfg.tls_ca = "/nonexistent/ca.pem";
  auto refused = stack::create(cfg);
  REQUIRE_FALSE(refused);
  CHECK(refused.code() == errc::bad_config);
  CHECK(refused.error().message().find("/nonexistent/actorstack.pem") != std::string::npos);
  caf::actor_system_config sys_cfg;
  sys_cfg.load<caf::io::middleman>();
  caf::actor_system sys{sys_cfg};
  auto st = stack::create(sys, cfg);
  REQUIRE(st.has_value());
  CHECK((*st)->publish_inspector(0).code() == errc::not_supported);
  CHECK((*st)->stop().empty());
}

TEST_CASE("stack: connect_async reports every outcome through the handler") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<client>(ev, "async"); });
  const auto ep = *parse_uri("ct://127.0.0.1/7005");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect_async(*parse_uri("ct://127.0.0.1/9"), 3).has_value());
  CHECK(ev.wait_for("failed no_route"));
  REQUIRE((*cli)->connect_async(ep, 4).has_value());
  CHECK(ev.wait_for("echoed"));
  CHECK(ev.saw("connected 4"));
  CHECK((*cli)->connect_async(ep, 5, 9).code() == errc::invalid_argument);
  CHECK(ev.wait_for("server close"));
  const auto c = drained(**st);
  CHECK(c.sessions == 1);  // the listener
  CHECK(c.ct_connections == 0);
}

TEST_CASE("stack: a segment context retires once an app worker it serves is gone (a daemon keeps none per departed client)") {
  events ev;
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({.name = "server"}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  REQUIRE(server.has_value());
  const auto ep = *parse_uri("ct://127.0.0.1/7005");
  REQUIRE((*server)->listen(ep).has_value());
  auto contexts = [&] {
    auto c = (*st)->counters();
    REQUIRE(c.has_value());
    return c->ct_contexts;
  };
  auto eventually_contexts = [&](std::uint64_t n) {
    for (int i = 0; i < 500 && contexts() != n; ++i) std::this_thread::sleep_for(10ms);
    return contexts() == n;
  };
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    {
      std::lock_guard lock{ev.mu};
      ev.log.clear();
      ev.received.clear();
    }
    auto cli = (*st)->attach({.name = "client"}, [&](std::uint32_t) { return std::make_unique<client>(ev, "ping"); });
    REQUIRE(cli.has_value());
    REQUIRE((*cli)->connect(ep, 1).has_value());
    REQUIRE(ev.wait_for("echoed"));
    REQUIRE(ev.wait_for("server close"));
    // Its segment goes after the linger; the context stays while the
    // client may connect again.
    const auto c = drained(**st);
    CHECK(c.ct_segments == 0);
    CHECK(contexts() == 1);
    REQUIRE((*cli)->detach().has_value());
    CHECK(eventually_contexts(0));
  }
  // A client that detaches with its session still open: its context waits
  // for the segment (the server's side closes after the reset), then goes.
  auto holder = (*st)->attach({.name = "holder"}, [&](std::uint32_t) { return std::make_unique<client>(ev); });
  REQUIRE(holder.has_value());
  REQUIRE((*holder)->connect(ep, 2).has_value());
  REQUIRE(ev.wait_for("connected 2"));
  REQUIRE((*holder)->detach().has_value());
  CHECK(ev.wait_for("server reset"));
  CHECK(eventually_contexts(0));
  const auto c = drained(**st);
  CHECK(c.ct_segments == 0);
  CHECK(c.listeners == 1);
}
