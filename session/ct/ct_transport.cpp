#include "session/ct/ct_transport.hpp"

#include <algorithm>

namespace actorstack::ct {

using session_layer::session;

// ---------------------------------------------------------------------------
// half-opens (first worker)

std::uint32_t ct_half_opens::alloc(const pending_connect& c) {
  std::uint32_t index;
  if (!reusable_.empty()) {  // SPEC 6: reusable half-open indices are recycled
    index = reusable_.back();
    reusable_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  entries_[index] = {c, true};
  entries_[index].connect.half_open = index;
  ++live_;
  return index;
}

void ct_half_opens::mark_reusable(std::uint32_t index) {
  if (index >= entries_.size() || !entries_[index].live) return;
  entries_[index].live = false;
  reusable_.push_back(index);
  --live_;
}

std::uint32_t ct_half_opens::next_worker(std::uint32_t n_workers) noexcept {
  if (n_workers == 0) return 0;
  const std::uint32_t w = next_worker_ % n_workers;
  next_worker_ = (next_worker_ + 1) % n_workers;
  return w;
}

std::string ct_half_opens::format(std::uint32_t index) const {
  if (index >= entries_.size() || !entries_[index].live) return {};
  const auto& c = entries_[index].connect;
  return "[0:" + std::to_string(index) + "][CT:ct] ->" + c.remote.ip.to_string() + ":" +
         std::to_string(c.remote.port) + " HALF-OPEN";
}

// ---------------------------------------------------------------------------
// connections

ct_worker::ct_worker(session_layer::session_worker_state& worker, ct_sink& sink)
    : worker_(worker), sink_(sink) {
  worker_.set_fifo_provider(transport_proto::ct, this);
}

ct_worker::connection* ct_worker::get(std::uint32_t index) noexcept {
  if (index >= conns_.size() || !conns_[index].live) return nullptr;
  return &conns_[index];
}

const pending_connect* ct_worker::setup_of(const connection& c) const noexcept {
  std::uint32_t setup = c.setup;
  if (!c.client) {  // the server side reads its client's
    if (c.peer >= conns_.size() || !conns_[c.peer].live || conns_[c.peer].peer == no_index) return nullptr;
    setup = conns_[c.peer].setup;
  }
  return setup == no_index ? nullptr : &setups_[setup];
}

void ct_worker::end_setup(connection& client) noexcept {
  if (client.setup == no_index) return;
  free_setups_.push_back(client.setup);
  client.setup = no_index;
}

std::uint32_t ct_worker::alloc_connection() {
  std::uint32_t index;
  if (!free_conns_.empty()) {
    index = free_conns_.back();
    free_conns_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(conns_.size());
    conns_.emplace_back();
  }
  conns_[index] = connection{};
  conns_[index].live = true;
  ++live_;
  return index;
}

// Frees the record; releases this side's fifo references if it still
// holds them (a side that never got a session, e.g. a refused client).
void ct_worker::free_connection(std::uint32_t index) {
  connection* c = get(index);
  if (c == nullptr) return;
  if (c->has_fifos) sink_.release_fifos(c->fifos, c->client);
  end_setup(*c);
  if (connection* peer = get(c->peer); peer != nullptr && peer->peer == index)
    peer->peer = no_index;
  conns_[index] = connection{};
  free_conns_.push_back(index);
  --live_;
}

void ct_worker::refuse_client(std::uint32_t index, errc why) {
  connection* client = get(index);
  if (client == nullptr) return;
  if (const pending_connect* pc = setup_of(*client)) worker_.connect_failed(pc->client_app_worker, pc->opaque, why);
  free_connection(index);
}

// ---------------------------------------------------------------------------
// accept path

void ct_worker::queue_connects(std::vector<pending_connect> batch) {
  for (auto& c : batch) connects_.push_back(std::move(c));
}

std::vector<fifo_need> ct_worker::begin_accepts(bool& more) {
  std::vector<fifo_need> need_fifos;
  const std::size_t n = std::min(connects_.size(), max_accepts_per_run);
  for (std::size_t i = 0; i < n; ++i) {
    const pending_connect pc = connects_.front();
    connects_.pop_front();
    const std::uint32_t ci = alloc_connection();
    conns_[ci].client = true;
    if (!free_setups_.empty()) {
      conns_[ci].setup = free_setups_.back();
      free_setups_.pop_back();
    } else {
      conns_[ci].setup = static_cast<std::uint32_t>(setups_.size());
      setups_.emplace_back();
    }
    setups_[conns_[ci].setup] = pc;
    const std::uint32_t si = alloc_connection();  // may grow conns_: index, not reference
    conns_[si].peer = ci;
    conns_[ci].peer = si;
    // The client connection is a copy of the half-open now.
    sink_.half_open_reusable(pc.half_open);
    need_fifos.push_back({si, pc.context, pc.server_app_worker, pc.client_app_worker});
  }
  more = !connects_.empty();
  return need_fifos;
}

// The endpoints of a cut-through pair, as a kernel would name them: the
// server is where the client connected (a wildcard address reads as
// loopback), the client a port of the same address. That port names the
// client's connection on its worker — unique among live pairs as an
// ephemeral port is, never reserved anywhere (cut-through has no wire).
// A client that bound a port before connecting is named by it.
static endpoint_pair ct_client_ends(const pending_connect& pc, std::uint32_t client_conn, std::uint32_t worker) {
  endpoint server = pc.remote;
  if (server.ip.is_any()) server.ip = server.ip.is_v4() ? ip_address::v4(0x7f000001) : ip_address::parse("::1").value();
  endpoint client = server;
  client.port = pc.local_port != 0 ? pc.local_port
                                   : static_cast<std::uint16_t>(49152u + (worker * 4099u + client_conn) % 16384u);
  return {client, server};
}

void ct_worker::fifos_ready(std::uint32_t server_conn, result<ct_fifo_pair> fifos) {
  connection* s = get(server_conn);
  if (s == nullptr) {
    // Torn down meanwhile: nobody will use the pair.
    if (fifos) {
      sink_.release_fifos(*fifos, false);
      sink_.release_fifos(*fifos, true);
    }
    return;
  }
  const std::uint32_t client_conn = s->peer;
  if (!fifos) {
    refuse_client(client_conn, errc::alloc);
    free_connection(server_conn);
    return;
  }
  s->fifos = *fifos;
  s->has_fifos = true;
  connection* c = get(client_conn);
  if (c == nullptr) {
    // The client went away (detached) while the fifos were carved.
    sink_.release_fifos(*fifos, true);
    free_connection(server_conn);
    return;
  }
  c->fifos = *fifos;
  c->has_fifos = true;
  const pending_connect* setup = setup_of(*c);  // the client is still half-open: it holds it
  auto h = setup == nullptr ? result<session_handle>{unexpected{errc::alloc}} : [&] {
    const endpoint_pair client = ct_client_ends(*setup, client_conn, worker_.index());
    return worker_.accept(transport_proto::ct, server_conn, setup->listener, setup->server_app_worker,
                          {client.remote, client.local});
  }();
  if (!h) {
    refuse_client(client_conn, errc::alloc);
    free_connection(server_conn);
    return;
  }
  conns_[server_conn].session = *h;
}

void ct_worker::accepted(session& ss) {
  connection* s = get(ss.connection);
  if (s == nullptr) return;
  connection* c = get(s->peer);
  if (c == nullptr) {
    // The client gave up while the server decided: force-close the server.
    worker_.transport_closing_notify(ss.handle);
    close_connection(ss.connection, false);
    return;
  }
  const std::uint32_t client_conn = s->peer;
  const pending_connect* setup = setup_of(*c);
  if (setup == nullptr) {  // its outcome was told already: nothing to connect
    worker_.transport_closing_notify(ss.handle);
    close_connection(ss.connection, false);
    return;
  }
  const pending_connect pc = *setup;
  end_setup(*c);  // the client hears the outcome now: both sides keep the endpoints
  const endpoint_pair ends = ct_client_ends(pc, client_conn, worker_.index());
  c->ends.assign(ends);
  s->ends.assign(ends);
  auto h = worker_.connect_notify(transport_proto::ct, client_conn, pc.client_app_worker, pc.opaque, false, ends);
  if (!h) {
    // The client already heard "alloc"; its side is gone, so is the server's.
    free_connection(client_conn);
    worker_.transport_closing_notify(ss.handle);
    close_connection(ss.connection, false);
    return;
  }
  conns_[client_conn].session = *h;
}

// ---------------------------------------------------------------------------
// close and postponed cleanup

void ct_worker::close_connection(std::uint32_t index, bool reset) {
  connection* ct = get(index);
  if (ct == nullptr) return;
  ct->reset = ct->reset || reset;
  if (connection* peer = get(ct->peer)) {
    peer->peer = no_index;  // the peer must not reach back into a closing side
    if (peer->half_open()) {
      // The server closed before the client was connected.
      const std::uint32_t client = ct->peer;
      ct->peer = no_index;
      refuse_client(client, errc::refused);
    }
  }
  // Not closed yet: tx events still in flight must reach the peer first.
  cleanups_.push_back(index);
}

void ct_worker::close(std::uint32_t connection, std::uint32_t) { close_connection(connection, false); }

void ct_worker::shutdown(std::uint32_t connection, std::uint32_t) {
  if (get(connection) != nullptr) shutdowns_.push_back(connection);
}

void ct_worker::reset(std::uint32_t conn, std::uint32_t) {
  connection* ct = get(conn);
  if (ct == nullptr) return;
  session* ss = worker_.get(ct->session);
  if (!ct->client && ss != nullptr && ss->state == session_state::created) {
    // The server app refused the accept: the client hears "refused", the
    // server session (created) goes silently.
    refuse_client(ct->peer, errc::refused);
    ct->peer = no_index;
    worker_.transport_delete_notify(ss->handle);
    return;
  }
  close_connection(conn, true);
}

bool ct_worker::handle_cleanups() {
  // Half-closes first, and like cleanups only once this side's queued tx
  // event has reached the peer: the peer hears of the last bytes before
  // it hears that no more will come.
  for (std::size_t i = 0, n = shutdowns_.size(); i < n; ++i) {
    const std::uint32_t index = shutdowns_.front();
    shutdowns_.pop_front();
    connection* ct = get(index);
    if (ct == nullptr) continue;
    session* ss = worker_.get(ct->session);
    if (ss != nullptr && ss->has(session_layer::flag_custom_tx)) {
      shutdowns_.push_back(index);
      continue;
    }
    if (connection* peer = get(ct->peer); peer != nullptr && !peer->half_open())
      worker_.transport_closing_notify(peer->session);
  }
  const std::size_t n = std::min(cleanups_.size(), max_cleanups_per_run);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t index = cleanups_.front();
    cleanups_.pop_front();
    connection* ct = get(index);
    if (ct == nullptr) continue;
    // A tx event this worker has queued must reach the peer before the
    // close does: later. The fifo's own event flag is not asked: an app
    // killed between flagging a write and posting it would hold the
    // cleanup (and its peer) for ever, and a live app's tx message always
    // arrives before its close (same sender, same path).
    session* ss = worker_.get(ct->session);
    if (ss != nullptr && ss->has(session_layer::flag_custom_tx)) {
      cleanups_.push_back(index);
      continue;
    }
    postponed_cleanup(index);
  }
  return !cleanups_.empty() || !shutdowns_.empty();
}

// This side is going: the peer hears it once, and the link is cut both
// ways. Unread data on this side means the peer's data was lost: a reset.
void ct_worker::tell_peer(connection& ct, const session& ss) {
  connection* peer = get(ct.peer);
  ct.peer = no_index;
  if (peer == nullptr) return;
  const bool is_reset = ct.reset || (ss.rx.valid() && ss.rx.max_dequeue() > 0);
  const session_handle peer_session = peer->session;
  peer->peer = no_index;
  if (is_reset)
    worker_.transport_reset_notify(peer_session);
  else
    worker_.transport_closing_notify(peer_session);
}

void ct_worker::postponed_cleanup(std::uint32_t index) {
  connection* ct = get(index);
  session* ss = worker_.get(ct->session);
  if (ss == nullptr) {
    free_connection(index);
    return;
  }
  const session_handle self = ss->handle;
  tell_peer(*ct, *ss);
  worker_.transport_closed_notify(self);
  // May free the session, whose free_fifos frees this connection.
  worker_.transport_delete_notify(self);
}

void ct_worker::cleanup(std::uint32_t conn, std::uint32_t) {
  // The session goes right after (its free_fifos frees the record); only
  // cut the link so the peer stops reaching this side.
  connection* ct = get(conn);
  if (ct == nullptr) return;
  if (connection* peer = get(ct->peer)) peer->peer = no_index;
  ct->peer = no_index;
}

// ---------------------------------------------------------------------------
// data notifications

void ct_worker::custom_tx(session& s) {
  connection* ct = get(s.connection);
  if (ct == nullptr) return;
  // Accept new tx events from now on, even if the peer is slow to look.
  if (s.tx.valid()) s.tx.unset_event();
  connection* peer = get(ct->peer);
  if (peer == nullptr || peer->half_open()) return;
  session* ps = worker_.get(peer->session);
  if (ps == nullptr || ps->state >= session_state::transport_closing) return;
  worker_.enqueue_notify(*ps);
}

void ct_worker::app_rx_evt(session& s) {
  if (s.state < session_state::ready) return;
  connection* ct = get(s.connection);
  if (ct == nullptr) return;
  connection* peer = get(ct->peer);
  if (peer == nullptr || peer->half_open()) return;
  session* ps = worker_.get(peer->session);
  if (ps == nullptr || ps->state >= session_state::transport_closing || !ps->tx.valid()) return;
  // The read size is not known here; passing the fifo size lets an
  // if-full request fire whenever the fifo is no longer full (the latch
  // keeps it to once), and dequeue_notify re-checks the fifo now (SPEC 9.5).
  worker_.dequeue_notify(*ps, ps->tx.size());
}

// ---------------------------------------------------------------------------
// fifos of ct sessions

result<void> ct_worker::alloc_fifos(session& s) {
  connection* ct = get(s.connection);
  if (ct == nullptr || !ct->has_fifos) return unexpected{errc::alloc, "no cut-through fifos"};
  if (ct->client) {  // crossed: the client reads what the server writes
    s.rx = ct->fifos.server_tx;
    s.tx = ct->fifos.server_rx;
  } else {
    s.rx = ct->fifos.server_rx;
    s.tx = ct->fifos.server_tx;
  }
  return {};
}

void ct_worker::free_fifos(session& s) {
  // Freed before its cleanup ran (a connect the app refused, or never
  // answered before it went): the peer must still hear of it, and no
  // cleanup will tell it once the record is gone.
  if (connection* ct = get(s.connection); ct != nullptr && ct->peer != no_index) {
    ct->reset = true;
    tell_peer(*ct, s);
  }
  s.rx = {};
  s.tx = {};
  // The session is done with its side: the record goes too.
  free_connection(s.connection);
}

// ---------------------------------------------------------------------------
// listeners and format

result<std::uint32_t> ct_worker::start_listen(session_handle, const endpoint& local) {
  listeners_.push_back({true, local});
  return static_cast<std::uint32_t>(listeners_.size() - 1);
}

result<void> ct_worker::stop_listen(std::uint32_t index) {
  if (index >= listeners_.size() || !listeners_[index].live)
    return unexpected{errc::no_listener};
  listeners_[index].live = false;
  return {};
}

std::string ct_worker::format_listener(std::uint32_t index, std::uint32_t worker) const {
  if (index >= listeners_.size() || !listeners_[index].live) return {};
  const endpoint& l = listeners_[index].local;
  return "[" + std::to_string(worker) + ":" + std::to_string(index) + "][CT:" +
         std::string{to_string(l.proto)} + "] " + l.ip.to_string() + ":" + std::to_string(l.port) +
         "->0.0.0.0:0 LISTEN";
}

std::string ct_worker::format(std::uint32_t conn, std::uint32_t worker) const {
  if (conn >= conns_.size() || !conns_[conn].live) return {};
  const connection& c = conns_[conn];
  // The pair's endpoints as its apps were told them: from its set-up while
  // the client waits, from the session afterwards.
  endpoint_pair ends;  // local: the client's, remote: the server's
  if (const pending_connect* pc = setup_of(c)) {
    ends = ct_client_ends(*pc, c.client ? conn : c.peer, worker_.index());
  } else if (worker_.get(c.session) != nullptr) {
    ends = c.ends.get();
  } else {
    return {};  // a side between its set-up and its session: nothing to name yet
  }
  const endpoint& server = ends.remote;
  const std::string client = ends.local.ip.to_string() + ":" + std::to_string(ends.local.port);
  const std::string srv = server.ip.to_string() + ":" + std::to_string(server.port);
  std::string out = "[" + std::to_string(worker) + ":" +
                    std::to_string(c.session.valid() ? c.session.index() : no_index) + "][CT:" +
                    std::string{to_string(server.proto)} + "] ";
  out += c.client ? client + "->" + srv : srv + "->" + client;
  out += c.half_open() ? " HALF-OPEN" : " ESTABLISHED";
  return out;
}

}  // namespace actorstack::ct
