#include "session/session_worker_state.hpp"

#include <utility>

namespace actorstack::session_layer {

session_worker_state::session_worker_state(std::uint32_t worker_index, environment env)
    : pool_(worker_index), env_(env) {}

transport* session_worker_state::transport_of(const session& s) noexcept {
  return env_.transports->find(s.proto);
}

// A reset's unsent bytes go — dropped by the transport, their reader.
void session_worker_state::discard_tx(session& s) {
  if (transport* tp = transport_of(s)) tp->discard_tx(s);
}

fifo_provider* session_worker_state::fifos_of(const session& s) noexcept {
  return proto_fifos_[static_cast<unsigned>(s.proto)];
}

result<void> session_worker_state::alloc_fifos(session& s) {
  fifo_provider* p = fifos_of(s);
  if (p == nullptr) return unexpected{errc::not_supported, "this transport has no fifos"};
  return p->alloc_fifos(s);
}

void session_worker_state::free_fifos(session& s) {
  if (fifo_provider* p = fifos_of(s)) p->free_fifos(s);
}

void session_worker_state::set_fifo_provider(transport_proto proto, fifo_provider* fifos) {
  proto_fifos_[static_cast<unsigned>(proto)] = fifos;
}

// ---------------------------------------------------------------------------
// listeners

result<session_handle> session_worker_state::listen(std::uint32_t app_worker,
                                                    const endpoint& local) {
  transport* tp = env_.transports->find(local.proto);
  transport_proto serves = local.proto;
  // A tcp listener the wire cannot reach — no data plane, or a loopback
  // address — still takes this stack's own tcp connects (SPEC-TCP 9.4):
  // cut-through serves it alone, as a kernel's lo serves 127.0.0.1.
  if (local.proto == transport_proto::tcp && (tp == nullptr || local.ip.is_loopback())) {
    tp = env_.transports->find(transport_proto::ct);
    serves = transport_proto::ct;
  }
  if (tp == nullptr) return unexpected{errc::not_supported, "no transport for protocol"};
  session& s = pool_.alloc();
  s.state = session_state::listening;
  s.proto = serves;
  s.app_worker = app_worker;
  // A datagram listener is connectionless: every peer's datagrams arrive
  // in the listener's own fifos, so it gets a pair like any session.
  const bool datagram = tp->service() == service_type::datagram;
  if (datagram) {
    if (auto r = alloc_fifos(s); !r) {
      pool_.free(s);
      return unexpected{errc::alloc, r.error().detail};
    }
    s.rx.set_owner({s.handle.index(), index()});
    s.tx.set_owner({s.handle.index(), index()});
  }
  auto idx = tp->start_listen(s.handle, local);
  if (!idx) {
    if (datagram) release_fifos(s);
    pool_.free(s);
    return unexpected{idx.error()};
  }
  s.connection = *idx;
  if (datagram) {
    s.set(flag_rx_ready);
    env_.apps->listened(s);
  }
  return s.handle;
}

result<void> session_worker_state::stop_listen(session_handle listener) {
  session* s = pool_.get(listener);
  if (s == nullptr || s->state != session_state::listening)
    return unexpected{errc::invalid_session, "not a listener"};
  if (transport* tp = transport_of(*s)) {
    // no_listener: the transport stopped it already (a failed change of
    // owner); the session still goes.
    if (auto r = tp->stop_listen(s->connection); !r && r.error().code != errc::no_listener) return r;
  }
  // A listener with fifos (datagram) is a session the app holds: it hears
  // its cleanup, and the transport frees the fifos when it may.
  if (s->rx.valid())
    free_with_fifos(*s);
  else
    pool_.free(*s);
  return {};
}

result<void> session_worker_state::hand_over_listener(session_handle listener, std::uint32_t app_worker) {
  session* s = pool_.get(listener);
  if (s == nullptr || s->state != session_state::listening)
    return unexpected{errc::invalid_session, "not a listener"};
  if (transport* tp = transport_of(*s)) {
    auto moved = tp->listener_moved(s->connection, app_worker);
    if (!moved) return unexpected{moved.error()};
    s->connection = *moved;
  }
  s->app_worker = app_worker;
  return {};
}

// ---------------------------------------------------------------------------
// SPEC 2.1 accept

result<session_handle> session_worker_state::accept(transport_proto proto,
                                                    std::uint32_t connection,
                                                    session_handle listener,
                                                    std::uint32_t app_worker,
                                                    const endpoint_pair& ends) {
  session& s = pool_.alloc();
  s.proto = proto;
  s.connection = connection;
  s.app_worker = app_worker;
  if (env_.apps->wants_fifo_tuning(app_worker)) s.set(flag_custom_fifo_tuning);
  if (auto r = alloc_fifos(s); !r) {
    pool_.free(s);  // SPEC 9.7: free exactly what was allocated
    return unexpected{errc::alloc, r.error().detail};
  }
  s.rx.set_owner({s.handle.index(), index()});
  s.tx.set_owner({s.handle.index(), index()});
  if (s.has(flag_custom_fifo_tuning)) s.tx.add_want_deq_ntf(shm::deq_ntf::tuning);
  s.state = session_state::accepting;
  ++counters_.accepts;
  env_.apps->accept(s, listener, ends);
  return s.handle;
}

void session_worker_state::on_accept_reply(session_handle h, bool accepted) {
  session* s = pool_.get(h);
  if (s == nullptr) return;  // the transport deleted it meanwhile
  if (accepted) {
    s->set(flag_rx_ready);
    // A close that raced the decision already moved the state on (and its
    // notification is queued behind the accept): never move backwards.
    if (s->state == session_state::accepting) s->state = session_state::ready;
    if (transport* tp = transport_of(*s)) tp->accepted(*s);
    return;
  }
  ++counters_.refusals;
  if (s->state == session_state::accepting) {
    // The one backwards step: a later transport delete frees it silently.
    s->state = session_state::created;
    if (transport* tp = transport_of(*s)) tp->reset(s->connection, index());
    return;
  }
  // The transport started closing while the app decided: the app will
  // never close a session it refused, so close it on its behalf.
  (void)app_close(h);
}

// ---------------------------------------------------------------------------
// SPEC 2.2 / 2.3 active open

result<session_handle> session_worker_state::connect_notify(transport_proto proto,
                                                            std::uint32_t connection,
                                                            std::uint32_t app_worker,
                                                            std::uint64_t opaque,
                                                            bool half_open_has_fifos,
                                                            const endpoint_pair& ends) {
  session& s = pool_.alloc();
  s.state = session_state::connecting;
  s.proto = proto;
  s.connection = connection;
  s.app_worker = app_worker;
  if (env_.apps->wants_fifo_tuning(app_worker)) s.set(flag_custom_fifo_tuning);
  if (auto r = alloc_fifos(s); !r) {
    pool_.free(s);
    env_.apps->connected(app_worker, opaque, nullptr, errc::alloc, {});
    return unexpected{errc::alloc, r.error().detail};
  }
  s.rx.set_owner({s.handle.index(), index()});
  s.tx.set_owner({s.handle.index(), index()});
  if (s.has(flag_custom_fifo_tuning)) s.tx.add_want_deq_ntf(shm::deq_ntf::tuning);
  s.state = half_open_has_fifos ? session_state::opened : session_state::ready;
  ++counters_.connects;
  env_.apps->connected(app_worker, opaque, &s, errc::none, ends);
  return s.handle;
}

void session_worker_state::connect_failed(std::uint32_t app_worker, std::uint64_t opaque,
                                          errc err) {
  env_.apps->connected(app_worker, opaque, nullptr, err, {});
}

void session_worker_state::on_connected_reply(session_handle h, bool ok) {
  session* s = pool_.get(h);
  if (s == nullptr) return;
  if (ok) {
    s->set(flag_rx_ready);
    return;
  }
  // Rejected: the app never owned it, so no cleanup notification; the
  // transport is reset so the peer learns, and its later notifications
  // find a stale handle.
  const std::uint32_t conn = s->connection;
  transport* tp = transport_of(*s);
  release_fifos(*s);
  pool_.free(*s);
  if (tp != nullptr) tp->reset(conn, index());
}

// ---------------------------------------------------------------------------
// SPEC 2.4 / 2.5 app close and reset

result<void> session_worker_state::app_close(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr) return unexpected{errc::invalid_session};
  // Closing a listener means: stop listening (it has no transport
  // connection to close).
  if (s->state == session_state::listening) return stop_listen(h);
  if (s->has(flag_app_closed)) return {};  // idempotent
  s->set(flag_app_closed);
  s->clear(flag_custom_fifo_tuning);
  if (s->state >= session_state::closing) {
    // Both sides must confirm; if the transport already did, only the
    // final close remains.
    if (s->state == session_state::transport_closed ||
        s->state == session_state::transport_deleted)
      post_ctrl({ctrl_kind::close, h, {}});
    return {};
  }
  // The app is gone from this session's tx path: no more dequeue
  // notifications for it.
  if (s->tx.valid())
    s->tx.del_want_deq_ntf(static_cast<shm::deq_ntf>(0xffffffffu));
  s->state = session_state::closing;
  post_ctrl({ctrl_kind::close, h, {}});
  return {};
}

result<void> session_worker_state::app_shutdown(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr || s->state == session_state::listening) return unexpected{errc::invalid_session};
  if (s->has(flag_app_closed) || s->has(flag_app_shut_tx)) return {};
  s->set(flag_app_shut_tx);
  // Behind the app's last tx event, like a close (handle_ctrl).
  post_ctrl({ctrl_kind::shutdown, h, {}});
  return {};
}

result<void> session_worker_state::app_reset(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr) return unexpected{errc::invalid_session};
  // Once closing, a reset adds nothing (SPEC 2.5) — but it still counts as
  // the app's close, or a session whose transport already closed would
  // wait for the app forever.
  if (s->state >= session_state::closing) return app_close(h);
  discard_tx(*s);
  s->set(flag_app_closed);
  s->clear(flag_custom_fifo_tuning);
  s->state = session_state::closing;
  post_ctrl({ctrl_kind::reset, h, {}});
  return {};
}

std::size_t session_worker_state::app_worker_gone(std::uint32_t app_worker) {
  std::vector<session_handle> owned;
  std::vector<session_handle> listeners;
  pool_.for_each([&](session& s) {
    if (s.app_worker != app_worker) return;
    // Already closed by the app, or refused and waiting for its transport
    // to go: nothing the app still owes.
    if (s.has(flag_app_closed) || s.state == session_state::created) return;
    (s.state == session_state::listening ? listeners : owned).push_back(s.handle);
  });
  for (session_handle h : listeners) (void)stop_listen(h);
  for (session_handle h : owned) {
    session* s = pool_.get(h);
    if (s == nullptr) continue;
    // An answer it still owed (accept, connected) will never come: "no",
    // as for an app that refuses. Everything else is reset.
    if (s->state == session_state::accepting)
      on_accept_reply(h, false);
    else if ((s->state == session_state::ready || s->state == session_state::opened) &&
             !s->has(flag_rx_ready))
      on_connected_reply(h, false);
    else
      (void)app_reset(h);
  }
  return owned.size() + listeners.size();
}

// ---------------------------------------------------------------------------
// SPEC 2.6 - 2.9 transport notifications

void session_worker_state::transport_closing_notify(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr || s->state >= session_state::transport_closing) return;
  s->state = session_state::transport_closing;
  env_.apps->close(*s);
}

void session_worker_state::transport_reset_notify(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr) return;
  discard_tx(*s);
  if (s->state >= session_state::transport_closing) return;
  s->state = session_state::transport_closing;
  env_.apps->reset(*s);
}

void session_worker_state::transport_violation_notify(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr) return;
  ++counters_.shm_violations;
  env_.apps->shm_violation(*s);
  transport_reset_notify(h);
}

void session_worker_state::transport_closed_notify(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr) return;
  if (s->state == session_state::ready) {
    // FIN and RST in quick succession: the app never heard of the close.
    transport_closing_notify(h);
    discard_tx(*s);
    s->state = session_state::transport_closed;
  } else if (s->state <= session_state::closing) {
    s->state = session_state::transport_closed;
  } else if (s->state == session_state::app_closed) {
    s->state = session_state::closed;
  }
  env_.apps->transport_closed(*s);
}

void session_worker_state::transport_delete_notify(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr) return;
  switch (s->state) {
    case session_state::created:
      // The app never heard of it (refused or not yet notified).
      release_fifos(*s);
      pool_.free(*s);
      return;
    case session_state::accepting:
    case session_state::transport_closing:
    case session_state::closing:
    case session_state::transport_closed:
      // The transport is gone; the session waits for the app's close.
      s->state = session_state::transport_deleted;
      env_.apps->cleanup(*s, cleanup_kind::transport);
      discard_tx(*s);
      return;
    case session_state::app_closed:
      s->state = session_state::transport_deleted;
      env_.apps->cleanup(*s, cleanup_kind::transport);
      discard_tx(*s);
      post_ctrl({ctrl_kind::close, h, {}});  // both sides confirmed: final close
      return;
    case session_state::transport_deleted:
      return;
    case session_state::closed:
      env_.apps->cleanup(*s, cleanup_kind::transport);
      free_with_fifos(*s);
      return;
    default:
      // Unexpected (listening, connecting, ready, opened): still never leak.
      env_.apps->cleanup(*s, cleanup_kind::transport);
      free_with_fifos(*s);
      return;
  }
}

// ---------------------------------------------------------------------------
// SPEC 2.10 - 2.12

// Close and reset differ only in what the transport is asked to do.
void session_worker_state::transport_end(session& s, bool reset) {
  if (s.state >= session_state::app_closed) {
    if (s.state == session_state::transport_closed)
      s.state = session_state::closed;
    else if (s.state >= session_state::transport_deleted)
      free_with_fifos(s);
    return;
  }
  s.state = session_state::app_closed;
  transport* tp = transport_of(s);
  if (tp == nullptr) return;
  if (reset)
    tp->reset(s.connection, index());
  else
    tp->close(s.connection, index());
}

void session_worker_state::transport_close(session& s) { transport_end(s, false); }
void session_worker_state::transport_reset(session& s) { transport_end(s, true); }

void session_worker_state::transport_cleanup(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr) return;
  if (s->state != session_state::transport_deleted) {
    if (transport* tp = transport_of(*s)) tp->cleanup(s->connection, index());
  }
  free_with_fifos(*s);
}

void session_worker_state::free_with_fifos(session& s) {
  env_.apps->cleanup(s, cleanup_kind::session);
  release_fifos(s);
  pool_.free(s);
}

// The bytes that went through a session's fifos stay counted after it.
void session_worker_state::release_fifos(session& s) {
  if (s.rx.valid()) counters_.rx_bytes_retired += s.rx.tail_position();
  if (s.tx.valid()) counters_.tx_bytes_retired += s.tx.tail_position();
  free_fifos(s);
}

session_worker_state::byte_totals session_worker_state::bytes() const {
  byte_totals t{counters_.rx_bytes_retired, counters_.tx_bytes_retired};
  pool_.for_each([&](const session& s) {
    if (s.rx.valid()) t.rx += s.rx.tail_position();
    if (s.tx.valid()) t.tx += s.tx.tail_position();
  });
  return t;
}

// ---------------------------------------------------------------------------
// SPEC 3 events

void session_worker_state::post_ctrl(ctrl_event ev) { ctrl_.push_back(std::move(ev)); }

void session_worker_state::post_io(io_event ev) { new_.push_back(ev); }

void session_worker_state::post_custom_tx(session& s) {
  if (s.has(flag_custom_tx)) return;
  s.set(flag_custom_tx);
  new_.push_back({io_kind::tx, s.handle});
}

std::size_t session_worker_state::run_events(std::size_t io_budget) {
  // Control first, all of it — but only what was queued before this run,
  // so a handler that re-posts cannot keep the worker here forever.
  for (std::size_t n = ctrl_.size(); n > 0 && !ctrl_.empty(); --n) {
    ctrl_event ev = std::move(ctrl_.front());
    ctrl_.pop_front();
    ++counters_.ctrl_events;
    handle_ctrl(ev);
  }
  std::size_t done = 0;
  const std::size_t old_before = old_.size();
  while (done < io_budget && !new_.empty()) {
    const io_event ev = new_.front();
    new_.pop_front();
    handle_io(ev);
    ++done;
  }
  // Unprocessed new events wait behind the old ones for the next run.
  for (std::size_t i = 0; i < old_before && done < io_budget && !old_.empty(); ++i) {
    const io_event ev = old_.front();
    old_.pop_front();
    handle_io(ev);
    ++done;
  }
  while (!new_.empty()) {
    old_.push_back(new_.front());
    new_.pop_front();
  }
  counters_.io_events += done;
  return done;
}

void session_worker_state::handle_ctrl(ctrl_event& ev) {
  if (ev.kind == ctrl_kind::rpc) {
    if (ev.rpc) ev.rpc(*this);
    return;
  }
  session* s = pool_.get(ev.handle);  // SPEC 9.1: re-validate at delivery
  if (s == nullptr) {
    ++counters_.stale_events;
    return;
  }
  switch (ev.kind) {
    case ctrl_kind::close: transport_close(*s); return;
    case ctrl_kind::reset: transport_reset(*s); return;
    case ctrl_kind::shutdown:
      // A close that overtook it says everything (the FIN is in the close).
      if (s->has(flag_app_closed) || s->state >= session_state::transport_deleted) return;
      if (transport* tp = transport_of(*s)) tp->shutdown(s->connection, index());
      return;
    case ctrl_kind::rpc: return;
  }
}

void session_worker_state::handle_io(const io_event& ev) {
  session* s = pool_.get(ev.handle);
  if (s == nullptr) {
    ++counters_.stale_events;
    return;
  }
  transport* tp = transport_of(*s);
  switch (ev.kind) {
    case io_kind::tx:
      s->clear(flag_custom_tx);
      if (tp != nullptr) tp->custom_tx(*s);
      return;
    case io_kind::app_rx:
      if (tp != nullptr) tp->app_rx_evt(*s);
      return;
    case io_kind::builtin_rx:
      rx_notify(ev.handle);
      return;
  }
}

void session_worker_state::enqueue_notify(session& s) {
  // A transport that enqueued knows the length; cut-through does not (the
  // peer app enqueued), so the callback gets what the fifo holds now.
  if (s.has(flag_custom_fifo_tuning))
    env_.apps->tune_fifo(s, s.rx, tuning_action::enqueued, s.rx.valid() ? s.rx.max_dequeue() : 0);
  if (s.has(flag_rx_evt)) return;  // already batched
  s.set(flag_rx_evt);
  pending_rx_.push_back(s.handle);
}

bool session_worker_state::notify_rx(session& s) {
  bool ok = env_.apps->rx(s.app_worker, s);
  if (s.rx.valid()) {
    for (std::size_t i = 0; i < s.rx.subscriber_count(); ++i)
      ok = env_.apps->rx(s.rx.subscriber(i), s) && ok;
  }
  return ok;
}

std::size_t session_worker_state::flush_enqueue_events() {
  std::size_t failures = 0;
  for (session_handle h : pending_rx_) {
    session* s = pool_.get(h);  // freed since it was batched?
    if (s == nullptr) {
      ++failures;
      continue;
    }
    s->clear(flag_rx_evt);
    if (s->has(flag_custom_fifo_tuning))
      env_.apps->tune_fifo(*s, s->rx, tuning_action::enqueued, s->rx.valid() ? s->rx.max_dequeue() : 0);
    if (!notify_rx(*s)) ++failures;
  }
  pending_rx_.clear();
  counters_.rx_notify_failures += failures;
  return failures;
}

void session_worker_state::rx_notify(session_handle h) {
  session* s = pool_.get(h);
  if (s == nullptr) {
    ++counters_.stale_events;
    return;
  }
  if (s->state >= session_state::transport_closing) return;
  if (!notify_rx(*s)) ++counters_.rx_notify_failures;
}

result<void> session_worker_state::subscribe(session_handle h, std::uint32_t app_worker, bool add) {
  session* s = pool_.get(h);
  if (s == nullptr || !s->rx.valid() || !s->tx.valid())
    return unexpected{errc::invalid_session, "no such session"};
  if (!add) {
    s->rx.del_subscriber(app_worker);
    s->tx.del_subscriber(app_worker);
    return {};
  }
  if (s->state >= session_state::transport_closing)
    return unexpected{errc::invalid_session, "session is closing"};
  if (auto r = s->rx.add_subscriber(app_worker); !r) return r;
  if (auto r = s->tx.add_subscriber(app_worker); !r) {
    s->rx.del_subscriber(app_worker);  // both or neither
    return r;
  }
  return {};
}

void session_worker_state::dequeue_notify(session& s, std::size_t n) {
  if (s.has(flag_custom_fifo_tuning))
    env_.apps->tune_fifo(s, s.tx, tuning_action::dequeued, n);
  if (!s.tx.valid() || !s.tx.needs_deq_ntf(n)) return;
  s.tx.clear_deq_ntf();
  env_.apps->tx(s.app_worker, s);
  for (std::size_t i = 0; i < s.tx.subscriber_count(); ++i) env_.apps->tx(s.tx.subscriber(i), s);
}

// ---------------------------------------------------------------------------
// SPEC 5 migration

session_handle session_worker_state::migrate_in(const session& old, std::uint32_t new_connection) {
  session& s = pool_.alloc();
  const session_handle h = s.handle;
  s = old;
  s.handle = h;
  s.connection = new_connection;
  s.state = session_state::ready;
  s.set(flag_is_migrating);
  s.clear(flag_rx_ready);
  s.clear(flag_rx_evt);
  // The old worker's flag: a tx event queued *there*. None is queued here,
  // and a copied flag would swallow every tx event this worker is posted.
  s.clear(flag_custom_tx);
  if (s.rx.valid()) s.rx.set_owner({h.index(), index()});
  if (s.tx.valid()) s.tx.set_owner({h.index(), index()});
  return h;
}

migrate_outcome session_worker_state::migrate_out(session_handle old, session_handle new_handle) {
  session* s = pool_.get(old);
  if (s == nullptr) return migrate_outcome::gone;
  if (transport* tp = transport_of(*s)) tp->cleanup(s->connection, index());
  if (s->state >= session_state::transport_closing) {
    // Closed while migrating (SPEC 9.4): the app only ever knew the old
    // handle, so it hears the cleanup for that one; the new worker must
    // clean up its copy too (the fifos now belong to it).
    env_.apps->cleanup(*s, cleanup_kind::session);
    pool_.free(*s);
    return migrate_outcome::cleanup;
  }
  env_.apps->migrate(*s, new_handle);
  pool_.free(*s);  // the fifos live on in the new session
  return migrate_outcome::completed;
}

void session_worker_state::migrate_finish(session_handle new_handle, migrate_outcome outcome) {
  session* s = pool_.get(new_handle);
  if (s == nullptr) return;
  if (outcome == migrate_outcome::completed) {
    s->clear(flag_is_migrating);
    s->set(flag_rx_ready);
    rx_notify(new_handle);  // the app reads on the new worker from now on
    // A write the app posted under the old handle may have reached the old
    // worker after the session left it (a stale event, dropped there), and
    // the tx fifo's flag then stays set: no later write would post again.
    // One tx event here reaches the new owner; with nothing queued it only
    // re-arms the flag.
    post_custom_tx(*s);
    return;
  }
  transport_cleanup(new_handle);
}

void session_worker_state::migrate_abandon(session_handle new_handle) {
  session* s = pool_.get(new_handle);
  if (s == nullptr || !s->has(flag_is_migrating)) return;
  pool_.free(*s);
}

}  // namespace actorstack::session_layer
