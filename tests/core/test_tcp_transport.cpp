// The TCP transport's worker half (session/tcp/tcp_transport) against a
// simulated data-plane core with two queues: the test pops the tcp_*
// commands the worker sends and pushes the events a core's engine would.
// Checks the session-layer flows of SPEC-TCP §2 (accept and connected on
// ESTABLISHED, FIN, RST, close, abort), the fifo hand-over rule (a fifo the
// core may write is freed only after the core let go) and the segment's
// lifetime (held while a core may carve from it).

#include "session/tcp/tcp_transport.hpp"
#include "session_test_env.hpp"

#include <doctest/doctest.h>

using namespace actorstack;
using namespace actorstack::test;
using namespace actorstack::session_layer;
namespace dp = actorstack::dataplane;

namespace {

struct segment_recording_apps : recording_apps {
  std::vector<segment_info> segments;
  // The tx route each accept or connected notification would carry (the
  // session worker's notifier asks the transport while making it).
  const transport* routes_from = nullptr;
  std::vector<tx_route> routes;
  void segment_added(std::uint32_t app_worker, const segment_info& seg) override {
    segments.push_back(seg);
    events.push_back({"segment_add", {}, app_worker});
  }
  void accept(const session& s, session_handle listener, const endpoint_pair& ends) override {
    if (routes_from != nullptr) routes.push_back(routes_from->direct_tx_route(s));
    recording_apps::accept(s, listener, ends);
  }
  void connected(std::uint32_t wrk, std::uint64_t opaque, const session* s, errc err,
                 const endpoint_pair& ends) override {
    if (routes_from != nullptr && s != nullptr) routes.push_back(routes_from->direct_tx_route(*s));
    recording_apps::connected(wrk, opaque, s, err, ends);
  }
};

struct tcp_registry : transport_registry {
  transport* tcp = nullptr;
  transport* find(transport_proto p) noexcept override { return p == transport_proto::tcp ? tcp : nullptr; }
};

constexpr std::uint32_t our_ip = 0x0a000002;   // 10.0.0.2
constexpr std::uint32_t peer_ip = 0x0a000001;  // 10.0.0.1
constexpr std::uint32_t app = 3;

struct tcp_fixture {
  segment_recording_apps apps;
  tcp_registry registry;
  session_worker_state w{0, {&apps, &registry}};
  dp::channel<dp::command> commands0{256}, commands1{256};
  dp::channel<dp::event> events0{256}, events1{256};
  net::app_segments segments{apps, segments_config()};
  tcp::tcp_transport tp{w, {{&commands0, &events0}, {&commands1, &events1}}, segments, config()};
  std::uint32_t next_engine_index = 7;

  tcp_fixture() { registry.tcp = &tp; }

  static net::app_segments_config segments_config() {
    net::app_segments_config c;
    c.rx_fifo_size = c.tx_fifo_size = 16 * 1024;
    c.segment_size = 8u << 20;
    return c;
  }
  static tcp::tcp_worker_config config() {
    tcp::tcp_worker_config c;
    c.worker = 0;
    c.workers = 1;  // both cores report here (their home worker)
    c.local_ip = our_ip;
    return c;
  }

  std::vector<dp::command> take(std::uint32_t core) {
    std::vector<dp::command> out;
    dp::command c;
    while ((core == 0 ? commands0 : commands1).pop(c)) out.push_back(c);
    return out;
  }
  shm::fifo_segment& seg() { return **segments.segment_of(app); }

  // What the core's engine does on ESTABLISHED: carve the pair from the
  // segment the listen or connect named, then say so.
  struct carved {
    std::uint32_t index, generation;
    shm::fifo rx, tx;
  };
  carved establish(std::uint64_t cookie, std::uint16_t local_port, std::uint16_t remote_port,
                   std::uint32_t core = 0, shm::fifo_segment* from = nullptr) {
    auto pair = (from != nullptr ? *from : seg()).alloc_fifo_pair(16 * 1024, 16 * 1024);
    REQUIRE(pair.has_value());
    dp::event ev{dp::event_kind::tcp_established};
    ev.id = next_engine_index++;
    ev.generation = 1;
    ev.session = cookie;
    ev.rx = pair->rx;
    ev.tx = pair->tx;
    ev.local_ip = our_ip;
    ev.remote_ip = peer_ip;
    ev.local_port = local_port;
    ev.remote_port = remote_port;
    push(core, ev);
    return {ev.id, ev.generation, pair->rx, pair->tx};
  }
  void conn_event(const carved& c, dp::event_kind k, errc why = errc::none, std::uint32_t core = 0) {
    dp::event ev{k};
    ev.id = c.index;
    ev.generation = c.generation;
    ev.error = why;
    push(core, ev);
  }
  // What the core says when the engine's connection changes state.
  void state_event(const carved& c, tcp::state now, std::uint32_t core = 0) {
    dp::event ev{dp::event_kind::tcp_state};
    ev.id = c.index;
    ev.generation = c.generation;
    ev.bytes = static_cast<std::uint32_t>(now);
    push(core, ev);
  }
  void push(std::uint32_t core, const dp::event& ev) {
    REQUIRE((core == 0 ? events0 : events1).push(ev));
    tp.drain_events();
  }
  // A listener on every core; returns its cookie.
  std::pair<session_handle, std::uint64_t> listen(std::uint16_t port) {
    auto h = w.listen(app, endpoint{transport_proto::tcp, ip_address::v4(0), port});
    REQUIRE(h.has_value());
    auto c0 = take(0);
    auto c1 = take(1);
    REQUIRE(c0.size() == 1);
    REQUIRE(c1.size() == 1);
    CHECK(c0[0].kind == dp::command_kind::tcp_listen);
    CHECK(c0[0].tcp.cookie == c1[0].tcp.cookie);
    return {*h, c0[0].tcp.cookie};
  }
  // An accepted, answered session.
  std::pair<session_handle, carved> accepted(std::uint64_t cookie) {
    const carved c = establish(cookie, 80, 40000);
    REQUIRE(apps.count("accept") >= 1);
    const session_handle h = apps.events.back().handle;
    w.on_accept_reply(h, true);
    return {h, c};
  }
};

endpoint tcp_ep(std::uint32_t ip, std::uint16_t port) { return endpoint{transport_proto::tcp, ip_address::v4(ip), port}; }

}  // namespace

TEST_CASE("TCP 2.1 tcp transport: a listener listens on every core, accept comes with ESTABLISHED and its fifos") {
  tcp_fixture fx;
  auto [listener, cookie] = fx.listen(80);
  // The segment is announced before anything names its fifos (SPEC 9.3),
  // and the listen tells the cores where to carve from.
  REQUIRE(fx.apps.kinds() == std::vector<std::string>{"segment_add"});
  CHECK(fx.tp.listeners() == 1);
  CHECK(fx.w.get(listener)->state == session_state::listening);
  CHECK_FALSE(fx.w.get(listener)->rx.valid());  // a stream listener holds no fifos
  // Nothing for a half-open: the app hears only ESTABLISHED.
  const auto c = fx.establish(cookie, 80, 40000, 1);
  REQUIRE(fx.apps.count("accept") == 1);
  // The app hears the 4-tuple in its notification (getsockname /
  // getpeername); the session keeps no copy, show sessions reads the
  // transport's.
  CHECK(fx.apps.events.back().ends.local.to_string() == "tcp://10.0.0.2/80");
  CHECK(fx.apps.events.back().ends.remote.to_string() == "tcp://10.0.0.1/40000");
  session* s = fx.w.get(fx.apps.events.back().handle);
  REQUIRE(s != nullptr);
  CHECK(s->proto == transport_proto::tcp);
  CHECK(s->state == session_state::accepting);
  CHECK(s->rx.offset() == c.rx.offset());  // the core's pair, not a new one
  CHECK(s->tx.offset() == c.tx.offset());
  CHECK(fx.tp.connections() == 1);
  CHECK(fx.tp.counters().accepted == 1);
  // Its commands go to the core that owns it (core 1 here).
  fx.w.on_accept_reply(s->handle, true);
  fx.tp.custom_tx(*s);
  auto cmds = fx.take(1);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tcp_sent);
  CHECK(cmds[0].tcp.conn == c.index);
  CHECK(cmds[0].tcp.generation == c.generation);
  CHECK(fx.take(0).empty());
  CHECK(fx.tp.format(s->connection, 0) == "[0:" + std::to_string(s->handle.index()) +
                                              "][T] 10.0.0.2:80->10.0.0.1:40000 ESTABLISHED core 1");
}

TEST_CASE("tcp transport: an accept or connected notification carries the tx route of its connection (its core, the engine's index and generation, whether rx may skip the worker), none once the core let go") {
  tcp_fixture fx;
  fx.apps.routes_from = &fx.tp;
  auto [listener, cookie] = fx.listen(80);
  const auto c = fx.establish(cookie, 80, 40000, 1);
  REQUIRE(fx.apps.routes.size() == 1);
  const tx_route r = fx.apps.routes[0];
  CHECK(r.valid);
  CHECK(r.core == 1);
  CHECK(r.conn == c.index);
  CHECK(r.generation == c.generation);
  session* s = fx.w.get(fx.apps.events.back().handle);
  REQUIRE(s != nullptr);
  fx.w.on_accept_reply(s->handle, true);
  CHECK(fx.tp.direct_tx_route(*s).valid);  // and afterwards, named by its handle
  // Bytes arrived may go straight to the app worker too, unless the app's
  // fifo-tuning callback must hear of every enqueue (SPEC 4).
  CHECK(r.rx);
  s->set(session_layer::flag_custom_fifo_tuning);
  CHECK(fx.tp.direct_tx_route(*s).valid);
  CHECK_FALSE(fx.tp.direct_tx_route(*s).rx);
  s->clear(session_layer::flag_custom_fifo_tuning);

  auto connect = fx.tp.connect({tcp_ep(peer_ip, 5201), app, 42});
  REQUIRE(connect.has_value());
  const auto out = fx.take(0);
  REQUIRE(out.size() == 1);
  const auto d = fx.establish(out[0].tcp.cookie, out[0].tcp.local_port, 5201, 0);
  REQUIRE(fx.apps.routes.size() == 2);
  CHECK(fx.apps.routes[1].valid);
  CHECK(fx.apps.routes[1].core == 0);
  CHECK(fx.apps.routes[1].conn == d.index);

  // The peer reset: the core let go, a route would name nothing.
  fx.conn_event(c, dp::event_kind::tcp_reset, errc::reset, 1);
  session* reset = fx.w.get(s->handle);  // kept until the app cleans up
  REQUIRE(reset != nullptr);
  CHECK_FALSE(fx.tp.direct_tx_route(*reset).valid);
}

TEST_CASE("TCP 2.2 tcp transport: connect goes to the home core, connected on ESTABLISHED, refused as connect failed") {
  tcp_fixture fx;
  auto r = fx.tp.connect({tcp_ep(peer_ip, 5201), app, 42});
  REQUIRE(r.has_value());
  auto cmds = fx.take(0);  // worker 0's home core
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tcp_connect);
  CHECK(cmds[0].tcp.remote_ip == peer_ip);
  CHECK(cmds[0].tcp.remote_port == 5201);
  CHECK(cmds[0].tcp.local_ip == our_ip);
  CHECK(cmds[0].tcp.local_port == 0);  // the core picks one of its ports
  CHECK(cmds[0].tcp.fifos_from != nullptr);
  CHECK(fx.tp.pending_connects() == 1);
  CHECK(fx.apps.count("connected") == 0);  // not before the handshake
  fx.establish(cmds[0].tcp.cookie, 49154, 5201);
  REQUIRE(fx.apps.count("connected") == 1);
  CHECK(fx.apps.events.back().err == errc::none);
  CHECK(fx.apps.events.back().extra == 42);
  CHECK(fx.tp.pending_connects() == 0);
  // A second connect: RST in SYN-SENT.
  REQUIRE(fx.tp.connect({tcp_ep(peer_ip, 5202), app, 43}).has_value());
  cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  dp::event failed{dp::event_kind::tcp_connect_failed};
  failed.session = cmds[0].tcp.cookie;
  failed.error = errc::refused;
  fx.push(0, failed);
  REQUIRE(fx.apps.count("connected") == 2);
  CHECK(fx.apps.events.back().err == errc::refused);
  CHECK(fx.apps.events.back().extra == 43);
  CHECK(fx.tp.counters().connect_failures == 1);
  // Bad targets never reach a core.
  CHECK(fx.tp.connect({tcp_ep(0, 80), app, 1}).error().code == errc::invalid_argument);
  CHECK(fx.tp.connect({tcp_ep(peer_ip, 0), app, 1}).error().code == errc::invalid_argument);
  CHECK(fx.take(0).empty());
}

TEST_CASE("TCP 1.2 tcp transport: a connect without a port leaves the choice to its core, whose no_port reaches the app once") {
  tcp_fixture fx;
  REQUIRE(fx.tp.connect({tcp_ep(peer_ip, 5201), app, 1}).has_value());
  auto first = fx.take(0);
  REQUIRE(first.size() == 1);
  CHECK(first[0].kind == dp::command_kind::tcp_connect);
  CHECK(first[0].tcp.local_port == 0);  // the engine knows every 4-tuple of its core: it picks
  dp::event full{dp::event_kind::tcp_connect_failed};
  full.session = first[0].tcp.cookie;
  full.error = errc::no_port;
  fx.push(0, full);
  CHECK(fx.take(0).empty());  // nothing tried again: the core already searched every port it owns
  REQUIRE(fx.apps.count("connected") == 1);
  CHECK(fx.apps.events.back().err == errc::no_port);
  CHECK(fx.tp.pending_connects() == 0);
}

TEST_CASE("TCP 1.2 tcp transport: a connect from the app's own port (a bind before connect) goes to the core that port names and is never moved to another port") {
  tcp_fixture fx;  // worker 0, two cores: its home core is 0
  REQUIRE(fx.tp.connect({tcp_ep(peer_ip, 5201), app, 1, 40001}).has_value());
  CHECK(fx.take(0).empty());
  auto cmds = fx.take(1);  // 40001 % 2 == 1: the core that owns that port's segments
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tcp_connect);
  CHECK(cmds[0].tcp.local_port == 40001);
  // Its 4-tuple is taken: no other port is tried, the app hears it.
  dp::event busy{dp::event_kind::tcp_connect_failed};
  busy.session = cmds[0].tcp.cookie;
  busy.error = errc::already_listening;
  fx.push(1, busy);
  CHECK(fx.take(1).empty());
  REQUIRE(fx.apps.count("connected") == 1);
  CHECK(fx.apps.events.back().err == errc::already_listening);
  CHECK(fx.tp.pending_connects() == 0);
  // An even port goes to core 0 and is established there.
  REQUIRE(fx.tp.connect({tcp_ep(peer_ip, 5202), app, 2, 40002}).has_value());
  cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].tcp.local_port == 40002);
  fx.establish(cmds[0].tcp.cookie, 40002, 5202);
  CHECK(fx.apps.count("connected") == 2);
  CHECK(fx.apps.events.back().err == errc::none);
}

TEST_CASE("TCP 2.3 9.2 tcp transport: peer FIN, app close, release: the fifos go back only when the core let go, show sessions names the engine's state") {
  tcp_fixture fx;
  auto [listener, cookie] = fx.listen(80);
  auto [h, c] = fx.accepted(cookie);
  const std::size_t fifos = fx.seg().fifo_count();
  CHECK(fifos == 2);
  fx.conn_event(c, dp::event_kind::tcp_peer_closed);
  fx.state_event(c, tcp::state::close_wait);
  CHECK(fx.apps.count("close") == 1);
  CHECK(fx.w.get(h)->state == session_state::transport_closing);
  // show sessions: the engine's state as the core reported it.
  CHECK(fx.tp.format(fx.w.get(h)->connection, 0).find(" CLOSE-WAIT") != std::string::npos);
  // The app closes: FIN goes out (tcp_close), the session waits.
  REQUIRE(fx.w.app_close(h).has_value());
  fx.w.run_events();
  auto cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tcp_close);
  REQUIRE(fx.w.get(h) != nullptr);
  CHECK(fx.tp.format(fx.w.get(h)->connection, 0).find(" CLOSE-WAIT") != std::string::npos);  // until the core says
  fx.state_event(c, tcp::state::last_ack);
  CHECK(fx.tp.format(fx.w.get(h)->connection, 0).find(" LAST-ACK") != std::string::npos);
  // A state number no engine has is ignored.
  dp::event bogus{dp::event_kind::tcp_state};
  bogus.id = c.index;
  bogus.generation = c.generation;
  bogus.bytes = 200;
  fx.push(0, bogus);
  CHECK(fx.tp.format(fx.w.get(h)->connection, 0).find(" LAST-ACK") != std::string::npos);
  CHECK(fx.seg().fifo_count() == fifos);  // the core still reads tx
  fx.conn_event(c, dp::event_kind::tcp_released);
  fx.w.run_events();
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.seg().fifo_count() == 0);
  CHECK(fx.tp.connections() == 0);
}

TEST_CASE("TCP 2.4 tcp transport: a peer's RST resets the session, its fifos go when the app closed") {
  tcp_fixture fx;
  auto [listener, cookie] = fx.listen(80);
  auto [h, c] = fx.accepted(cookie);
  fx.conn_event(c, dp::event_kind::tcp_reset, errc::reset);
  CHECK(fx.apps.count("reset") == 1);
  CHECK(fx.apps.count("cleanup_transport") == 1);
  REQUIRE(fx.w.get(h) != nullptr);  // waits for the app
  REQUIRE(fx.w.app_close(h).has_value());
  fx.w.run_events();
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.seg().fifo_count() == 0);
  CHECK(fx.take(0).empty());  // the core already let go: nothing to tell it
  // A late event of the dead connection finds nothing.
  fx.conn_event(c, dp::event_kind::tcp_rx);
  CHECK(fx.apps.count("rx") == 0);
}

TEST_CASE("tcp transport: a reset for bad_layout (the app broke its shared fifos) is counted and told before the reset") {
  tcp_fixture fx;
  auto [listener, cookie] = fx.listen(80);
  auto [h, c] = fx.accepted(cookie);
  fx.conn_event(c, dp::event_kind::tcp_reset, errc::bad_layout);
  CHECK(fx.apps.count("shm_violation") == 1);
  CHECK(fx.apps.count("reset") == 1);
  CHECK(fx.w.counters().shm_violations == 1);
  REQUIRE(fx.w.app_close(h).has_value());
  fx.w.run_events();
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.seg().fifo_count() == 0);
  // An ordinary reset is not one.
  auto [h2, c2] = fx.accepted(cookie);
  fx.conn_event(c2, dp::event_kind::tcp_reset, errc::reset);
  CHECK(fx.apps.count("shm_violation") == 1);
  CHECK(fx.w.counters().shm_violations == 1);
  (void)h2;
}

TEST_CASE("TCP 2.5 tcp transport: app reset is an abort, refused accepts too, fifos wait for tcp_released") {
  tcp_fixture fx;
  auto [listener, cookie] = fx.listen(80);
  auto [h, c] = fx.accepted(cookie);
  REQUIRE(fx.w.app_reset(h).has_value());
  fx.w.run_events();
  auto cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tcp_abort);
  CHECK(fx.seg().fifo_count() == 2);
  fx.conn_event(c, dp::event_kind::tcp_released);
  fx.w.run_events();
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.seg().fifo_count() == 0);
  // The app says no to the next one: RST, and the fifos after the release.
  const auto c2 = fx.establish(cookie, 80, 40001);
  const session_handle h2 = fx.apps.events.back().handle;
  fx.w.on_accept_reply(h2, false);
  cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tcp_abort);
  CHECK(fx.seg().fifo_count() == 2);
  fx.conn_event(c2, dp::event_kind::tcp_released);
  CHECK(fx.w.get(h2) == nullptr);
  CHECK(fx.seg().fifo_count() == 0);
  CHECK(fx.tp.connections() == 0);
}

TEST_CASE("tcp transport: a stopped listener refuses late connections, its segment goes after every core let go") {
  tcp_fixture fx;
  auto [listener, cookie] = fx.listen(80);
  REQUIRE(fx.w.stop_listen(listener).has_value());
  CHECK(fx.take(0).at(0).kind == dp::command_kind::tcp_unlisten);
  CHECK(fx.take(1).at(0).kind == dp::command_kind::tcp_unlisten);
  CHECK(fx.tp.listeners() == 0);
  // A handshake that completed before core 0 saw the unlisten.
  const auto late = fx.establish(cookie, 80, 40002);
  CHECK(fx.apps.count("accept") == 0);
  auto cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tcp_abort);
  CHECK(fx.tp.counters().refused_by_app == 1);
  fx.segments.app_worker_gone(app);
  fx.conn_event(late, dp::event_kind::tcp_released);
  CHECK(fx.seg().fifo_count() == 0);
  // Core 0 confirms; core 1 may still carve: the segment stays.
  dp::event done{dp::event_kind::tcp_unlistened};
  done.session = cookie;
  fx.push(0, done);
  CHECK(fx.segments.count() == 1);
  fx.push(1, done);
  CHECK(fx.segments.count() == 0);
}

TEST_CASE("tcp transport: tcp_rx re-arms the rx flag and batches one notification, app reads send tcp_read") {
  tcp_fixture fx;
  auto [listener, cookie] = fx.listen(80);
  auto [h, c] = fx.accepted(cookie);
  fx.apps.clear();
  shm::fifo rx = c.rx;
  REQUIRE(rx.set_event());  // what the core does before it posts
  fx.conn_event(c, dp::event_kind::tcp_rx);
  fx.conn_event(c, dp::event_kind::tcp_rx);
  CHECK_FALSE(rx.has_event());  // the next enqueue posts again
  fx.w.flush_enqueue_events();
  CHECK(fx.apps.count("rx") == 1);
  fx.tp.app_rx_evt(*fx.w.get(h));
  auto cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tcp_read);
}

TEST_CASE("tcp transport: an app worker gone while its connect is on the way: the connection is reset on arrival") {
  tcp_fixture fx;
  REQUIRE(fx.tp.connect({tcp_ep(peer_ip, 5201), app, 1}).has_value());
  auto cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  fx.tp.app_worker_gone(app);
  fx.segments.app_worker_gone(app);
  CHECK(fx.segments.count() == 1);  // the core may still carve for the connect
  const auto c = fx.establish(cmds[0].tcp.cookie, cmds[0].tcp.local_port, 5201);
  CHECK(fx.apps.count("connected") == 0);
  auto abort = fx.take(0);
  REQUIRE(abort.size() == 1);
  CHECK(abort[0].kind == dp::command_kind::tcp_abort);
  fx.conn_event(c, dp::event_kind::tcp_released);
  CHECK(fx.segments.count() == 0);
  CHECK(fx.tp.connections() == 0);
}

TEST_CASE("tcp transport: TCP_INFO of a session is asked of its connection's core, whose answer comes back, and a connection the core let go of is invalid_session at once") {
  tcp_fixture fx;
  auto [listener, cookie] = fx.listen(80);
  auto [h, c] = fx.accepted(cookie);
  session* s = fx.w.get(h);
  REQUIRE(s != nullptr);
  std::vector<result<tcp_conn_info>> answers;
  auto keep = [&](result<tcp_conn_info> r) { answers.push_back(std::move(r)); };
  fx.tp.query_info(*s, keep);
  auto cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == dp::command_kind::tcp_info);
  CHECK(cmds[0].tcp.conn == c.index);
  CHECK(cmds[0].tcp.generation == c.generation);
  REQUIRE(cmds[0].tcp.info_out != nullptr);
  CHECK(answers.empty());  // until the core answers
  CHECK(fx.tp.pending_info_queries() == 1);
  // What the core does: write, then answer.
  cmds[0].tcp.info_out->state = 1;
  cmds[0].tcp.info_out->rtt_us = 250;
  cmds[0].tcp.info_out->total_retrans = 3;
  dp::event answer{dp::event_kind::tcp_info};
  answer.session = cmds[0].tcp.cookie;
  fx.push(0, answer);
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].has_value());
  CHECK(answers[0]->state == 1);
  CHECK(answers[0]->rtt_us == 250);
  CHECK(answers[0]->total_retrans == 3);
  CHECK(fx.tp.pending_info_queries() == 0);
  fx.push(0, answer);  // answered twice (a stale cookie): nobody hears it
  CHECK(answers.size() == 1);

  // The core found the connection gone: the asker hears invalid_session.
  fx.tp.query_info(*s, keep);
  cmds = fx.take(0);
  REQUIRE(cmds.size() == 1);
  dp::event gone{dp::event_kind::tcp_info};
  gone.session = cmds[0].tcp.cookie;
  gone.error = errc::invalid_session;
  fx.push(0, gone);
  REQUIRE(answers.size() == 2);
  REQUIRE_FALSE(answers[1].has_value());
  CHECK(answers[1].error().code == errc::invalid_session);

  // The core let go of it: no question, the answer at once.
  fx.conn_event(c, dp::event_kind::tcp_reset, errc::reset);
  fx.tp.query_info(*s, keep);
  CHECK(fx.take(0).empty());
  REQUIRE(answers.size() == 3);
  CHECK(answers[2].error().code == errc::invalid_session);
}

TEST_CASE("tcp transport: a listener's other app workers (SO_REUSEPORT, an app's workers) each get a listen of the listener's group on every core, their connections carved from and given to them, and go when they leave or the listener stops") {
  tcp_fixture fx;
  std::vector<std::pair<session_handle, std::vector<std::uint32_t>>> told;
  fx.tp.on_members([&](session_handle owner, const std::vector<std::uint32_t>& ws) { told.emplace_back(owner, ws); });
  auto [listener, owners_cookie] = fx.listen(80);
  constexpr std::uint32_t other = 5;
  fx.tp.set_members(listener, {app, other});
  // The owner's listen stays; the other app worker's joins it, on each
  // core, carving from its own segment.
  std::uint64_t cookie = 0;
  shm::fifo_segment* its = nullptr;
  for (std::uint32_t core : {0u, 1u}) {
    const auto cmds = fx.take(core);
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].kind == dp::command_kind::tcp_listen);
    CHECK(cmds[0].tcp.local_port == 80);
    CHECK(cmds[0].tcp.group == listener.value());
    cookie = cmds[0].tcp.cookie;
    its = cmds[0].tcp.fifos_from;
  }
  CHECK(cookie != owners_cookie);
  REQUIRE(its != nullptr);
  CHECK(its != &fx.seg());
  CHECK(fx.tp.listeners() == 1);  // one listener, in two parts
  REQUIRE(told.size() == 1);      // the mirrors' workers hear it
  CHECK(told[0].second == std::vector<std::uint32_t>{app, other});
  // Told again: nothing new.
  fx.tp.set_members(listener, {app, other});
  CHECK(fx.take(0).empty());

  // A connection of its listen is its own, in its segment, named by the listener.
  fx.establish(cookie, 80, 40001, 1, its);
  REQUIRE(fx.apps.count("accept") == 1);
  CHECK(fx.apps.events.back().app_worker == other);
  CHECK(fx.w.get(fx.apps.events.back().handle) != nullptr);
  CHECK(fx.apps.events.back().extra == listener.value());
  // And the owner's still its own.
  fx.establish(owners_cookie, 80, 40002);
  REQUIRE(fx.apps.count("accept") == 2);
  CHECK(fx.apps.events.back().app_worker == app);

  // It leaves: its listen stops on each core; the owner's stays.
  fx.tp.set_members(listener, {app});
  for (std::uint32_t core : {0u, 1u}) {
    const auto cmds = fx.take(core);
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].kind == dp::command_kind::tcp_unlisten);
    CHECK(cmds[0].tcp.cookie == cookie);
  }
  // Back, then gone with its process: its listen stops at once.
  fx.tp.set_members(listener, {app, other});
  const auto again = fx.take(0);
  REQUIRE(again.size() == 1);
  fx.take(1);
  fx.tp.app_worker_gone(other);
  CHECK(fx.take(0).size() == 1);
  CHECK(fx.take(1).size() == 1);
  // Back once more (another worker), then the listener stops: both parts go.
  constexpr std::uint32_t third = 6;
  fx.tp.set_members(listener, {app, third});
  fx.take(0);
  fx.take(1);
  REQUIRE(fx.w.stop_listen(listener).has_value());
  for (std::uint32_t core : {0u, 1u}) {
    const auto cmds = fx.take(core);
    REQUIRE(cmds.size() == 2);
    CHECK(cmds[0].kind == dp::command_kind::tcp_unlisten);
    CHECK(cmds[1].kind == dp::command_kind::tcp_unlisten);
  }
  CHECK(fx.tp.listeners() == 0);
  // A listener that is not here: nothing.
  fx.tp.set_members(session_handle::from_value(12345), {app, other});
  CHECK(fx.take(0).empty());
}

TEST_CASE("tcp transport: a listener that changes owner (SPEC 6 sharing) is listened again on every core, its connections carved for and given to the new app worker") {
  tcp_fixture fx;
  auto [listener, old_cookie] = fx.listen(80);
  constexpr std::uint32_t heir = 4;
  REQUIRE(fx.w.hand_over_listener(listener, heir).has_value());
  CHECK(fx.tp.listeners() == 1);
  CHECK(fx.w.get(listener)->app_worker == heir);
  // Each core: the old listen stops and the new one starts, in that order
  // on one ring (nothing in between for a SYN to meet a closed port).
  std::uint64_t new_cookie = 0;
  shm::fifo_segment* heirs = nullptr;
  for (std::uint32_t core : {0u, 1u}) {
    const auto cmds = fx.take(core);
    REQUIRE(cmds.size() == 2);
    CHECK(cmds[0].kind == dp::command_kind::tcp_unlisten);
    CHECK(cmds[0].tcp.cookie == old_cookie);
    CHECK(cmds[1].kind == dp::command_kind::tcp_listen);
    CHECK(cmds[1].tcp.local_port == 80);
    new_cookie = cmds[1].tcp.cookie;
    heirs = cmds[1].tcp.fifos_from;
  }
  CHECK(new_cookie != old_cookie);
  REQUIRE(heirs != nullptr);
  CHECK(heirs != &fx.seg());  // the heir's own segment, not the old owner's

  // A connection of the new listen is the heir's, in the heir's segment.
  fx.establish(new_cookie, 80, 40001, 1, heirs);
  REQUIRE(fx.apps.count("accept") == 1);
  CHECK(fx.apps.events.back().app_worker == heir);
  // One the old listen made before its core saw the unlisten is refused.
  fx.establish(old_cookie, 80, 40002);
  CHECK(fx.apps.count("accept") == 1);
  const auto aborts = fx.take(0);
  REQUIRE(aborts.size() == 1);
  CHECK(aborts[0].kind == dp::command_kind::tcp_abort);

  // The same owner again: nothing to do.
  REQUIRE(fx.w.hand_over_listener(listener, heir).has_value());
  CHECK(fx.take(0).empty());
  CHECK(fx.take(1).empty());
}
