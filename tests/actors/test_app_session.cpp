// An app's end of a session (actors/app_session.cpp): what its writes owe
// the worker. Outside an app handler's callback each write that raises
// the fifo's event flag tells the worker at once; inside one, a session
// written to any number of times tells it once, when the callback ends —
// and before a close or shutdown reaches the worker.

#include "actors/handler_scope.hpp"
#include "actors/session_worker.hpp"
#include "dataplane/direct_tx.hpp"
#include "shm/fifo_segment.hpp"

#include <actorstack/app_worker.hpp>
#include <actorstack/session.hpp>

#include <caf/scheduler/test_coordinator.hpp>
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace actorstack;

namespace {

// Records what the session asks of its worker, in order.
struct recording_control final : detail::session_control {
  std::vector<std::string> calls;
  void post_tx(session_handle h) override { calls.push_back("tx " + std::to_string(h.value())); }
  void post_app_rx(session_handle h) override { calls.push_back("app_rx " + std::to_string(h.value())); }
  void close(session_handle h) override { calls.push_back("close " + std::to_string(h.value())); }
  void reset(session_handle h) override { calls.push_back("reset " + std::to_string(h.value())); }
  void shutdown(session_handle h) override { calls.push_back("shutdown " + std::to_string(h.value())); }
  void answer_accept(session_handle, bool) override {}
  void answer_connected(session_handle, bool) override {}
};

struct two_sessions {
  shm::fifo_segment seg = shm::fifo_segment::create("app-session-test", 1u << 20).value();
  shm::fifo_pair p1 = seg.alloc_fifo_pair(4096, 4096).value();
  shm::fifo_pair p2 = seg.alloc_fifo_pair(4096, 4096).value();
  recording_control control;
  session_handle h1{0, 1, 1}, h2{0, 2, 1};
  session s1{h1, p1.rx.to_ref(), p1.tx.to_ref(), &control};
  session s2{h2, p2.rx.to_ref(), p2.tx.to_ref(), &control};
  std::string tx(const session_handle& h) const { return "tx " + std::to_string(h.value()); }
  // The worker drained the tx fifo and re-armed its flag.
  void worker_took(shm::fifo_pair& p) {
    std::vector<std::byte> buf(4096);
    while (p.tx.dequeue(buf)) {
    }
    p.tx.unset_event();
  }
};

const std::vector<std::byte> bytes(16, std::byte{7});

}  // namespace

TEST_CASE("app session: outside a handler callback a write tells the worker at once, once per raised flag") {
  two_sessions t;
  REQUIRE(t.s1.write(bytes));
  CHECK(t.control.calls == std::vector<std::string>{t.tx(t.h1)});
  REQUIRE(t.s1.write(bytes));  // the flag is still up: the worker has not looked yet
  CHECK(t.control.calls.size() == 1);
  t.worker_took(t.p1);
  REQUIRE(t.s1.write(bytes));
  CHECK(t.control.calls.size() == 2);
}

TEST_CASE("app session: inside a handler callback writes tell each session's worker once, when the callback ends") {
  two_sessions t;
  {
    app_handler_scope callback;
    for (int i = 0; i < 10; ++i) REQUIRE(t.s1.write(bytes));
    {
      app_handler_scope nested;  // a callback made from a callback
      REQUIRE(t.s2.write(bytes));
    }
    CHECK(t.control.calls.empty());  // nothing before the outermost callback ends
    REQUIRE(t.s1.write(bytes));
  }
  CHECK(t.control.calls == std::vector<std::string>{t.tx(t.h1), t.tx(t.h2)});
  CHECK(t.p1.tx.has_event());
  // The next callback's writes find the flag still raised: nothing owed.
  {
    app_handler_scope callback;
    REQUIRE(t.s1.write(bytes));
  }
  CHECK(t.control.calls.size() == 2);
}

TEST_CASE("app session: a datagram session's sends inside a callback tell the worker once") {
  two_sessions t;
  session d{session_handle{0, 3, 1}, t.p1.rx.to_ref(), t.p1.tx.to_ref(), &t.control, true};
  {
    app_handler_scope callback;
    for (int i = 0; i < 5; ++i) REQUIRE(d.send_to(endpoint{}, bytes));
    CHECK(t.control.calls.empty());
  }
  CHECK(t.control.calls == std::vector<std::string>{"tx " + std::to_string(session_handle{0, 3, 1}.value())});
}

TEST_CASE("app session: a close or shutdown inside a callback tells of the written bytes first, a reset drops the notice") {
  two_sessions t;
  {
    app_handler_scope callback;
    REQUIRE(t.s1.write(bytes));
    REQUIRE(t.s1.close());
    REQUIRE(t.s2.write(bytes));
    REQUIRE(t.s2.shutdown());
  }
  CHECK(t.control.calls == std::vector<std::string>{t.tx(t.h1), "close " + std::to_string(t.h1.value()),
                                                     t.tx(t.h2), "shutdown " + std::to_string(t.h2.value())});
  two_sessions r;
  {
    app_handler_scope callback;
    REQUIRE(r.s1.write(bytes));
    REQUIRE(r.s1.reset());
  }
  CHECK(r.control.calls == std::vector<std::string>{"reset " + std::to_string(r.h1.value())});
}

TEST_CASE("app session: a session destroyed inside the callback that wrote to it is not told of afterwards") {
  two_sessions t;
  {
    app_handler_scope callback;
    auto doomed = std::make_unique<session>(session_handle{0, 9, 1}, t.p2.rx.to_ref(), t.p2.tx.to_ref(), &t.control);
    REQUIRE(doomed->write(bytes));
    REQUIRE(t.s1.write(bytes));
    doomed.reset();  // the app worker erased it (its cleanup came)
  }
  CHECK(t.control.calls == std::vector<std::string>{t.tx(t.h1)});
}

TEST_CASE("app session: the notices one callback owes reach the control as one batch, in the order written") {
  // A control that says how the notices came: one batch per callback is
  // what lets the app worker send one message per session worker.
  struct batching_control final : detail::session_control {
    std::vector<std::vector<std::uint64_t>> batches;
    std::vector<std::uint64_t> singles;
    void post_tx(session_handle h) override { singles.push_back(h.value()); }
    void post_tx_batch(std::span<const session_handle> hs) override {
      batches.emplace_back();
      for (auto h : hs) batches.back().push_back(h.value());
    }
    void post_app_rx(session_handle) override {}
    void close(session_handle) override {}
    void reset(session_handle) override {}
    void shutdown(session_handle) override {}
    void answer_accept(session_handle, bool) override {}
    void answer_connected(session_handle, bool) override {}
  } control;
  shm::fifo_segment seg = shm::fifo_segment::create("app-session-batch", 1u << 20).value();
  std::vector<shm::fifo_pair> pairs;
  std::vector<std::unique_ptr<session>> sessions;
  for (std::uint32_t i = 0; i < 4; ++i) {
    pairs.push_back(seg.alloc_fifo_pair(4096, 4096).value());
    sessions.push_back(std::make_unique<session>(session_handle{i % 2, i + 1, 1}, pairs.back().rx.to_ref(),
                                                 pairs.back().tx.to_ref(), &control));
  }
  {
    app_handler_scope callback;
    for (int i : {2, 0, 3}) REQUIRE(sessions[i]->write(bytes));
  }
  REQUIRE(control.batches.size() == 1);
  CHECK(control.batches[0] == std::vector<std::uint64_t>{sessions[2]->handle().value(), sessions[0]->handle().value(),
                                                         sessions[3]->handle().value()});
  CHECK(control.singles.empty());
  // Outside a callback a write tells at once, alone.
  REQUIRE(sessions[1]->write(bytes));
  CHECK(control.singles == std::vector<std::uint64_t>{sessions[1]->handle().value()});
  CHECK(control.batches.size() == 1);
}

namespace {

// The data plane's side of tx routes, recorded: what reached a core, and
// whether the core was awake to act on it.
struct recording_direct_tx final : detail::direct_tx {
  std::vector<std::uint32_t> conns;
  bool awake = true;
  bool post(const tx_route& r) noexcept override {
    conns.push_back(r.conn);
    return awake;
  }
};

// Writes what each rx brings back, and nothing else.
struct echo_handler final : app_handler {
  bool on_accept(session&) override { return true; }
  void on_rx(session& s) override {
    std::vector<std::byte> buf(s.max_read());
    if (auto n = s.read(buf); n && *n > 0) REQUIRE(s.write(std::span{buf}.first(*n)));
  }
};

app_notification accepted(session_handle h, const shm::fifo_pair& p, std::optional<std::uint32_t> routed_conn) {
  app_notification n;
  n.kind = notification::accept;
  n.handle = h;
  n.proto = transport_proto::tcp;
  n.rx = p.rx.to_ref();
  n.tx = p.tx.to_ref();
  if (routed_conn) {
    n.route.valid = true;
    n.route.core = 0;
    n.route.conn = *routed_conn;
    n.route.generation = 1;
  }
  return n;
}

}  // namespace

TEST_CASE("app session table: data written on a session with a tx route goes to its core, not to the session worker, and without a route or once renamed it does not") {
  shm::fifo_segment seg = shm::fifo_segment::create("app-session-route", 1u << 20).value();
  auto direct = std::make_shared<recording_direct_tx>();
  app_worker_context ctx;
  ctx.direct_tx = direct;
  app_session_table table{ctx};
  echo_handler handler;
  shm::fifo_pair routed = seg.alloc_fifo_pair(4096, 4096).value();
  shm::fifo_pair plain = seg.alloc_fifo_pair(4096, 4096).value();
  const session_handle hr{0, 1, 1}, hp{0, 2, 1};
  table.deliver(accepted(hr, routed, 41), handler);
  table.deliver(accepted(hp, plain, std::nullopt), handler);

  auto request = [&](shm::fifo_pair& p, session_handle h) {
    REQUIRE(p.rx.enqueue(bytes));
    app_notification rx;
    rx.kind = notification::rx;
    rx.handle = h;
    app_handler_scope callback;
    table.deliver(rx, handler);
  };
  request(routed, hr);
  CHECK(direct->conns == std::vector<std::uint32_t>{41});
  request(plain, hp);  // a session without a route: its worker hears it
  CHECK(direct->conns.size() == 1);

  // The answer left; the core re-armed the flag. Written again while the
  // core may doze: the core gets it, and so does the worker (unseen here).
  routed.tx.drop_all();
  routed.tx.unset_event();
  direct->awake = false;
  request(routed, hr);
  CHECK(direct->conns == std::vector<std::uint32_t>{41, 41});

  // Renamed (SPEC 5): the route named the old session; the worker hears
  // the renamed one's writes.
  routed.tx.drop_all();
  routed.tx.unset_event();
  const session_handle moved{0, 3, 1};
  app_notification migrate;
  migrate.kind = notification::migrate;
  migrate.handle = hr;
  migrate.other = moved;
  table.deliver(migrate, handler);
  request(routed, moved);
  CHECK(direct->conns.size() == 2);
}

namespace {

// Records what the handler heard, in order.
struct recording_handler final : app_handler {
  std::vector<std::string> heard;
  bool on_accept(session&) override { return true; }
  void on_rx(session& s) override {
    heard.push_back("rx " + std::to_string(s.max_read()));
    (void)s.drop(s.max_read());
  }
  void on_close(session&) override { heard.push_back("close"); }
};

// A user-written app worker on CAF's deterministic coordinator: an actor
// that hands every notification to a table (app_worker.hpp).
struct table_actor {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  app_worker_actor actor;

  table_actor(app_session_table& table, app_handler& handler) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    actor = sys->spawn(
        [](app_worker_actor::pointer, app_session_table* t, app_handler* h) -> app_worker_actor::behavior_type {
          return {[=](notify_atom, const app_notification& n) { t->deliver(n, *h); },
                  [=](notify_atom, const std::vector<app_notification>& b) { t->deliver(b, *h); },
                  [](detach_atom) {}};
        },
        &table, &handler);
  }
  ~table_actor() {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    sched->run();
  }
};

}  // namespace

TEST_CASE("app session table: bytes a core names in the worker's rx inbox reach the handler without the session worker, before news sent after them, and not once the app closed") {
  shm::fifo_segment seg = shm::fifo_segment::create("app-session-rx-route", 1u << 20).value();
  auto cores = std::make_shared<dataplane::direct_tx_inboxes>(1);
  app_worker_context ctx;
  ctx.direct_tx = cores;
  app_session_table table{ctx};
  recording_handler handler;
  table_actor worker{table, handler};
  table.enable_direct_rx(caf::actor_cast<caf::actor>(worker.actor));
  shm::fifo_pair p = seg.alloc_fifo_pair(4096, 4096).value();
  const session_handle h{0, 1, 1};

  // Accepted with a route that allows rx: the core hears where to name it.
  auto accept = accepted(h, p, 7);
  accept.route.rx = true;
  table.deliver(accept, handler);
  dataplane::tx_notice route;
  REQUIRE(cores->core(0).pop(route));
  REQUIRE(route.rx_to != nullptr);
  CHECK(route.conn == 7);
  CHECK(session_handle::from_value(route.handle) == h);

  // The core enqueued 16 bytes, raised the flag, named the session and
  // woke the worker: an rx_ready notification to the table's actor.
  auto arrive = [&] {
    REQUIRE(p.rx.enqueue(bytes));
    REQUIRE(p.rx.set_event());
    REQUIRE(route.rx_to->push(0, h));
  };
  arrive();
  REQUIRE(route.rx_to->disarm());
  route.rx_to->wake();
  CHECK(worker.sched->run() == 1);
  CHECK(handler.heard == std::vector<std::string>{"rx 16"});
  CHECK(p.rx.set_event());  // re-armed before the handler read: the next bytes name it again
  p.rx.unset_event();

  // Named again, and the session worker's close is delivered before the
  // wake-up: the bytes come first.
  arrive();
  app_notification close;
  close.kind = notification::close;
  close.handle = h;
  table.deliver(close, handler);
  CHECK(handler.heard == std::vector<std::string>{"rx 16", "rx 16", "close"});

  // Closed by the app: a late name is dropped, not delivered.
  p.rx.unset_event();
  REQUIRE(table.find(h)->close());
  const auto dropped = table.dropped();
  arrive();
  app_notification ready;
  ready.kind = notification::rx_ready;
  table.deliver(ready, handler);
  CHECK(handler.heard.size() == 3);
  CHECK(table.dropped() == dropped + 1);
  route.rx_to->release();  // the core's connection ended
}

TEST_CASE("app session table: no rx route for a session whose route does not allow it (fifo tuning) or without enable_direct_rx") {
  shm::fifo_segment seg = shm::fifo_segment::create("app-session-no-rx-route", 1u << 20).value();
  auto cores = std::make_shared<dataplane::direct_tx_inboxes>(1);
  app_worker_context ctx;
  ctx.direct_tx = cores;
  recording_handler handler;
  shm::fifo_pair p1 = seg.alloc_fifo_pair(4096, 4096).value();
  shm::fifo_pair p2 = seg.alloc_fifo_pair(4096, 4096).value();

  app_session_table enabled{ctx};
  table_actor worker{enabled, handler};
  enabled.enable_direct_rx(caf::actor_cast<caf::actor>(worker.actor));
  enabled.deliver(accepted(session_handle{0, 1, 1}, p1, 7), handler);  // route.rx false
  dataplane::tx_notice n;
  CHECK_FALSE(cores->core(0).pop(n));

  app_session_table plain{ctx};
  auto accept = accepted(session_handle{0, 2, 1}, p2, 8);
  accept.route.rx = true;
  plain.deliver(accept, handler);
  CHECK_FALSE(cores->core(0).pop(n));
}
