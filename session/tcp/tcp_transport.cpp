#include "session/tcp/tcp_transport.hpp"

#include <algorithm>

namespace actorstack::tcp {

using session_layer::session;
using dataplane::command;
using dataplane::command_kind;
using dataplane::event;
using dataplane::event_kind;

namespace {

std::string text(const endpoint& e) { return e.ip.to_string() + ":" + std::to_string(e.port); }

endpoint v4_endpoint(std::uint32_t ip, std::uint16_t port) {
  return endpoint{transport_proto::tcp, ip_address::v4(ip), port};
}

}  // namespace

tcp_transport::tcp_transport(session_layer::session_worker_state& sessions, std::vector<net::core_link> cores,
                             net::app_segments& segments, tcp_worker_config cfg)
    : sessions_(sessions), cores_(std::move(cores)), segments_(segments), cfg_(cfg), by_engine_(cores_.size()) {
  sessions_.set_fifo_provider(transport_proto::tcp, this);
}

tcp_transport::~tcp_transport() {
  // A core may still write an answer it was asked for: its box outlives
  // this worker rather than be written after it is freed (a stack that
  // stops while a TCP_INFO is on its way; a few bytes each).
  for (auto& [cookie, q] : info_queries_) (void)q.out.release();
}

// ---------------------------------------------------------------------------
// bookkeeping

std::uint32_t tcp_transport::alloc_conn() {
  const std::uint32_t id = conns_.alloc();
  conns_[id].in_use = true;
  return id;
}

void tcp_transport::free_conn(std::uint32_t id) { conns_.free(id); }

std::optional<std::uint32_t> tcp_transport::conn_of(std::uint32_t core, const event& ev) const {
  if (core >= by_engine_.size() || ev.id >= by_engine_[core].size()) return std::nullopt;
  const std::uint32_t slot = by_engine_[core][ev.id];
  if (slot == 0) return std::nullopt;
  const conn& c = conns_[slot - 1];
  if (!c.in_use || c.generation != ev.generation) return std::nullopt;
  return slot - 1;
}

void tcp_transport::set_engine_index(std::uint32_t core, std::uint32_t index, std::uint32_t value) {
  if (core >= by_engine_.size()) return;
  auto& table = by_engine_[core];
  if (value == 0 && index >= table.size()) return;
  table.grow_to(std::size_t{index} + 1);
  table[index] = value;
}

endpoint_pair tcp_transport::ends_of(const conn& c) const {
  return {v4_endpoint(cfg_.local_ip, c.local_port), v4_endpoint(c.remote_ip, c.remote_port)};
}

std::uint64_t tcp_transport::next_cookie() noexcept {
  // Unique among every worker's listeners and connects on a core.
  return std::uint64_t{cfg_.worker} << 40 | ++cookie_seq_;
}

void tcp_transport::send_conn(const conn& c, command_kind k, bool nodelay) {
  command cmd;
  cmd.kind = k;
  cmd.worker = cfg_.worker;
  cmd.tcp.conn = c.engine_index;
  cmd.tcp.generation = c.generation;
  cmd.tcp.nodelay = nodelay;
  commands_.send(c.core, cmd);
}

void tcp_transport::send_connect(std::uint64_t cookie, const pending_connect& pc) {
  auto seg = segments_.segment_of(pc.app_worker);
  if (!seg) return;  // made when the connect began; it is held
  const session_layer::fifo_sizes sizes = segments_.sizes_of(pc.app_worker);
  command cmd;
  cmd.kind = command_kind::tcp_connect;
  cmd.worker = cfg_.worker;
  cmd.tcp.local_ip = cfg_.local_ip;
  cmd.tcp.remote_ip = pc.remote.ip.v4_host_order();
  cmd.tcp.local_port = pc.local_port;
  cmd.tcp.remote_port = pc.remote.port;
  cmd.tcp.cookie = cookie;
  cmd.tcp.fifos_from = *seg;
  cmd.tcp.rx_fifo_size = sizes.rx;
  cmd.tcp.tx_fifo_size = sizes.tx;
  commands_.send(pc.core, cmd);
}

// ---------------------------------------------------------------------------
// transport

result<std::uint32_t> tcp_transport::start_listen(session_handle listener_session, const endpoint& local) {
  session* s = sessions_.get(listener_session);
  if (s == nullptr) return unexpected{errc::invalid_session, "no listener session"};
  auto index = open_listener(listener_session, s->app_worker, local, false);
  if (!index) return unexpected{index.error()};
  return *index;
}

result<void> tcp_transport::mirror_listen(session_handle owner, std::uint32_t app_worker, const endpoint& local) {
  if (served_cores() == 0) return {};  // no core reports here: nothing to take
  if (gone_app_workers_.count(app_worker) != 0) return unexpected{errc::no_such_app, "the app worker is gone"};
  auto index = open_listener(owner, app_worker, local, true);
  if (!index) return unexpected{index.error()};
  return {};
}

bool tcp_transport::live_mirror(std::uint32_t i) const noexcept {
  return listeners_[i].in_use && listeners_[i].mirror && !listeners_[i].stopping;
}

bool tcp_transport::live_member(std::uint32_t i) const noexcept {
  return listeners_[i].in_use && listeners_[i].member && !listeners_[i].stopping;
}

std::optional<std::uint32_t> tcp_transport::anchor_of(session_handle owner) const noexcept {
  for (std::uint32_t i = 0; i < listeners_.size(); ++i) {
    const listener& l = listeners_[i];
    if (l.in_use && !l.stopping && !l.member && l.session == owner) return i;
  }
  return std::nullopt;
}

void tcp_transport::stop_members(session_handle owner) {
  for (std::uint32_t i = 0; i < listeners_.size(); ++i)
    if (live_member(i) && listeners_[i].session == owner) unlisten_cores(i, false);
}

void tcp_transport::set_members(session_handle owner, const std::vector<std::uint32_t>& app_workers) {
  const auto anchor = anchor_of(owner);
  if (!anchor) return;  // not listening here (any more)
  const listener a = listeners_[*anchor];
  auto wanted = [&](std::uint32_t w) {
    return w != a.app_worker && gone_app_workers_.count(w) == 0 &&
           std::find(app_workers.begin(), app_workers.end(), w) != app_workers.end();
  };
  std::vector<std::uint32_t> have;
  for (std::uint32_t i = 0; i < listeners_.size(); ++i) {
    if (!live_member(i) || listeners_[i].session != owner) continue;
    if (wanted(listeners_[i].app_worker)) have.push_back(listeners_[i].app_worker);
    else unlisten_cores(i, false);
  }
  for (std::uint32_t w : app_workers)
    if (wanted(w) && std::find(have.begin(), have.end(), w) == have.end()) {
      have.push_back(w);
      // A segment that cannot be made leaves that app worker without the
      // wire's connections; the others (and its cut-through ones) go on.
      (void)open_listener(owner, w, a.local, false, true);
    }
  if (!a.mirror && members_changed_) members_changed_(owner, app_workers);
}

std::optional<std::uint32_t> tcp_transport::mirror_of(session_handle owner) const noexcept {
  for (std::uint32_t i = 0; i < listeners_.size(); ++i)
    if (live_mirror(i) && listeners_[i].session == owner) return i;
  return std::nullopt;
}

void tcp_transport::stop_mirror(session_handle owner) {
  if (auto i = mirror_of(owner)) (void)stop_listen(*i);
}

std::uint32_t tcp_transport::served_cores() const noexcept {
  std::uint32_t n = 0;
  for (std::uint32_t core = 0; core < cores(); ++core) n += serves(core) ? 1 : 0;
  return n;
}

result<std::uint32_t> tcp_transport::open_listener(session_handle listener_session, std::uint32_t app_worker,
                                                   const endpoint& local, bool mirror, bool member) {
  if (!local.ip.is_v4()) return unexpected{errc::not_supported, "tcp over IPv6 is not supported yet"};
  if (!local.ip.is_any() && local.ip.v4_host_order() != cfg_.local_ip)
    return unexpected{errc::no_route, "not an address of this stack's data plane"};
  if (local.port == 0) return unexpected{errc::invalid_argument, "a tcp listener needs a port"};
  auto seg = segments_.segment_of(app_worker);
  if (!seg) return unexpected{seg.error()};
  const session_layer::fifo_sizes sizes = segments_.sizes_of(app_worker);
  std::uint32_t index = 0;
  while (index < listeners_.size() && listeners_[index].in_use) ++index;
  if (index == listeners_.size()) listeners_.emplace_back();
  listener& l = listeners_[index];
  l = listener{true, false, mirror, member, listener_session, app_worker, next_cookie(), local, 0};
  listener_of_cookie_[l.cookie] = index;
  if (!mirror && !member) ++listeners_live_;
  command cmd;
  cmd.kind = command_kind::tcp_listen;
  cmd.worker = cfg_.worker;
  cmd.tcp.local_ip = local.ip.v4_host_order();
  cmd.tcp.local_port = local.port;
  cmd.tcp.cookie = l.cookie;
  cmd.tcp.group = listener_session.value();
  cmd.tcp.fifos_from = *seg;
  cmd.tcp.rx_fifo_size = sizes.rx;
  cmd.tcp.tx_fifo_size = sizes.tx;
  // A SYN may arrive on any queue (SPEC-TCP 1.2): every core listens, each
  // told by its home worker, so that the connections it makes (and their
  // sessions) live there (SPEC-TCP 1.1). Each core may carve from the
  // segment until it confirms the unlisten.
  for (std::uint32_t core = 0; core < cores(); ++core)
    if (serves(core)) {
      segments_.hold(app_worker);
      commands_.send(core, cmd);
    }
  return index;
}

result<void> tcp_transport::stop_listen(std::uint32_t index) {
  if (index >= listeners_.size() || !listeners_[index].in_use || listeners_[index].stopping)
    return unexpected{errc::no_listener};
  const listener l = listeners_[index];
  unlisten_cores(index, true);
  if (!l.member) stop_members(l.session);
  return {};
}

result<std::uint32_t> tcp_transport::listener_moved(std::uint32_t index, std::uint32_t app_worker) {
  if (index >= listeners_.size() || !listeners_[index].in_use || listeners_[index].stopping)
    return unexpected{errc::no_listener};
  const listener old = listeners_[index];
  if (old.app_worker == app_worker) return index;
  // The unlisten first: the listen after it, on the same rings, finds the
  // address free again.
  unlisten_cores(index, false);
  auto fresh = open_listener(old.session, app_worker, old.local, old.mirror);
  if (!fresh) {
    // The listener is gone (its session goes when the app closes it):
    // the other workers' mirrors go too.
    if (!old.mirror && listener_stopped_) listener_stopped_(old.session);
    return unexpected{fresh.error()};
  }
  if (!old.mirror && listener_moved_) listener_moved_(old.session, app_worker);
  return *fresh;
}

void tcp_transport::move_mirror(session_handle owner, std::uint32_t app_worker) {
  if (auto i = mirror_of(owner)) (void)listener_moved(*i, app_worker);
}

void tcp_transport::unlisten_cores(std::uint32_t index, bool tell) {
  listener& l = listeners_[index];
  l.stopping = true;
  l.acks_due = served_cores();
  command cmd;
  cmd.kind = command_kind::tcp_unlisten;
  cmd.worker = cfg_.worker;
  cmd.tcp.local_ip = l.local.ip.v4_host_order();
  cmd.tcp.local_port = l.local.port;
  cmd.tcp.cookie = l.cookie;
  for (std::uint32_t core = 0; core < cores(); ++core)
    if (serves(core)) commands_.send(core, cmd);
  if (!l.mirror && !l.member) {
    --listeners_live_;
    if (tell && listener_stopped_) listener_stopped_(l.session);  // the other workers stop their mirrors
  }
}

result<std::uint32_t> tcp_transport::connect(const session_layer::connect_args& args) {
  const endpoint& r = args.remote;
  if (!r.ip.is_v4()) return unexpected{errc::not_supported, "tcp over IPv6 is not supported yet"};
  if (r.ip.is_any() || r.port == 0) return unexpected{errc::invalid_argument, "a tcp connect needs an address and a port"};
  if (!segments_.segment_of(args.app_worker)) return unexpected{errc::segment_alloc, "no segment for the app's fifos"};
  pending_connect pc;
  pc.app_worker = args.app_worker;
  pc.opaque = args.opaque;
  pc.remote = r;
  if (args.local_port != 0) {
    // The app's port: the connection lives on the core that port names
    // (SPEC-TCP 1.2), whichever worker asked; its events still come here.
    pc.local_port = args.local_port;
    pc.core = args.local_port % cores();
  } else {
    // This worker's home core; it picks a port among those it owns
    // (engine::connect: every port of the range toward each destination).
    pc.core = cfg_.worker % cores();
  }
  const std::uint64_t cookie = next_cookie();
  connects_[cookie] = pc;
  segments_.hold(args.app_worker);  // the core carves the pair from it on ESTABLISHED
  send_connect(cookie, pc);
  return static_cast<std::uint32_t>(cookie);
}

void tcp_transport::close(std::uint32_t id, std::uint32_t) {
  if (id >= conns_.size() || !conns_[id].in_use) return;
  conn& c = conns_[id];
  if (c.core_done || c.close_sent) return;
  c.close_sent = true;
  send_conn(c, command_kind::tcp_close);
}

void tcp_transport::shutdown(std::uint32_t id, std::uint32_t) {
  if (id >= conns_.size() || !conns_[id].in_use) return;
  conn& c = conns_[id];
  if (c.core_done || c.close_sent || c.shutdown_sent) return;
  c.shutdown_sent = true;
  send_conn(c, command_kind::tcp_shutdown);
}

void tcp_transport::reset(std::uint32_t id, std::uint32_t) {
  if (id >= conns_.size() || !conns_[id].in_use) return;
  conn& c = conns_[id];
  if (c.core_done) return;
  // An abort after a close still cuts the orderly close short (SPEC 2.5).
  c.close_sent = true;
  send_conn(c, command_kind::tcp_abort);
}

void tcp_transport::cleanup(std::uint32_t id, std::uint32_t worker) { reset(id, worker); }

void tcp_transport::custom_tx(session& s) {
  if (s.connection >= conns_.size()) return;
  const conn& c = conns_[s.connection];
  if (!c.in_use || c.session != s.handle || c.core_done) return;
  send_conn(c, command_kind::tcp_sent, cfg_.nodelay);
}

// The core names the connection by the engine's index and generation, as
// in tcp_sent; it ignores a notice for a connection that has since ended.
// Asked while the accept or connected notification is made, inside
// on_established: the connection learns its session's handle only when
// that returns, so an unnamed one is the session's being made.
tx_route tcp_transport::direct_tx_route(const session& s) const {
  if (s.connection >= conns_.size()) return {};
  const conn& c = conns_[s.connection];
  if (!c.in_use || c.core_done || c.session_gone || (c.session.valid() && c.session != s.handle)) return {};
  tx_route r;
  r.valid = true;
  r.nodelay = cfg_.nodelay;
  // Bytes arrived may skip this worker unless the app's fifo-tuning
  // callback must hear of each enqueue (enqueue_notify).
  r.rx = !s.has(session_layer::flag_custom_fifo_tuning);
  r.core = c.core;
  r.conn = c.engine_index;
  r.generation = c.generation;
  return r;
}

void tcp_transport::query_info(const session& s, std::function<void(result<tcp_conn_info>)> done) {
  const bool ours = s.connection < conns_.size() && conns_[s.connection].in_use &&
                    conns_[s.connection].session == s.handle && !conns_[s.connection].core_done;
  if (!ours) {
    done(unexpected{errc::invalid_session, "the connection is closed"});
    return;
  }
  const conn& c = conns_[s.connection];
  const std::uint64_t cookie = next_cookie();
  auto& q = info_queries_[cookie];
  q.out = std::make_unique<tcp_conn_info>();
  q.done = std::move(done);
  command cmd;
  cmd.kind = command_kind::tcp_info;
  cmd.worker = cfg_.worker;
  cmd.tcp.conn = c.engine_index;
  cmd.tcp.generation = c.generation;
  cmd.tcp.cookie = cookie;
  cmd.tcp.info_out = q.out.get();
  commands_.send(c.core, cmd);
}

void tcp_transport::on_info(const event& ev) {
  auto it = info_queries_.find(ev.session);
  if (it == info_queries_.end()) return;
  info_query q = std::move(it->second);
  info_queries_.erase(it);
  if (ev.error != errc::none) q.done(unexpected{ev.error, "the connection is closed"});
  else q.done(*q.out);
}

void tcp_transport::app_rx_evt(session& s) {
  if (s.connection >= conns_.size()) return;
  const conn& c = conns_[s.connection];
  if (!c.in_use || c.session != s.handle || c.core_done) return;
  send_conn(c, command_kind::tcp_read);
}

std::string tcp_transport::format(std::uint32_t id, std::uint32_t worker) const {
  if (id >= conns_.size() || !conns_[id].in_use) return {};
  const conn& c = conns_[id];
  if (c.session_gone || sessions_.get(c.session) == nullptr) return {};
  const endpoint_pair ends = ends_of(c);
  std::string out = "[" + std::to_string(worker) + ":" + std::to_string(c.session.index()) + "][T] " +
                    text(ends.local) + "->" + text(ends.remote) + " ";
  // The engine's own state, as its core reported it (tcp_state events);
  // CLOSED once the core let go.
  out += c.core_done ? "CLOSED" : tcp::to_string(c.state);
  if (cores() > 1) out += " core " + std::to_string(c.core);
  return out;
}

std::string tcp_transport::format_listener(std::uint32_t index, std::uint32_t worker) const {
  if (index >= listeners_.size() || !listeners_[index].in_use) return {};
  const listener& l = listeners_[index];
  return "[" + std::to_string(worker) + ":" + std::to_string(l.session.index()) + "][T] " + text(l.local) +
         "->*:0 " + (l.stopping ? "CLOSED" : "LISTEN");
}

// ---------------------------------------------------------------------------
// fifos

result<void> tcp_transport::alloc_fifos(session& s) {
  if (!handing_over_.rx.valid()) return unexpected{errc::not_supported, "tcp fifos come from the data-plane core"};
  s.rx = handing_over_.rx;
  s.tx = handing_over_.tx;
  return {};
}

void tcp_transport::free_fifos(session& s) {
  const std::uint32_t id = s.connection;
  shm::fifo_pair pair{s.rx, s.tx};
  s.rx = {};
  s.tx = {};
  if (id >= conns_.size() || !conns_[id].in_use || conns_[id].session != s.handle) return;
  conn& c = conns_[id];
  if (c.core_done) {
    segments_.release(c.app_worker, pair.rx, pair.tx);
    free_conn(id);
    return;
  }
  // The core may still write them: they go when it lets go. A session
  // that goes before its connection did takes the connection along.
  orphans_[id] = pair;
  c.session_gone = true;
  c.session = {};
  if (!c.close_sent) {
    c.close_sent = true;
    send_conn(c, command_kind::tcp_abort);
  }
}

void tcp_transport::app_worker_gone(std::uint32_t app_worker) {
  gone_app_workers_.insert(app_worker);
  // Its parts of other app workers' listeners stop now. A listener it
  // owns stops or moves to another app worker through the session layer,
  // its mirrors with it (their owner's worker says which): a mirror
  // stopped here could not follow a move. Until then its connections are
  // refused (on_established).
  for (std::uint32_t i = 0; i < listeners_.size(); ++i)
    if (live_member(i) && listeners_[i].app_worker == app_worker) unlisten_cores(i, false);
}

// ---------------------------------------------------------------------------
// core events

bool tcp_transport::drain_events(std::size_t budget) {
  return net::drain_core_events(cores_, budget, [this](std::uint32_t core, const event& ev) { on_event(core, ev); });
}

void tcp_transport::on_event(std::uint32_t core, const event& ev) {
  switch (ev.kind) {
    case event_kind::tcp_established: on_established(core, ev); return;
    case event_kind::tcp_connect_failed: on_connect_failed(ev); return;
    case event_kind::tcp_unlistened: on_unlistened(ev); return;
    case event_kind::tcp_info: on_info(ev); return;
    default: break;
  }
  const auto found = conn_of(core, ev);
  if (!found) return;  // ended meanwhile
  const std::uint32_t id = *found;
  conn* c = &conns_[id];
  session* s = c->session_gone ? nullptr : sessions_.get(c->session);
  switch (ev.kind) {
    case event_kind::tcp_rx:
      if (s != nullptr) {
        // Re-armed before the app hears it: bytes the core enqueues from
        // now on post again, those before are read with this notification.
        s->rx.unset_event();
        sessions_.enqueue_notify(*s);
      }
      return;
    case event_kind::tcp_tx_space:
      if (s != nullptr) sessions_.dequeue_notify(*s, ev.bytes);
      return;
    case event_kind::tcp_peer_closed:
      c->peer_closed = true;
      if (s != nullptr) sessions_.transport_closing_notify(s->handle);
      return;
    case event_kind::tcp_reset: on_core_done(id, ev.error == errc::bad_layout ? ended::violation : ended::reset); return;
    case event_kind::tcp_released: on_core_done(id, ended::released); return;
    case event_kind::tcp_state:
      if (ev.bytes < tcp::state_count) c->state = static_cast<tcp::state>(ev.bytes);
      return;
    default: return;
  }
}

void tcp_transport::on_established(std::uint32_t core, const event& ev) {
  const std::uint32_t id = alloc_conn();
  {
    conn& c = conns_[id];
    c.core = static_cast<std::uint16_t>(core);
    c.engine_index = ev.id;
    c.generation = ev.generation;
    c.remote_ip = ev.remote_ip;
    c.local_port = ev.local_port;
    c.remote_port = ev.remote_port;
  }
  const endpoint_pair ends = ends_of(conns_[id]);
  set_engine_index(core, ev.id, id + 1);
  // Whose is it: a listener's or a connect's (ev.session is the cookie).
  // Whichever session is made now gets the core's pair (alloc_fifos).
  result<session_handle> made = unexpected{errc::no_listener};
  std::uint32_t app_worker = 0;
  bool passive = false;
  handing_over_ = {ev.rx, ev.tx};
  if (auto l = listener_of_cookie_.find(ev.session); l != listener_of_cookie_.end()) {
    const listener& li = listeners_[l->second];
    app_worker = li.app_worker;
    passive = true;
    if (!li.stopping && gone_app_workers_.count(app_worker) == 0)
      made = sessions_.accept(transport_proto::tcp, id, li.session, app_worker, ends);
  } else if (auto p = connects_.find(ev.session); p != connects_.end()) {
    const pending_connect pc = p->second;
    connects_.erase(p);
    app_worker = pc.app_worker;
    if (gone_app_workers_.count(app_worker) == 0)
      made = sessions_.connect_notify(transport_proto::tcp, id, app_worker, pc.opaque, false, ends);
    segments_.unhold(app_worker);  // the core carved what it will carve for this connect
  }
  handing_over_ = {};
  conns_[id].app_worker = app_worker;
  if (!made) {
    orphans_[id] = {ev.rx, ev.tx};
    refuse(id);
    return;
  }
  conns_[id].session = *made;
  ++(passive ? counters_.accepted : counters_.connected);
}

void tcp_transport::refuse(std::uint32_t id) {
  conn& c = conns_[id];
  ++counters_.refused_by_app;
  c.session_gone = true;
  c.session = {};
  c.close_sent = true;
  send_conn(c, command_kind::tcp_abort);
}

void tcp_transport::on_connect_failed(const event& ev) {
  auto p = connects_.find(ev.session);
  if (p == connects_.end()) return;  // a listen the core refused: its unlisten still confirms
  const pending_connect done = p->second;
  connects_.erase(p);
  ++counters_.connect_failures;
  if (gone_app_workers_.count(done.app_worker) == 0) sessions_.connect_failed(done.app_worker, done.opaque, ev.error);
  segments_.unhold(done.app_worker);
}

void tcp_transport::on_unlistened(const event& ev) {
  auto it = listener_of_cookie_.find(ev.session);
  if (it == listener_of_cookie_.end()) return;
  listener& l = listeners_[it->second];
  segments_.unhold(l.app_worker);
  if (l.acks_due > 0 && --l.acks_due > 0) return;
  listener_of_cookie_.erase(it);
  l = listener{};
}

void tcp_transport::release_orphan(std::uint32_t id, std::uint32_t app_worker) {
  auto it = orphans_.find(id);
  if (it == orphans_.end()) return;
  segments_.release(app_worker, it->second.rx, it->second.tx);
  orphans_.erase(it);
}

void tcp_transport::on_core_done(std::uint32_t id, ended how) {
  conn& c = conns_[id];
  c.core_done = true;
  set_engine_index(c.core, c.engine_index, 0);  // the core may reuse the index now
  if (c.session_gone) {
    release_orphan(id, c.app_worker);
    free_conn(id);
    return;
  }
  const session_handle h = c.session;
  if (sessions_.get(h) == nullptr) {  // freed without free_fifos: cannot happen (SPEC 9.7)
    free_conn(id);
    return;
  }
  // The session layer takes it from here; its last step frees the fifos
  // (free_fifos above), now that the core let go.
  if (how == ended::reset) sessions_.transport_reset_notify(h);
  if (how == ended::violation) sessions_.transport_violation_notify(h);
  sessions_.transport_delete_notify(h);
}

}  // namespace actorstack::tcp
