#include "actors/caf_error.hpp"
#include "actors/session_worker.hpp"

#include "actors/log.hpp"
#include "actors/mailbox_depth.hpp"
#include "actors/worker_notifier.hpp"
#include "actors/worker_ports.hpp"

#include <memory>
#include <unordered_map>

namespace actorstack {

namespace {

class worker_transports final : public session_layer::transport_registry {
 public:
  session_layer::transport* ct = nullptr;
  session_layer::transport* udp = nullptr;  // null without a data plane
  session_layer::transport* tcp = nullptr;  // null without a data plane
  session_layer::transport* find(transport_proto p) noexcept override {
    switch (p) {
      case transport_proto::ct: return ct;
      case transport_proto::udp: return udp;
      case transport_proto::tcp: return tcp;
    }
    return nullptr;
  }
};

}  // namespace

struct session_worker_actor_state {
  static inline const char* name = "session_worker";

  session_worker_config cfg;
  std::unique_ptr<actor_notifier> apps;
  std::unique_ptr<actor_ct_sink> sink;
  worker_transports transports;
  std::unique_ptr<session_layer::session_worker_state> sessions;
  std::unique_ptr<ct::ct_worker> ct;
  // With a data plane only: the segments of both network transports, then the transports.
  std::unique_ptr<net::app_segments> segments;
  std::unique_ptr<udp::udp_transport> udp;
  std::unique_ptr<tcp::tcp_transport> tcp;
  std::unique_ptr<actor_udp_migration> migration;
  // Sessions that moved to another worker, by old handle: the app may
  // still name them so until it read the migrate notification, and what it
  // asks goes on to the new worker. Dropped when the moved session ends.
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, session_handle>> moved;
  ct::ct_half_opens half_opens;                                 // first worker only
  std::vector<caf::actor> workers;                              // every worker
  std::vector<std::vector<ct::pending_connect>> outgoing;       // per destination
  bool run_scheduled = false;
  bool in_run = false;  // run() is under way: schedule() queues, never nests

  bool has_work() const {
    return sessions->has_events() || sessions->pending_rx_notifications() > 0 ||
           (udp && udp->has_deferred()) || (tcp && tcp->has_deferred()) ||
           ct->pending_cleanups() > 0 || ct->queued_connects() > 0 || sink->has_releases() ||
           std::any_of(outgoing.begin(), outgoing.end(), [](auto& v) { return !v.empty(); });
  }
};

namespace {

using stateful_self = session_worker_actor::stateful_pointer<session_worker_actor_state>;

// A request naming a session that moved away (SPEC §5) goes on to the
// worker that has it now, under its new handle; true if it did.
template <class Atom>
bool pass_on(stateful_self self, Atom atom, session_handle h) {
  auto& st = self->state;
  if (st.moved.empty() || st.sessions->get(h) != nullptr) return false;
  auto it = st.moved.find(h.value());
  if (it == st.moved.end() || it->second.first >= st.workers.size()) return false;
  self->send(caf::actor_cast<session_worker_actor>(st.workers[it->second.first]), atom, it->second.second);
  return true;
}

void run(stateful_self self);

// Every turn ends here: the notifications it held leave, and the work left
// runs — at once when no message waits (a run message to itself would only
// cost a mailbox round trip: ~2 of them per request/response turn), else
// as a message behind the waiting ones, which it then batches. A run's own
// trailing call always queues: work that cannot progress now (a full
// command ring) must not spin inside one turn.
void schedule(stateful_self self) {
  auto& st = self->state;
  st.apps->flush();
  if (st.run_scheduled || !st.has_work()) return;
  if (!st.in_run && self->mailbox().empty()) {
    run(self);
    return;
  }
  st.run_scheduled = true;
  self->send(self, run_atom_v);
}

// Forwards queued connects to their accepting workers, one batch each.
void flush_outgoing(stateful_self self) {
  auto& st = self->state;
  for (std::size_t w = 0; w < st.outgoing.size(); ++w) {
    if (st.outgoing[w].empty()) continue;
    auto batch = std::move(st.outgoing[w]);
    st.outgoing[w].clear();
    if (w == st.cfg.index) {
      st.ct->queue_connects(std::move(batch));
    } else {
      self->send(caf::actor_cast<session_worker_actor>(st.workers[w]), ct_connect_atom_v,
                 std::move(batch));
    }
  }
}

void run(stateful_self self) {
  auto& st = self->state;
  st.run_scheduled = false;
  st.in_run = true;
  flush_outgoing(self);
  st.sessions->run_events();
  st.ct->handle_cleanups();
  bool more = false;
  for (const ct::fifo_need& need : st.ct->begin_accepts(more)) {
    // The pair comes from the segment context actor; continue when it does.
    const std::uint32_t server_conn = need.server_conn;
    ct_alloc_request req;
    req.server_app_worker = need.server_app_worker;
    req.client_app_worker = need.client_app_worker;
    // The listening app's sizes make the pair (the root resolved them at
    // attach and told every worker).
    const session_layer::fifo_sizes sizes = st.apps->fifo_sizes_of(need.server_app_worker);
    req.rx_size = sizes.rx;
    req.tx_size = sizes.tx;
    self->request(st.sink->context(need.context), caf::infinite, ct_alloc_atom_v, req)
        .then(
            [=](ct::ct_fifo_pair& pair) {
              self->state.ct->fifos_ready(server_conn, pair);
              schedule(self);
            },
            [=](caf::error&) {
              self->state.ct->fifos_ready(server_conn, unexpected{errc::alloc});
              schedule(self);
            });
  }
  if (st.udp) st.udp->flush_commands();
  if (st.tcp) st.tcp->flush_commands();
  for (std::uint32_t index : st.sink->reusable_here) st.half_opens.mark_reusable(index);
  st.sink->reusable_here.clear();
  st.sessions->flush_enqueue_events();
  st.sink->flush_releases();
  st.in_run = false;
  schedule(self);
}

}  // namespace

namespace {

worker_stats stats_of(session_worker_actor_state& s) {
  const auto& c = s.sessions->counters();
  worker_stats out;
  out.worker = s.cfg.index;
  out.sessions = s.sessions->pool().live();
  out.ct_connections = s.ct->connections();
  if (s.udp) {
    out.udp_connections = s.udp->connections();
    out.udp_segments = s.segments->count();
    out.udp_moved_in = s.udp->counters().moved_in;
    out.tcp_connections = s.tcp->connections();
    out.tcp_listeners = s.tcp->listeners();
  }
  out.half_opens = s.half_opens.live();
  out.pending_ctrl = s.sessions->pending_ctrl();
  out.pending_io = s.sessions->pending_io();
  out.ctrl_events = c.ctrl_events;
  out.io_events = c.io_events;
  out.stale_events = c.stale_events;
  out.accepts = c.accepts;
  out.connects = c.connects;
  out.refusals = c.refusals;
  out.dropped_notifications = s.apps->dropped();
  const auto bytes = s.sessions->bytes();
  out.rx_bytes = bytes.rx;
  out.tx_bytes = bytes.tx;
  return out;
}

}  // namespace

namespace {

// ---- handlers: a message becomes a call on the worker's state ---------------------

// What an app asks of one of its sessions (SPEC 2.4, 2.5, §3); a session
// that moved away is asked on its new worker.
template <class Atom, class Call>
void on_session(stateful_self self, Atom atom, session_handle h, Call call) {
  if (pass_on(self, atom, h)) return;
  call(*self->state.sessions, h);
  schedule(self);
}

void on_rpc(stateful_self self, worker_rpc& rpc) {
  self->state.sessions->post_ctrl({session_layer::ctrl_kind::rpc, {}, [fn = std::move(rpc.fn)](auto&) { fn(); }});
  schedule(self);
}

// First worker: record the half-open, pick the accepting worker.
void on_new_ct_connect(stateful_self self, ct::pending_connect& pc) {
  auto& s = self->state;
  pc.half_open = s.half_opens.alloc(pc);
  const auto n = static_cast<std::uint32_t>(std::max<std::size_t>(1, s.workers.size()));
  const std::uint32_t dest = s.workers.empty() ? s.cfg.index : s.half_opens.next_worker(n);
  if (s.outgoing.size() <= dest) s.outgoing.resize(dest + 1);
  s.outgoing[dest].push_back(pc);
  schedule(self);
}

caf::result<bool> on_subscribe(stateful_self self, session_handle h, std::uint32_t app_worker, bool add) {
  auto r = self->state.sessions->subscribe(h, app_worker, add);
  schedule(self);
  if (!r) return to_caf(r.error());
  return true;
}

// The app worker is gone or going: its sessions are reset here, whether or
// not it is still alive to do it itself.
void on_app_worker_gone(stateful_self self, std::uint32_t index) {
  auto& s = self->state;
  s.apps->remove(index);
  if (s.tcp) s.tcp->app_worker_gone(index);
  if (s.segments) s.segments->app_worker_gone(index);
  if (auto n = s.sessions->app_worker_gone(index); n > 0)
    log_line("worker " + std::to_string(s.cfg.index) + ": reset " + std::to_string(n) +
             " session(s) of app worker " + std::to_string(index));
  schedule(self);
}

session_worker_actor worker_actor(stateful_self self, std::uint32_t w) {
  return caf::actor_cast<session_worker_actor>(self->state.workers[w]);
}

// SPEC §5 on the new worker: adopt the migrant, tell its old worker.
void on_migrant(stateful_self self, const udp::udp_migrant& m) {
  auto& s = self->state;
  if (!s.udp || m.from_worker >= s.workers.size()) return;
  const auto got = s.udp->adopt(m);
  self->send(worker_actor(self, m.from_worker), migrate_atom_v, m.from_id, s.cfg.index, got.handle, got.id);
  schedule(self);
}

// SPEC §5 on the old worker: the new one adopted it; hand the app over.
void on_adopted(stateful_self self, std::uint32_t id, std::uint32_t worker, session_handle handle,
                std::uint32_t new_id) {
  auto& s = self->state;
  if (!s.udp || worker >= s.workers.size()) return;
  const auto [outcome, old] = s.udp->hand_over(id, worker, handle, new_id);
  if (outcome == session_layer::migrate_outcome::completed) s.moved[old.value()] = {worker, handle};
  self->send(worker_actor(self, worker), migrate_atom_v, handle, static_cast<std::uint8_t>(outcome));
  schedule(self);
}

// SPEC §5 on the new worker: how the hand-over ended (9.4).
void on_migrate_outcome(stateful_self self, session_handle handle, std::uint8_t outcome) {
  auto& s = self->state;
  if (!s.udp) return;
  const auto o = static_cast<session_layer::migrate_outcome>(outcome);
  if (o == session_layer::migrate_outcome::gone)
    s.udp->abandon(handle);
  else
    s.sessions->migrate_finish(handle, o);
  schedule(self);
}

// SPEC §5 on the old worker: the moved session ended; its fifos come back.
void on_moved_gone(stateful_self self, session_handle origin, std::uint32_t app_worker, shm::fifo& rx,
                   shm::fifo& tx) {
  auto& s = self->state;
  s.moved.erase(origin.value());
  if (s.udp) s.udp->take_back(app_worker, rx, tx);
  schedule(self);
}

// The cores' events, to the transport each belongs to: rx and tx-space
// notifications are batched into this worker's lists and flushed by run().
void on_dataplane(stateful_self self) {
  auto& s = self->state;
  if (!s.udp) return;
  const bool more = net::drain_core_events(s.cfg.dp_links, 1024, [&](std::uint32_t core, const dataplane::event& ev) {
    if (net::is_tcp_event(ev.kind))
      s.tcp->on_event(core, ev);
    else
      s.udp->on_event(core, ev);
  });
  if (more) self->send(self, dataplane_atom_v);
  schedule(self);
}

void on_net_connect(stateful_self self, std::uint32_t app_worker, const endpoint& remote, std::uint64_t opaque,
                    std::uint16_t local_port) {
  auto& s = self->state;
  session_layer::transport* tp = s.transports.find(remote.proto);
  if (tp == nullptr) {
    s.sessions->connect_failed(app_worker, opaque, errc::not_supported);
  } else if (auto r = tp->connect({remote, app_worker, opaque, local_port}); !r && r.error().code != errc::alloc) {
    // (alloc failures were told to the app by the session layer)
    s.sessions->connect_failed(app_worker, opaque, r.error().code);
  }
  schedule(self);
}

// The other workers that are some data-plane core's home (core % workers):
// each opens this worker's tcp listeners on its cores (SPEC-TCP 1.1).
std::vector<std::uint32_t> mirror_workers(const session_worker_actor_state& st) {
  std::vector<std::uint32_t> out;
  const auto n = std::min<std::size_t>(st.workers.size(), st.cfg.dp_links.size());
  for (std::uint32_t w = 0; w < n; ++w)
    if (w != st.cfg.index) out.push_back(w);
  return out;
}

caf::result<session_handle> on_listen(stateful_self self, std::uint32_t app_worker, const endpoint& ep) {
  auto& st = self->state;
  auto h = st.sessions->listen(app_worker, ep);
  schedule(self);
  if (!h) return to_caf(h.error());
  const session_layer::session* s = st.sessions->get(*h);
  const auto others = mirror_workers(st);
  if (s == nullptr || s->proto != transport_proto::tcp || others.empty()) return *h;
  // The listen holds once every core's home worker listens: a SYN that
  // arrives on any queue after the app's listen() returned finds it.
  auto rp = self->make_response_promise<session_handle>();
  struct fan_in {
    std::size_t due;
    caf::error failed;
  };
  auto pending = std::make_shared<fan_in>(fan_in{others.size(), {}});
  const session_handle listener = *h;
  auto done = [self, rp, pending, listener]() mutable {
    if (--pending->due > 0) return;
    if (!pending->failed) {
      rp.deliver(listener);
      return;
    }
    // All or nothing: the workers that listened stop again (the stop's hook).
    (void)self->state.sessions->stop_listen(listener);
    schedule(self);
    rp.deliver(pending->failed);
  };
  for (std::uint32_t w : others)
    self->request(worker_actor(self, w), caf::infinite, listen_atom_v, listener, app_worker, ep)
        .then([done](bool) mutable { done(); },
              [done, pending](caf::error& e) mutable {
                if (!pending->failed) pending->failed = std::move(e);
                done();
              });
  return rp;
}

caf::result<bool> on_mirror_listen(stateful_self self, session_handle owner, std::uint32_t app_worker,
                                   const endpoint& ep) {
  auto& st = self->state;
  if (!st.tcp) return true;
  auto r = st.tcp->mirror_listen(owner, app_worker, ep);
  schedule(self);
  if (!r) return to_caf(r.error());
  return true;
}

// TCP_INFO of a tcp session on the wire: its core answers (the worker
// asks it and forwards the answer).
caf::result<tcp_conn_info> on_tcp_info(stateful_self self, session_handle h) {
  auto& st = self->state;
  const auto* s = st.sessions->get(h);
  if (!st.tcp || s == nullptr || s->proto != transport_proto::tcp)
    return to_caf(errc::invalid_session, "not a tcp session on the wire");
  auto rp = self->make_response_promise<tcp_conn_info>();
  st.tcp->query_info(*s, [rp](result<tcp_conn_info> r) mutable {
    if (r) rp.deliver(*r);
    else rp.deliver(to_caf(r.error()));
  });
  schedule(self);
  return rp;
}

// `show sessions`: every session of this worker as a row, with its counters.
worker_report report(stateful_self self) {
  auto& s = self->state;
  worker_report out;
  out.stats = stats_of(s);
  out.mailbox = mailbox_depth(self);
  const std::uint32_t w = s.cfg.index;
  s.sessions->pool().for_each([&](const wsession& x) {
    session_row row;
    row.handle = x.handle.value();
    row.state = std::string{to_string(x.state)};
    row.transport = std::string{to_string(x.proto)};
    row.app_worker = x.app_worker;
    if (x.proto == transport_proto::ct)
      row.text = x.state == session_state::listening ? s.ct->format_listener(x.connection, w)
                                                     : s.ct->format(x.connection, w);
    else if (x.proto == transport_proto::udp && s.udp)
      row.text = s.udp->format(x.connection, w);
    else if (x.proto == transport_proto::tcp && s.tcp)
      row.text = x.state == session_state::listening ? s.tcp->format_listener(x.connection, w)
                                                     : s.tcp->format(x.connection, w);
    if (row.text.empty())  // a session whose transport is gone
      row.text = "[" + std::to_string(w) + ":" + std::to_string(x.handle.index()) + "][" + row.transport + "] -";
    ++out.by_state[row.state];
    out.sessions.push_back(std::move(row));
  });
  return out;
}

// The worker's state and the adapters it talks to other owners through.
void init(stateful_self self, const session_worker_config& cfg) {
  auto& st = self->state;
  st.cfg = cfg;
  st.apps = std::make_unique<actor_notifier>(self, cfg.violations, st.transports);
  st.sink = std::make_unique<actor_ct_sink>(self, cfg.ct_fifos, cfg.first_worker);
  st.sessions = std::make_unique<session_layer::session_worker_state>(
      cfg.index, session_layer::session_worker_state::environment{st.apps.get(), &st.transports});
  st.ct = std::make_unique<ct::ct_worker>(*st.sessions, *st.sink);
  st.transports.ct = st.ct.get();
  if (!cfg.dp_links.empty()) {
    st.migration = std::make_unique<actor_udp_migration>(self, st.workers);
    st.segments = std::make_unique<net::app_segments>(*st.apps, cfg.segments);
    st.udp = std::make_unique<udp::udp_transport>(*st.sessions, *st.apps, cfg.dp_links, *st.segments, cfg.udp,
                                                  st.migration.get());
    st.tcp = std::make_unique<tcp::tcp_transport>(*st.sessions, cfg.dp_links, *st.segments, cfg.tcp);
    st.transports.udp = st.udp.get();
    st.transports.tcp = st.tcp.get();
    st.tcp->on_listener_stopped([self](session_handle owner) {
      for (std::uint32_t w : mirror_workers(self->state)) self->send(worker_actor(self, w), stop_atom_v, listen_atom_v, owner);
    });
    st.tcp->on_listener_moved([self](session_handle owner, std::uint32_t app_worker) {
      for (std::uint32_t w : mirror_workers(self->state))
        self->send(worker_actor(self, w), listen_atom_v, migrate_atom_v, owner, app_worker);
    });
    st.tcp->on_members([self](session_handle owner, const std::vector<std::uint32_t>& app_workers) {
      for (std::uint32_t w : mirror_workers(self->state))
        self->send(worker_actor(self, w), listen_atom_v, listener_members{owner, app_workers});
    });
  }
}

using state = session_layer::session_worker_state;

session_worker_actor::behavior_type worker_behavior(stateful_self self, session_worker_config cfg) {
  init(self, cfg);
  auto after = [self] { schedule(self); };
  auto& st = self->state;
  return {
      [=](close_atom a, session_handle h) { on_session(self, a, h, [](state& s, auto h) { (void)s.app_close(h); }); },
      [=](reset_atom a, session_handle h) { on_session(self, a, h, [](state& s, auto h) { (void)s.app_reset(h); }); },
      [=](shutdown_atom a, session_handle h) {
        on_session(self, a, h, [](state& s, auto h) { (void)s.app_shutdown(h); });
      },
      [=](tx_atom a, session_handle h) {
        on_session(self, a, h, [](state& s, auto h) {
          if (auto* x = s.get(h)) s.post_custom_tx(*x);
        });
      },
      [=, &st](tx_atom a, const std::vector<session_handle>& hs) {
        for (session_handle h : hs)
          if (!pass_on(self, a, h))
            if (auto* x = st.sessions->get(h)) st.sessions->post_custom_tx(*x);
        schedule(self);
      },
      [=](app_rx_atom a, session_handle h) {
        on_session(self, a, h, [](state& s, auto h) { s.post_io({session_layer::io_kind::app_rx, h}); });
      },
      [=](rx_notify_atom a, session_handle h) {
        on_session(self, a, h, [](state& s, auto h) { s.post_io({session_layer::io_kind::builtin_rx, h}); });
      },
      [=](rpc_atom, worker_rpc& rpc) { on_rpc(self, rpc); },
      [=, &st](accept_atom, session_handle h, bool ok) { st.sessions->on_accept_reply(h, ok), after(); },
      [=, &st](connected_atom, session_handle h, bool ok) { st.sessions->on_connected_reply(h, ok), after(); },
      [=](ct_connect_atom, ct::pending_connect& pc) { on_new_ct_connect(self, pc); },
      [=, &st](ct_connect_atom, std::vector<ct::pending_connect>& batch) {
        st.ct->queue_connects(std::move(batch)), after();
      },
      [&st](half_open_atom, std::uint32_t index) { st.half_opens.mark_reusable(index); },
      [&st](app_worker_atom, std::uint32_t index, app_worker_actor& a, bool tuning, std::uint32_t rx_size,
            std::uint32_t tx_size) { st.apps->add(index, std::move(a), tuning, rx_size, tx_size); },
      [&st](ct_context_atom, std::uint32_t id, ct_fifo_actor& ctx) { st.sink->add_context(id, std::move(ctx)); },
      [=](subscribe_atom, session_handle h, std::uint32_t app_worker, bool add) {
        return on_subscribe(self, h, app_worker, add);
      },
      [=](detach_atom, std::uint32_t index) { on_app_worker_gone(self, index); },
      [&st](std::vector<caf::actor>& workers) { st.workers = std::move(workers); },
      [=](migrate_atom, const udp::udp_migrant& m) { on_migrant(self, m); },
      [=](migrate_atom, std::uint32_t id, std::uint32_t worker, session_handle handle, std::uint32_t new_id) {
        on_adopted(self, id, worker, handle, new_id);
      },
      [=](migrate_atom, session_handle handle, std::uint8_t outcome) { on_migrate_outcome(self, handle, outcome); },
      [=](migrate_atom, session_handle origin, std::uint32_t app_worker, shm::fifo& rx, shm::fifo& tx) {
        on_moved_gone(self, origin, app_worker, rx, tx);
      },
      [=](run_atom) { run(self); },
      [=](dataplane_atom) { on_dataplane(self); },
      [=](net_connect_atom, std::uint32_t app_worker, const endpoint& remote, std::uint64_t opaque,
          std::uint16_t local_port) {
        on_net_connect(self, app_worker, remote, opaque, local_port);
      },
      [=](listen_atom, std::uint32_t app_worker, const endpoint& ep) { return on_listen(self, app_worker, ep); },
      [=, &st](listen_atom, session_handle listener, std::uint32_t app_worker) {
        (void)st.sessions->hand_over_listener(listener, app_worker), after();
      },
      [=](listen_atom, session_handle owner, std::uint32_t app_worker, const endpoint& ep) {
        return on_mirror_listen(self, owner, app_worker, ep);
      },
      [=, &st](stop_atom, listen_atom, session_handle owner) {
        if (st.tcp) st.tcp->stop_mirror(owner);
        after();
      },
      [=, &st](listen_atom, migrate_atom, session_handle owner, std::uint32_t app_worker) {
        if (st.tcp) st.tcp->move_mirror(owner, app_worker);
        after();
      },
      [=](tcp_info_atom, session_handle h) { return on_tcp_info(self, h); },
      [=, &st](listen_atom, const listener_members& m) {
        if (st.tcp) st.tcp->set_members(m.listener, m.app_workers);
        after();
      },
      [=](sessions_atom) { return report(self); },
      [&st](stats_atom) { return stats_of(st); },
  };
}

}  // namespace

session_worker_actor spawn_session_worker(caf::actor_system& sys, session_worker_config cfg) {
  // The configuration travels as a spawn argument, not a capture: CAF
  // 0.17.6 dereferences a null argument tuple when a function actor is
  // spawned without arguments (undefined behaviour that UBSan reports).
  return sys.spawn(worker_behavior, std::move(cfg));
}

}  // namespace actorstack
