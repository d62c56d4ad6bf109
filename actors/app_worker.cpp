#include "actors/app_worker.hpp"

#include <unordered_map>

namespace actorstack {

namespace {

struct app_worker_state {
  static inline const char* name = "app_worker";
  app_worker_config cfg;
  std::unique_ptr<app_handler> handler;
  std::unordered_map<std::uint64_t, std::unique_ptr<session>> sessions;
  std::unique_ptr<detail::session_control> control;
  std::uint64_t dropped = 0;
};

using self_pointer = app_worker_actor::stateful_pointer<app_worker_state>;

// Sessions reach their worker through the app worker's mailbox-free sends.
class control_impl final : public detail::session_control {
 public:
  explicit control_impl(self_pointer self) : self_(self) {}
  void post_tx(session_handle h) override { send(h, tx_atom_v); }
  void post_app_rx(session_handle h) override { send(h, app_rx_atom_v); }
  void close(session_handle h) override { send(h, close_atom_v); }
  void reset(session_handle h) override { send(h, reset_atom_v); }

 private:
  template <class Atom>
  void send(session_handle h, Atom atom) {
    auto& workers = self_->state.cfg.workers;
    if (h.worker() < workers.size()) self_->send(workers[h.worker()], atom, h);
  }
  self_pointer self_;
};

}  // namespace

// The one place outside `session` that may change its handle.
struct detail::session_access {
  static void rebind(session& s, session_handle h) noexcept { s.handle_ = h; }
};

namespace {

session* find(self_pointer self, session_handle h) {
  auto it = self->state.sessions.find(h.value());
  return it == self->state.sessions.end() ? nullptr : it->second.get();
}

void deliver(self_pointer self, const app_notification& n) {
  auto& st = self->state;
  auto& handler = *st.handler;
  if (n.kind == notification::accept || n.kind == notification::connected) {
    if (n.kind == notification::connected && (n.err != errc::none || !n.handle.valid())) {
      handler.on_connect_failed(n.opaque, n.err);
      return;
    }
    auto s = std::make_unique<session>(n.handle, n.rx, n.tx, st.control.get());
    auto* raw = s.get();
    st.sessions[n.handle.value()] = std::move(s);
    const bool ok = n.kind == notification::accept ? handler.on_accept(*raw)
                                                   : handler.on_connected(*raw, n.opaque);
    if (n.handle.worker() < st.cfg.workers.size()) {
      auto& w = st.cfg.workers[n.handle.worker()];
      if (n.kind == notification::accept)
        self->send(w, accept_atom_v, n.handle, ok);
      else
        self->send(w, connected_atom_v, n.handle, ok);
    }
    if (!ok) st.sessions.erase(n.handle.value());
    return;
  }
  if (n.kind == notification::segment_add || n.kind == notification::segment_del) {
    if (n.kind == notification::segment_add)
      handler.on_segment_add(n.segment);
    else
      handler.on_segment_del(n.segment);
    return;
  }
  if ((n.kind == notification::rx || n.kind == notification::tx) && n.app_worker != st.cfg.index) {
    // A subscriber hears another worker's session events (SPEC 3).
    handler.on_subscribed_event(n.handle, n.kind == notification::rx ? fifo_side::rx : fifo_side::tx);
    return;
  }
  session* s = find(self, n.handle);
  if (s == nullptr) {
    ++st.dropped;  // refused or cleaned up: nothing to tell
    return;
  }
  const bool data_or_close = n.kind == notification::rx || n.kind == notification::tx ||
                             n.kind == notification::close || n.kind == notification::reset ||
                             n.kind == notification::transport_closed ||
                             n.kind == notification::fifo_tuning;
  if (s->closed() && data_or_close) {
    ++st.dropped;  // the app closed it: only migrate and cleanup are news
    return;
  }
  switch (n.kind) {
    case notification::rx: handler.on_rx(*s); break;
    case notification::tx: handler.on_tx(*s); break;
    case notification::close: handler.on_close(*s); break;
    case notification::reset: handler.on_reset(*s); break;
    case notification::transport_closed: handler.on_transport_closed(*s); break;
    case notification::cleanup_transport: handler.on_cleanup(n.handle, true); break;
    case notification::cleanup_session:
      handler.on_cleanup(n.handle, false);
      st.sessions.erase(n.handle.value());
      break;
    case notification::migrate: {
      auto node = st.sessions.extract(n.handle.value());
      node.key() = n.other.value();
      detail::session_access::rebind(*node.mapped(), n.other);
      session& moved = *node.mapped();
      st.sessions.insert(std::move(node));
      handler.on_migrate(moved, n.handle);
      break;
    }
    case notification::fifo_tuning: handler.on_fifo_tuning(*s, n.side, n.action, n.length); break;
    case notification::accept:
    case notification::connected:
    case notification::segment_add:
    case notification::segment_del: break;  // handled above
  }
}

}  // namespace

app_worker_actor spawn_app_worker(caf::actor_system& sys, app_worker_config cfg,
                                  std::unique_ptr<app_handler> handler) {
  // Arguments, not captures (CAF 0.17.6, see spawn_session_worker). The
  // handler travels as a raw pointer the actor adopts at once.
  return sys.spawn(
      [](self_pointer self, app_worker_config cfg,
         app_handler* handler) -> app_worker_actor::behavior_type {
        self->state.cfg = std::move(cfg);
        self->state.handler.reset(handler);
        self->state.control = std::make_unique<control_impl>(self);
        return {
            [=](notify_atom, const app_notification& n) { deliver(self, n); },
            [=](detach_atom) {
              // Every session this app still holds is reset towards its
              // peer; the session layer cleans up without the app.
              auto& st = self->state;
              for (auto& [h, s] : st.sessions) st.control->reset(session_handle::from_value(h));
              st.sessions.clear();
              self->quit();
            },
        };
      },
      std::move(cfg), handler.release());
}

}  // namespace actorstack
