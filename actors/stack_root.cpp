#include "actors/caf_error.hpp"
#include "actors/stack_root.hpp"

#include "actors/ct_segment_context.hpp"
#include "actors/inspector.hpp"
#include "actors/log.hpp"
#include "actors/mailbox_depth.hpp"

#include <memory>
#include <string>
#include <unordered_map>

namespace actorstack {

namespace {

struct stack_root_actor_state;
using self_pointer = stack_root_actor::stateful_pointer<stack_root_actor_state>;

// The root's effects as messages. It knows the actors behind the indices
// the registry speaks of: app workers, session workers, contexts.
class actor_root_effects final : public session_layer::root_effects {
 public:
  explicit actor_root_effects(self_pointer self) : self_(self) {}

  std::vector<session_worker_actor> workers;
  std::unordered_map<std::uint32_t, app_worker_actor> app_workers;  // live, by global index
  std::unordered_map<std::uint32_t, ct_fifo_actor> contexts;        // alive, by id (retired ones end)
  inspector_actor inspector;  // told about every context spawned here
  stack_root_config cfg;

  // Every session worker may have to notify any app worker.
  void announce(std::uint32_t index, const app_options& opts);
  app_worker_actor app_worker(std::uint32_t index) const;

  void app_worker_dropped(std::uint32_t index) override;
  void close_listener(session_handle listener) override;
  void move_listener(session_handle listener, std::uint32_t owner) override;
  void listener_members(session_handle listener, const std::vector<std::uint32_t>& app_workers) override;
  void context_created(std::uint32_t id, std::uint32_t client_app_worker,
                       std::uint32_t server_app_worker) override;
  void context_retired(std::uint32_t id) override;
  void ct_connect(const ct::pending_connect& pc) override;
  void net_connect(std::uint32_t worker, std::uint32_t app_worker, const endpoint& remote, std::uint64_t opaque,
                   std::uint16_t local_port) override;
  void connect_failed(std::uint32_t index, std::uint64_t opaque, errc why) override;

 private:
  self_pointer self_;
};

struct stack_root_actor_state {
  static inline const char* name = "stack_root";
  std::unique_ptr<actor_root_effects> out;
  std::unique_ptr<session_layer::stack_root_state> registry;
};

void actor_root_effects::announce(std::uint32_t index, const app_options& opts) {
  for (auto& w : workers)
    self_->send(w, app_worker_atom_v, index, app_workers[index], opts.custom_fifo_tuning, opts.rx_fifo_size,
                opts.tx_fifo_size);
}

app_worker_actor actor_root_effects::app_worker(std::uint32_t index) const {
  auto it = app_workers.find(index);
  return it == app_workers.end() ? app_worker_actor{} : it->second;
}

void actor_root_effects::app_worker_dropped(std::uint32_t index) {
  for (auto& w : workers) self_->send(w, detach_atom_v, index);
  if (auto a = app_worker(index)) self_->send(a, detach_atom_v);
  app_workers.erase(index);
}

void actor_root_effects::close_listener(session_handle listener) {
  self_->send(workers.at(0), close_atom_v, listener);
}

void actor_root_effects::move_listener(session_handle listener, std::uint32_t owner) {
  self_->send(workers.at(0), listen_atom_v, listener, owner);
}

void actor_root_effects::listener_members(session_handle listener, const std::vector<std::uint32_t>& app_workers) {
  self_->send(workers.at(0), listen_atom_v, actorstack::listener_members{listener, app_workers});
}

// Spawned on first use and announced to every session worker, so they
// allocate and release pairs with it directly.
void actor_root_effects::context_created(std::uint32_t id, std::uint32_t client_app_worker,
                                         std::uint32_t server_app_worker) {
  ct_segment_context_config c;
  c.id = id;
  c.min_segment_size = cfg.min_ct_segment_size;
  c.segment_size = cfg.cfg.segment_size;
  c.client_app = app_worker(client_app_worker);
  c.server_app = app_worker(server_app_worker);
  c.client_app_worker = client_app_worker;
  c.server_app_worker = server_app_worker;
  const auto& ctx = contexts[id] = spawn_ct_segment_context(self_->system(), c);
  self_->monitor(ctx);  // a retired context ends: forgotten then
  if (inspector)
    self_->send(inspector, watch_atom_v, caf::actor_cast<caf::actor>(ctx), actor_role::ct_context, id,
                "apps " + std::to_string(client_app_worker) + "->" + std::to_string(server_app_worker));
  for (auto& w : workers) self_->send(w, ct_context_atom_v, id, ctx);
}

void actor_root_effects::context_retired(std::uint32_t id) {
  if (auto c = contexts.find(id); c != contexts.end())
    self_->send(caf::actor_cast<ct_segment_context_actor>(c->second), stop_atom_v);
}

void actor_root_effects::ct_connect(const ct::pending_connect& pc) {
  self_->send(workers.at(0), ct_connect_atom_v, pc);
}

void actor_root_effects::net_connect(std::uint32_t worker, std::uint32_t app_worker, const endpoint& remote,
                                     std::uint64_t opaque, std::uint16_t local_port) {
  self_->send(workers.at(worker), net_connect_atom_v, app_worker, remote, opaque, local_port);
}

void actor_root_effects::connect_failed(std::uint32_t index, std::uint64_t opaque, errc why) {
  app_notification n;
  n.kind = notification::connected;
  n.app_worker = index;
  n.opaque = opaque;
  n.err = why;
  if (auto a = app_worker(index)) self_->send(a, notify_atom_v, n);
}

template <class T>
caf::result<T> reply(result<T> r) {
  if (!r) return to_caf(r.error());
  return std::move(*r);
}

caf::result<bool> reply(result<void> r) {
  if (!r) return to_caf(r.error());
  return true;
}

// ---- handlers ------------------------------------------------------------------

caf::result<bool> add_app_workers(self_pointer self, std::uint32_t app, std::vector<app_worker_actor>& actors) {
  auto& out = *self->state.out;
  auto first = self->state.registry->add_app_workers(app, static_cast<std::uint32_t>(actors.size()));
  if (!first) return to_caf(first.error());
  for (std::uint32_t i = 0; i < actors.size(); ++i) out.app_workers[*first + i] = actors[i];
  for (std::uint32_t i = 0; i < actors.size(); ++i)
    out.announce(*first + i, *self->state.registry->options_of_worker(*first + i));
  return true;
}

// Worker add (the attach channel's "worker add"), second half: the actor
// of the reserved app worker exists. Refused: the caller stops it.
caf::result<bool> add_worker(self_pointer self, std::uint32_t app, std::uint32_t index,
                             const app_worker_actor& actor) {
  if (!actor) return to_caf(errc::no_such_app, "no such app");
  if (auto r = self->state.registry->add_worker(app, index); !r) return to_caf(r.error());
  self->state.out->app_workers[index] = actor;
  self->state.out->announce(index, *self->state.registry->options_of_worker(index));
  return true;
}

// The registry decides; a new listener's session is made on session
// worker 0 (listeners live there), then registered.
caf::result<session_handle> listen(self_pointer self, std::uint32_t app, std::uint32_t app_worker,
                                   const endpoint& ep, bool whole_app, bool reuse_port) {
  auto plan = self->state.registry->listen(app, app_worker, ep, whole_app, reuse_port);
  if (!plan) return to_caf(plan.error());
  if (*plan) return **plan;  // joined the app's listener there
  auto rp = self->make_response_promise<session_handle>();
  self->request(self->state.out->workers.at(0), caf::infinite, listen_atom_v, app_worker, ep)
      .then(
          [=](session_handle h) mutable {
            if (auto r = self->state.registry->listened(app, app_worker, ep, whole_app, h, reuse_port); !r)
              rp.deliver(to_caf(r.error()));
            else
              rp.deliver(h);
          },
          [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

void app_down(self_pointer self, std::uint32_t app_worker, bool normally) {
  // A detaching app stops its workers before it asks (application::detach),
  // so a normal end is no news; a failed one is logged.
  if (auto gone = self->state.registry->app_worker_down(app_worker); gone && !normally)
    log_line("app worker " + std::to_string(app_worker) + " of app '" + gone->app_name + "' failed: app detached, " +
             std::to_string(gone->listeners) + " listener(s) removed, its sessions reset on every worker");
}

// A pair for a server connection, from the pair's context (made here if
// the session worker asked before it heard of it).
auto ct_alloc(self_pointer self, const ct_alloc_request& req) {
  auto& registry = *self->state.registry;
  const std::uint32_t id = registry.context_for(req.client_app_worker, req.server_app_worker);
  auto r = self->delegate(self->state.out->contexts.at(id), ct_alloc_atom_v, req);
  registry.retire_if_orphaned(req.client_app_worker, req.server_app_worker);  // after the request
  return r;
}

void ct_release(self_pointer self, std::vector<ct::ct_release>& batch) {
  auto& contexts = self->state.out->contexts;
  if (batch.empty()) return;
  if (auto c = contexts.find(batch.front().pair.context); c != contexts.end())
    self->send(c->second, ct_release_atom_v, std::move(batch));
}

// A context ended (retired, or it failed: the inspector handles that):
// the registry and the session workers forget it.
void context_down(self_pointer self, const caf::actor_addr& who) {
  auto& out = *self->state.out;
  for (auto it = out.contexts.begin(); it != out.contexts.end(); ++it) {
    if (it->second.address() != who) continue;
    const std::uint32_t id = it->first;
    out.contexts.erase(it);
    self->state.registry->forget_context(id);
    for (auto& w : out.workers) self->send(w, ct_context_atom_v, id, ct_fifo_actor{});
    return;
  }
}

// The registry's counts plus every session worker's and context's.
caf::result<stack_counters> stats(self_pointer self) {
  auto& out = *self->state.out;
  auto rp = self->make_response_promise<stack_counters>();
  auto acc = std::make_shared<stack_counters>();
  acc->apps = self->state.registry->live_apps();
  acc->listeners = self->state.registry->listener_count();
  acc->ct_contexts = out.contexts.size();
  auto pending = std::make_shared<std::size_t>(out.workers.size() + out.contexts.size());
  if (*pending == 0) {
    rp.deliver(*acc);
    return rp;
  }
  auto done = [=]() mutable {
    if (--*pending == 0) rp.deliver(*acc);
  };
  for (auto& w : out.workers)
    self->request(w, caf::infinite, stats_atom_v).then([=](const worker_stats& s) mutable {
      acc->sessions += s.sessions;
      acc->ct_connections += s.ct_connections;
      acc->udp_connections += s.udp_connections;
      acc->udp_segments += s.udp_segments;
      acc->udp_migrations += s.udp_moved_in;
      acc->tcp_connections += s.tcp_connections;
      acc->tcp_listeners += s.tcp_listeners;
      acc->half_opens += s.half_opens;
      acc->accepts += s.accepts;
      acc->connects += s.connects;
      acc->refusals += s.refusals;
      done();
    });
  // A context may retire (end) before it answers: then it holds nothing,
  // and counts as such.
  for (auto& [id, c] : out.contexts)
    self->request(caf::actor_cast<ct_segment_context_actor>(c), caf::infinite, stats_atom_v)
        .then(
            [=](const ct_context_stats& s) mutable {
              acc->ct_segments += s.segments;
              acc->fifos += s.fifos;
              done();
            },
            [=](caf::error&) mutable { done(); });
  return rp;
}

stack_root_actor::behavior_type root_behavior(self_pointer self, stack_root_config cfg) {
  auto& st = self->state;
  st.out = std::make_unique<actor_root_effects>(self);
  st.out->cfg = cfg;
  st.registry = std::make_unique<session_layer::stack_root_state>(std::move(cfg.cfg), *st.out);
  // The segment contexts belong to the root: they stop when it does.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, c] : self->state.out->contexts) self->send_exit(c, msg.reason);
    self->quit(msg.reason);
  });
  self->set_down_handler([self](caf::down_msg& msg) { context_down(self, msg.source); });
  auto& reg = *st.registry;
  auto& out = *st.out;
  return {
      [&reg](app_worker_atom, const app_options& opts, std::int32_t pid, std::uint32_t uid, bool attached) {
        return reply(reg.reserve_app(opts, {pid, uid, attached}));
      },
      [=](app_worker_atom, std::uint32_t app, std::vector<app_worker_actor>& actors) {
        return add_app_workers(self, app, actors);
      },
      [&reg](add_worker_atom, std::uint32_t app) { return reply(reg.reserve_worker(app)); },
      [=](add_worker_atom, std::uint32_t app, std::uint32_t index, const app_worker_actor& actor) {
        return add_worker(self, app, index, actor);
      },
      [&reg](del_worker_atom, std::uint32_t app, std::uint32_t index) { return reply(reg.del_worker(app, index)); },
      [=](listen_atom, std::uint32_t app, std::uint32_t app_worker, const endpoint& ep, bool whole_app,
          bool reuse_port) { return listen(self, app, app_worker, ep, whole_app, reuse_port); },
      [&reg](close_atom, std::uint32_t app, session_handle listener, std::uint32_t app_worker, bool whole_app) {
        return reply(reg.stop_listen(app, listener, app_worker, whole_app));
      },
      [&reg](connect_atom, const connect_request& req) { return reply(reg.connect(req)); },
      [&reg](detach_atom, std::uint32_t app) { return reply(reg.detach(app)); },
      [=](app_down_atom, std::uint32_t app_worker, bool normally) { app_down(self, app_worker, normally); },
      [&reg](shm_violation_atom, std::uint32_t app_worker) { reg.shm_violation(app_worker); },
      [&reg](quota_atom, std::uint32_t app) { reg.quota_refused(app); },
      [&reg](apps_atom) { return reg.apps(); },
      [&reg](listeners_atom) { return reg.listeners(); },
      [&out](watch_atom, caf::actor& inspector) { out.inspector = caf::actor_cast<inspector_actor>(inspector); },
      [=](ct_alloc_atom, const ct_alloc_request& req) { return ct_alloc(self, req); },
      [=](ct_release_atom, std::vector<ct::ct_release>& batch) { ct_release(self, batch); },
      [&reg, &out](std::vector<session_worker_actor>& workers) {
        out.workers = std::move(workers);
        reg.set_session_workers(static_cast<std::uint32_t>(out.workers.size()));
      },
      [=](mailbox_atom) -> std::uint64_t { return mailbox_depth(self); },
      [=](stats_atom) { return stats(self); },
  };
}

}  // namespace

stack_root_actor spawn_stack_root(caf::actor_system& sys, stack_root_config cfg) {
  return sys.spawn(root_behavior, std::move(cfg));
}

}  // namespace actorstack
