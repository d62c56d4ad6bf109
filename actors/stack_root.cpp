#include "actors/caf_error.hpp"
#include "actors/stack_root.hpp"

#include "actors/ct_segment_context.hpp"
#include "actors/inspector.hpp"
#include "actors/log.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>

namespace actorstack {

namespace {

struct app_record {
  app_options opts;
  std::uint32_t first_worker = 0;  // the workers it attached with: first_worker + i
  std::map<std::uint32_t, app_worker_actor> workers;  // live, by global index (workers come and go)
  bool live = true;
};

// The app workers a listener's connections go to, round robin: those that
// listen on it (an in-process app listens with all of its workers; each
// worker of an app in another process listens for itself, and a second
// one listening on the same endpoint joins the listener).
struct listener_share {
  std::uint32_t owner = 0;  // its session's app worker: the listener goes with it
  std::vector<std::uint32_t> accepting;
  std::uint32_t next = 0;
};

struct stack_root_state {
  static inline const char* name = "stack_root";
  stack_root_config cfg;
  std::vector<session_worker_actor> workers;
  std::vector<app_record> apps;
  std::uint32_t next_app_worker = 0;
  std::vector<std::uint32_t> app_of_worker;  // global app worker -> app
  std::unordered_map<std::uint64_t, listener_share> shares;  // by listener handle
  lookup::session_tables tables;
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>, std::uint32_t> context_of;
  std::map<std::uint32_t, ct_fifo_actor> contexts;  // alive, by id (retired ones end)
  std::uint32_t next_context = 0;
  std::uint64_t listeners = 0;
  std::uint32_t next_net_worker = 0;  // round robin for network connects
  inspector_actor inspector;  // told about every context spawned here
};

using self_pointer = stack_root_actor::stateful_pointer<stack_root_state>;


// The actor of a global app worker index (invalid if unknown, deleted or
// detached).
app_worker_actor app_worker_of(const stack_root_state& st, std::uint32_t app_worker) {
  if (app_worker >= st.app_of_worker.size()) return {};
  const auto& workers = st.apps[st.app_of_worker[app_worker]].workers;
  auto it = workers.find(app_worker);
  return it == workers.end() ? app_worker_actor{} : it->second;
}

// Every session worker may have to notify any app worker.
void announce_worker(self_pointer self, const app_record& rec, std::uint32_t index, const app_worker_actor& a) {
  for (auto& w : self->state.workers)
    self->send(w, app_worker_atom_v, index, a, rec.opts.custom_fifo_tuning, rec.opts.rx_fifo_size,
               rec.opts.tx_fifo_size);
}

// Stops listening: nothing new reaches the listener's app from now on.
void remove_listener(self_pointer self, const lookup::listener_entry& l) {
  auto& st = self->state;
  (void)st.tables.del_listener(l.ns, l.local, l.scope);
  --st.listeners;
  st.shares.erase(l.ref.listener.value());
  self->send(st.workers[0], close_atom_v, l.ref.listener);
}

// App worker `app_worker` stops accepting on listener `l`. The last one
// takes the listener with it; otherwise, if it owned the listener's
// session, another one takes that over first (its going would end it).
// False: it was not accepting there.
bool leave_listener(self_pointer self, const lookup::listener_entry& l, std::uint32_t app_worker) {
  auto& st = self->state;
  auto it = st.shares.find(l.ref.listener.value());
  if (it == st.shares.end()) return false;
  auto& share = it->second;
  auto at = std::find(share.accepting.begin(), share.accepting.end(), app_worker);
  if (at == share.accepting.end()) return false;
  share.accepting.erase(at);
  if (share.accepting.empty()) {
    remove_listener(self, l);
  } else if (share.owner == app_worker) {
    share.owner = share.accepting.front();
    self->send(st.workers[0], listen_atom_v, l.ref.listener, share.owner);
  }
  return true;
}

// A connect that cannot go on. An asynchronous one hears it like any other
// outcome (a failed "connected", to its own app worker); a blocking one
// gets the error as its reply.
caf::result<bool> refuse_connect(self_pointer self, const connect_request& req, const error& why) {
  if (!req.report_to_app) return to_caf(why);
  if (auto a = app_worker_of(self->state, req.app_worker)) {
    app_notification n;
    n.kind = notification::connected;
    n.app_worker = req.app_worker;
    n.opaque = req.opaque;
    n.err = why.code;
    self->send(a, notify_atom_v, n);
  }
  return true;
}

// The segment context of (server app, client app worker, server app
// worker), spawned on first use and announced to every session worker, so
// they allocate and release pairs with it directly.
std::uint32_t context_for(self_pointer self, std::uint32_t client_app_worker,
                          std::uint32_t server_app_worker) {
  auto& st = self->state;
  const std::uint32_t server_app =
      server_app_worker < st.app_of_worker.size() ? st.app_of_worker[server_app_worker] : 0;
  const auto key = std::make_tuple(server_app, client_app_worker, server_app_worker);
  if (auto it = st.context_of.find(key); it != st.context_of.end()) return it->second;
  const auto id = st.next_context++;
  ct_segment_context_config c;
  c.id = id;
  c.min_segment_size = st.cfg.min_ct_segment_size;
  c.segment_size = st.cfg.cfg.segment_size;
  c.client_app = app_worker_of(st, client_app_worker);
  c.server_app = app_worker_of(st, server_app_worker);
  c.client_app_worker = client_app_worker;
  c.server_app_worker = server_app_worker;
  const auto& ctx = st.contexts[id] = spawn_ct_segment_context(self->system(), c);
  st.context_of[key] = id;
  self->monitor(ctx);  // a retired context ends: forgotten then
  if (st.inspector)
    self->send(st.inspector, watch_atom_v, caf::actor_cast<caf::actor>(ctx), actor_role::ct_context, id,
               "apps " + std::to_string(client_app_worker) + "->" + std::to_string(server_app_worker));
  for (auto& w : st.workers) self->send(w, ct_context_atom_v, id, ctx);
  return id;
}

// App worker `app_worker` is gone: no new pair will be asked of its
// contexts (as client or server). They retire — each ends once its last
// segment is deleted — and a connect still on its way makes a fresh one.
void retire_contexts_of(self_pointer self, std::uint32_t app_worker) {
  auto& st = self->state;
  for (auto it = st.context_of.begin(); it != st.context_of.end();) {
    const auto& [server_app, client, server] = it->first;
    (void)server_app;
    if (client != app_worker && server != app_worker) {
      ++it;
      continue;
    }
    if (auto c = st.contexts.find(it->second); c != st.contexts.end())
      self->send(caf::actor_cast<ct_segment_context_actor>(c->second), stop_atom_v);
    it = st.context_of.erase(it);
  }
}

// A context made for an app worker already gone (a connect or pair
// request that crossed its going) serves what it was asked, then retires.
void retire_if_orphaned(self_pointer self, std::uint32_t client_app_worker, std::uint32_t server_app_worker) {
  for (std::uint32_t w : {client_app_worker, server_app_worker})
    if (!app_worker_of(self->state, w)) retire_contexts_of(self, w);
}

// A context ended (retired, or it failed: the inspector handles that):
// the session workers forget it too.
void forget_context(self_pointer self, const caf::actor_addr& who) {
  auto& st = self->state;
  for (auto it = st.contexts.begin(); it != st.contexts.end(); ++it) {
    if (it->second.address() != who) continue;
    const std::uint32_t id = it->first;
    st.contexts.erase(it);
    for (auto k = st.context_of.begin(); k != st.context_of.end();)
      k = k->second == id ? st.context_of.erase(k) : std::next(k);
    for (auto& w : st.workers) self->send(w, ct_context_atom_v, id, ct_fifo_actor{});
    return;
  }
}

// App worker `index` goes (its listeners already left): every session
// worker resets its sessions (it may be gone: nobody else would), it is
// told to stop, its segment contexts retire. The caller forgets it.
void drop_worker(self_pointer self, std::uint32_t index, const app_worker_actor& actor) {
  for (auto& w : self->state.workers) self->send(w, detach_atom_v, index);
  self->send(actor, detach_atom_v);
  retire_contexts_of(self, index);
}

// Detaches `app`: its listeners go first, so nothing new reaches it; then
// every session worker resets the sessions of its app workers (which may be
// gone: nobody else would) and the app workers are told to stop. Returns
// the listeners removed, or nothing when the app is unknown or detached.
std::optional<std::size_t> detach_app(self_pointer self, std::uint32_t app) {
  auto& st = self->state;
  if (app >= st.apps.size() || !st.apps[app].live) return std::nullopt;
  auto& rec = st.apps[app];
  std::size_t removed = 0;
  for (const auto& l : st.tables.listeners()) {
    if (l.ref.app_index != app) continue;
    remove_listener(self, l);
    ++removed;
  }
  st.tables.del_app(app);
  for (const auto& [index, actor] : rec.workers) drop_worker(self, index, actor);
  rec.workers.clear();
  rec.live = false;
  return removed;
}

}  // namespace

stack_root_actor spawn_stack_root(caf::actor_system& sys, stack_root_config cfg) {
  return sys.spawn(
      [](self_pointer self, stack_root_config cfg) -> stack_root_actor::behavior_type {
        self->state.cfg = std::move(cfg);
        // The segment contexts belong to the root: they stop when it does.
        self->set_exit_handler([self](caf::exit_msg& msg) {
          for (auto& [id, c] : self->state.contexts) self->send_exit(c, msg.reason);
          self->quit(msg.reason);
        });
        self->set_down_handler([self](caf::down_msg& msg) { forget_context(self, msg.source); });
        return {
            [=](app_worker_atom, const app_options& opts) -> caf::result<app_reservation> {
              auto& st = self->state;
              if (opts.workers == 0 || opts.workers > 64)
                return to_caf(errc::invalid_argument, "app workers must be 1..64");
              // 0 takes the stack's size; anything else within the bounds
              // every fifo obeys (config.hpp).
              const auto bad_size = [&](std::uint32_t size) {
                return size != 0 && (size < 4096 || size > st.cfg.cfg.max_fifo_size);
              };
              if (bad_size(opts.rx_fifo_size) || bad_size(opts.tx_fifo_size))
                return to_caf(errc::invalid_argument, "app fifo sizes must be 4096..session.max-fifo-size (or 0)");
              app_reservation r;
              r.app = static_cast<std::uint32_t>(st.apps.size());
              r.first_worker = st.next_app_worker;
              st.next_app_worker += opts.workers;
              st.apps.push_back({opts, r.first_worker, {}, true});
              auto& resolved = st.apps.back().opts;
              if (resolved.rx_fifo_size == 0) resolved.rx_fifo_size = st.cfg.cfg.rx_fifo_size;
              if (resolved.tx_fifo_size == 0) resolved.tx_fifo_size = st.cfg.cfg.tx_fifo_size;
              st.app_of_worker.resize(st.next_app_worker, r.app);
              return r;
            },
            [=](app_worker_atom, std::uint32_t app,
                std::vector<app_worker_actor>& actors) -> caf::result<bool> {
              auto& st = self->state;
              if (app >= st.apps.size()) return to_caf(errc::no_such_app, "no such app");
              auto& rec = st.apps[app];
              for (std::uint32_t i = 0; i < actors.size(); ++i) {
                rec.workers[rec.first_worker + i] = actors[i];
                announce_worker(self, rec, rec.first_worker + i, actors[i]);
              }
              return true;
            },
            // Worker add (the attach channel's "worker add"): one more app
            // worker for a live app, reserved here, registered once its
            // actor exists.
            [=](add_worker_atom, std::uint32_t app) -> caf::result<app_reservation> {
              auto& st = self->state;
              if (app >= st.apps.size() || !st.apps[app].live) return to_caf(errc::no_such_app, "no such app");
              if (st.apps[app].workers.size() >= 64) return to_caf(errc::invalid_argument, "app workers must be 1..64");
              app_reservation r{app, st.next_app_worker++};
              st.app_of_worker.push_back(app);
              return r;
            },
            [=](add_worker_atom, std::uint32_t app, std::uint32_t index,
                const app_worker_actor& actor) -> caf::result<bool> {
              auto& st = self->state;
              // Detached in between: the caller stops the actor.
              if (app >= st.apps.size() || !st.apps[app].live || index >= st.app_of_worker.size() ||
                  st.app_of_worker[index] != app || st.apps[app].workers.count(index) > 0 || !actor)
                return to_caf(errc::no_such_app, "no such app");
              auto& rec = st.apps[app];
              rec.workers[index] = actor;
              announce_worker(self, rec, index, actor);
              return true;
            },
            // Worker del: its listeners lose it (the last one takes the
            // listener along), its sessions are reset towards their peers
            // on every session worker, and it is told to stop. The app
            // and its other workers go on; the last worker goes only with
            // the app (detach).
            [=](del_worker_atom, std::uint32_t app, std::uint32_t index) -> caf::result<bool> {
              auto& st = self->state;
              if (app >= st.apps.size() || !st.apps[app].live) return to_caf(errc::no_such_app, "no such app");
              auto& rec = st.apps[app];
              auto it = rec.workers.find(index);
              if (it == rec.workers.end()) return to_caf(errc::invalid_argument, "not a worker of this app");
              if (rec.workers.size() == 1) return to_caf(errc::invalid_argument, "an app's last worker goes with detach");
              for (const auto& l : st.tables.listeners())
                if (l.ref.app_index == app) (void)leave_listener(self, l, index);
              drop_worker(self, index, it->second);
              rec.workers.erase(it);
              return true;
            },
            // `whole_app`: the app's workers accept in turn (in-process
            // apps); otherwise only `app_worker`, and listening where its
            // app already listens (a stream transport) joins that listener.
            [=](listen_atom, std::uint32_t app, std::uint32_t app_worker, const endpoint& ep,
                bool whole_app) -> caf::result<session_handle> {
              auto& st = self->state;
              if (app >= st.apps.size() || st.workers.empty() || !app_worker_of(st, app_worker) ||
                  st.app_of_worker[app_worker] != app)
                return to_caf(errc::no_such_app, "no such app");
              const auto& rec = st.apps[app];
              const auto& opts = rec.opts;
              lookup::scope_flags scope{opts.local_scope, opts.global_scope};
              if (auto found = st.tables.find_listener(opts.ns, ep, scope)) {
                auto share = st.shares.find(found->listener.value());
                if (whole_app || found->app_index != app || ep.proto != transport_proto::ct ||
                    share == st.shares.end())
                  return to_caf(errc::already_listening, "an app listens there already");
                auto& accepting = share->second.accepting;
                if (std::find(accepting.begin(), accepting.end(), app_worker) != accepting.end())
                  return to_caf(errc::already_listening, "an app listens there already");
                accepting.push_back(app_worker);
                return found->listener;
              }
              listener_share share{app_worker, {app_worker}, 0};
              if (whole_app) {
                share.accepting.clear();
                for (const auto& [index, actor] : rec.workers) share.accepting.push_back(index);
              }
              auto rp = self->make_response_promise<session_handle>();
              // Listeners live on the first worker.
              self->request(st.workers[0], caf::infinite, listen_atom_v, app_worker, ep)
                  .then(
                      [=](session_handle h) mutable {
                        auto& s = self->state;
                        auto r = s.tables.add_listener(opts.ns, ep, {h, app}, scope);
                        if (!r) {  // another listen got there while this one was on its way
                          self->send(s.workers[0], close_atom_v, h);
                          rp.deliver(to_caf(r.error()));
                          return;
                        }
                        ++s.listeners;
                        s.shares[h.value()] = std::move(share);
                        rp.deliver(h);
                      },
                      [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
              return rp;
            },
            // Stop listen: the whole listener, or only `app_worker`'s part.
            [=](close_atom, std::uint32_t app, session_handle listener, std::uint32_t app_worker,
                bool whole_app) -> caf::result<bool> {
              auto& st = self->state;
              for (const auto& l : st.tables.listeners()) {
                if (l.ref.listener != listener || l.ref.app_index != app) continue;
                if (whole_app) {
                  remove_listener(self, l);
                  return true;
                }
                if (leave_listener(self, l, app_worker)) return true;
                break;
              }
              return to_caf(errc::no_listener, "no such listener");
            },
            [=](connect_atom, const connect_request& req) -> caf::result<bool> {
              auto& st = self->state;
              if (req.app >= st.apps.size()) return to_caf(errc::no_such_app, "no such app");
              const auto& opts = st.apps[req.app].opts;
              // UDP goes to the network (the data plane): there is no
              // datagram cut-through, so the local tables are not asked.
              if (req.remote.proto == transport_proto::udp) {
                const errc why = !opts.global_scope             ? errc::scope
                                 : st.cfg.cfg.dataplane_port.empty() ? errc::not_supported
                                                                     : errc::none;
                if (why == errc::none) {
                  const auto w = st.next_net_worker++ % static_cast<std::uint32_t>(st.workers.size());
                  self->send(st.workers[w], net_connect_atom_v, req.app_worker, req.remote, req.opaque);
                  return true;
                }
                const char* detail = why == errc::scope ? "application lacks global scope for udp"
                                                        : "this stack has no data plane (dataplane.port)";
                return refuse_connect(self, req, error{why, 0, detail});
              }
              auto target = st.tables.resolve_connect(opts.ns, req.app,
                                                      {opts.local_scope, opts.global_scope}, req.remote);
              if (!target) return refuse_connect(self, req, target.error());
              auto share = st.shares.find(target->listener.value());
              if (share == st.shares.end() || share->second.accepting.empty())
                return to_caf(errc::no_such_app, "no such app");
              auto& accepting = share->second.accepting;
              ct::pending_connect pc;
              pc.client_app_worker = req.app_worker;
              pc.opaque = req.opaque;
              pc.remote = req.remote;
              pc.listener = target->listener;
              pc.server_app_worker = accepting[share->second.next++ % accepting.size()];
              pc.context = context_for(self, pc.client_app_worker, pc.server_app_worker);
              retire_if_orphaned(self, pc.client_app_worker, pc.server_app_worker);
              self->send(st.workers[0], ct_connect_atom_v, pc);
              return true;
            },
            [=](detach_atom, std::uint32_t app) -> caf::result<bool> {
              if (app >= self->state.apps.size()) return to_caf(errc::no_such_app, "no such app");
              // Already detached is done: the app's workers stop first, and
              // their end detaches it on their behalf (app_down).
              (void)detach_app(self, app);
              return true;
            },
            [=](apps_atom) {
              std::vector<app_row> out;
              for (std::uint32_t i = 0; i < self->state.apps.size(); ++i) {
                const auto& a = self->state.apps[i];
                app_row row{i, a.opts.name, {}, a.live, a.opts.local_scope, a.opts.global_scope, a.opts.ns};
                for (const auto& [index, actor] : a.workers) row.app_workers.push_back(index);
                out.push_back(std::move(row));
              }
              return out;
            },
            [=](listeners_atom) {
              auto& st = self->state;
              std::vector<listener_row> out;
              for (const auto& l : st.tables.listeners()) {
                listener_row row;
                row.app = l.ref.app_index;
                row.app_name = l.ref.app_index < st.apps.size() ? st.apps[l.ref.app_index].opts.name : "";
                row.endpoint = l.local.to_string();
                row.scope = l.scope.local && l.scope.global ? "local+global" : l.scope.local ? "local" : "global";
                row.ns = l.ns;
                row.handle = l.ref.listener.value();
                out.push_back(std::move(row));
              }
              return out;
            },
            [=](watch_atom, caf::actor& inspector) {
              self->state.inspector = caf::actor_cast<inspector_actor>(inspector);
            },
            [=](app_down_atom, std::uint32_t app_worker, bool normally) {
              // An app worker ended: detach the app on its behalf (a no-op
              // when a detach got there first). A detaching app stops its
              // workers before it asks (application::detach), so a normal
              // end is no news; a failed one is logged. A deleted worker's
              // end is no news either.
              auto& st = self->state;
              if (!app_worker_of(st, app_worker)) return;
              const std::uint32_t app = st.app_of_worker[app_worker];
              const std::string name = st.apps[app].opts.name;
              if (auto listeners = detach_app(self, app); listeners && !normally)
                log_line("app worker " + std::to_string(app_worker) + " of app '" + name +
                         "' failed: app detached, " + std::to_string(*listeners) +
                         " listener(s) removed, its sessions reset on every worker");
            },
            [=](ct_alloc_atom, const ct_alloc_request& req) {
              const std::uint32_t id = context_for(self, req.client_app_worker, req.server_app_worker);
              auto r = self->delegate(self->state.contexts.at(id), ct_alloc_atom_v, req);
              retire_if_orphaned(self, req.client_app_worker, req.server_app_worker);  // after the request
              return r;
            },
            [=](ct_release_atom, std::vector<ct::ct_release>& batch) {
              auto& st = self->state;
              if (batch.empty()) return;
              if (auto c = st.contexts.find(batch.front().pair.context); c != st.contexts.end())
                self->send(c->second, ct_release_atom_v, std::move(batch));
            },
            [=](std::vector<session_worker_actor>& workers) { self->state.workers = std::move(workers); },
            [=](mailbox_atom) -> std::uint64_t { return self->mailbox().size(); },
            [=](stats_atom) -> caf::result<stack_counters> {
              auto& st = self->state;
              auto rp = self->make_response_promise<stack_counters>();
              auto acc = std::make_shared<stack_counters>();
              acc->apps = std::count_if(st.apps.begin(), st.apps.end(), [](auto& a) { return a.live; });
              acc->listeners = st.listeners;
              acc->ct_contexts = st.contexts.size();
              auto pending = std::make_shared<std::size_t>(st.workers.size() + st.contexts.size());
              auto done = [=]() mutable {
                if (--*pending == 0) rp.deliver(*acc);
              };
              if (*pending == 0) {
                rp.deliver(*acc);
                return rp;
              }
              for (auto& w : st.workers)
                self->request(w, caf::infinite, stats_atom_v)
                    .then([=](const worker_stats& s) mutable {
                      acc->sessions += s.sessions;
                      acc->ct_connections += s.ct_connections;
                      acc->udp_connections += s.udp_connections;
                      acc->udp_segments += s.udp_segments;
                      acc->udp_migrations += s.udp_moved_in;
                      acc->half_opens += s.half_opens;
                      acc->accepts += s.accepts;
                      acc->connects += s.connects;
                      acc->refusals += s.refusals;
                      done();
                    });
              // A context may retire (end) before it answers: then it
              // holds nothing, and counts as such.
              for (auto& [id, c] : st.contexts)
                self->request(caf::actor_cast<ct_segment_context_actor>(c), caf::infinite, stats_atom_v)
                    .then(
                        [=](const ct_context_stats& s) mutable {
                          acc->ct_segments += s.segments;
                          acc->fifos += s.fifos;
                          done();
                        },
                        [=](caf::error&) mutable { done(); });
              return rp;
            },
        };
      },
      std::move(cfg));
}

}  // namespace actorstack
