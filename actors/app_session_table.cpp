// An app worker's sessions and the delivery of notifications to a handler:
// what the stack's own app_worker actor and user-written app worker actors
// share (include/actorstack/app_worker.hpp).
#include <actorstack/app_worker.hpp>

#include "actors/app_session_store.hpp"
#include "actors/rx_wake.hpp"
#include "actors/session_worker.hpp"

namespace actorstack {

// The one place outside `session` that may change its handle (or say
// where it runs).
struct detail::session_access {
  static void rebind(session& s, session_handle h) noexcept { s.handle_ = h; }
  static void set_endpoints(session& s, const endpoint_pair& ends, transport_proto transport) {
    s.ends_.assign(ends);
    s.transport_ = transport;
  }
  // A network transport sets the rx fifo's flag when it enqueues and posts
  // only then; the app clears it as it takes the notification, so the
  // next datagram notifies again (cut-through coalesces on the writer's
  // side instead).
  static const fifo_ref& fifo(const session& s, fifo_side side) noexcept { return s.side(side); }
  static void set_route(session& s, const tx_route& r) noexcept { s.route_ = r; }
  static const tx_route& route(const session& s) noexcept { return s.route_; }
  static void rx_seen(session& s) noexcept {
    if (s.datagram_) shm::fifo::from_ref(s.rx_).unset_event();
  }
  // Straight from the core (tx_route.hpp), nobody re-armed the flag for
  // the app: done before the handler reads, so bytes enqueued from now on
  // name the session again.
  static void rx_taken(session& s) noexcept { shm::fifo::from_ref(s.rx_).unset_event(); }
};

namespace {

// A session's calls reach its worker as plain sends: no reply, no wait.
// "Data written" on a session with a tx route goes to its data-plane core
// instead (tx_route.hpp), and to the worker too only when the core may be
// asleep.
class control_impl final : public detail::session_control {
 public:
  control_impl(const app_worker_context& ctx, app_session_store& sessions)
      : direct_(ctx.direct_tx), sessions_(sessions) {
    for (const auto& w : ctx.session_workers) workers_.push_back(caf::actor_cast<session_worker_actor>(w));
  }
  /// `s` was accepted or connected with route `r` (kept in the session).
  void routed(session& s, const tx_route& r) {
    if (direct_ != nullptr) detail::session_access::set_route(s, r);
  }
  /// `h` closed, shut down, reset or was renamed: its writes go the old way.
  void unrouted(session_handle h) {
    if (session* s = sessions_.find(h)) detail::session_access::set_route(*s, tx_route{});
  }

  void post_tx(session_handle h) override {
    if (!posted_direct(h)) send(h, tx_atom_v);
  }
  // One message per session worker, not per session.
  void post_tx_batch(std::span<const session_handle> hs) override {
    if (hs.size() == 1) return post_tx(hs[0]);
    per_worker_.resize(workers_.size());
    for (session_handle h : hs)
      if (h.worker() < workers_.size() && !posted_direct(h)) per_worker_[h.worker()].push_back(h);
    for (std::size_t w = 0; w < per_worker_.size(); ++w) {
      if (per_worker_[w].size() == 1) send(per_worker_[w][0], tx_atom_v);
      else if (!per_worker_[w].empty()) caf::anon_send(workers_[w], tx_atom_v, per_worker_[w]);
      per_worker_[w].clear();
    }
  }
  void post_app_rx(session_handle h) override { send(h, app_rx_atom_v); }
  void close(session_handle h) override {
    unrouted(h);
    send(h, close_atom_v);
  }
  void reset(session_handle h) override {
    unrouted(h);
    send(h, reset_atom_v);
  }
  // Nothing written after a shutdown may leave but through the worker,
  // which knows the session may send no more.
  void shutdown(session_handle h) override {
    unrouted(h);
    send(h, shutdown_atom_v);
  }
  void answer_accept(session_handle h, bool ok) override { send(h, accept_atom_v, ok); }
  void answer_connected(session_handle h, bool ok) override { send(h, connected_atom_v, ok); }

 private:
  template <class Atom, class... Ts>
  void send(session_handle h, Atom atom, Ts... xs) {
    if (h.worker() < workers_.size()) caf::anon_send(workers_[h.worker()], atom, h, xs...);
  }
  // True when the core took the notice and is awake to act on it.
  bool posted_direct(session_handle h) {
    if (direct_ == nullptr) return false;
    const session* s = sessions_.find(h);
    if (s == nullptr) return false;
    const tx_route& r = detail::session_access::route(*s);
    return r.valid && direct_->post(r);
  }
  std::vector<session_worker_actor> workers_;
  std::vector<std::vector<session_handle>> per_worker_;  // post_tx_batch's, empty between calls
  std::shared_ptr<detail::direct_tx> direct_;
  app_session_store& sessions_;  // the app worker's (app_session_table::impl)
};

bool is_data_or_close(notification k) {
  return k == notification::rx || k == notification::tx || k == notification::close ||
         k == notification::reset || k == notification::transport_closed ||
         k == notification::fifo_tuning;
}

}  // namespace

struct app_session_table::impl {
  explicit impl(app_worker_context c)
      : ctx(std::move(c)), own_control(ctx, sessions), control(ctx.control ? *ctx.control : own_control) {}
  app_worker_context ctx;
  app_session_store sessions;  // before own_control, which reads it
  control_impl own_control;
  detail::session_control& control;  // ctx.control's, or own_control
  std::uint64_t dropped = 0;
  // "Bytes arrived" from the data-plane cores (enable_direct_rx), and
  // the handles one take brought (kept for its capacity).
  std::shared_ptr<detail::rx_inbox> rx_inbox;
  std::vector<session_handle> arrived;

  void take_arrived(app_handler& handler) {
    arrived.clear();
    rx_inbox->take(arrived);
    for (session_handle h : arrived) {
      session* s = sessions.find(h);
      // Refused, cleaned up, or closed by the app: as a late rx
      // notification (deliver).
      if (s == nullptr || s->closed()) {
        ++dropped;
        continue;
      }
      detail::session_access::rx_taken(*s);
      handler.on_rx(*s);
    }
  }

  void open(const app_notification& n, app_handler& handler) {
    if (n.kind == notification::connected && (n.err != errc::none || !n.handle.valid())) {
      handler.on_connect_failed(n.opaque, n.err);
      return;
    }
    session* raw = &sessions.emplace(n.handle, n.rx, n.tx, &control, n.proto == transport_proto::udp);
    detail::session_access::set_endpoints(*raw, n.ends, n.proto);
    // Only this table's own control sends "data written" anywhere itself.
    if (&control == &own_control && n.route.valid) own_control.routed(*raw, n.route);
    const bool ok = n.kind == notification::accept ? handler.on_accept(*raw)
                                                   : handler.on_connected(*raw, n.opaque);
    if (n.kind == notification::accept)
      control.answer_accept(n.handle, ok);
    else
      control.answer_connected(n.handle, ok);
    if (!ok) {
      sessions.erase(n.handle);
      return;
    }
    // From the core's next pass on, its "bytes arrived" comes here; until
    // then (or if this fails) the session worker's rx notifications do.
    if (rx_inbox != nullptr && n.route.rx && !raw->closed())
      (void)ctx.direct_tx->route_rx(n.route, *rx_inbox, n.handle);
  }

  void listened(const app_notification& n, app_handler& handler) {
    handler.on_listen(sessions.emplace(n.handle, n.rx, n.tx, &control, n.proto == transport_proto::udp));
  }

  void migrate(const app_notification& n, app_handler& handler) {
    own_control.unrouted(n.handle);  // the worker hears "data written" under the new name
    session* moved = sessions.rekey(n.handle, n.other);
    if (moved == nullptr) return;
    detail::session_access::rebind(*moved, n.other);
    handler.on_migrate(*moved, n.handle);
  }
};

app_session_table::app_session_table(app_worker_context ctx)
    : impl_(std::make_unique<impl>(std::move(ctx))) {}
app_session_table::~app_session_table() = default;

void app_session_table::deliver(const std::vector<app_notification>& batch, app_handler& handler) {
  for (const app_notification& n : batch) deliver(n, handler);
}

void app_session_table::enable_direct_rx(const caf::actor& self) {
  auto& st = *impl_;
  if (st.ctx.direct_tx == nullptr || st.rx_inbox != nullptr || &st.control != &st.own_control) return;
  st.rx_inbox = st.ctx.direct_tx->make_rx_inbox(rx_wake(self.address(), st.ctx.index));
}

void app_session_table::deliver(const app_notification& n, app_handler& handler) {
  auto& st = *impl_;
  // Bytes a core named before this news left it are read first, as they
  // would have been had the session worker told both (a close after its
  // data, say).
  if (st.rx_inbox != nullptr && (n.kind == notification::rx_ready || st.rx_inbox->waiting())) {
    st.take_arrived(handler);
    if (n.kind == notification::rx_ready) return;
  }
  switch (n.kind) {
    case notification::accept:
    case notification::connected: st.open(n, handler); return;
    case notification::segment_add: handler.on_segment_add(n.segment); return;
    case notification::segment_del: handler.on_segment_del(n.segment); return;
    case notification::listened: st.listened(n, handler); return;
    default: break;
  }
  if ((n.kind == notification::rx || n.kind == notification::tx) && n.app_worker != st.ctx.index) {
    // A subscriber hears another worker's session events (SPEC 3).
    handler.on_subscribed_event(n.handle, n.kind == notification::rx ? fifo_side::rx : fifo_side::tx);
    return;
  }
  session* s = find(n.handle);
  // Refused, cleaned up, or closed by the app (whose fifos the stack may
  // free at any moment): only cleanup and migration are still news.
  if (s == nullptr || (s->closed() && is_data_or_close(n.kind))) {
    ++st.dropped;
    return;
  }
  switch (n.kind) {
    case notification::rx:
      detail::session_access::rx_seen(*s);
      handler.on_rx(*s);
      break;
    case notification::tx: handler.on_tx(*s); break;
    case notification::close: handler.on_close(*s); break;
    case notification::reset: handler.on_reset(*s); break;
    case notification::transport_closed: handler.on_transport_closed(*s); break;
    case notification::cleanup_transport: handler.on_cleanup(n.handle, true); break;
    case notification::cleanup_session:
      handler.on_cleanup(n.handle, false);
      st.sessions.erase(n.handle);
      break;
    case notification::migrate: st.migrate(n, handler); break;
    case notification::fifo_tuning: handler.on_fifo_tuning(*s, n.side, n.action, n.length); break;
    case notification::accept:
    case notification::connected:
    case notification::segment_add:
    case notification::segment_del:
    case notification::listened:
    case notification::rx_ready: break;  // handled above
  }
}

void app_session_table::reset_all() {
  auto& st = *impl_;
  st.sessions.for_each([](session& s) { (void)s.reset(); });
  st.sessions.clear();
}

session* app_session_table::find(session_handle h) noexcept {
  return impl_->sessions.find(h);
}

std::size_t app_session_table::size() const noexcept { return impl_->sessions.size(); }

bool app_session_table::holds_fifos_in(const void* segment_base) const noexcept {
  bool holds = false;
  impl_->sessions.for_each([&](const session& s) {
    for (auto side : {fifo_side::rx, fifo_side::tx}) {
      const fifo_ref& f = detail::session_access::fifo(s, side);
      if (f.valid() && shm::fifo::from_ref(f).segment_base() == segment_base) holds = true;
    }
  });
  return holds;
}
std::uint64_t app_session_table::dropped() const noexcept { return impl_->dropped; }
const app_worker_context& app_session_table::context() const noexcept { return impl_->ctx; }

}  // namespace actorstack
