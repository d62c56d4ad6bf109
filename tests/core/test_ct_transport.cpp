// SPEC §6 cut-through transport, driven through a ct_worker on one session
// worker: accept and connected, batching, refusal, alloc failure, crossed
// fifos, custom tx / app-rx notifications, close vs reset, postponed
// cleanup, format strings.

#include "session/ct/ct_transport.hpp"
#include "session_test_env.hpp"

using namespace actorstack;
using namespace actorstack::test;
using namespace actorstack::ct;
using S = session_state;

namespace {

constexpr std::uint32_t server_wrk = 5;
constexpr std::uint32_t client_wrk = 6;

// Carves pairs from a real segment with one reference per side, the way a
// ct_segment_context does; releases drop a side's references.
struct segment_sink : ct_sink {
  shm::fifo_segment seg = *shm::fifo_segment::create("ct-test", 64u << 20);
  std::vector<std::uint32_t> reusable;
  int releases = 0;
  result<ct_fifo_pair> carve(std::uint32_t size = 64 * 1024) {
    auto p = seg.alloc_fifo_pair(size, size);
    if (!p) return unexpected{p.error()};
    p->rx.add_ref();  // the client's reference
    p->tx.add_ref();
    return ct_fifo_pair{p->rx, p->tx, 1, 0};
  }
  void release_fifos(const ct_fifo_pair& pair, bool) override {
    auto rx = pair.server_rx;
    auto tx = pair.server_tx;
    seg.free_fifo(rx);
    seg.free_fifo(tx);
    ++releases;
  }
  void half_open_reusable(std::uint32_t index) override { reusable.push_back(index); }
};

struct ct_registry : session_layer::transport_registry {
  session_layer::transport* tp = nullptr;
  session_layer::transport* find(transport_proto p) noexcept override {
    return p == transport_proto::ct ? tp : nullptr;
  }
};

struct ct_fixture {
  recording_apps apps;
  ct_registry registry;
  segment_sink sink;
  session_worker_state w{0, {&apps, &registry}};
  ct_worker ct{w, sink};
  ct_half_opens half_opens;
  endpoint server_ep = *parse_uri("ct://127.0.0.1/1234");

  ct_fixture() { registry.tp = &ct; }

  pending_connect connect_req(std::uint64_t opaque = 77) {
    pending_connect pc;
    pc.client_app_worker = client_wrk;
    pc.opaque = opaque;
    pc.remote = server_ep;
    pc.listener = session_handle{0, 0, 0};
    pc.server_app_worker = server_wrk;
    pc.half_open = half_opens.alloc(pc);
    return pc;
  }

  // Queues one connect and carves its fifos: the server session is accepting.
  session_handle server_accepting(std::uint64_t opaque = 77) {
    ct.queue_connects({connect_req(opaque)});
    bool more = true;
    auto conns = ct.begin_accepts(more);
    REQUIRE(conns.size() == 1);
    ct.fifos_ready(conns[0].server_conn, sink.carve());
    const app_event& ev = apps.events.back();
    REQUIRE(ev.kind == "accept");
    return ev.handle;
  }

  // A full pair: returns {client, server}.
  std::pair<session_handle, session_handle> established(std::uint64_t opaque = 77) {
    auto server = server_accepting(opaque);
    w.on_accept_reply(server, true);
    const app_event& ev = apps.events.back();
    REQUIRE(ev.kind == "connected");
    REQUIRE(ev.err == errc::none);
    w.on_connected_reply(ev.handle, true);
    return {ev.handle, server};
  }

  session& at(session_handle h) {
    session* s = w.get(h);
    REQUIRE(s != nullptr);
    return *s;
  }

  // Lets the worker do what its actor would: events, cleanups, rx batch.
  void pump() {
    for (int i = 0; i < 10; ++i) {
      w.run_events();
      ct.handle_cleanups();
      w.flush_enqueue_events();
    }
  }
};

std::span<const std::byte> text(const char* s) {
  return std::as_bytes(std::span{s, std::char_traits<char>::length(s)});
}

}  // namespace

TEST_CASE("SPEC 6 accept: server session accepting, then client connected with crossed fifos") {
  ct_fixture fx;
  auto server = fx.server_accepting(1234);
  CHECK(fx.at(server).state == S::accepting);
  CHECK(fx.at(server).app_worker == server_wrk);
  CHECK(fx.sink.reusable.size() == 1);  // the half-open was copied and released
  fx.w.on_accept_reply(server, true);
  const auto& ev = fx.apps.events.back();
  REQUIRE(ev.kind == "connected");
  CHECK(ev.app_worker == client_wrk);
  CHECK(ev.extra == 1234);
  auto& client = fx.at(ev.handle);
  CHECK(client.state == S::ready);
  CHECK(fx.at(server).state == S::ready);
  // Crossed: what the client writes, the server reads, and back.
  REQUIRE(client.tx.enqueue(text("ping")).has_value());
  CHECK(fx.at(server).rx.max_dequeue() == 4);
  REQUIRE(fx.at(server).tx.enqueue(text("pong!")).has_value());
  CHECK(client.rx.max_dequeue() == 5);
  CHECK(client.rx.refcount() == 2);  // shared, one reference per side
}

TEST_CASE("SPEC 6 accepts are batched: at most 32 per run, the rest re-posted") {
  ct_fixture fx;
  std::vector<pending_connect> batch;
  for (int i = 0; i < 40; ++i) batch.push_back(fx.connect_req(i));
  fx.ct.queue_connects(std::move(batch));
  bool more = false;
  auto first = fx.ct.begin_accepts(more);
  CHECK(first.size() == 32);
  CHECK(more);
  auto second = fx.ct.begin_accepts(more);
  CHECK(second.size() == 8);
  CHECK_FALSE(more);
  for (auto c : first) fx.ct.fifos_ready(c.server_conn, fx.sink.carve(4096));
  for (auto c : second) fx.ct.fifos_ready(c.server_conn, fx.sink.carve(4096));
  CHECK(fx.apps.count("accept") == 40);
}

TEST_CASE("SPEC 6 half-opens: recycled indices and round-robin workers") {
  ct_half_opens ho;
  pending_connect pc;
  const auto a = ho.alloc(pc);
  const auto b = ho.alloc(pc);
  CHECK(a != b);
  CHECK(ho.live() == 2);
  ho.mark_reusable(a);
  CHECK(ho.live() == 1);
  CHECK(ho.alloc(pc) == a);
  CHECK(ho.next_worker(3) == 0);
  CHECK(ho.next_worker(3) == 1);
  CHECK(ho.next_worker(3) == 2);
  CHECK(ho.next_worker(3) == 0);
  CHECK(ho.format(b).find("HALF-OPEN") != std::string::npos);
}

TEST_CASE("SPEC 6 server refusal: the client gets refused and everything is freed") {
  ct_fixture fx;
  auto server = fx.server_accepting();
  fx.w.on_accept_reply(server, false);
  const auto& ev = fx.apps.events.back();
  CHECK(ev.kind == "connected");
  CHECK(ev.err == errc::refused);
  CHECK_FALSE(ev.handle.valid());
  CHECK(fx.w.pool().live() == 0);
  CHECK(fx.ct.connections() == 0);
  CHECK(fx.sink.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 6 allocation failure: the client gets alloc and nothing is left") {
  ct_fixture fx;
  fx.ct.queue_connects({fx.connect_req()});
  bool more = false;
  auto conns = fx.ct.begin_accepts(more);
  fx.ct.fifos_ready(conns[0].server_conn, unexpected{errc::segment_alloc});
  const auto& ev = fx.apps.events.back();
  CHECK(ev.kind == "connected");
  CHECK(ev.err == errc::alloc);
  CHECK(fx.w.pool().live() == 0);
  CHECK(fx.ct.connections() == 0);
  CHECK(fx.apps.count("accept") == 0);
}

TEST_CASE("SPEC 6 a server closing while the client is half-open refuses the client") {
  ct_fixture fx;
  auto server = fx.server_accepting();
  REQUIRE(fx.w.app_close(server).has_value());  // closes instead of answering
  fx.pump();
  const auto connected = std::find_if(fx.apps.events.begin(), fx.apps.events.end(),
                                      [](auto& e) { return e.kind == "connected"; });
  REQUIRE(connected != fx.apps.events.end());
  CHECK(connected->err == errc::refused);
  fx.w.on_accept_reply(server, true);  // a late answer changes nothing
  fx.pump();
  CHECK(fx.w.pool().live() == 0);
  CHECK(fx.ct.connections() == 0);
  CHECK(fx.sink.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 6 custom tx: the peer gets an rx notification, not once it is closing") {
  ct_fixture fx;
  auto [client, server] = fx.established();
  fx.apps.clear();
  auto& c = fx.at(client);
  REQUIRE(c.tx.enqueue(text("data")).has_value());
  CHECK(c.tx.set_event());
  fx.w.post_custom_tx(c);
  fx.pump();
  REQUIRE(fx.apps.count("rx") == 1);
  CHECK(fx.apps.events[0].handle == server);
  CHECK_FALSE(c.tx.has_event());  // custom tx accepts new events again
  fx.w.transport_closing_notify(server);
  fx.apps.clear();
  c.tx.set_event();
  fx.w.post_custom_tx(c);
  fx.pump();
  CHECK(fx.apps.count("rx") == 0);
}

TEST_CASE("SPEC 6 app-rx event: the peer gets a dequeue notification when it asked") {
  ct_fixture fx;
  auto [client, server] = fx.established();
  auto& c = fx.at(client);
  auto& s = fx.at(server);
  REQUIRE(c.tx.enqueue(text("0123456789")).has_value());
  c.tx.add_want_deq_ntf(shm::deq_ntf::on_every_dequeue);
  fx.apps.clear();
  std::array<std::byte, 10> buf{};
  REQUIRE(s.rx.dequeue(buf).has_value());
  fx.w.post_io({io_kind::app_rx, server});
  fx.pump();
  REQUIRE(fx.apps.count("tx") == 1);
  CHECK(fx.apps.events[0].handle == client);
}

TEST_CASE("SPEC 6 close: no unread data -> the peer sees close, then both sides are freed") {
  ct_fixture fx;
  auto [client, server] = fx.established();
  fx.apps.clear();
  REQUIRE(fx.w.app_close(client).has_value());
  fx.pump();
  CHECK(fx.w.get(client) == nullptr);
  CHECK(fx.at(server).state == S::transport_closing);
  CHECK(fx.apps.count("close") == 1);
  CHECK(fx.apps.count("reset") == 0);
  REQUIRE(fx.w.app_close(server).has_value());
  fx.pump();
  CHECK(fx.w.pool().live() == 0);
  CHECK(fx.ct.connections() == 0);
  CHECK(fx.sink.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 6 half-close (app shutdown): the peer hears close after this side's last tx event, both still linked, then closes both ways") {
  ct_fixture fx;
  auto [client, server] = fx.established();
  auto& c = fx.at(client);
  REQUIRE(c.tx.enqueue(text("request")).has_value());
  CHECK(c.tx.set_event());
  fx.w.post_custom_tx(c);
  fx.apps.clear();
  REQUIRE(fx.w.app_shutdown(client).has_value());
  REQUIRE(fx.w.app_shutdown(client).has_value());  // idempotent
  // A worker turn: the half-close waits for the tx event ahead of it.
  fx.w.run_events(0);
  CHECK(fx.ct.pending_cleanups() == 1);
  CHECK(fx.ct.handle_cleanups());  // postponed
  CHECK(fx.apps.events.empty());
  fx.w.run_events();
  fx.w.flush_enqueue_events();
  CHECK_FALSE(fx.ct.handle_cleanups());
  fx.pump();
  // The peer hears of the request before it hears the end of the stream, once.
  REQUIRE(fx.apps.events.size() == 2);
  CHECK(fx.apps.events[0].kind == "rx");
  CHECK(fx.apps.events[1].kind == "close");
  CHECK(fx.apps.events[1].handle == server);
  CHECK(fx.at(server).state == S::transport_closing);
  CHECK(fx.at(client).state == S::ready);  // this side reads on
  // The server answers after the client's half-close, then closes.
  REQUIRE(fx.at(server).tx.enqueue(text("answer")).has_value());
  std::array<std::byte, 16> in{};
  REQUIRE(fx.at(server).rx.dequeue(in).has_value());
  fx.apps.clear();
  REQUIRE(fx.w.app_close(server).has_value());
  fx.pump();
  CHECK(fx.apps.count("reset") == 0);
  CHECK(fx.apps.count("close") == 1);
  CHECK(fx.at(client).state == S::transport_closing);
  auto n = fx.at(client).rx.dequeue(in);
  REQUIRE(n.has_value());
  CHECK(*n == 6);
  REQUIRE(fx.w.app_close(client).has_value());
  fx.pump();
  CHECK(fx.w.pool().live() == 0);
  CHECK(fx.ct.connections() == 0);
  CHECK(fx.sink.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 6 half-close of a listener or an unknown session is invalid_session, a closed session's is nothing") {
  ct_fixture fx;
  auto [client, server] = fx.established();
  CHECK(fx.w.app_shutdown(session_handle{0, 999, 1}).error().code == errc::invalid_session);
  REQUIRE(fx.w.app_close(client).has_value());
  CHECK(fx.w.app_shutdown(client).has_value());
  fx.pump();
  (void)server;
  CHECK(fx.apps.count("close") == 1);
}

TEST_CASE("SPEC 6 close with unread rx data -> the peer sees reset") {
  ct_fixture fx;
  auto [client, server] = fx.established();
  REQUIRE(fx.at(server).tx.enqueue(text("never read")).has_value());
  fx.apps.clear();
  REQUIRE(fx.w.app_close(client).has_value());
  fx.pump();
  CHECK(fx.apps.count("reset") == 1);
  CHECK(fx.apps.count("close") == 0);
  CHECK(fx.at(server).state == S::transport_closing);
}

TEST_CASE("SPEC 6 cleanup is postponed while a tx event is pending") {
  ct_fixture fx;
  auto [client, server] = fx.established();
  auto& c = fx.at(client);
  REQUIRE(c.tx.enqueue(text("last words")).has_value());
  CHECK(c.tx.set_event());
  fx.w.post_custom_tx(c);  // the app's tx message arrived, its event is queued
  REQUIRE(fx.w.app_close(client).has_value());
  // What an actor turn does, with the io budget spent before the tx event
  // ran: the programmed close queues the cleanup, which must wait.
  fx.w.run_events(0);
  CHECK(fx.ct.pending_cleanups() == 1);
  CHECK(fx.ct.handle_cleanups());  // postponed, re-posted
  CHECK(fx.w.get(client) != nullptr);
  fx.apps.clear();
  fx.w.run_events();  // the tx event: the peer is told of the last words first
  fx.w.flush_enqueue_events();
  CHECK_FALSE(fx.ct.handle_cleanups());
  CHECK(fx.w.get(client) == nullptr);
  REQUIRE(fx.apps.events.size() >= 2);
  CHECK(fx.apps.events[0].kind == "rx");
  CHECK(fx.apps.events[0].handle == server);
  CHECK(fx.apps.count("close") == 1);
}

TEST_CASE("SPEC 6 a writer killed between flagging a write and posting it does not hold its cleanup, the peer hears reset") {
  // A remote client app killed right after its write set the fifo's event
  // flag, before its tx message left: the flag stays set for good. The
  // cleanup used to wait on that flag, so the pair (and its segment) stayed
  // until the stack stopped, the server never hearing of it.
  ct_fixture fx;
  auto [client, server] = fx.established();
  auto& c = fx.at(client);
  REQUIRE(c.tx.enqueue(text("half sent")).has_value());
  CHECK(c.tx.set_event());
  fx.apps.clear();
  CHECK(fx.w.app_worker_gone(client_wrk) == 1);
  fx.pump();
  CHECK(fx.w.get(client) == nullptr);
  REQUIRE(fx.apps.count("reset") == 1);
  CHECK(fx.at(server).state == S::transport_closing);
  REQUIRE(fx.w.app_close(server).has_value());
  fx.pump();
  CHECK(fx.w.pool().live() == 0);
  CHECK(fx.ct.connections() == 0);
  CHECK(fx.sink.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 6 cleanups run at most 100 per pass") {
  ct_fixture fx;
  std::vector<session_handle> clients;
  for (int i = 0; i < 150; ++i) clients.push_back(fx.established(i).first);
  for (auto h : clients) REQUIRE(fx.w.app_close(h).has_value());
  fx.w.run_events();
  CHECK(fx.ct.pending_cleanups() == 150);
  CHECK(fx.ct.handle_cleanups());
  CHECK(fx.ct.pending_cleanups() == 50);
  CHECK_FALSE(fx.ct.handle_cleanups());
}

TEST_CASE("SPEC 6 reset by the app is a reset for the peer") {
  ct_fixture fx;
  auto [client, server] = fx.established();
  fx.apps.clear();
  REQUIRE(fx.w.app_reset(client).has_value());
  fx.pump();
  CHECK(fx.apps.count("reset") == 1);
  (void)server;
}

TEST_CASE("SPEC 6 a reset leaves the peer's read end alone: the worker never reads a fifo the peer app reads") {
  // A ct session's tx is its peer app's rx. Dropping it on reset (SPEC 2.5)
  // from the worker raced the peer app reading it in its own process: two
  // readers handed the same chunks back, and the client of a killed server
  // crashed. The peer hears the reset; the bytes go with the fifo.
  ct_fixture fx;
  auto [client, server] = fx.established();
  REQUIRE(fx.at(server).tx.enqueue(text("a reply the client is reading")).has_value());
  const auto head = fx.at(client).rx.head_position();
  const auto queued = fx.at(client).rx.max_dequeue();
  fx.apps.clear();
  REQUIRE(fx.w.app_reset(server).has_value());
  fx.pump();
  REQUIRE(fx.apps.count("reset") == 1);
  CHECK(fx.apps.events.front().handle == client);
  CHECK(fx.at(client).rx.head_position() == head);
  CHECK(fx.at(client).rx.max_dequeue() == queued);
  REQUIRE(fx.w.app_close(client).has_value());
  fx.pump();
  CHECK(fx.w.pool().live() == 0);
  CHECK(fx.ct.connections() == 0);
  CHECK(fx.sink.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 6 a client app that says no to connected (or went before answering) resets the server, nothing left") {
  // The reference frees the client's half and force-disconnects the
  // server. Here the client's fifos went first and took the connection
  // record with them, so its queued cleanup never told the server: the
  // server session, its fifos and segment stayed for good.
  ct_fixture fx;
  auto server = fx.server_accepting();
  fx.w.on_accept_reply(server, true);
  const app_event connected = fx.apps.events.back();
  REQUIRE(connected.kind == "connected");
  REQUIRE(fx.at(server).state == S::ready);
  REQUIRE(fx.at(server).tx.enqueue(text("unread by anyone")).has_value());
  fx.apps.clear();
  fx.w.on_connected_reply(connected.handle, false);
  fx.pump();
  REQUIRE(fx.apps.count("reset") == 1);
  CHECK(fx.apps.events.front().handle == server);
  CHECK(fx.apps.events.front().app_worker == server_wrk);
  CHECK(fx.w.get(connected.handle) == nullptr);
  // The server app closes what it was told was reset: then nothing is left.
  REQUIRE(fx.w.app_close(server).has_value());
  fx.pump();
  CHECK(fx.w.pool().live() == 0);
  CHECK(fx.ct.connections() == 0);
  CHECK(fx.sink.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 6 format: LISTEN, HALF-OPEN, ESTABLISHED") {
  ct_fixture fx;
  auto l = fx.w.listen(server_wrk, fx.server_ep);
  REQUIRE(l.has_value());
  const auto listen_line = fx.ct.format_listener(fx.at(*l).connection, 0);
  CHECK(listen_line == "[0:0][CT:ct] 127.0.0.1:1234->0.0.0.0:0 LISTEN");
  auto server = fx.server_accepting();
  const auto& ss = fx.at(server);
  const std::uint32_t client_conn = 0;  // the first connection allocated
  CHECK(fx.ct.format(client_conn, 0).find("HALF-OPEN") != std::string::npos);
  fx.w.on_accept_reply(server, true);
  const auto line = fx.ct.format(ss.connection, 0);
  CHECK(line.rfind("[0:", 0) == 0);
  CHECK(line.find("[CT:ct] 127.0.0.1:1234->127.0.0.1:") != std::string::npos);
  CHECK(line.find("ESTABLISHED") != std::string::npos);
}
