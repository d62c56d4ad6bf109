// Supervision on a real actor system: an app worker that dies mid-transfer
// is cleaned up after, and stopping the stack is bounded and names what
// did not stop.

#include "stack_fixture.hpp"

#include <actorstack/app_worker.hpp>

using namespace stack_test;

namespace {

// A server app worker of the app's own: it accepts and never reads, so
// the client's data is in flight when it dies.
app_worker_actor spawn_silent_server(caf::actor_system& sys, const app_worker_context& ctx, events& ev) {
  struct state {
    std::unique_ptr<app_session_table> sessions;
    std::unique_ptr<echo_server> handler;
  };
  struct silent : echo_server {
    using echo_server::echo_server;
    void on_rx(session&) override {}
  };
  return sys.spawn(
      [](app_worker_actor::stateful_pointer<state> self, app_worker_context ctx,
         events* ev) -> app_worker_actor::behavior_type {
        self->state.sessions = std::make_unique<app_session_table>(std::move(ctx));
        self->state.handler = std::make_unique<silent>(*ev);
        return {
            [=](notify_atom, const app_notification& n) { self->state.sessions->deliver(n, *self->state.handler); },
            [=](notify_atom, const std::vector<app_notification>& b) {
              self->state.sessions->deliver(b, *self->state.handler);
            },
            [=](detach_atom) {
              self->state.sessions->reset_all();
              self->quit();
            },
        };
      },
      ctx, &ev);
}

struct watching_client : client {
  using client::client;
  void on_close(session& s) override {
    ev.add("client saw close");
    (void)s.close();
  }
  void on_reset(session& s) override {
    ev.add("client saw reset");
    (void)s.close();
  }
};

}  // namespace

TEST_CASE("supervision: an app worker killed mid-transfer — its peer sees reset, nothing is left") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  app_worker_actor server_actor;
  auto server = attach_actors(**st, {.name = "doomed"}, [&](caf::actor_system& sys, const app_worker_context& ctx) {
    server_actor = spawn_silent_server(sys, ctx, ev);
    return server_actor;
  });
  REQUIRE(server.has_value());
  auto cli = (*st)->attach({}, [&](std::uint32_t) {
    return std::make_unique<watching_client>(ev, std::string(30000, 'k'));
  });
  const auto ep = *parse_uri("ct://127.0.0.1/7300");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("server accepted"));
  REQUIRE(ev.wait_for("connected 1"));

  // No detach: the actor just dies.
  caf::anon_send_exit(server_actor, caf::exit_reason::kill);
  CHECK(ev.wait_for("client saw reset"));  // the server left the client's data unread
  const auto c = drained(**st);
  CHECK(c.sessions == 0);   // the dead app's listener went too
  CHECK(c.listeners == 0);
  CHECK(c.ct_connections == 0);
  CHECK(c.ct_segments == 0);
  CHECK(c.fifos == 0);
  // Its endpoint is free again for another app.
  auto again = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  CHECK((*again)->listen(ep).has_value());
}

TEST_CASE("supervision: stop is bounded and names an actor that ignores it") {
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};  // the caller's system: it outlives the stack
  caf::actor stubborn;
  {
    events ev;
    auto st = stack::create(sys, small_config());
    REQUIRE(st.has_value());
    auto app = attach_actors(**st, {.name = "stubborn"}, [&](caf::actor_system& s, const app_worker_context& ctx) {
      auto a = s.spawn(
          [](app_worker_actor::pointer self, app_worker_context ctx, events* ev) -> app_worker_actor::behavior_type {
            // Ignores every stop short of a kill.
            self->set_exit_handler([](caf::exit_msg&) {});
            auto table = std::make_shared<app_session_table>(std::move(ctx));
            auto handler = std::make_shared<echo_server>(*ev);
            return {[=](notify_atom, const app_notification& n) { table->deliver(n, *handler); },
                    [=](notify_atom, const std::vector<app_notification>& b) { table->deliver(b, *handler); },
                    [](detach_atom) {}};
          },
          ctx, &ev);
      stubborn = caf::actor_cast<caf::actor>(a);
      return a;
    });
    REQUIRE(app.has_value());
    const auto t0 = std::chrono::steady_clock::now();
    const auto stuck = (*st)->stop(std::chrono::seconds(1));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    REQUIRE(stuck.size() == 1);
    CHECK(stuck.front().find("app_worker") != std::string::npos);
    CHECK(stuck.front().find("stubborn") != std::string::npos);
    CHECK((*st)->stop().empty());  // idempotent
  }
  caf::anon_send_exit(stubborn, caf::exit_reason::kill);  // now the system can end
}

TEST_CASE("inspection: show answers from the actors' own state, errors are typed") {
  events ev;
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({.name = "srv"}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  REQUIRE((*server)->listen(*parse_uri("ct://127.0.0.1/7400")).has_value());
  auto summary = (*st)->show("summary", {"--json"});
  REQUIRE(summary.has_value());
  CHECK(summary->find("\"sessions\":0,") != std::string::npos);  // the listener is not a session here
  CHECK(summary->find("\"listeners\":1") != std::string::npos);
  auto listeners = (*st)->show("listeners");
  REQUIRE(listeners.has_value());
  CHECK(listeners->find("ct://127.0.0.1/7400") != std::string::npos);
  CHECK(listeners->find("srv") != std::string::npos);
  auto sessions = (*st)->show("sessions", {"--state", "listening"});
  REQUIRE(sessions.has_value());
  CHECK(sessions->find("LISTEN") != std::string::npos);
  CHECK((*st)->show("everything").code() == errc::invalid_argument);
  CHECK((*st)->show("sessions", {"--app"}).code() == errc::invalid_argument);
  auto port = (*st)->publish_inspector(0);
  REQUIRE(port.has_value());
  CHECK(*port > 0);
}

TEST_CASE("supervision: stopping under load returns within its bound, every actor stopped") {
  events ev;
  stack_config cfg = small_config();
  auto st = stack::create(cfg);
  REQUIRE(st.has_value());
  // 50 clients streaming 64 KiB writes through echo servers, endlessly.
  struct streamer : client {
    using client::client;
    std::vector<std::byte> buf = std::vector<std::byte>(65536, std::byte{7});
    bool on_connected(session& s, std::uint64_t o) override {
      ev.add("connected " + std::to_string(o));
      pump(s);
      return true;
    }
    void on_tx(session& s) override { pump(s); }
    void on_rx(session& s) override {
      while (s.read(buf).value_or(0) > 0) {
      }
      pump(s);
    }
    void pump(session& s) {
      while (s.write(buf).value_or(0) > 0) {
      }
      s.notify_on_space();
    }
  };
  auto server = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<streamer>(ev); });
  const auto ep = *parse_uri("ct://127.0.0.1/7600");
  REQUIRE((*server)->listen(ep).has_value());
  for (int i = 0; i < 50; ++i) REQUIRE((*cli)->connect_async(ep, static_cast<std::uint64_t>(i)).has_value());
  REQUIRE(ev.wait_for("connected 49"));
  std::this_thread::sleep_for(100ms);  // data in flight everywhere
  const auto t0 = std::chrono::steady_clock::now();
  const auto stuck = (*st)->stop(std::chrono::seconds(3));
  CHECK(stuck.empty());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(4));
  // A stopped stack and its applications refuse every call, cleanly.
  CHECK((*st)->counters().code() == errc::invalid_argument);
  CHECK((*st)->show("summary").code() == errc::invalid_argument);
  CHECK((*cli)->connect_async(ep, 99).code() == errc::invalid_argument);
  CHECK((*server)->listen(ep).code() == errc::invalid_argument);
  CHECK((*server)->detach().code() == errc::invalid_argument);
}
