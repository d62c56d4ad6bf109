// The session_worker actor under CAF's deterministic test coordinator:
// messages drive the session state and the cut-through transport; the
// notifications reach app worker actors in order; nothing is left.

#include "actors/session_worker.hpp"
#include "dataplane/boundary.hpp"
#include "shm/fifo_segment.hpp"

#include <caf/scheduler/test_coordinator.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

using namespace actorstack;

namespace {

struct test_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  shm::fifo_segment seg = *shm::fifo_segment::create("actor-test", 64u << 20);
  ct_fifo_actor fifos;

  test_system() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    // Stands in for the ct_segment_context actors: carves pairs with one
    // reference per side, takes a side's references back.
    // Spawn arguments, not captures: see spawn_session_worker (CAF 0.17.6
    // dereferences a null tuple for argument-less function actors).
    fifos = sys->spawn(
        [](ct_fifo_actor::pointer, shm::fifo_segment* s) -> ct_fifo_actor::behavior_type {
      return {
          [s](ct_alloc_atom, const ct_alloc_request& req) -> caf::result<ct::ct_fifo_pair> {
            auto p = s->alloc_fifo_pair(req.rx_size, req.tx_size);
            if (!p) return caf::make_error(caf::sec::runtime_error, p.error().message());
            p->rx.add_ref();
            p->tx.add_ref();
            return ct::ct_fifo_pair{p->rx, p->tx, 1, 0};
          },
          [s](ct_release_atom, std::vector<ct::ct_release>& batch) {
            for (auto& r : batch) {
              s->free_fifo(r.pair.server_rx);
              s->free_fifo(r.pair.server_tx);
            }
          },
      };
        },
        &seg);
  }
  ~test_system() {
    sched->run();
    caf::anon_send_exit(fifos, caf::exit_reason::user_shutdown);
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }

  std::vector<caf::actor> spawned;

  // An app worker that records what it is told (and, if asked, how many
  // notifications each message carried).
  app_worker_actor recorder(std::vector<app_notification>* log, std::vector<std::size_t>* messages = nullptr) {
    auto a = sys->spawn(
        [](app_worker_actor::pointer, std::vector<app_notification>* log, std::vector<std::size_t>* messages)
            -> app_worker_actor::behavior_type {
          return {[=](notify_atom, const app_notification& n) {
                    log->push_back(n);
                    if (messages) messages->push_back(1);
                  },
                  [=](notify_atom, const std::vector<app_notification>& b) {
                    log->insert(log->end(), b.begin(), b.end());
                    if (messages) messages->push_back(b.size());
                  },
                  [](detach_atom) {}};
        },
        log, messages);
    spawned.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  session_worker_actor worker(std::uint32_t index, caf::actor first = {}) {
    session_worker_config c;
    c.index = index;
    c.ct_fifos = fifos;
    c.first_worker = std::move(first);
    auto w = spawn_session_worker(*sys, c);
    spawned.push_back(caf::actor_cast<caf::actor>(w));
    return w;
  }

  worker_stats stats(const session_worker_actor& w) {
    worker_stats out;
    bool got = false;
    sys->spawn(
        [](caf::event_based_actor* self, session_worker_actor w, worker_stats* out, bool* got) {
          self->request(w, caf::infinite, stats_atom_v).then([=](const worker_stats& s) {
            *out = s;
            *got = true;
          });
        },
        w, &out, &got);
    sched->run();
    REQUIRE(got);
    return out;
  }
};

namespace dp = actorstack::dataplane;

// Two session workers with udp and tcp over two simulated data-plane cores: the
// test holds every (worker, core) ring, pops what the workers command and
// plays the cores' events (then rings the worker's doorbell).
struct udp_workers {
  static constexpr std::uint32_t cores = 2;
  test_system& t;
  std::vector<session_worker_actor> w;
  std::vector<std::vector<std::unique_ptr<dp::channel<dp::command>>>> commands;  // [worker][core]
  std::vector<std::vector<std::unique_ptr<dp::channel<dp::event>>>> events;

  explicit udp_workers(test_system& sys) : t(sys) {
    std::vector<caf::actor> all;
    for (std::uint32_t i = 0; i < 2; ++i) {
      session_worker_config c;
      c.index = i;
      c.ct_fifos = t.fifos;
      if (i > 0) c.first_worker = all[0];
      commands.emplace_back();
      events.emplace_back();
      for (std::uint32_t k = 0; k < cores; ++k) {
        commands[i].push_back(std::make_unique<dp::channel<dp::command>>(64));
        events[i].push_back(std::make_unique<dp::channel<dp::event>>(64));
        c.dp_links.push_back({commands[i][k].get(), events[i][k].get()});
      }
      c.udp.worker = i;
      c.udp.workers = 2;
      c.udp.local_ip = 0x0a000002;
      c.tcp.worker = i;
      c.tcp.workers = 2;
      c.tcp.local_ip = 0x0a000002;
      c.segments.worker = i;
      c.segments.rx_fifo_size = c.segments.tx_fifo_size = 16 * 1024;
      c.segments.segment_size = 8u << 20;
      w.push_back(spawn_session_worker(*t.sys, c));
      t.spawned.push_back(caf::actor_cast<caf::actor>(w.back()));
      all.push_back(t.spawned.back());
    }
    for (auto& x : w) caf::anon_send(x, all);
  }
  std::vector<dp::command> take(std::uint32_t worker, std::uint32_t core) {
    std::vector<dp::command> out;
    dp::command c;
    while (commands[worker][core]->pop(c)) out.push_back(c);
    return out;
  }
  std::size_t pending_commands() {
    std::size_t n = 0;
    for (std::uint32_t i = 0; i < w.size(); ++i)
      for (std::uint32_t k = 0; k < cores; ++k) n += take(i, k).size();
    return n;
  }
  void core_says(std::uint32_t worker, std::uint32_t core, dp::event ev) {
    REQUIRE(events[worker][core]->push(ev));
    caf::anon_send(w[worker], dataplane_atom_v);
    t.sched->run();
  }
};

ct::pending_connect connect_req(std::uint64_t opaque) {
  ct::pending_connect pc;
  pc.client_app_worker = 6;
  pc.server_app_worker = 5;
  pc.opaque = opaque;
  pc.remote = *parse_uri("ct://127.0.0.1/1234");
  return pc;
}

std::string read_all(shm::fifo f) {
  std::string out(f.max_dequeue(), '\0');
  if (!out.empty()) (void)f.dequeue(std::as_writable_bytes(std::span{out.data(), out.size()}));
  return out;
}

}  // namespace

TEST_CASE("session_worker actor: ct connect, accept, connected, data, close — nothing left") {
  test_system t;
  std::vector<app_notification> server_log, client_log;
  auto w = t.worker(0);
  caf::anon_send(w, app_worker_atom_v, 5u, t.recorder(&server_log), false, 65536u, 65536u);
  caf::anon_send(w, app_worker_atom_v, 6u, t.recorder(&client_log), false, 65536u, 65536u);
  t.sched->run();

  caf::anon_send(w, ct_connect_atom_v, connect_req(99));
  t.sched->run();
  REQUIRE(server_log.size() == 1);
  CHECK(server_log[0].kind == notification::accept);
  const session_handle server = server_log[0].handle;
  CHECK(client_log.empty());  // the client waits for the server's answer

  caf::anon_send(w, accept_atom_v, server, true);
  t.sched->run();
  REQUIRE(client_log.size() == 1);
  CHECK(client_log[0].kind == notification::connected);
  CHECK(client_log[0].err == errc::none);
  CHECK(client_log[0].opaque == 99);
  const session_handle client = client_log[0].handle;
  caf::anon_send(w, connected_atom_v, client, true);
  t.sched->run();

  // Data: the client writes its tx (= the server's rx) and posts tx.
  auto ctx = shm::fifo::from_ref(client_log[0].tx);
  const char hello[] = "hello";
  REQUIRE(ctx.enqueue(std::as_bytes(std::span{hello, 5})).has_value());
  CHECK(ctx.set_event());
  caf::anon_send(w, tx_atom_v, client);
  t.sched->run();
  REQUIRE(server_log.back().kind == notification::rx);
  CHECK(read_all(shm::fifo::from_ref(server_log[0].rx)) == "hello");

  caf::anon_send(w, close_atom_v, client);
  t.sched->run();
  CHECK(server_log.back().kind == notification::close);
  caf::anon_send(w, close_atom_v, server);
  t.sched->run();
  const auto st = t.stats(w);
  CHECK(st.sessions == 0);
  CHECK(st.ct_connections == 0);
  CHECK(st.accepts == 1);
  CHECK(st.connects == 1);
  CHECK(t.seg.fifo_count() == 0);
}

TEST_CASE("session_worker actor: a refused connect tells the client and frees everything") {
  test_system t;
  std::vector<app_notification> server_log, client_log;
  auto w = t.worker(0);
  caf::anon_send(w, app_worker_atom_v, 5u, t.recorder(&server_log), false, 65536u, 65536u);
  caf::anon_send(w, app_worker_atom_v, 6u, t.recorder(&client_log), false, 65536u, 65536u);
  caf::anon_send(w, ct_connect_atom_v, connect_req(1));
  t.sched->run();
  REQUIRE(server_log.size() == 1);
  caf::anon_send(w, accept_atom_v, server_log[0].handle, false);
  t.sched->run();
  REQUIRE(client_log.size() == 1);
  CHECK(client_log[0].err == errc::refused);
  const auto st = t.stats(w);
  CHECK(st.sessions == 0);
  CHECK(st.refusals == 1);
  CHECK(t.seg.fifo_count() == 0);
}

TEST_CASE("session_worker actor: connects spread round robin, accepted in batches, half-opens recycled") {
  test_system t;
  std::vector<app_notification> server_log, client_log;
  auto w0 = t.worker(0);
  auto w1 = t.worker(1, caf::actor_cast<caf::actor>(w0));
  caf::anon_send(w0, std::vector<caf::actor>{caf::actor_cast<caf::actor>(w0),
                                             caf::actor_cast<caf::actor>(w1)});
  for (auto& w : {w0, w1}) {
    caf::anon_send(w, app_worker_atom_v, 5u, t.recorder(&server_log), false, 65536u, 65536u);
    caf::anon_send(w, app_worker_atom_v, 6u, t.recorder(&client_log), false, 65536u, 65536u);
  }
  t.sched->run();
  for (int i = 0; i < 80; ++i) caf::anon_send(w0, ct_connect_atom_v, connect_req(i));
  t.sched->run();
  CHECK(server_log.size() == 80);
  const auto s0 = t.stats(w0);
  const auto s1 = t.stats(w1);
  CHECK(s0.accepts == 40);
  CHECK(s1.accepts == 40);
  CHECK(s0.half_opens == 0);  // every half-open was copied and recycled
  for (auto& n : server_log) {
    auto& w = n.handle.worker() == 0 ? w0 : w1;
    caf::anon_send(w, accept_atom_v, n.handle, true);
  }
  t.sched->run();
  CHECK(client_log.size() == 80);
  for (auto& n : client_log) CHECK(n.err == errc::none);
}

TEST_CASE("session_worker actor: rpc runs on the worker, stale handles are ignored") {
  test_system t;
  auto w = t.worker(0);
  int ran = 0;
  caf::anon_send(w, rpc_atom_v, worker_rpc{[&] { ++ran; }});
  caf::anon_send(w, close_atom_v, session_handle{0, 42, 7});
  caf::anon_send(w, tx_atom_v, session_handle{0, 42, 7});
  t.sched->run();
  CHECK(ran == 1);
  CHECK(t.stats(w).sessions == 0);
}

TEST_CASE("SPEC 5 session_worker actors: a request naming a moved session's old handle goes on to its new worker until the moved session ends") {
  test_system t;
  udp_workers u{t};
  std::vector<app_notification> log;
  auto app = t.recorder(&log);
  for (auto& w : u.w) caf::anon_send(w, app_worker_atom_v, 4u, app, false, 0u, 0u);
  // Worker 1 connects (its home core is 1), the app says yes.
  caf::anon_send(u.w[1], net_connect_atom_v, 4u, *parse_uri("udp://10.0.0.1/5000"), std::uint64_t{7}, std::uint16_t{0});
  t.sched->run();
  REQUIRE_FALSE(log.empty());
  REQUIRE(log.back().kind == notification::connected);
  const session_handle old = log.back().handle;
  REQUIRE(old.worker() == 1);
  caf::anon_send(u.w[1], connected_atom_v, old, true);
  t.sched->run();
  auto adds = u.take(1, 1);
  REQUIRE(adds.size() == 1);
  const std::uint32_t old_id = adds[0].id;
  CHECK(u.pending_commands() == 1);  // the forwarding entry on core 0

  // Core 0 sees its datagrams: the session moves to worker 0 (the actors
  // carry the whole protocol), the app hears old -> new.
  u.core_says(1, 0, {dp::event_kind::seen, old_id, old.value(), 0, 0});
  auto moves = u.take(1, 1);
  REQUIRE(moves.size() == 1);
  REQUIRE(moves[0].kind == dp::command_kind::move);
  const std::uint32_t new_id = moves[0].new_id;
  auto told = std::find_if(log.begin(), log.end(), [](auto& n) { return n.kind == notification::migrate; });
  REQUIRE(told != log.end());
  CHECK(told->handle == old);
  const session_handle moved = told->other;
  CHECK(moved.value() == moves[0].new_session);
  CHECK(moved.worker() == 0);
  u.core_says(0, 0, {dp::event_kind::taken, new_id, moved.value(), 0, 0});
  (void)u.pending_commands();  // core 1's forwarding entry under the new key
  CHECK(t.stats(u.w[1]).sessions == 0);
  CHECK(t.stats(u.w[0]).sessions == 1);

  // The app has not read the migrate notification yet and asks worker 1 to
  // close the old handle: worker 0 closes the moved session (removes on
  // both cores, core 0 the owner).
  caf::anon_send(u.w[1], close_atom_v, old);
  t.sched->run();
  CHECK(u.take(1, 0).empty());
  CHECK(u.take(1, 1).empty());
  for (std::uint32_t core = 0; core < udp_workers::cores; ++core) {
    auto removes = u.take(0, core);
    REQUIRE(removes.size() == 1);
    CHECK(removes[0].kind == dp::command_kind::remove);
    CHECK(removes[0].id == new_id);
    CHECK(removes[0].to_core == 0);
  }
  u.core_says(0, 0, {dp::event_kind::removed, new_id, moved.value(), 0, 0});
  CHECK(t.stats(u.w[0]).sessions == 0);
  CHECK(t.stats(u.w[0]).udp_connections == 0);
  // The moved session ended: a late request under the old name changes
  // nothing, and its fifos went home to worker 1's segment, which goes once
  // the app does (a pair still out would keep it).
  caf::anon_send(u.w[1], reset_atom_v, old);
  caf::anon_send(u.w[1], tx_atom_v, old);
  t.sched->run();
  CHECK(u.pending_commands() == 0);
  CHECK(t.stats(u.w[0]).sessions == 0);
  CHECK(t.stats(u.w[1]).udp_segments == 1);  // the app's segment, kept while it is attached
  caf::anon_send(u.w[1], detach_atom_v, 4u);
  caf::anon_send(u.w[0], detach_atom_v, 4u);
  t.sched->run();
  CHECK(t.stats(u.w[1]).udp_segments == 0);
  CHECK(t.stats(u.w[0]).udp_segments == 0);
}

TEST_CASE("session_worker actor: notifications in a row for one app worker leave as one message, in order") {
  test_system t;
  std::vector<app_notification> server_log, client_log;
  std::vector<std::size_t> server_msgs, client_msgs;
  auto w = t.worker(0);
  caf::anon_send(w, app_worker_atom_v, 5u, t.recorder(&server_log, &server_msgs), false, 65536u, 65536u);
  caf::anon_send(w, app_worker_atom_v, 6u, t.recorder(&client_log, &client_msgs), false, 65536u, 65536u);
  caf::anon_send(w, ct_connect_atom_v, connect_req(1));
  t.sched->run();
  REQUIRE(server_log.size() == 1);
  caf::anon_send(w, accept_atom_v, server_log[0].handle, true);
  t.sched->run();
  REQUIRE(client_log.size() == 1);
  caf::anon_send(w, connected_atom_v, client_log[0].handle, true);
  caf::anon_send(w, close_atom_v, client_log[0].handle);
  t.sched->run();
  caf::anon_send(w, close_atom_v, server_log[0].handle);
  t.sched->run();
  CHECK(t.stats(w).sessions == 0);
  // Each side ends with closed, transport cleanup and session cleanup, in
  // that order; the server's three leave in one message.
  auto tail = [](const std::vector<app_notification>& log) {
    std::vector<notification> out;
    for (std::size_t i = log.size() >= 3 ? log.size() - 3 : 0; i < log.size(); ++i) out.push_back(log[i].kind);
    return out;
  };
  const std::vector<notification> ending{notification::transport_closed, notification::cleanup_transport,
                                         notification::cleanup_session};
  CHECK(tail(server_log) == ending);
  CHECK(tail(client_log) == ending);
  std::size_t server_total = 0;
  for (auto n : server_msgs) server_total += n;
  CHECK(server_total == server_log.size());
  CHECK(server_msgs.back() == 3);
  CHECK(server_msgs.size() < server_log.size());
  // A lone notification still travels as itself (the accept, the connected).
  CHECK(server_msgs.front() == 1);
  CHECK(client_msgs.front() == 1);
}

namespace {
std::vector<dp::command> of_kind(const std::vector<dp::command>& cs, dp::command_kind k) {
  std::vector<dp::command> out;
  for (const auto& c : cs)
    if (c.kind == k) out.push_back(c);
  return out;
}
}  // namespace

TEST_CASE("SPEC-TCP 1.1 session_worker actors: a passive connection's session lives on its core's home worker, under the listener of worker 0, whose changes of owner and stop every home worker follows") {
  test_system t;
  udp_workers net{t};
  std::vector<app_notification> log0, log1;
  caf::anon_send(net.w[0], app_worker_atom_v, 5u, t.recorder(&log0), false, 16384u, 16384u);
  caf::anon_send(net.w[1], app_worker_atom_v, 5u, t.recorder(&log1), false, 16384u, 16384u);
  t.sched->run();

  // The app listens through worker 0 (where the stack opens listeners).
  session_handle listener;
  bool answered = false;
  t.sys->spawn(
      [](caf::event_based_actor* self, session_worker_actor w, session_handle* out, bool* got) {
        self->request(w, caf::infinite, listen_atom_v, 5u, *parse_uri("tcp://0.0.0.0/8080"))
            .then([=](session_handle h) {
              *out = h;
              *got = true;
            });
      },
      net.w[0], &listener, &answered);
  t.sched->run();
  REQUIRE(answered);
  CHECK(listener.worker() == 0);

  // Each core hears the listen from its home worker (core % workers) only.
  const auto listen0 = of_kind(net.take(0, 0), dp::command_kind::tcp_listen);
  const auto listen1 = of_kind(net.take(1, 1), dp::command_kind::tcp_listen);
  CHECK(of_kind(net.take(0, 1), dp::command_kind::tcp_listen).empty());
  CHECK(of_kind(net.take(1, 0), dp::command_kind::tcp_listen).empty());
  REQUIRE(listen0.size() == 1);
  REQUIRE(listen1.size() == 1);
  CHECK(listen1[0].tcp.local_port == 8080);
  REQUIRE(listen1[0].tcp.fifos_from != nullptr);

  // Core 1 completes a handshake: it reports to worker 1, with fifos from
  // worker 1's segment for the app; the session is made there.
  auto pair = listen1[0].tcp.fifos_from->alloc_fifo_pair(listen1[0].tcp.rx_fifo_size, listen1[0].tcp.tx_fifo_size);
  REQUIRE(pair);
  dp::event est{dp::event_kind::tcp_established};
  est.id = 7;
  est.generation = 1;
  est.session = listen1[0].tcp.cookie;
  est.rx = pair->rx;
  est.tx = pair->tx;
  est.local_ip = 0x0a000002;
  est.local_port = 8080;
  est.remote_ip = 0x0a000001;
  est.remote_port = 40000;
  log1.clear();
  net.core_says(1, 1, est);
  std::vector<app_notification> accepts;
  for (const auto& n : log1)
    if (n.kind == notification::accept) accepts.push_back(n);
  REQUIRE(accepts.size() == 1);
  CHECK(accepts[0].handle.worker() == 1);
  CHECK(accepts[0].other == listener);
  CHECK(accepts[0].ends.remote.port == 40000);
  CHECK(t.stats(net.w[1]).tcp_connections == 1);
  CHECK(t.stats(net.w[0]).tcp_connections == 0);
  // `show` counts the listener once, on its own worker.
  CHECK(t.stats(net.w[0]).tcp_listeners == 1);
  CHECK(t.stats(net.w[1]).tcp_listeners == 0);

  // The listener changes owner (SPEC 6 sharing): each home worker listens
  // again on its cores for the new app worker.
  std::vector<app_notification> log6;
  caf::anon_send(net.w[0], app_worker_atom_v, 6u, t.recorder(&log6), false, 16384u, 16384u);
  caf::anon_send(net.w[1], app_worker_atom_v, 6u, t.recorder(&log6), false, 16384u, 16384u);
  caf::anon_send(net.w[0], listen_atom_v, listener, 6u);
  t.sched->run();
  for (std::uint32_t w : {0u, 1u}) {
    const auto cmds = net.take(w, w);
    REQUIRE(cmds.size() == 2);
    CHECK(cmds[0].kind == dp::command_kind::tcp_unlisten);
    CHECK(cmds[1].kind == dp::command_kind::tcp_listen);
    CHECK(cmds[1].tcp.local_port == 8080);
  }

  // The app closes the listener: both home workers unlisten their cores.
  caf::anon_send(net.w[0], close_atom_v, listener);
  t.sched->run();
  CHECK(of_kind(net.take(0, 0), dp::command_kind::tcp_unlisten).size() == 1);
  CHECK(of_kind(net.take(1, 1), dp::command_kind::tcp_unlisten).size() == 1);
  CHECK(t.stats(net.w[0]).tcp_listeners == 0);
}
