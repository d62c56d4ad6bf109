#include "session/udp/udp_transport.hpp"

#include <string>

namespace actorstack::udp {

using session_layer::session;
using dataplane::command;
using dataplane::command_kind;
using dataplane::event;
using dataplane::event_kind;

namespace {
constexpr std::uint16_t ephemeral_first = 49152;
constexpr std::uint32_t ephemeral_count = 65536 - ephemeral_first;

std::string text(const endpoint& e) { return e.ip.to_string() + ":" + std::to_string(e.port); }
}  // namespace

udp_transport::udp_transport(session_layer::session_worker_state& sessions,
                             session_layer::app_notifier& apps, std::vector<core_link> cores,
                             net::app_segments& segments, udp_worker_config cfg, udp_migration_port* migration)
    : sessions_(sessions), apps_(apps), cores_(std::move(cores)), segments_(segments), cfg_(cfg), migration_(migration) {
  sessions_.set_fifo_provider(transport_proto::udp, this);
}

udp_transport::~udp_transport() = default;

// ---------------------------------------------------------------------------
// connections

std::uint32_t udp_transport::alloc_conn() { return conns_.alloc(); }

void udp_transport::free_conn(std::uint32_t id) { conns_.free(id); }

dataplane::udp_binding udp_transport::binding_of(std::uint32_t id) const {
  const conn& c = conns_[id];
  dataplane::udp_binding b;
  b.id = id;
  b.worker = cfg_.worker;
  b.session = c.session.value();
  b.core = c.core;
  b.settled = c.settled;
  b.rx = c.rx;
  b.tx = c.tx;
  b.rx_end = shm::private_end{c.rx, shm::private_end::side::producer};
  b.tx_end = shm::private_end{c.tx, shm::private_end::side::consumer};
  b.local_ip = c.local.ip.v4_host_order();
  b.local_port = c.local.port;
  b.connected = !c.listener;
  if (b.connected) {
    b.remote_ip = c.remote.ip.v4_host_order();
    b.remote_port = c.remote.port;
  }
  return b;
}

void udp_transport::install(std::uint32_t id) {
  conn& c = conns_[id];
  c.core = cfg_.worker % cores();  // this worker's home core
  c.state = conn_state::installed;
  // Every core: the owner to move its bytes, the others to forward to it.
  send_add(id, cores());
}

void udp_transport::announce(std::uint32_t id) { send_add(id, conns_[id].core); }

void udp_transport::send_add(std::uint32_t id, std::uint32_t skip) {
  command cmd;
  cmd.kind = command_kind::add;
  cmd.id = id;
  cmd.worker = cfg_.worker;
  cmd.binding = binding_of(id);
  for (std::uint32_t core = 0; core < cores(); ++core)
    if (core != skip) send(core, cmd);
}

void udp_transport::send_move(std::uint32_t id, std::uint32_t to_core, std::uint32_t new_worker,
                              std::uint32_t new_id, session_handle new_session) {
  command cmd;
  cmd.kind = command_kind::move;
  cmd.id = id;
  cmd.worker = cfg_.worker;
  cmd.to_core = to_core;
  cmd.new_worker = new_worker;
  cmd.new_id = new_id;
  cmd.new_session = new_session.value();
  send(conns_[id].core, cmd);
}

void udp_transport::remove(std::uint32_t id) {
  conn& c = conns_[id];
  if (c.state == conn_state::arriving) {
    // No core knows it under our key yet: once one owns it.
    c.remove_on_taken = true;
    return;
  }
  if (c.state != conn_state::installed && c.state != conn_state::offered) return;
  c.state = conn_state::removing;
  command cmd;
  cmd.kind = command_kind::remove;
  cmd.id = id;
  cmd.worker = cfg_.worker;
  cmd.to_core = c.core;  // the owner answers
  for (std::uint32_t core = 0; core < cores(); ++core) send(core, cmd);
}

// Order matters (add before tx before remove): the queue keeps it.
void udp_transport::send(std::uint32_t core, const command& c) { commands_.send(core, c); }

std::uint16_t udp_transport::ephemeral_port() {
  // Each worker takes its own slice of the ephemeral range, so two workers
  // never pick the same local port for the same peer.
  const std::uint32_t slice = std::max<std::uint32_t>(1, ephemeral_count / std::max(1u, cfg_.workers));
  const std::uint32_t base = ephemeral_first + cfg_.worker * slice;
  const std::uint16_t port = static_cast<std::uint16_t>(base + next_port_ % slice);
  ++next_port_;
  return port;
}

result<std::uint32_t> udp_transport::start_listen(session_handle listener, const endpoint& local) {
  session* s = sessions_.get(listener);
  if (s == nullptr || !s->rx.valid()) return unexpected{errc::invalid_session, "udp listener without fifos"};
  if (!local.ip.is_v4()) return unexpected{errc::not_supported, "udp over IPv6 is not supported yet"};
  if (!local.ip.is_any() && local.ip.v4_host_order() != cfg_.local_ip)
    return unexpected{errc::no_route, "not an address of this stack's data plane"};
  if (local.port == 0) return unexpected{errc::invalid_argument, "udp listener needs a port"};
  const std::uint32_t id = alloc_conn();
  conn& c = conns_[id];
  c.listener = true;
  c.session = listener;
  c.local = local;
  c.rx = s->rx;
  c.tx = s->tx;
  c.app_worker = s->app_worker;
  install(id);
  return id;
}

result<void> udp_transport::stop_listen(std::uint32_t id) {
  if (id >= conns_.size() || !conns_[id].listener || conns_[id].state == conn_state::free)
    return unexpected{errc::no_listener};
  remove(id);
  return {};
}

result<std::uint32_t> udp_transport::connect(const session_layer::connect_args& args) {
  const endpoint& r = args.remote;
  if (!r.ip.is_v4()) return unexpected{errc::not_supported, "udp over IPv6 is not supported yet"};
  if (r.ip.is_any() || r.port == 0) return unexpected{errc::invalid_argument, "udp connect needs an address and a port"};
  // The app's port (a bind before connect): the same 5-tuple twice would
  // leave the core two sessions for one flow.
  if (args.local_port != 0)
    for (std::uint32_t i = 0; i < conns_.size(); ++i) {
      const conn& c = conns_[i];
      if (c.state != conn_state::free && !c.listener && c.local.port == args.local_port && c.remote == r)
        return unexpected{errc::already_listening, "that udp 5-tuple is in use"};
    }
  const std::uint32_t id = alloc_conn();
  {
    conn& c = conns_[id];
    c.local = endpoint{transport_proto::udp, ip_address::v4(cfg_.local_ip),
                       args.local_port != 0 ? args.local_port : ephemeral_port()};
    c.remote = r;
    c.app_worker = args.app_worker;
  }
  // The session (and the app's "connected") exists before the core knows
  // the 5-tuple: a datagram that arrives first finds no session and is
  // dropped, as on any host where the socket is not bound yet.
  auto h = sessions_.connect_notify(transport_proto::udp, id, args.app_worker, args.opaque, false,
                                    {conns_[id].local, conns_[id].remote});
  if (!h) {
    free_conn(id);
    return unexpected{h.error()};
  }
  session* s = sessions_.get(*h);
  conn& c = conns_[id];
  c.session = *h;
  c.rx = s->rx;
  c.tx = s->tx;
  install(id);
  return id;
}

void udp_transport::close(std::uint32_t id, std::uint32_t) {
  if (id < conns_.size()) remove(id);
}

void udp_transport::cleanup(std::uint32_t id, std::uint32_t) {
  if (id < conns_.size()) remove(id);
}

void udp_transport::custom_tx(session& s) {
  if (s.connection >= conns_.size()) return;
  const conn& c = conns_[s.connection];
  // A free connection names no session. Arriving: the new owner may not
  // know our key yet and drops the kick; it looks at the tx fifo itself
  // when the binding arrives.
  if (c.session != s.handle || c.state == conn_state::removing) return;
  command cmd;
  cmd.kind = command_kind::tx;
  cmd.id = s.connection;
  cmd.worker = cfg_.worker;
  send(c.core, cmd);
}

std::string udp_transport::format(std::uint32_t id, std::uint32_t worker) const {
  if (id >= conns_.size() || conns_[id].state == conn_state::free) return {};
  const conn& c = conns_[id];
  std::string out = "[" + std::to_string(worker) + ":" + std::to_string(c.session.index()) + "][U] " +
                    text(c.local) + "->";
  out += c.listener ? "*" : text(c.remote);
  out += c.state == conn_state::removing ? " CLOSING" : c.listener ? " LISTEN" : " OPENED";
  if (cores() > 1) out += " core " + std::to_string(c.core);
  if (c.state == conn_state::offered || c.state == conn_state::arriving) out += " MOVING";
  return out;
}

// ---------------------------------------------------------------------------
// core events

bool udp_transport::drain_events(std::size_t budget) {
  return net::drain_core_events(cores_, budget, [this](std::uint32_t core, const event& ev) { on_event(core, ev); });
}

void udp_transport::on_event(std::uint32_t, const event& ev) {
  if (ev.id >= conns_.size()) return;
  conn& c = conns_[ev.id];
  const bool current = c.state != conn_state::free && c.session.value() == ev.session;
  switch (ev.kind) {
    case event_kind::rx:
      if (current && c.state != conn_state::removing)
        if (session* s = sessions_.get(c.session)) sessions_.enqueue_notify(*s);
      break;
    case event_kind::tx_space:
      if (current && c.state != conn_state::removing)
        if (session* s = sessions_.get(c.session)) sessions_.dequeue_notify(*s, ev.bytes);
      break;
    case event_kind::removed: on_removed(ev.id); break;
    case event_kind::add_failed:
      // The 5-tuple was taken: the session cannot work; its peer never
      // heard of it, so a reset tells only the app.
      if (current) {
        const session_handle h = c.session;
        free_conn(ev.id);
        sessions_.transport_reset_notify(h);
      }
      break;
    case event_kind::violation:
      if (current && c.state != conn_state::removing) sessions_.transport_violation_notify(c.session);
      break;
    case event_kind::seen:
      if (current) on_seen(ev.id, ev.core);
      break;
    case event_kind::taken:
      if (current) on_taken(ev.id);
      break;
    default: break;  // tcp_*: the tcp transport's
  }
}

void udp_transport::on_removed(std::uint32_t id) {
  conn& c = conns_[id];
  if (c.state != conn_state::removing) return;
  const session_handle h = c.session;
  const bool session_gone = c.free_fifos_on_remove;
  if (session_gone) give_back(h, c.app_worker, c.rx, c.tx);
  free_conn(id);
  // The app closed (or the worker cleans up): the core let go, the
  // session layer may now free the session with its fifos.
  if (!session_gone && sessions_.get(h) != nullptr) sessions_.transport_delete_notify(h);
}

// ---------------------------------------------------------------------------
// moving between cores and workers (SPEC §5)

void udp_transport::on_seen(std::uint32_t id, std::uint32_t core) {
  conn& c = conns_[id];
  if (c.state != conn_state::installed || c.listener || c.settled || core == c.core || core >= cores()) return;
  c.settled = true;
  // The worker whose home that core is (several per core when workers
  // outnumber cores; then the lowest).
  const std::uint32_t worker = core % cfg_.workers;
  if (worker == cfg_.worker || migration_ == nullptr) {
    // Only the binding moves: same worker, same key.
    send_move(id, core, cfg_.worker, id, c.session);
    c.core = core;
    c.state = conn_state::arriving;
    return;
  }
  session* s = sessions_.get(c.session);
  if (s == nullptr || s->state != session_state::ready) return;
  c.state = conn_state::offered;
  c.target = core;
  udp_migrant m;
  m.session = *s;
  m.from_worker = cfg_.worker;
  m.from_id = id;
  m.local = c.local;
  m.remote = c.remote;
  m.core = core;
  migration_->offer(worker, m);
}

udp_transport::adopted udp_transport::adopt(const udp_migrant& m) {
  const std::uint32_t id = alloc_conn();
  conn& c = conns_[id];
  c.state = conn_state::arriving;
  c.settled = true;
  c.local = m.local;
  c.remote = m.remote;
  c.rx = m.session.rx;
  c.tx = m.session.tx;
  c.app_worker = m.session.app_worker;
  c.core = m.core;
  const session_handle h = sessions_.migrate_in(m.session, id);
  c.session = h;
  arrivals_[h.value()] = {m.from_worker, m.session.handle};
  ++counters_.moved_in;
  return {h, id};
}

udp_transport::handed udp_transport::hand_over(std::uint32_t id, std::uint32_t worker, session_handle handle,
                                               std::uint32_t new_id) {
  if (id >= conns_.size() || conns_[id].state != conn_state::offered)
    return {session_layer::migrate_outcome::gone, {}};  // closed meanwhile: its removal is under way here
  send_move(id, conns_[id].target, worker, new_id, handle);
  const session_handle old = conns_[id].session;
  // The core lets go of the binding; the session layer's cleanup of the
  // old connection must not remove it, nor free the fifos (they moved).
  free_conn(id);
  return {sessions_.migrate_out(old, handle), old};
}

void udp_transport::abandon(session_handle handle) {
  session* s = sessions_.get(handle);
  if (s == nullptr) return;
  const std::uint32_t id = s->connection;
  if (id < conns_.size() && conns_[id].session == handle) free_conn(id);
  arrivals_.erase(handle.value());
  sessions_.migrate_abandon(handle);
}

void udp_transport::on_taken(std::uint32_t id) {
  conn& c = conns_[id];
  if (c.state != conn_state::arriving) return;
  c.state = conn_state::installed;
  announce(id);  // every other core forwards to the new owner under our key
  if (c.remove_on_taken) {
    remove(id);
    return;
  }
  // The old owner may have set the rx fifo's flag with its last datagram
  // and posted to a worker that no longer knows the connection: nobody
  // would clear it, and no datagram would notify again. It has let go by
  // now, so one notification settles it. (Still migrating: the
  // migration's own rx notification comes after this and does it.)
  if (session* s = sessions_.get(c.session); s != nullptr && !s->has(session_layer::flag_is_migrating))
    sessions_.rx_notify(c.session);
}

void udp_transport::give_back(session_handle h, std::uint32_t app_worker, shm::fifo& rx, shm::fifo& tx) {
  if (auto it = arrivals_.find(h.value()); it != arrivals_.end()) {
    // Carved from the worker the session came from: its segment, its allocator.
    if (migration_ != nullptr) migration_->departed(it->second.worker, it->second.origin, app_worker, rx, tx);
    arrivals_.erase(it);
    rx = {};
    tx = {};
    return;
  }
  segments_.release(app_worker, rx, tx);
}

void udp_transport::take_back(std::uint32_t app_worker, shm::fifo rx, shm::fifo tx) {
  segments_.release(app_worker, rx, tx);
}

// ---------------------------------------------------------------------------
// fifos

result<void> udp_transport::alloc_fifos(session& s) {
  auto pair = segments_.alloc_pair(s.app_worker);
  if (!pair) return unexpected{pair.error()};
  s.rx = pair->rx;
  s.tx = pair->tx;
  return {};
}

void udp_transport::free_fifos(session& s) {
  if (!s.rx.valid()) return;
  if (s.connection < conns_.size()) {
    conn& c = conns_[s.connection];
    if (c.state != conn_state::free && c.session == s.handle) {
      // The core may still write these: they go when it confirms.
      c.free_fifos_on_remove = true;
      remove(s.connection);
      s.rx = {};
      s.tx = {};
      return;
    }
  }
  give_back(s.handle, s.app_worker, s.rx, s.tx);
  s.rx = {};
  s.tx = {};
}

}  // namespace actorstack::udp
