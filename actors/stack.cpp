// The public stack: wires the root, the inspector, the session workers and
// the data plane's rings together, spawns (per attach) the app workers, and
// stops it all in order. Applications: application_impl.cpp; the data
// plane's side: stack_dataplane.cpp.
#include <actorstack/stack.hpp>

#include "actors/core_hosting_scheduler.hpp"
#include "actors/remote/inspect_port_server.hpp"
#include "actors/application_impl.hpp"
#include "actors/handler_app_worker.hpp"
#include "actors/stack_dataplane.hpp"
#include "actors/caf_call.hpp"
#include "actors/ct_segment_context.hpp"
#include "actors/door_shield.hpp"
#include "actors/inspector.hpp"
#include "actors/log.hpp"
#include "actors/metrics/metrics.hpp"
#include "actors/registry_warden.hpp"
#include "actors/remote/remote_app_server.hpp"
#include "actors/stack_root.hpp"
#include "actors/tls.hpp"
#include "dataplane/dataplane.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/publish.hpp>
#include <prometheus/exposer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace actorstack {

namespace {

// An actor system the stack owns, with its configuration: CAF 0.17 keeps a
// reference to the config for the system's whole life.
struct owned_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
};

class stack_impl final : public stack {
 public:
  stack_impl(caf::actor_system& sys, const stack_config& cfg, std::unique_ptr<owned_system> owned,
             std::unique_ptr<dataplane::dataplane> dp = nullptr)
      : owned_(std::move(owned)), sys_(sys), cfg_(cfg), dp_(std::move(dp)) {
    n_workers_ = effective_workers(cfg);
    stack_root_config rc;
    rc.cfg = cfg;
    root_ = spawn_stack_root(sys_, rc);
    // The inspector reads the data plane's counters itself (atomics); it
    // is stopped before the data plane goes.
    inspector_ = spawn_inspector(sys_, root_, [this] { return dataplane_stats(); });
    caf::anon_send(root_, watch_atom_v, caf::actor_cast<caf::actor>(inspector_));  // for its contexts
    track(root_, actor_role::root, 0, "root");
    std::vector<session_worker_actor> workers;
    for (std::uint32_t i = 0; i < n_workers_; ++i) {
      session_worker_config wc;
      wc.index = i;
      wc.ct_fifos = caf::actor_cast<ct_fifo_actor>(root_);
      wc.violations = caf::actor_cast<violation_sink>(root_);
      if (i > 0) wc.first_worker = caf::actor_cast<caf::actor>(workers[0]);
      if (dp_) {
        for (std::uint32_t c = 0; c < dp_->cores(); ++c)
          wc.dp_links.push_back({&dp_->commands(i, c), &dp_->events(i, c)});
        wc.segments.worker = i;
        wc.segments.rx_fifo_size = cfg.rx_fifo_size;
        wc.segments.tx_fifo_size = cfg.tx_fifo_size;
        wc.segments.max_fifo_size = cfg.max_fifo_size;
        wc.segments.segment_size = cfg.segment_size;
        wc.udp.worker = i;
        wc.udp.workers = n_workers_;
        wc.udp.local_ip = dp_->address().ip;
        wc.tcp.worker = i;
        wc.tcp.workers = n_workers_;
        wc.tcp.local_ip = dp_->address().ip;
      }
      workers.push_back(spawn_session_worker(sys_, wc));
      if (dp_) {
        bells_.push_back(std::make_unique<actor_doorbell>(caf::actor_cast<caf::actor>(workers.back())));
        dp_->set_doorbell(i, bells_.back().get());
      }
      track(workers.back(), actor_role::session_worker, i, "worker " + std::to_string(i));
    }
    std::vector<caf::actor> untyped;
    for (auto& w : workers) untyped.push_back(caf::actor_cast<caf::actor>(w));
    // The first worker spreads cut-through connects over all; every worker
    // may hand a udp session to another (SPEC §5).
    for (auto& w : workers) caf::anon_send(w, untyped);
    caf::anon_send(root_, workers);
    workers_ = std::move(workers);
  }

  ~stack_impl() override { (void)stop(std::chrono::seconds(5)); }

  /// Starts the data-plane cores (the workers exist and have their doorbells).
  /// Starts the data-plane cores (the workers exist and have their doorbells):
  /// on the scheduler's threads when the system runs the core-hosting
  /// scheduler and has a thread per core, else on lcores of their own.
  result<void> start_dataplane() {
    if (!dp_) return {};
    if (cfg_.dataplane_threads == "shared") core_host_ = core_host_of(sys_);
    return dp_->launch(core_host_.get());
  }

  std::vector<dataplane_core_stats> dataplane_stats() const override {
    return dp_ ? core_stats(*dp_) : std::vector<dataplane_core_stats>{};
  }

  std::vector<std::string> stop(std::chrono::milliseconds bound) override {
    if (stopped_) return {};
    stopped_ = true;
    running_->store(false);  // applications refuse calls from now on
    remote_apps_.reset();  // no attach may race the stop; remote apps see their socket hang up
    exposer_.reset();  // no scrape may ask actors that are stopping
    inspect_port_.reset();  // nor a show
    collector_.reset();
    std::vector<std::string> stuck;
    {
      // Stop everything we spawned, and wait — bounded — for each to be
      // gone. The scoped actor must be gone too before the system is
      // destroyed: ~actor_system waits for every running actor, this one
      // included.
      caf::scoped_actor self{sys_};
      self->send(inspector_, stop_atom_v);  // the ends that follow are expected
      // The bound is shared: half for the apps (the likely stragglers), a
      // quarter each for the session workers and the root.
      const std::chrono::milliseconds budgets[] = {bound / 2, bound / 4, bound - bound / 2 - bound / 4};
      std::size_t phase_no = 0;
      // In order: whoever touches fifos (apps, then session workers) is
      // gone before the segment contexts unmap the segments (root last).
      // An actor that ignores its stop is named, and the next phases run
      // anyway: leaving the rest alive would hang the caller's
      // ~actor_system (it must not touch its sessions after the stop).
      for (auto phase : {std::vector{actor_role::app_worker, actor_role::service},
                         std::vector{actor_role::session_worker}, std::vector{actor_role::root}}) {
        // The data plane writes session fifos: it stops before the
        // session workers that own them go (and with them the segments).
        if (phase.front() == actor_role::session_worker && dp_) {
          dp_->stop();
          core_host_.reset();  // it points into the scheduler, which the system's end frees
        }
        const auto deadline = std::chrono::steady_clock::now() + budgets[phase_no++];
        std::unordered_map<caf::actor_addr, const tracked*> alive;
        for (const auto& t : actors_) {
          if (std::find(phase.begin(), phase.end(), t.role) == phase.end()) continue;
          self->monitor(t.actor);
          alive[t.actor.address()] = &t;
          self->send_exit(t.actor, caf::exit_reason::user_shutdown);
        }
        while (!alive.empty()) {
          const auto left = deadline - std::chrono::steady_clock::now();
          if (left <= std::chrono::steady_clock::duration::zero()) break;
          bool timed_out = false;
          self->receive([&](caf::down_msg& m) { alive.erase(m.source); },
                        caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(left)) >>
                            [&] { timed_out = true; });
          if (timed_out) break;
        }
        for (const auto& [addr, t] : alive)
          stuck.push_back(std::string{to_string(t->role)} + " " + std::to_string(t->index) + " ('" +
                          t->name + "'): did not stop within " + std::to_string(bound.count()) +
                          " ms (a handler that blocks, or an exit handler that ignores the stop)");
      }
      self->send_exit(inspector_, caf::exit_reason::user_shutdown);
      if (warden_) self->send_exit(warden_, caf::exit_reason::user_shutdown);
    }
    for (const auto& line : stuck) log_line(line);
    actors_.clear();
    workers_.clear();
    root_ = nullptr;
    inspector_ = nullptr;
    service_ = nullptr;
    warden_ = nullptr;
    if (!stuck.empty() && owned_) {
      // ~actor_system would wait for the stuck actors forever: leave the
      // system (and its threads) behind rather than hang the caller.
      log_line("leaving the actor system running so that shutdown returns");
      (void)owned_.release();
    }
    owned_.reset();  // joins the scheduler when the stack owned the system
    return stuck;
  }


  result<std::unique_ptr<application>> attach(const app_options& opts,
                                              handler_factory make_handler) override {
    if (!make_handler) return unexpected{errc::invalid_argument, "no handler factory"};
    return attach_with(opts, [&](const app_worker_context& ctx, std::uint32_t i) -> app_worker_actor {
      auto handler = make_handler(i);
      if (!handler) return {};
      return spawn_handler_app_worker(sys_, ctx, std::move(handler));
    });
  }

  result<std::unique_ptr<application>> attach_actors(const app_options& opts,
                                                     app_actor_factory make_actor) {
    if (!make_actor) return unexpected{errc::invalid_argument, "no actor factory"};
    return attach_with(
        opts, [&](const app_worker_context& ctx, std::uint32_t) { return make_actor(sys_, ctx); }, false);
  }
  result<std::string> show(const std::string& topic, const std::vector<std::string>& options) override {
    if (stopped_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    return ask<std::string>(sys_, inspector_, show_atom_v, topic, options);
  }

  result<std::uint16_t> publish_inspector(std::uint16_t port) override {
    if (stopped_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    // Where and how: inspect.bind, with TLS when tls.* is set (validate()
    // refused a non-loopback address without it).
    if (cfg_.tls_certificate.empty()) return serve_inspect_port(port);
    if (!sys_.has_middleman())
      return unexpected{errc::not_supported, "the actor system has no middleman (load caf::io::middleman)"};
    if (!sys_.has_openssl_manager())
      return unexpected{errc::not_supported,
                        "tls.* is set but the actor system has no OpenSSL module (load caf::openssl::manager, "
                        "or let stack::create make the system)"};
    guard_registry();
    if (!service_face_)
      service_face_ = caf::actor_cast<inspect_service>(shield(sys_, caf::actor_cast<caf::actor>(inspection()), "inspect port"));
    auto r = caf::openssl::publish(service_face_, port, cfg_.inspect_bind.c_str(), true);
    if (!r) return unexpected{errc::invalid_argument, intern("cannot publish the inspector: " + sys_.render(r.error()))};
    return *r;
  }

  // The plain port: records of our own on a TCP listener that can only
  // show (actors/remote/inspect_port_server.hpp), not CAF's middleman.
  result<std::uint16_t> serve_inspect_port(std::uint16_t port) {
    if (inspect_port_) return unexpected{errc::invalid_argument, "the inspector is already published"};
    auto* sys = &sys_;
    inspect_service service = inspection();
    auto server = inspect_port_server::start(
        cfg_.inspect_bind, port, [sys, service](const std::string& topic, const std::string& options) {
          return ask<std::string>(*sys, service, show_atom_v, topic, options);
        });
    if (!server) return unexpected{server.error()};
    inspect_port_ = std::move(*server);
    return inspect_port_->port();
  }

  result<std::uint16_t> serve_metrics(std::uint16_t port) override {
    if (stopped_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    if (exposer_) return unexpected{errc::invalid_argument, "metrics are already served"};
    auto* sys = &sys_;
    inspector_actor inspector = inspector_;
    collector_ = std::make_shared<metrics::stack_collector>([sys, inspector]() -> std::optional<view::snapshot> {
      auto snap = ask<view::snapshot>(*sys, inspector, snapshot_atom_v);
      if (!snap) return std::nullopt;
      return std::move(*snap);
    });
    try {
      exposer_ = std::make_unique<prometheus::Exposer>("127.0.0.1:" + std::to_string(port), 1);
    } catch (const std::exception& e) {
      collector_.reset();
      return unexpected{errc::invalid_argument, intern(std::string{"cannot serve metrics: "} + e.what())};
    }
    exposer_->RegisterCollectable(collector_);
    const auto ports = exposer_->GetListeningPorts();
    return ports.empty() ? port : static_cast<std::uint16_t>(ports.front());
  }

  using stack::serve_remote_apps;
  result<void> serve_remote_apps(const remote_apps_options& options) override {
    if (stopped_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    remote_apps_options opts = options;
    if (opts.max_attach_per_uid == 0) opts.max_attach_per_uid = cfg_.quota_attach_per_uid;
    if (remote_apps_) return unexpected{errc::invalid_argument, "remote apps are already served"};
    auto server = remote_app_server::start(
        sys_,
        [this](const app_protocol::attach_request& req, std::shared_ptr<shm::fd_channel> channel,
               const app_origin& origin) { return attach_remote(req, std::move(channel), origin); },
        inspection(), opts);
    if (!server) return unexpected{server.error()};
    remote_apps_ = std::move(*server);
    return {};
  }

  result<stack_counters> counters() override {
    if (stopped_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    return ask<stack_counters>(sys_, root_, stats_atom_v);
  }
  std::uint32_t workers() const noexcept override { return n_workers_; }
  caf::actor_system& system() noexcept override { return sys_; }

 private:
  // Reserves the app's indices, makes one actor per app worker, registers
  // them. A factory returning an invalid handle fails the attach (the
  // actors made so far are stopped with the stack).
  // `own`: the stack spawned these actors (they answer the inspector's
  // mailbox queries); user-written ones are only asked what their
  // interface promises.
  // `origin`: the process the app lives in (this one unless attached).
  template <class MakeActor>
  result<std::unique_ptr<application>> attach_with(const app_options& opts, MakeActor&& make, bool own = true,
                                                   app_origin origin = {::getpid(), ::getuid(), false}) {
    if (stopped_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    auto r = ask<app_reservation>(sys_, root_, app_worker_atom_v, opts, origin.pid, origin.uid, origin.attached);
    if (!r) return unexpected{r.error()};
    const auto session_workers = session_worker_handles();
    std::vector<app_worker_actor> actors;
    for (std::uint32_t i = 0; i < opts.workers; ++i) {
      app_worker_actor a = make(app_worker_context{r->first_worker + i, r->app, session_workers, {}, direct_tx()}, i);
      if (!a) return unexpected{errc::invalid_argument, "the factory made no app worker"};
      track_app_worker(a, r->first_worker + i, opts.name, own);
      actors.push_back(std::move(a));
    }
    auto ok = ask<bool>(sys_, root_, app_worker_atom_v, r->app, actors);
    if (!ok) return unexpected{ok.error()};
    return make_application(sys_, root_, *r, std::move(actors), workers_, running_);
  }

  // The data plane's inboxes for "data written" (empty without one).
  std::shared_ptr<detail::direct_tx> direct_tx() const { return dp_ ? dp_->direct_tx() : nullptr; }

  // The session workers, as an app worker context names them.
  std::vector<caf::actor> session_worker_handles() const {
    std::vector<caf::actor> out;
    for (const auto& w : workers_) out.push_back(caf::actor_cast<caf::actor>(w));
    return out;
  }

  // `own`: see attach_with.
  void track_app_worker(const app_worker_actor& a, std::uint32_t index, const std::string& name, bool own) {
    track(a, actor_role::app_worker, index, name);
    if (own) caf::anon_send(inspector_, mailbox_atom_v, caf::actor_cast<caf::actor>(a));
  }

  // Runs on the attach registry's own thread (detached): a gateway stands
  // in for each app worker in the other process. The registry gives the
  // app's name (decoded, bounded) and checked a worker add's secret.
  result<remote_attach_reply> attach_remote(const app_protocol::attach_request& req,
                                            std::shared_ptr<shm::fd_channel> channel, const app_origin& origin) {
    if (req.join_secret != 0) return add_remote_worker(req, std::move(channel));
    app_options opts;
    opts.name = req.name;
    opts.workers = 1;
    opts.rx_fifo_size = req.rx_fifo_size;
    opts.tx_fifo_size = req.tx_fifo_size;
    opts.local_scope = req.local_scope;
    opts.global_scope = req.global_scope;
    auto events = app_event_queue::create("as-events-" + opts.name, event_queue_sizes());
    if (!events) return unexpected{events.error()};
    remote_gateway_actor gateway;
    auto app = attach_with(
        opts,
        [&](const app_worker_context& ctx, std::uint32_t) {
          gateway = spawn_remote_gateway(sys_, {ctx, root_, channel, *events, false, usage_of(ctx.app)});
          return caf::actor_cast<app_worker_actor>(gateway);
        },
        true, origin);
    if (!app) return unexpected{app.error()};
    // Before the reply: the app takes it as part of attaching.
    if (auto sent = (*events)->send_to(*channel); !sent) {
      (void)(*app)->detach();
      return unexpected{sent.error()};
    }
    log_line("remote app '" + opts.name + "' attached as app " + std::to_string((*app)->index()) + " (pid " +
             std::to_string(origin.pid) + ", uid " + std::to_string(origin.uid) + ")");
    return remote_attach_reply{(*app)->index(), (*app)->worker_index(0), n_workers_,
                               caf::actor_cast<caf::actor>(gateway)};
  }

  // The counts an attached app's gateways share against its quotas: made
  // with its first gateway, found again by a worker add, gone with the
  // last. Attaches and worker adds come one at a time (the attach
  // registry's turn), so the map needs no lock.
  std::shared_ptr<app_usage> usage_of(std::uint32_t app) {
    std::erase_if(usages_, [](const auto& kv) { return kv.second.expired(); });
    if (auto u = usages_[app].lock()) return u;
    auto u = std::make_shared<app_usage>(
        app, app_quotas{cfg_.quota_sessions, cfg_.quota_pending_connects, cfg_.quota_segment_bytes});
    usages_[app] = u;
    return u;
  }

  // Each attached app worker's io event queue (SPEC §8 lengths).
  shm::event_queue_config event_queue_sizes() const {
    return {cfg_.event_queue_length, effective_ctrl_queue_length(cfg_)};
  }

  // Worker add: one more gateway for an attached remote app (the registry
  // checked the app's secret; `req.name` is the app's). The root reserves
  // its index, then registers it, which fails if the app detached in
  // between.
  result<remote_attach_reply> add_remote_worker(const app_protocol::attach_request& req,
                                                std::shared_ptr<shm::fd_channel> channel) {
    if (stopped_) return unexpected{errc::invalid_argument, "the stack is stopped"};
    auto r = ask<app_reservation>(sys_, root_, add_worker_atom_v, req.join_app);
    if (!r) return unexpected{r.error()};
    auto events = app_event_queue::create("as-events-" + req.name, event_queue_sizes());
    if (!events) return unexpected{events.error()};
    remote_gateway_config gc{{r->first_worker, r->app, session_worker_handles(), {}, direct_tx()}, root_, channel, *events, true,
                             usage_of(r->app)};
    auto gateway = spawn_remote_gateway(sys_, std::move(gc));
    auto as_worker = caf::actor_cast<app_worker_actor>(gateway);
    track_app_worker(as_worker, r->first_worker, req.name, true);
    if (auto ok = ask<bool>(sys_, root_, add_worker_atom_v, r->app, r->first_worker, as_worker); !ok) {
      caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
      return unexpected{ok.error()};
    }
    if (auto sent = (*events)->send_to(*channel); !sent) {
      (void)ask<bool>(sys_, root_, del_worker_atom_v, r->app, r->first_worker);
      return unexpected{sent.error()};
    }
    log_line("remote app '" + req.name + "' added app worker " + std::to_string(r->first_worker));
    return remote_attach_reply{r->app, r->first_worker, n_workers_, caf::actor_cast<caf::actor>(gateway)};
  }

  // What answers actorstack-ctl, on the inspect port and on the Unix socket
  // (made with the first of them).
  inspect_service inspection() {
    if (!service_) {
      service_ = spawn_inspect_service(sys_, inspector_);
      track(service_, actor_role::service, 0, "actorstack-ctl");
    }
    return service_;
  }

  // Once another process can connect, CAF's middleman registers actors of
  // its own that process could name (registry_warden.hpp). Only in a
  // system the stack owns: an embedding program's registry is its own.
  void guard_registry() {
    if (owned_ && !warden_) warden_ = spawn_registry_warden(sys_, std::chrono::milliseconds{100});
  }

  struct tracked {
    caf::actor actor;
    actor_role role;
    std::uint32_t index;
    std::string name;
  };

  template <class Handle>
  void track(const Handle& h, actor_role role, std::uint32_t index, std::string name) {
    auto a = caf::actor_cast<caf::actor>(h);
    caf::anon_send(inspector_, watch_atom_v, a, role, index, name);
    std::lock_guard lock{actors_mu_};  // remote attaches run on their own thread
    actors_.push_back({std::move(a), role, index, std::move(name)});
  }

  std::unique_ptr<owned_system> owned_;  // first member: destroyed last
  caf::actor_system& sys_;
  stack_config cfg_;
  std::uint32_t n_workers_ = 1;
  stack_root_actor root_;
  std::vector<session_worker_actor> workers_;
  inspector_actor inspector_;
  inspect_service service_;
  inspect_service service_face_;  // its shield: all that is published with TLS (door_shield.hpp)
  std::unique_ptr<inspect_port_server> inspect_port_;  // the plain port
  caf::actor warden_;  // keeps the registry to shields once a port is open (owned systems only)
  std::shared_ptr<metrics::stack_collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // scrapes ask the inspector
  std::mutex actors_mu_;  // control only: track() from a remote attach vs stop()
  std::vector<tracked> actors_;
  std::unique_ptr<remote_app_server> remote_apps_;  // stopped first
  std::vector<std::unique_ptr<actor_doorbell>> bells_;  // outlive the data plane's cores
  std::unique_ptr<dataplane::core_host> core_host_;      // outlives the cores it runs
  std::unique_ptr<dataplane::dataplane> dp_;             // stopped before the workers go
  bool stopped_ = false;
  std::unordered_map<std::uint32_t, std::weak_ptr<app_usage>> usages_;  // by app (usage_of)
  std::shared_ptr<std::atomic<bool>> running_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace

result<std::unique_ptr<application>> attach_actors(stack& st, const app_options& opts,
                                                   app_actor_factory make_actor) {
  auto* impl = dynamic_cast<stack_impl*>(&st);
  if (impl == nullptr) return unexpected{errc::invalid_argument, "not a stack from stack::create"};
  return impl->attach_actors(opts, std::move(make_actor));
}

result<std::unique_ptr<stack>> stack::create(caf::actor_system& sys, const stack_config& cfg) {
  if (auto v = validate(cfg); !v) return unexpected{v.error()};
  auto dp = make_dataplane(cfg);
  if (!dp) return unexpected{dp.error()};
  auto impl = std::make_unique<stack_impl>(sys, cfg, nullptr, std::move(*dp));
  if (auto r = impl->start_dataplane(); !r) return unexpected{r.error()};
  return std::unique_ptr<stack>{std::move(impl)};
}

result<std::unique_ptr<stack>> stack::create(const stack_config& cfg) {
  if (auto v = validate(cfg); !v) return unexpected{v.error()};
  auto owned = std::make_unique<owned_system>();
  configure_scheduler(owned->cfg, cfg);
  // The middleman lets publish_inspector serve actorstack-ctl; it only
  // opens a socket when asked to.
  owned->cfg.load<caf::io::middleman>();
  // The middleman's utility actor scheduled, not on a thread of its own:
  // CAF 0.17 could deadlock at shutdown waiting for a detached actor's
  // thread (~actor_system in await_detached_threads; CAF issue #1196,
  // fixed only in 0.18). Seen here as a rare hang at the end of the
  // remote-apps tests under ASan.
  owned->cfg.set("middleman.attach-utility-actors", true);
  // The inspector over TLS (tls.*): CAF's OpenSSL module, files checked first.
  if (!cfg.tls_certificate.empty())
    if (auto tls = enable_tls(owned->cfg, {cfg.tls_certificate, cfg.tls_key, cfg.tls_ca}); !tls)
      return unexpected{tls.error()};
  // Apps in other processes exchange these types with the stack.
  add_actorstack_types(owned->cfg);
  owned->sys = std::make_unique<caf::actor_system>(owned->cfg);
  auto& ref = *owned->sys;
  // CAF's own utility actors (remote spawning, a config store) are in the
  // registry, so any node on the attach or inspect port could name them
  // (found by the registry test in test_remote_apps); the stack uses
  // neither. Out of the registry, only shields are left to name — and
  // what CAF puts there later, the warden takes out (registry_warden.hpp).
  forget_caf_utility_actors(ref);
  // After the actor system: EAL pins the calling thread, and threads
  // started later would inherit the pin (dataplane/eal.hpp).
  auto dp = make_dataplane(cfg);
  if (!dp) return unexpected{dp.error()};
  auto impl = std::make_unique<stack_impl>(ref, cfg, std::move(owned), std::move(*dp));
  if (auto r = impl->start_dataplane(); !r) return unexpected{r.error()};
  return std::unique_ptr<stack>{std::move(impl)};
}

}  // namespace actorstack
