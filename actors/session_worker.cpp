#include "actors/caf_error.hpp"
#include "actors/session_worker.hpp"

#include "actors/log.hpp"

#include <memory>
#include <unordered_map>

namespace actorstack {

// The worker-side session record (not the app-side actorstack::session).
using wsession = session_layer::session;

namespace {

using self_pointer = session_worker_actor::pointer;

// Notifications leave as typed messages to app worker actors. An app
// worker's mailbox is ordered, which is what keeps "accept" before a racing
// "close" (SPEC 9.2). Notifications for the same app worker in a row leave
// as one message: a closing session alone tells its app closed, transport
// cleanup and session cleanup in one turn, and a message costs far more
// than a notification (about 9 notifications per ct connect, 4 to 5 of
// them in such rows). The actor flushes at the end of every turn.
class actor_notifier final : public session_layer::app_notifier {
 public:
  explicit actor_notifier(self_pointer self) : self_(self) {}

  void add(std::uint32_t index, app_worker_actor a, bool tuning, std::uint32_t rx_size, std::uint32_t tx_size) {
    apps_[index] = {std::move(a), tuning, rx_size, tx_size};
  }
  void remove(std::uint32_t index) {
    flush();  // told before it went
    apps_.erase(index);
  }
  /// Sends what this turn held: one notification as itself, several as
  /// one vector.
  void flush() {
    if (held_.empty()) return;
    if (auto it = apps_.find(held_for_); it != apps_.end()) {
      if (held_.size() == 1)
        self_->send(it->second.actor, notify_atom_v, held_.front());
      else
        self_->send(it->second.actor, notify_atom_v, std::move(held_));
    }
    held_.clear();
  }
  std::uint64_t dropped() const noexcept { return dropped_; }

  void accept(const wsession& s) override {
    app_notification n = base(notification::accept, s);
    n.proto = s.proto;
    n.other = s.listener;
    n.rx = s.rx.to_ref();
    n.tx = s.tx.to_ref();
    // Nobody left to decide (the app detached): the answer is no, so the
    // session is not left waiting forever (SPEC 9.7, detach mid-connect).
    if (!send(s.app_worker, n)) self_->send(self_, accept_atom_v, s.handle, false);
  }
  void connected(std::uint32_t app_worker, std::uint64_t opaque, const wsession* s,
                 errc err) override {
    app_notification n;
    n.kind = notification::connected;
    n.app_worker = app_worker;
    n.opaque = opaque;
    n.err = err;
    if (s != nullptr) {
      n.proto = s->proto;
      n.handle = s->handle;
      n.rx = s->rx.to_ref();
      n.tx = s->tx.to_ref();
    }
    if (!send(app_worker, n) && s != nullptr) self_->send(self_, connected_atom_v, s->handle, false);
  }
  void close(const wsession& s) override { send(s.app_worker, base(notification::close, s)); }
  void reset(const wsession& s) override { send(s.app_worker, base(notification::reset, s)); }
  void transport_closed(const wsession& s) override {
    send(s.app_worker, base(notification::transport_closed, s));
  }
  void cleanup(const wsession& s, session_layer::cleanup_kind k) override {
    send(s.app_worker, base(k == session_layer::cleanup_kind::session
                                ? notification::cleanup_session
                                : notification::cleanup_transport,
                            s));
  }
  void listened(const wsession& s) override {
    app_notification n = base(notification::listened, s);
    n.proto = s.proto;
    n.rx = s.rx.to_ref();
    n.tx = s.tx.to_ref();
    send(s.app_worker, n);
  }
  void segment_added(std::uint32_t app_worker, const segment_info& seg) override {
    app_notification n;
    n.kind = notification::segment_add;
    n.app_worker = app_worker;
    n.segment = seg;
    send(app_worker, n);
  }
  void migrate(const wsession& s, session_handle new_handle) override {
    app_notification n = base(notification::migrate, s);
    n.other = new_handle;
    send(s.app_worker, n);
  }
  bool rx(std::uint32_t app_worker, const wsession& s) override {
    return send(app_worker, base(notification::rx, s));
  }
  bool tx(std::uint32_t app_worker, const wsession& s) override {
    return send(app_worker, base(notification::tx, s));
  }
  // SPEC 4: the callback runs in the app, on its own actor; the fifo's
  // size is an atomic word, so the app may resize while data flows.
  void tune_fifo(const wsession& s, shm::fifo& f, session_layer::tuning_action act,
                 std::size_t len) override {
    app_notification n = base(notification::fifo_tuning, s);
    n.side = &f == &s.tx ? fifo_side::tx : fifo_side::rx;
    n.action = act == session_layer::tuning_action::enqueued ? fifo_action::enqueued
                                                             : fifo_action::dequeued;
    n.length = len;
    send(s.app_worker, n);
  }
  bool wants_fifo_tuning(std::uint32_t app_worker) const override {
    auto it = apps_.find(app_worker);
    return it != apps_.end() && it->second.tuning;
  }
  session_layer::fifo_sizes fifo_sizes_of(std::uint32_t app_worker) const override {
    auto it = apps_.find(app_worker);
    if (it == apps_.end()) return {};
    return {it->second.rx_size, it->second.tx_size};
  }

 private:
  static app_notification base(notification kind, const wsession& s) {
    app_notification n;
    n.kind = kind;
    n.handle = s.handle;
    n.app_worker = s.app_worker;
    return n;
  }
  bool send(std::uint32_t app_worker, const app_notification& n) {
    if (apps_.find(app_worker) == apps_.end()) {
      ++dropped_;
      return false;
    }
    if (!held_.empty() && held_for_ != app_worker) flush();
    held_for_ = app_worker;
    held_.push_back(n);
    return true;
  }

  struct app_entry {
    app_worker_actor actor;
    bool tuning = false;  // app_options::custom_fifo_tuning
    std::uint32_t rx_size = 0;  // app_options::rx/tx_fifo_size, resolved by the root
    std::uint32_t tx_size = 0;
  };
  self_pointer self_;
  std::unordered_map<std::uint32_t, app_entry> apps_;
  std::uint64_t dropped_ = 0;
  std::vector<app_notification> held_;  // this turn's, all for held_for_
  std::uint32_t held_for_ = 0;
};

// What leaves the cut-through part of this worker.
class actor_ct_sink final : public ct::ct_sink {
 public:
  actor_ct_sink(self_pointer self, ct_fifo_actor fifos, caf::actor first_worker)
      : self_(self), fifos_(std::move(fifos)), first_worker_(std::move(first_worker)) {}
  // Gathered per context and sent once per run (flush_releases): under
  // connection churn a run closes many sessions, each releasing two sides.
  void release_fifos(const ct::ct_fifo_pair& pair, bool client_side) override {
    releases_[pair.context].push_back({pair, client_side});
  }
  bool has_releases() const noexcept { return !releases_.empty(); }
  void flush_releases() {
    for (auto& [id, batch] : releases_) self_->send(context(id), ct_release_atom_v, std::move(batch));
    releases_.clear();
  }
  // The segment context the root announced for `id`; until it has, the
  // root itself (which forwards). Going direct saves a hop per alloc and
  // per release on the connect path.
  ct_fifo_actor context(std::uint32_t id) const {
    auto it = contexts.find(id);
    return it != contexts.end() ? it->second : fifos_;
  }
  // An invalid handle: the context ended (retired).
  void add_context(std::uint32_t id, ct_fifo_actor ctx) {
    if (ctx)
      contexts[id] = std::move(ctx);
    else
      contexts.erase(id);
  }
  std::unordered_map<std::uint32_t, ct_fifo_actor> contexts;
  void half_open_reusable(std::uint32_t index) override {
    if (first_worker_)
      self_->send(caf::actor_cast<session_worker_actor>(first_worker_), half_open_atom_v, index);
    else
      reusable_here.push_back(index);  // this is the first worker
  }
  std::vector<std::uint32_t> reusable_here;

 private:
  std::unordered_map<std::uint32_t, std::vector<ct::ct_release>> releases_;  // by context, this run's
  self_pointer self_;
  ct_fifo_actor fifos_;
  caf::actor first_worker_;
};

// Moves udp sessions between workers with typed messages (SPEC §5). The
// workers' handles arrive after spawn (the vector message).
class actor_udp_migration final : public udp::udp_migration_port {
 public:
  actor_udp_migration(self_pointer self, const std::vector<caf::actor>& workers)
      : self_(self), workers_(workers) {}
  void offer(std::uint32_t worker, const udp::udp_migrant& m) override {
    if (worker < workers_.size()) self_->send(target(worker), migrate_atom_v, m);
  }
  void departed(std::uint32_t origin_worker, session_handle origin, std::uint32_t app_worker, shm::fifo rx,
                shm::fifo tx) override {
    if (origin_worker < workers_.size())
      self_->send(target(origin_worker), migrate_atom_v, origin, app_worker, rx, tx);
  }

 private:
  session_worker_actor target(std::uint32_t w) const {
    return caf::actor_cast<session_worker_actor>(workers_[w]);
  }
  self_pointer self_;
  const std::vector<caf::actor>& workers_;
};

class worker_transports final : public session_layer::transport_registry {
 public:
  session_layer::transport* ct = nullptr;
  session_layer::transport* udp = nullptr;  // null without a data plane
  session_layer::transport* find(transport_proto p) noexcept override {
    switch (p) {
      case transport_proto::ct: return ct;
      case transport_proto::udp: return udp;
      case transport_proto::tcp: return nullptr;
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
  std::unique_ptr<udp::udp_transport> udp;  // with a data plane only
  std::unique_ptr<actor_udp_migration> migration;
  // Sessions that moved to another worker, by old handle: the app may
  // still name them so until it read the migrate notification, and what it
  // asks goes on to the new worker. Dropped when the moved session ends.
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, session_handle>> moved;
  ct::ct_half_opens half_opens;                                 // first worker only
  std::vector<caf::actor> workers;                              // every worker
  std::vector<std::vector<ct::pending_connect>> outgoing;       // per destination
  bool run_scheduled = false;

  bool has_work() const {
    return sessions->has_events() || sessions->pending_rx_notifications() > 0 ||
           (udp && udp->has_deferred()) ||
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

// Every turn ends here: the notifications it held leave, and a run is
// queued if work is left.
void schedule(stateful_self self) {
  auto& st = self->state;
  st.apps->flush();
  if (st.run_scheduled || !st.has_work()) return;
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
  for (std::uint32_t index : st.sink->reusable_here) st.half_opens.mark_reusable(index);
  st.sink->reusable_here.clear();
  st.sessions->flush_enqueue_events();
  st.sink->flush_releases();
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
    out.udp_segments = s.udp->counters().segments;
    out.udp_moved_in = s.udp->counters().moved_in;
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

session_worker_actor spawn_session_worker(caf::actor_system& sys, session_worker_config cfg) {
  // The configuration travels as a spawn argument, not a capture: CAF
  // 0.17.6 dereferences a null argument tuple when a function actor is
  // spawned without arguments (undefined behaviour that UBSan reports).
  return sys.spawn(
      [](stateful_self self, session_worker_config cfg) -> session_worker_actor::behavior_type {
    auto& st = self->state;
    st.cfg = cfg;
    st.apps = std::make_unique<actor_notifier>(self);
    st.sink = std::make_unique<actor_ct_sink>(self, cfg.ct_fifos, cfg.first_worker);
    st.sessions = std::make_unique<session_layer::session_worker_state>(
        cfg.index, session_layer::session_worker_state::environment{
                       st.apps.get(), &st.transports});
    st.ct = std::make_unique<ct::ct_worker>(*st.sessions, *st.sink);
    st.transports.ct = st.ct.get();
    if (!cfg.dp_links.empty()) {
      st.migration = std::make_unique<actor_udp_migration>(self, st.workers);
      st.udp = std::make_unique<udp::udp_transport>(*st.sessions, *st.apps, cfg.dp_links, cfg.udp,
                                                    st.migration.get());
      st.transports.udp = st.udp.get();
    }
    auto after = [self] { schedule(self); };
    return {
        [=](close_atom, session_handle h) {
          if (pass_on(self, close_atom_v, h)) return;
          (void)self->state.sessions->app_close(h);
          after();
        },
        [=](reset_atom, session_handle h) {
          if (pass_on(self, reset_atom_v, h)) return;
          (void)self->state.sessions->app_reset(h);
          after();
        },
        [=](rpc_atom, worker_rpc& rpc) {
          self->state.sessions->post_ctrl(
              {session_layer::ctrl_kind::rpc, {}, [fn = std::move(rpc.fn)](auto&) { fn(); }});
          after();
        },
        [=](tx_atom, session_handle h) {
          if (pass_on(self, tx_atom_v, h)) return;
          if (auto* s = self->state.sessions->get(h)) self->state.sessions->post_custom_tx(*s);
          after();
        },
        [=](app_rx_atom, session_handle h) {
          if (pass_on(self, app_rx_atom_v, h)) return;
          self->state.sessions->post_io({session_layer::io_kind::app_rx, h});
          after();
        },
        [=](rx_notify_atom, session_handle h) {
          if (pass_on(self, rx_notify_atom_v, h)) return;
          self->state.sessions->post_io({session_layer::io_kind::builtin_rx, h});
          after();
        },
        [=](accept_atom, session_handle h, bool ok) {
          self->state.sessions->on_accept_reply(h, ok);
          after();
        },
        [=](connected_atom, session_handle h, bool ok) {
          self->state.sessions->on_connected_reply(h, ok);
          after();
        },
        [=](ct_connect_atom, ct::pending_connect& pc) {
          // First worker: record the half-open, pick the accepting worker.
          auto& s = self->state;
          pc.half_open = s.half_opens.alloc(pc);
          const auto n = static_cast<std::uint32_t>(std::max<std::size_t>(1, s.workers.size()));
          const std::uint32_t dest = s.workers.empty() ? s.cfg.index : s.half_opens.next_worker(n);
          if (s.outgoing.size() <= dest) s.outgoing.resize(dest + 1);
          s.outgoing[dest].push_back(pc);
          after();
        },
        [=](ct_connect_atom, std::vector<ct::pending_connect>& batch) {
          self->state.ct->queue_connects(std::move(batch));
          after();
        },
        [=](half_open_atom, std::uint32_t index) { self->state.half_opens.mark_reusable(index); },
        [=](app_worker_atom, std::uint32_t index, app_worker_actor& a, bool tuning,
            std::uint32_t rx_size, std::uint32_t tx_size) {
          self->state.apps->add(index, std::move(a), tuning, rx_size, tx_size);
        },
        [=](ct_context_atom, std::uint32_t id, ct_fifo_actor& ctx) {
          self->state.sink->add_context(id, std::move(ctx));
        },
        [=](subscribe_atom, session_handle h, std::uint32_t app_worker,
            bool add) -> caf::result<bool> {
          auto r = self->state.sessions->subscribe(h, app_worker, add);
          after();
          if (!r) return to_caf(r.error());
          return true;
        },
        [=](detach_atom, std::uint32_t index) {
          // The app worker is gone or going: its sessions are reset here,
          // whether or not it is still alive to do it itself.
          self->state.apps->remove(index);
          if (self->state.udp) self->state.udp->app_worker_gone(index);
          if (auto n = self->state.sessions->app_worker_gone(index); n > 0)
            log_line("worker " + std::to_string(self->state.cfg.index) + ": reset " +
                     std::to_string(n) + " session(s) of app worker " + std::to_string(index));
          after();
        },
        [=](std::vector<caf::actor>& workers) { self->state.workers = std::move(workers); },
        [=](migrate_atom, const udp::udp_migrant& m) {
          auto& s = self->state;
          if (!s.udp || m.from_worker >= s.workers.size()) return;
          const auto got = s.udp->adopt(m);
          self->send(caf::actor_cast<session_worker_actor>(s.workers[m.from_worker]), migrate_atom_v, m.from_id,
                     s.cfg.index, got.handle, got.id);
          after();
        },
        [=](migrate_atom, std::uint32_t id, std::uint32_t worker, session_handle handle, std::uint32_t new_id) {
          auto& s = self->state;
          if (!s.udp || worker >= s.workers.size()) return;
          const auto [outcome, old] = s.udp->hand_over(id, worker, handle, new_id);
          if (outcome == session_layer::migrate_outcome::completed) s.moved[old.value()] = {worker, handle};
          self->send(caf::actor_cast<session_worker_actor>(s.workers[worker]), migrate_atom_v, handle,
                     static_cast<std::uint8_t>(outcome));
          after();
        },
        [=](migrate_atom, session_handle handle, std::uint8_t outcome) {
          auto& s = self->state;
          if (!s.udp) return;
          const auto o = static_cast<session_layer::migrate_outcome>(outcome);
          if (o == session_layer::migrate_outcome::gone)
            s.udp->abandon(handle);
          else
            s.sessions->migrate_finish(handle, o);
          after();
        },
        [=](migrate_atom, session_handle origin, std::uint32_t app_worker, shm::fifo rx, shm::fifo tx) {
          auto& s = self->state;
          s.moved.erase(origin.value());
          if (s.udp) s.udp->take_back(app_worker, rx, tx);
          after();
        },
        [=](run_atom) { run(self); },
        [=](dataplane_atom) {
          // The core's events: rx and tx-space notifications are batched
          // into this worker's lists and flushed by run().
          auto& s = self->state;
          if (!s.udp) return;
          if (s.udp->drain_events()) self->send(self, dataplane_atom_v);
          after();
        },
        [=](net_connect_atom, std::uint32_t app_worker, const endpoint& remote, std::uint64_t opaque) {
          auto& s = self->state;
          session_layer::transport* tp = s.transports.find(remote.proto);
          if (tp == nullptr) {
            s.sessions->connect_failed(app_worker, opaque, errc::not_supported);
            after();
            return;
          }
          session_layer::connect_args args{remote, app_worker, opaque};
          // alloc failures were told to the app by the session layer.
          if (auto r = tp->connect(args); !r && r.error().code != errc::alloc)
            s.sessions->connect_failed(app_worker, opaque, r.error().code);
          after();
        },
        [=](listen_atom, std::uint32_t app_worker, const endpoint& ep) -> caf::result<session_handle> {
          auto h = self->state.sessions->listen(app_worker, ep);
          after();
          if (!h) return to_caf(h.error());
          return *h;
        },
        [=](listen_atom, session_handle listener, std::uint32_t app_worker) {
          (void)self->state.sessions->hand_over_listener(listener, app_worker);
          after();
        },
        [=](sessions_atom) {
          auto& s = self->state;
          worker_report out;
          out.stats = stats_of(s);
          out.mailbox = self->mailbox().size();
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
            if (row.text.empty())  // a session whose transport is gone
              row.text = "[" + std::to_string(w) + ":" + std::to_string(x.handle.index()) + "][" +
                         row.transport + "] -";
            ++out.by_state[row.state];
            out.sessions.push_back(std::move(row));
          });
          return out;
        },
        [=](stats_atom) -> worker_stats { return stats_of(self->state); },
    };
      },
      std::move(cfg));
}

}  // namespace actorstack
