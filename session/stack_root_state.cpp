#include "session/stack_root_state.hpp"

#include <algorithm>

namespace actorstack::session_layer {

stack_root_state::stack_root_state(stack_config cfg, root_effects& effects)
    : cfg_(std::move(cfg)), fx_(effects) {}

// ---- the application registry ----------------------------------------------

result<app_reservation> stack_root_state::reserve_app(const app_options& opts, app_origin origin) {
  if (opts.workers == 0 || opts.workers > max_app_workers)
    return unexpected{errc::invalid_argument, "app workers must be 1..64"};
  // 0 takes the stack's size; anything else within the bounds every fifo
  // obeys (config.hpp).
  const auto bad_size = [&](std::uint32_t size) {
    return size != 0 && (size < 4096 || size > cfg_.max_fifo_size);
  };
  if (bad_size(opts.rx_fifo_size) || bad_size(opts.tx_fifo_size))
    return unexpected{errc::invalid_argument, "app fifo sizes must be 4096..session.max-fifo-size (or 0)"};
  app_reservation r;
  r.app = static_cast<std::uint32_t>(apps_.size());
  r.first_worker = next_app_worker_;
  next_app_worker_ += opts.workers;
  app_record rec{opts, origin, r.first_worker, {}, true};
  if (rec.opts.rx_fifo_size == 0) rec.opts.rx_fifo_size = cfg_.rx_fifo_size;
  if (rec.opts.tx_fifo_size == 0) rec.opts.tx_fifo_size = cfg_.tx_fifo_size;
  apps_.push_back(std::move(rec));
  app_of_worker_.resize(next_app_worker_, r.app);
  return r;
}

result<std::uint32_t> stack_root_state::add_app_workers(std::uint32_t app, std::uint32_t count) {
  if (!live_app(app) || count > apps_[app].opts.workers || !apps_[app].workers.empty())
    return unexpected{errc::no_such_app, "no such app"};
  auto& rec = apps_[app];
  for (std::uint32_t i = 0; i < count; ++i) rec.workers.insert(rec.first_worker + i);
  return rec.first_worker;
}

result<app_reservation> stack_root_state::reserve_worker(std::uint32_t app) {
  if (!live_app(app)) return unexpected{errc::no_such_app, "no such app"};
  if (apps_[app].workers.size() >= max_app_workers)
    return unexpected{errc::invalid_argument, "app workers must be 1..64"};
  app_reservation r{app, next_app_worker_++};
  app_of_worker_.push_back(app);
  return r;
}

result<void> stack_root_state::add_worker(std::uint32_t app, std::uint32_t index) {
  // Detached in between: the caller stops the worker it made.
  if (!live_app(app) || index >= app_of_worker_.size() || app_of_worker_[index] != app ||
      index < apps_[app].first_worker + apps_[app].opts.workers || apps_[app].workers.count(index) > 0)
    return unexpected{errc::no_such_app, "no such app"};
  apps_[app].workers.insert(index);
  return {};
}

result<void> stack_root_state::del_worker(std::uint32_t app, std::uint32_t index) {
  if (!live_app(app)) return unexpected{errc::no_such_app, "no such app"};
  auto& rec = apps_[app];
  if (rec.workers.count(index) == 0) return unexpected{errc::invalid_argument, "not a worker of this app"};
  if (rec.workers.size() == 1)
    return unexpected{errc::invalid_argument, "an app's last worker goes with detach"};
  leave_all(index);
  rec.workers.erase(index);
  drop_worker(index);
  return {};
}

result<void> stack_root_state::detach(std::uint32_t app) {
  if (app >= apps_.size()) return unexpected{errc::no_such_app, "no such app"};
  // Already detached is done: the app's workers stop first, and their end
  // detaches it on their behalf (app_worker_down).
  (void)detach_app(app);
  return {};
}

std::optional<app_detached> stack_root_state::app_worker_down(std::uint32_t app_worker) {
  if (!is_live(app_worker)) return std::nullopt;  // deleted, or its app detached first
  const std::uint32_t app = app_of_worker_[app_worker];
  std::string name = apps_[app].opts.name;
  auto listeners = detach_app(app);
  if (!listeners) return std::nullopt;
  return app_detached{std::move(name), *listeners};
}

bool stack_root_state::is_live(std::uint32_t app_worker) const noexcept {
  if (app_worker >= app_of_worker_.size()) return false;
  const auto& rec = apps_[app_of_worker_[app_worker]];
  return rec.live && rec.workers.count(app_worker) > 0;
}

const app_options* stack_root_state::options_of_worker(std::uint32_t app_worker) const noexcept {
  if (app_worker >= app_of_worker_.size()) return nullptr;
  return &apps_[app_of_worker_[app_worker]].opts;
}

void stack_root_state::drop_worker(std::uint32_t index) {
  fx_.app_worker_dropped(index);
  retire_contexts_of(index);
}

std::optional<std::size_t> stack_root_state::detach_app(std::uint32_t app) {
  if (!live_app(app)) return std::nullopt;
  auto& rec = apps_[app];
  // Its listeners go, unless another app shares one (SO_REUSEPORT): the
  // app's workers leave that one, which stays with the other app's.
  std::size_t removed = 0;
  for (const auto& l : tables_.listeners()) {
    if (!shared_with_another_app(l.ref.listener, app)) {
      if (l.ref.app_index == app) remove_listener(l), ++removed;
      continue;
    }
    leave_app_part(l.ref.listener, app);
  }
  tables_.del_app(app);
  rec.live = false;
  const auto workers = std::move(rec.workers);
  rec.workers.clear();
  for (std::uint32_t index : workers) drop_worker(index);
  return removed;
}

// ---- listeners -------------------------------------------------------------

std::optional<lookup::listener_entry> stack_root_state::listener_entry_of(session_handle listener) const {
  for (const auto& l : tables_.listeners())
    if (l.ref.listener == listener) return l;
  return std::nullopt;
}

// Another app's workers accept on `listener` too (SO_REUSEPORT).
bool stack_root_state::shared_with_another_app(session_handle listener, std::uint32_t app) const {
  auto it = shares_.find(listener.value());
  if (it == shares_.end()) return false;
  return std::any_of(it->second.accepting.begin(), it->second.accepting.end(),
                     [&](std::uint32_t w) { return app_of_worker_[w] != app; });
}

// App `app`'s workers leave `listener`, which another app shares: each
// leave may hand the listener's session (and its table entry) over, so the
// entry is looked up afresh for each.
void stack_root_state::leave_app_part(session_handle listener, std::uint32_t app) {
  auto it = shares_.find(listener.value());
  if (it == shares_.end()) return;
  const auto accepting = it->second.accepting;  // leave_listener edits it
  for (std::uint32_t w : accepting)
    if (app_of_worker_[w] == app)
      if (auto now = listener_entry_of(listener)) (void)leave_listener(*now, w);
}

// App worker `app_worker` leaves every listener it accepts on.
void stack_root_state::leave_all(std::uint32_t app_worker) {
  std::vector<session_handle> on;
  for (const auto& [h, share] : shares_)
    if (std::find(share.accepting.begin(), share.accepting.end(), app_worker) != share.accepting.end())
      on.push_back(session_handle::from_value(h));
  for (auto h : on)
    if (auto l = listener_entry_of(h)) (void)leave_listener(*l, app_worker);
}

void stack_root_state::remove_listener(const lookup::listener_entry& l) {
  (void)tables_.del_listener(l.ns, l.local, l.scope);
  --listener_count_;
  if (l.ref.app_index < apps_.size()) --apps_[l.ref.app_index].listeners;
  shares_.erase(l.ref.listener.value());
  fx_.close_listener(l.ref.listener);
}

// App worker `app_worker` stops accepting on listener `l`. The last one
// takes the listener with it; otherwise, if it owned the listener's
// session, another one takes that over first (its going would end it).
// False: it was not accepting there.
bool stack_root_state::leave_listener(const lookup::listener_entry& l, std::uint32_t app_worker) {
  auto it = shares_.find(l.ref.listener.value());
  if (it == shares_.end()) return false;
  auto& share = it->second;
  auto at = std::find(share.accepting.begin(), share.accepting.end(), app_worker);
  if (at == share.accepting.end()) return false;
  share.accepting.erase(at);
  if (share.accepting.empty()) {
    remove_listener(l);
    return true;
  }
  if (share.owner == app_worker) {
    share.owner = share.accepting.front();
    fx_.move_listener(l.ref.listener, share.owner);
    // Shared with another app (SO_REUSEPORT): the listener is that app's now.
    const std::uint32_t app = app_of_worker_[share.owner];
    if (app != l.ref.app_index) {
      (void)tables_.del_listener(l.ns, l.local, l.scope);
      (void)tables_.add_listener(l.ns, l.local, {l.ref.listener, app}, l.scope);
      if (l.ref.app_index < apps_.size()) --apps_[l.ref.app_index].listeners;
      ++apps_[app].listeners;
    }
  }
  tell_members(l.local, l.ref.listener, share);
  return true;
}

void stack_root_state::tell_members(const endpoint& local, session_handle listener, const listener_share& share) {
  if (local.proto == transport_proto::tcp && has_dataplane()) fx_.listener_members(listener, share.accepting);
}

result<std::optional<session_handle>> stack_root_state::listen(std::uint32_t app, std::uint32_t app_worker,
                                                               const endpoint& ep, bool whole_app, bool reuse_port) {
  if (!live_app(app) || session_workers_ == 0 || !is_live(app_worker) || app_of_worker_[app_worker] != app)
    return unexpected{errc::no_such_app, "no such app"};
  const auto& opts = apps_[app].opts;
  const lookup::scope_flags scope{opts.local_scope, opts.global_scope};
  auto found = tables_.find_listener(opts.ns, ep, scope);
  if (!found) {
    if (apps_[app].listeners >= cfg_.quota_listeners) {
      ++apps_[app].quota_refusals;
      return unexpected{errc::quota, "the app holds quota.listeners listeners"};
    }
    return std::optional<session_handle>{};
  }
  // Shared: stream listeners (cut-through and tcp). A tcp one's
  // connections from the wire go to its app workers in turn too: the
  // cores carve each one's fifos from that app worker's segment.
  const bool sharable = ep.proto == transport_proto::ct || ep.proto == transport_proto::tcp;
  auto share = shares_.find(found->listener.value());
  if (whole_app || !sharable || share == shares_.end())
    return unexpected{errc::already_listening, "an app listens there already"};
  // Another app: only if both said SO_REUSEPORT and both are the same
  // user's (Linux's rule), as Linux spreads connections over such sockets.
  if (found->app_index != app &&
      (!reuse_port || !share->second.reuse_port || share->second.uid != apps_[app].origin.uid))
    return unexpected{errc::already_listening, "another app listens there already"};
  auto& accepting = share->second.accepting;
  if (std::find(accepting.begin(), accepting.end(), app_worker) != accepting.end())
    return unexpected{errc::already_listening, "an app listens there already"};
  accepting.push_back(app_worker);
  tell_members(ep, found->listener, share->second);
  return std::optional<session_handle>{found->listener};
}

result<void> stack_root_state::listened(std::uint32_t app, std::uint32_t app_worker, const endpoint& ep,
                                        bool whole_app, session_handle h, bool reuse_port) {
  // The app may have detached while the listener session was made: the
  // detach reached session worker 0 after the listen, and reset that
  // session with the app worker's other ones.
  if (!live_app(app)) return unexpected{errc::no_such_app, "no such app"};
  const auto& opts = apps_[app].opts;
  const lookup::scope_flags scope{opts.local_scope, opts.global_scope};
  if (auto r = tables_.add_listener(opts.ns, ep, {h, app}, scope); !r) {
    fx_.close_listener(h);  // another listen got there while this one was on its way
    return r;
  }
  ++listener_count_;
  ++apps_[app].listeners;
  listener_share share{app_worker, {app_worker}, 0, reuse_port, apps_[app].origin.uid};
  if (whole_app) share.accepting.assign(apps_[app].workers.begin(), apps_[app].workers.end());
  const auto& kept = shares_[h.value()] = std::move(share);
  if (kept.accepting.size() > 1) tell_members(ep, h, kept);
  return {};
}

result<void> stack_root_state::stop_listen(std::uint32_t app, session_handle listener, std::uint32_t app_worker,
                                           bool whole_app) {
  auto l = listener_entry_of(listener);
  if (!l || shares_.count(listener.value()) == 0) return unexpected{errc::no_listener, "no such listener"};
  if (whole_app) {
    if (l->ref.app_index != app) return unexpected{errc::no_listener, "no such listener"};
    if (!shared_with_another_app(listener, app)) {
      remove_listener(*l);
      return {};
    }
    leave_app_part(listener, app);  // the listener stays for the other app
    return {};
  }
  if (app_worker >= app_of_worker_.size() || app_of_worker_[app_worker] != app)
    return unexpected{errc::no_listener, "no such listener"};
  if (leave_listener(*l, app_worker)) return {};
  return unexpected{errc::no_listener, "no such listener"};
}

// ---- connects --------------------------------------------------------------

// A connect that cannot go on. An asynchronous one hears it like any other
// outcome (a failed "connected", to its own app worker); a blocking one
// gets the error as its answer.
result<void> stack_root_state::refuse_connect(const connect_request& req, const error& why) {
  if (!req.report_to_app) return unexpected{why};
  if (is_live(req.app_worker)) fx_.connect_failed(req.app_worker, req.opaque, why.code);
  return {};
}

result<void> stack_root_state::connect(const connect_request& req) {
  if (req.app >= apps_.size()) return unexpected{errc::no_such_app, "no such app"};
  const auto& opts = apps_[req.app].opts;
  // UDP goes to the network (the data plane): there is no datagram
  // cut-through, so the local tables are not asked.
  if (req.remote.proto == transport_proto::udp) {
    if (!opts.global_scope)
      return refuse_connect(req, error{errc::scope, 0, "application lacks global scope for udp"});
    if (!has_dataplane())
      return refuse_connect(req, error{errc::not_supported, 0, "this stack has no data plane (dataplane.port)"});
    fx_.net_connect(next_net_worker_++ % session_workers_, req.app_worker, req.remote, req.opaque, req.local_port);
    return {};
  }
  auto target = tables_.resolve_connect(opts.ns, req.app, {opts.local_scope, opts.global_scope}, req.remote);
  // SPEC-TCP 9.4: tcp goes cut-through where §6 finds a listener on this
  // stack, else out on the wire. A wildcard listener stands for this
  // stack's own addresses only: a connect to another host's port 80 is
  // not caught by a local 0.0.0.0:80.
  if (req.remote.proto == transport_proto::tcp && has_dataplane() &&
      (target ? (is_wildcard_listener(target->listener) && !is_ours(req.remote.ip))
              : target.error().code == errc::local_connect)) {
    if (!opts.global_scope)
      return refuse_connect(req, error{errc::scope, 0, "application lacks global scope for tcp"});
    fx_.net_connect(next_net_worker_++ % session_workers_, req.app_worker, req.remote, req.opaque, req.local_port);
    return {};
  }
  if (!target) return refuse_connect(req, target.error());
  auto share = shares_.find(target->listener.value());
  if (share == shares_.end() || share->second.accepting.empty())
    return unexpected{errc::no_such_app, "no such app"};
  ct::pending_connect pc;
  pc.client_app_worker = req.app_worker;
  pc.opaque = req.opaque;
  pc.remote = req.remote;
  pc.listener = target->listener;
  pc.local_port = req.local_port;
  pc.server_app_worker = next_accepting(share->second, req.app);
  pc.context = context_for(pc.client_app_worker, pc.server_app_worker);
  retire_if_orphaned(pc.client_app_worker, pc.server_app_worker);
  fx_.ct_connect(pc);
  return {};
}

// The listener's next app worker in turn, passing over those of the
// connecting app (SPEC 6: an app never reaches itself by cut-through; a
// listener shared with another app may have both among its workers).
std::uint32_t stack_root_state::next_accepting(listener_share& share, std::uint32_t client_app) const {
  const auto& accepting = share.accepting;
  for (std::size_t tries = 0; tries < accepting.size(); ++tries) {
    const std::uint32_t w = accepting[share.next++ % accepting.size()];
    if (w >= app_of_worker_.size() || app_of_worker_[w] != client_app) return w;
  }
  return accepting[share.next++ % accepting.size()];
}

bool stack_root_state::has_dataplane() const noexcept { return !cfg_.dataplane_port.empty() && session_workers_ > 0; }

bool stack_root_state::is_ours(const ip_address& ip) const {
  if (ip.is_loopback() || ip.is_any()) return true;
  const std::string_view text = cfg_.dataplane_ip;
  auto ours = ip_address::parse(text.substr(0, text.find('/')));
  return ours && *ours == ip;
}

bool stack_root_state::is_wildcard_listener(session_handle listener) const {
  for (const auto& l : tables_.listeners())
    if (l.ref.listener == listener) return l.local.ip.is_any();
  return false;
}

// ---- cut-through segment contexts ------------------------------------------

std::uint32_t stack_root_state::context_for(std::uint32_t client_app_worker, std::uint32_t server_app_worker) {
  const std::uint32_t server_app =
      server_app_worker < app_of_worker_.size() ? app_of_worker_[server_app_worker] : 0;
  const context_key key{server_app, client_app_worker, server_app_worker};
  if (auto it = context_of_.find(key); it != context_of_.end()) return it->second;
  const std::uint32_t id = next_context_++;
  context_of_[key] = id;
  fx_.context_created(id, client_app_worker, server_app_worker);
  return id;
}

// App worker `app_worker` is gone: no new pair will be asked of its
// contexts (as client or server). They retire — each ends once its last
// segment is deleted — and a connect still on its way makes a fresh one.
void stack_root_state::retire_contexts_of(std::uint32_t app_worker) {
  for (auto it = context_of_.begin(); it != context_of_.end();) {
    const auto& [server_app, client, server] = it->first;
    (void)server_app;
    if (client != app_worker && server != app_worker) {
      ++it;
      continue;
    }
    fx_.context_retired(it->second);
    it = context_of_.erase(it);
  }
}

void stack_root_state::retire_if_orphaned(std::uint32_t client_app_worker, std::uint32_t server_app_worker) {
  for (std::uint32_t w : {client_app_worker, server_app_worker})
    if (!is_live(w)) retire_contexts_of(w);
}

void stack_root_state::forget_context(std::uint32_t id) {
  for (auto k = context_of_.begin(); k != context_of_.end();)
    k = k->second == id ? context_of_.erase(k) : std::next(k);
}

void stack_root_state::shm_violation(std::uint32_t app_worker) noexcept {
  if (app_worker < app_of_worker_.size() && app_of_worker_[app_worker] < apps_.size())
    ++apps_[app_of_worker_[app_worker]].shm_violations;
}

void stack_root_state::quota_refused(std::uint32_t app) noexcept {
  if (app < apps_.size()) ++apps_[app].quota_refusals;
}

// ---- inspection ------------------------------------------------------------

std::vector<app_row> stack_root_state::apps() const {
  std::vector<app_row> out;
  for (std::uint32_t i = 0; i < apps_.size(); ++i) {
    const auto& a = apps_[i];
    app_row row{i,           a.opts.name,     {},          a.live,           a.opts.local_scope, a.opts.global_scope,
                a.opts.ns,   a.origin.pid,    a.origin.uid, a.origin.attached, a.quota_refusals,
                a.shm_violations};
    row.app_workers.assign(a.workers.begin(), a.workers.end());
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<listener_row> stack_root_state::listeners() const {
  std::vector<listener_row> out;
  for (const auto& l : tables_.listeners()) {
    listener_row row;
    row.app = l.ref.app_index;
    row.app_name = l.ref.app_index < apps_.size() ? apps_[l.ref.app_index].opts.name : "";
    row.endpoint = l.local.to_string();
    row.scope = l.scope.local && l.scope.global ? "local+global" : l.scope.local ? "local" : "global";
    row.ns = l.ns;
    row.handle = l.ref.listener.value();
    out.push_back(std::move(row));
  }
  return out;
}

std::uint64_t stack_root_state::live_apps() const noexcept {
  return static_cast<std::uint64_t>(std::count_if(apps_.begin(), apps_.end(), [](const auto& a) { return a.live; }));
}

}  // namespace actorstack::session_layer
