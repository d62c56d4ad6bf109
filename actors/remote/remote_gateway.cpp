#include "actors/caf_error.hpp"
#include "actors/remote/remote_gateway.hpp"

#include "actors/remote/channel_outbox.hpp"
#include "actors/door_shield.hpp"
#include "actors/log.hpp"
#include "actors/mailbox_depth.hpp"
#include "actors/rx_wake.hpp"
#include "actors/session_worker.hpp"
#include "base/secret.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace actorstack {

namespace {

// A segment kept from the app for now, with a copy of its memfd: the
// stack closes its own fd when it deletes the segment, possibly before
// this gateway hears of that, and a closed number may be reused by then —
// a late pass must never hand the app another of the daemon's fds.
struct withheld_segment {
  segment_info info;
  int fd = -1;

  explicit withheld_segment(const segment_info& seg) : info(seg), fd(::fcntl(seg.fd, F_DUPFD_CLOEXEC, 0)) {
    info.fd = fd;
  }
  withheld_segment(withheld_segment&& o) noexcept : info(o.info), fd(std::exchange(o.fd, -1)) {}
  withheld_segment& operator=(withheld_segment&&) = delete;
  ~withheld_segment() {
    if (fd >= 0) ::close(fd);
  }
};

struct gateway_state {
  static inline const char* name = "remote_gateway";
  remote_gateway_config cfg;
  /// Records on their way to the app, and the notifications being
  /// gathered into the next `notify` record (sent before any other record,
  /// so the app hears everything in the order it happened).
  std::unique_ptr<channel_outbox> outbox;
  app_protocol::notify_batch batch;
  bool resend_scheduled = false;
  std::vector<session_worker_actor> workers;
  /// Sessions this app worker was told about and has not given up: the
  /// only handles its requests may name.
  std::unordered_set<std::uint64_t> owned;
  // Owned tcp sessions' tx routes (tx_route.hpp): the app's "data
  // written" goes to the session's core without the session worker. Only
  // what a notification named: the app names handles, never routes.
  std::unordered_map<std::uint64_t, tx_route> routes;
  // Owned tcp sessions whose "bytes arrived" the cores put in this
  // gateway's rx inbox (tx_route.hpp), with their rx fifos: the event
  // flag is re-armed here, as their session worker would have. Kept
  // through a shutdown (the app still reads), gone at close or cleanup.
  std::shared_ptr<detail::rx_inbox> rx_inbox;
  std::unordered_map<std::uint64_t, fifo_ref> rx_routed;
  std::vector<session_handle> arrived;  // one take's (kept for its capacity)
  /// Old handle -> new one of a session that moved to another worker (SPEC
  /// §5): the app may still name it so until it read the migrate
  /// notification, and the old worker passes such requests on. Kept until
  /// the moved session's cleanup.
  std::unordered_map<std::uint64_t, std::uint64_t> old_names;
  /// Segment base in this process -> segment id, from segment_add.
  std::unordered_map<std::uintptr_t, std::uint64_t> segment_of;
  /// Segments passed to the app, by id -> size: counted against
  /// quota.segment-bytes until their segment_del (or this gateway's end).
  std::unordered_map<std::uint64_t, std::uint64_t> passed_bytes;
  /// Segments not passed because quota.segment-bytes had no room for them,
  /// by base: passed once a session placed in one finds room, else that
  /// session is refused with errc::quota.
  std::unordered_map<std::uintptr_t, withheld_segment> withheld;
  /// Messages only the stack's own actors may send that came from
  /// elsewhere (another process, or anonymous).
  std::uint64_t refused_foreign = 0;
  std::uint64_t not_owned_logged = 0;  // requests naming sessions it does not hold
  /// The app's own detach (its request number), asked of the root: the
  /// root ends this gateway (detach_atom) before its answer could come
  /// back here, so the gateway answers the app as it goes.
  std::optional<std::uint64_t> detaching;
  /// Sessions of this app worker counted against quota.sessions (accepted
  /// or connected; not listeners), and its connects not yet answered.
  std::unordered_set<std::uint64_t> counted;
  std::uint32_t pending_connects = 0;
  std::uint64_t quota_logged = 0;

  gateway_state() = default;
  gateway_state(const gateway_state&) = delete;
  gateway_state& operator=(const gateway_state&) = delete;
  // Whatever way the gateway ends, the app's counts lose what it held.
  ~gateway_state() {
    if (!cfg.usage) return;
    app_usage::give_back(cfg.usage->sessions, static_cast<std::uint32_t>(counted.size()));
    app_usage::give_back(cfg.usage->pending_connects, pending_connects);
    for (const auto& [id, bytes] : passed_bytes) app_usage::give_back(cfg.usage->segment_bytes, bytes);
  }
};

// An rx / tx event for a session the app holds goes through the app's
// shared queue when there is one and it has room; false: send it as a
// message (never dropped).
bool post_io(gateway_state& st, const app_notification& n) {
  if (!st.cfg.events) return false;
  shm::io_event ev;
  ev.type = n.kind == notification::rx ? shm::io_event_type::rx : shm::io_event_type::tx;
  ev.session_handle = n.handle.value();
  return st.cfg.events->queue().post_io(ev).has_value();
}

using self_pointer = remote_gateway_actor::stateful_pointer<gateway_state>;

void tell(self_pointer self, const app_notification& n);

// What the cores named since the last look: rx events for the app, as the
// session worker would have sent them.
void take_arrived(self_pointer self) {
  auto& st = self->state;
  st.arrived.clear();
  st.rx_inbox->take(st.arrived);
  for (session_handle h : st.arrived) {
    auto it = st.rx_routed.find(h.value());
    if (it == st.rx_routed.end()) continue;  // closed, refused or gone since
    shm::fifo::from_ref(it->second).unset_event();
    app_notification n;
    n.kind = notification::rx;
    n.handle = h;
    n.app_worker = st.cfg.ctx.index;
    if (!post_io(st, n)) tell(self, n);
  }
}

void forget_session(gateway_state& st, session_handle h) {
  st.routes.erase(h.value());
  st.rx_routed.erase(h.value());
}

// What happened to the app's sessions (notifications), its detach and
// inspection come from the stack's own actors, in this process: a message
// of that kind from anyone else (a sender that hides itself, or another
// node — none can name this actor, it is never shown to one) is refused,
// counted and logged.
bool refused(self_pointer self, const char* what) {
  const auto& sender = self->current_sender();
  auto& st = self->state;
  if (st.refused_foreign++ < 8)
    log_line("remote app worker " + std::to_string(st.cfg.ctx.index) + ": refused '" + what +
             "' from outside the stack (" + (sender ? to_string(sender->node()) : std::string{"anonymous"}) + ")");
  return false;
}

bool from_the_stack(self_pointer self, const char* what) { return from_inside(self) || refused(self, what); }

// ---- the app's Unix connection --------------------------------------------------

// The connection broke or the app stopped reading it: the gateway ends
// (the inspector cleans up after it as after any dead app worker).
void connection_lost(self_pointer self, const error& why) {
  log_line("remote app worker " + std::to_string(self->state.cfg.ctx.index) + ": its connection: " + why.message() +
           "; giving the app up");
  self->quit(caf::exit_reason::remote_link_unreachable);
}

// The notifications gathered so far become one record.
bool close_batch(self_pointer self) {
  auto& st = self->state;
  if (st.batch.empty()) return true;
  auto r = st.outbox->push(app_protocol::record::notify, st.batch.payload());
  st.batch.clear();
  if (!r) connection_lost(self, r.error());
  return r.has_value();
}

// A record other than a notification, after those gathered before it.
bool put_record(self_pointer self, app_protocol::record type, std::span<const std::byte> payload, int fd = -1) {
  if (!close_batch(self)) return false;
  auto r = self->state.outbox->push(type, payload, fd);
  if (!r) connection_lost(self, r.error());
  return r.has_value();
}

void tell(self_pointer self, const app_notification& n) {
  auto& st = self->state;
  if (st.batch.add(n)) return;
  if (close_batch(self)) (void)st.batch.add(n);
}

// End of a turn: what was gathered goes out; what the socket has no room
// for is tried again shortly (never a wait on this scheduler thread).
void send_out(self_pointer self) {
  auto& st = self->state;
  if (!close_batch(self)) return;
  auto drained = st.outbox->flush();
  if (!drained) return connection_lost(self, drained.error());
  if (*drained || st.resend_scheduled) return;
  st.resend_scheduled = true;
  self->delayed_send(self, std::chrono::milliseconds{1}, resend_atom_v);
}

void answer_app(self_pointer self, std::uint64_t request, errc code, std::uint64_t value = 0) {
  const auto bytes = app_protocol::encode(app_protocol::answer{request, code, value});
  if (put_record(self, app_protocol::record::answer, bytes)) send_out(self);
}

// An actor's answer to one of the app's requests, as the app hears it.
errc code_of(self_pointer self, const caf::error& e) { return from_caf(self->system(), e).code; }

// The app reached one of its quotas: the root counts it for the app
// (quota_refusals in show apps), a line says which.
void over_quota(self_pointer self, const char* which) {
  auto& st = self->state;
  self->send(st.cfg.root, quota_atom_v, st.cfg.ctx.app);
  if (st.quota_logged++ < 8)
    log_line("remote app worker " + std::to_string(st.cfg.ctx.index) + " of app " + std::to_string(st.cfg.ctx.app) +
             ": refused at " + which);
}

// One more session for the app, if quota.sessions allows.
bool count_session(self_pointer self, session_handle h) {
  auto& st = self->state;
  if (st.cfg.usage && !app_usage::take(st.cfg.usage->sessions, st.cfg.usage->limits.sessions)) {
    over_quota(self, "quota.sessions");
    return false;
  }
  if (st.cfg.usage) st.counted.insert(h.value());
  return true;
}

void connect_answered(gateway_state& st) {
  if (st.pending_connects == 0) return;
  --st.pending_connects;
  if (st.cfg.usage) app_usage::give_back(st.cfg.usage->pending_connects);
}

// The app's connect goes to the root once quota.pending-connects allows
// it; the answer says whether it is under way (the outcome comes as a
// connected notification).
void start_connect(self_pointer self, const app_protocol::connect_request& req) {
  auto& st = self->state;
  const auto& c = st.cfg;
  if (c.usage && !app_usage::take(c.usage->pending_connects, c.usage->limits.pending_connects)) {
    over_quota(self, "quota.pending-connects");
    return answer_app(self, req.request, errc::quota);
  }
  ++st.pending_connects;
  self->request(c.root, caf::infinite, connect_atom_v,
                connect_request{c.ctx.app, c.ctx.index, req.remote, req.opaque, false, req.local_port})
      .then([self, id = req.request](bool ok) { answer_app(self, id, errc::none, ok ? 1 : 0); },
            [self, id = req.request](caf::error& e) {
              connect_answered(self->state);  // refused at once: no connected notification follows
              answer_app(self, id, code_of(self, e));
            });
}

// A segment the stack added for the app is passed to it if
// quota.segment-bytes has room for it; otherwise it is withheld (counted,
// logged) and the sessions placed in it are refused with errc::quota. The
// segment is the stack's either way: it is deleted as usual (cut-through:
// once its sessions are gone; a network transport's: with the app worker).
bool room_for_segment(self_pointer self, const segment_info& seg) {
  auto& st = self->state;
  if (!st.cfg.usage) return true;
  if (st.passed_bytes.count(seg.id)) return true;  // told twice (one app at both ends of a cut-through pair)
  if (app_usage::take(st.cfg.usage->segment_bytes, st.cfg.usage->limits.segment_bytes, seg.size)) {
    st.passed_bytes.emplace(seg.id, seg.size);
    return true;
  }
  st.withheld.try_emplace(seg.base, seg);
  if (st.quota_logged < 8)
    log_line("remote app worker " + std::to_string(st.cfg.ctx.index) + ": segment " + seg.name + " (" +
             std::to_string(seg.size) + " bytes) withheld: quota.segment-bytes");
  return false;
}

// Tells the app where a notification's fifos live; false when the segment
// was never announced to it (it could not map them).
bool locate_fifos(gateway_state& st, app_notification& n) {
  if (!n.rx.valid() || !n.tx.valid()) return false;
  const auto rx = shm::fifo::from_ref(n.rx), tx = shm::fifo::from_ref(n.tx);
  auto it = st.segment_of.find(reinterpret_cast<std::uintptr_t>(rx.segment_base()));
  if (it == st.segment_of.end() || tx.segment_base() != rx.segment_base()) return false;
  n.fifo_segment = it->second;
  n.rx_offset = rx.offset();
  n.tx_offset = tx.offset();
  return true;
}

// The memfd goes first, on the same connection: by the time the app
// reads the notification that names the segment, it has mapped it.
bool send_segment(self_pointer self, const segment_info& seg) {
  std::array<std::byte, 16> payload{};
  std::memcpy(payload.data(), &seg.id, 8);
  std::memcpy(payload.data() + 8, &seg.size, 8);
  return put_record(self, app_protocol::record::segment, payload, seg.fd);
}

// A session placed in a withheld segment: the segment is passed now if
// the quota has room (the app's other segments may have gone meanwhile);
// refused: it still has none, the session is refused (counted).
enum class withheld_pass { not_withheld, passed, refused, broken };

withheld_pass pass_withheld(self_pointer self, const app_notification& n) {
  auto& st = self->state;
  if (st.withheld.empty() || !n.rx.valid()) return withheld_pass::not_withheld;
  auto it = st.withheld.find(reinterpret_cast<std::uintptr_t>(shm::fifo::from_ref(n.rx).segment_base()));
  if (it == st.withheld.end()) return withheld_pass::not_withheld;
  const segment_info& seg = it->second.info;
  if (!app_usage::take(st.cfg.usage->segment_bytes, st.cfg.usage->limits.segment_bytes, seg.size)) {
    over_quota(self, "quota.segment-bytes");
    return withheld_pass::refused;
  }
  st.passed_bytes.emplace(seg.id, seg.size);
  if (!send_segment(self, seg)) return withheld_pass::broken;
  // Told as the stack would have told it: the memfd, then segment_add.
  app_notification added;
  added.kind = notification::segment_add;
  added.segment = seg;
  added.segment.fd = -1;  // the copy's number means nothing to the app
  tell(self, added);
  st.segment_of[seg.base] = seg.id;
  st.withheld.erase(it);
  return withheld_pass::passed;
}

// A request naming a session: forwarded to its worker only if this app
// worker holds it. Nothing answers: a session request from an in-process
// app is a plain send too.
template <class Atom, class... Ts>
void forward(self_pointer self, Atom atom, session_handle h, Ts... xs) {
  auto& st = self->state;
  if ((!st.owned.count(h.value()) && !st.old_names.count(h.value())) || h.worker() >= st.workers.size()) {
    if (st.not_owned_logged++ < 8)
      log_line("remote app worker " + std::to_string(st.cfg.ctx.index) + ": a request names " + h.to_string() +
               ", not a session of this app worker; refused");
    return;
  }
  self->send(st.workers[h.worker()], atom, h, xs...);
}

// The app's answer to an accept or a connected: a "no" gives the session up.
template <class Atom>
void forward_answer(self_pointer self, Atom atom, session_handle h, bool ok) {
  forward(self, atom, h, ok);
  auto& st = self->state;
  if (!ok) {
    forget_session(st, h);
    st.owned.erase(h.value());
    if (st.counted.erase(h.value()) > 0 && st.cfg.usage) app_usage::give_back(st.cfg.usage->sessions);
  }
}

void on_session_request(self_pointer self, const app_protocol::session_request& r) {
  using op = app_protocol::session_op;
  switch (r.op) {
    case op::tx: {
      auto& st = self->state;
      if (auto it = st.routes.find(r.handle.value()); it != st.routes.end() && st.cfg.ctx.direct_tx->post(it->second))
        return;
      return forward(self, tx_atom_v, r.handle);
    }
    case op::app_rx: return forward(self, app_rx_atom_v, r.handle);
    case op::rx_notify: return forward(self, rx_notify_atom_v, r.handle);
    // Nothing written after these may leave but through the worker, which
    // knows what the session may still send.
    case op::close: forget_session(self->state, r.handle); return forward(self, close_atom_v, r.handle);
    case op::reset: forget_session(self->state, r.handle); return forward(self, reset_atom_v, r.handle);
    case op::shutdown: self->state.routes.erase(r.handle.value()); return forward(self, shutdown_atom_v, r.handle);
    case op::accept_yes: return forward_answer(self, accept_atom_v, r.handle, true);
    case op::accept_no: return forward_answer(self, accept_atom_v, r.handle, false);
    case op::connected_yes: return forward_answer(self, connected_atom_v, r.handle, true);
    case op::connected_no: return forward_answer(self, connected_atom_v, r.handle, false);
  }
}

void send_tcp_info(self_pointer self, const app_protocol::tcp_info_answer& a) {
  if (put_record(self, app_protocol::record::tcp_info, app_protocol::encode(a))) send_out(self);
}

// TCP_INFO of a session this app worker holds: its session worker asks
// the core that owns the connection. Anything else is refused.
void on_tcp_info(self_pointer self, const app_protocol::tcp_info_request& r) {
  auto& st = self->state;
  if (st.owned.count(r.handle.value()) == 0 || r.handle.worker() >= st.workers.size()) {
    send_tcp_info(self, {r.request, errc::invalid_session, {}});
    return;
  }
  self->request(st.workers[r.handle.worker()], std::chrono::seconds(10), tcp_info_atom_v, r.handle)
      .then([self, id = r.request](tcp_conn_info& i) { send_tcp_info(self, {id, errc::none, i}); },
            [self, id = r.request](caf::error& e) { send_tcp_info(self, {id, code_of(self, e), {}}); });
}

// One request from the app (decoded by the Unix side's thread).
void on_request(self_pointer self, const app_protocol::app_request& req) {
  const auto& c = self->state.cfg;
  auto answer_with = [self](std::uint64_t id) {
    return [self, id](caf::error& e) { answer_app(self, id, code_of(self, e)); };
  };
  if (auto* s = std::get_if<app_protocol::session_request>(&req)) {
    on_session_request(self, *s);
  } else if (auto* l = std::get_if<app_protocol::listen_request>(&req)) {
    self->request(c.root, caf::infinite, listen_atom_v, c.ctx.app, c.ctx.index, l->local, false, l->reuse_port)
        .then([self, id = l->request](session_handle h) { answer_app(self, id, errc::none, h.value()); },
              answer_with(l->request));
  } else if (auto* u = std::get_if<app_protocol::unlisten_request>(&req)) {
    self->request(c.root, caf::infinite, close_atom_v, c.ctx.app, u->listener, c.ctx.index, false)
        .then([self, id = u->request](bool ok) { answer_app(self, id, errc::none, ok ? 1 : 0); },
              answer_with(u->request));
  } else if (auto* k = std::get_if<app_protocol::connect_request>(&req)) {
    start_connect(self, *k);
  } else if (auto* t = std::get_if<app_protocol::tcp_info_request>(&req)) {
    on_tcp_info(self, *t);
  } else if (auto* d = std::get_if<app_protocol::detach_request>(&req)) {
    self->state.detaching = d->request;
    auto on_error = [self, id = d->request](caf::error& e) {
      self->state.detaching.reset();
      answer_app(self, id, code_of(self, e));
    };
    // Success is answered by the detach itself (detach_atom, below).
    if (c.added)
      self->request(c.root, caf::infinite, del_worker_atom_v, c.ctx.app, c.ctx.index).then([](bool) {}, on_error);
    else
      self->request(c.root, caf::infinite, detach_atom_v, c.ctx.app).then([](bool) {}, on_error);
  }
}

// A session the app will not get: the stack gives it up. True when the
// app still hears of it — its connect completes with `why` — and false
// when it hears nothing (an accept: the connecting side hears refused).
bool give_up(self_pointer self, app_notification& n, errc why) {
  auto& worker = self->state.workers[n.handle.worker()];
  switch (n.kind) {
    case notification::accept: self->send(worker, accept_atom_v, n.handle, false); return false;
    case notification::connected:
      self->send(worker, connected_atom_v, n.handle, false);
      n.handle = {};
      n.err = why;
      n.rx = n.tx = {};
      return true;
    default: return false;  // a listener's fifos: kept from the app, logged
  }
}

// One notification on its way to the app: the gateway keeps its view of
// what the app holds, passes segments' memfds first, io through the shared
// queue. False: the app's connection broke (the gateway quit).
bool relay(self_pointer self, app_notification n) {
  auto& st = self->state;
  switch (n.kind) {
    case notification::segment_add:
      if (!room_for_segment(self, n.segment)) return true;
      if (!send_segment(self, n.segment)) return false;
      st.segment_of[n.segment.base] = n.segment.id;
      break;
    case notification::segment_del:
      if (st.withheld.erase(n.segment.base) > 0) return true;  // the app never heard of it
      st.segment_of.erase(n.segment.base);
      if (auto it = st.passed_bytes.find(n.segment.id); it != st.passed_bytes.end()) {
        app_usage::give_back(st.cfg.usage->segment_bytes, it->second);
        st.passed_bytes.erase(it);
      }
      break;
    case notification::accept:
    case notification::listened:
    case notification::connected: {
      if (n.kind == notification::connected) connect_answered(st);
      if (n.kind == notification::connected && (n.err != errc::none || !n.handle.valid())) break;
      const auto pass = pass_withheld(self, n);
      if (pass == withheld_pass::broken) return false;  // the gateway quit
      errc refusal = errc::none;
      if (pass == withheld_pass::refused) {
        refusal = errc::quota;  // quota.segment-bytes, counted
      } else if (!locate_fifos(st, n)) {
        // Never happens while segment_add precedes its fifos (SPEC
        // 9.3): refuse rather than hand out a dangling name.
        log_line("remote app worker " + std::to_string(st.cfg.ctx.index) + ": session " +
                 n.handle.to_string() + " names a segment the app was not given");
        refusal = errc::bad_layout;
      } else if (n.kind != notification::listened && !count_session(self, n.handle)) {
        refusal = errc::quota;  // quota.sessions, counted
      }
      if (refusal != errc::none) {
        if (!give_up(self, n, refusal)) return true;
        break;
      }
      st.owned.insert(n.handle.value());
      if (n.route.valid && st.cfg.ctx.direct_tx != nullptr) st.routes[n.handle.value()] = n.route;
      // Until the core applies it (or if it fails) the session worker
      // tells, as before.
      if (st.rx_inbox != nullptr && n.route.rx && n.kind != notification::listened &&
          st.cfg.ctx.direct_tx->route_rx(n.route, *st.rx_inbox, n.handle))
        st.rx_routed[n.handle.value()] = n.rx;
      break;
    }
    case notification::migrate:
      forget_session(st, n.handle);
      if (st.owned.erase(n.handle.value()) > 0) {
        st.owned.insert(n.other.value());
        st.old_names[n.handle.value()] = n.other.value();
      }
      if (st.counted.erase(n.handle.value()) > 0) st.counted.insert(n.other.value());
      break;
    case notification::cleanup_session:
      forget_session(st, n.handle);
      st.owned.erase(n.handle.value());
      if (st.counted.erase(n.handle.value()) > 0 && st.cfg.usage) app_usage::give_back(st.cfg.usage->sessions);
      std::erase_if(st.old_names, [&](const auto& kv) { return kv.second == n.handle.value(); });
      break;
    case notification::rx:
    case notification::tx:
      if (post_io(st, n)) return true;
      break;
    default: break;
  }
  tell(self, n);
  return true;
}

// Bytes a core named before news the session worker sends reach the app
// first, as they would have had the worker told both (data, then close).
void take_arrived_first(self_pointer self) {
  auto& st = self->state;
  if (st.rx_inbox != nullptr && st.rx_inbox->waiting()) take_arrived(self);
}

}  // namespace

remote_gateway_actor spawn_remote_gateway(caf::actor_system& sys, remote_gateway_config cfg) {
  return sys.spawn(
      [](self_pointer self, remote_gateway_config cfg) -> remote_gateway_actor::behavior_type {
        auto& st = self->state;
        st.cfg = std::move(cfg);
        st.outbox = std::make_unique<channel_outbox>(st.cfg.channel, gateway_outbox_limit);
        for (const auto& w : st.cfg.ctx.session_workers)
          st.workers.push_back(caf::actor_cast<session_worker_actor>(w));
        if (st.cfg.ctx.direct_tx != nullptr)
          st.rx_inbox = st.cfg.ctx.direct_tx->make_rx_inbox(rx_wake(self->address(), st.cfg.ctx.index));
        drop_unexpected_quietly(self);
        return {
            [=](notify_atom, app_notification& n) {
              // A core's wake-up (anonymous: sent from its thread); it
              // only makes the gateway look at its own inbox.
              if (n.kind == notification::rx_ready) {
                if (self->state.rx_inbox != nullptr) take_arrived(self);
                send_out(self);
                return;
              }
              if (!from_the_stack(self, "notify")) return;
              take_arrived_first(self);
              if (relay(self, std::move(n))) send_out(self);
            },
            [=](notify_atom, std::vector<app_notification>& batch) {
              if (!from_the_stack(self, "notify")) return;
              take_arrived_first(self);
              for (auto& n : batch)
                if (!relay(self, std::move(n))) return;
              send_out(self);
            },
            [=](detach_atom) {
              if (!from_the_stack(self, "detach")) return;
              // Detached (by the app or the stack): like an in-process app
              // worker, reset what it still holds, then tell the app.
              auto& st = self->state;
              for (auto h : st.owned) {
                const auto handle = session_handle::from_value(h);
                if (handle.worker() < st.workers.size()) self->send(st.workers[handle.worker()], reset_atom_v, handle);
              }
              st.owned.clear();
              st.old_names.clear();
              if (st.detaching) {
                const auto bytes = app_protocol::encode(app_protocol::answer{*st.detaching, errc::none, 1});
                (void)put_record(self, app_protocol::record::answer, bytes);
              }
              if (put_record(self, app_protocol::record::detached, {})) {
                // The last records: worth a short wait for room (this
                // gateway is gone after this turn).
                if (auto r = st.outbox->flush(std::chrono::milliseconds{100}); !r || !*r)
                  log_line("remote app worker " + std::to_string(st.cfg.ctx.index) +
                           ": its detach could not be told (the app does not read its connection)");
              }
              self->quit();
            },
            [=](mailbox_atom) -> caf::result<std::uint64_t> {
              if (!from_the_stack(self, "mailbox")) return to_caf(errc::invalid_argument, "not from the stack");
              return mailbox_depth(self);
            },
            // Only this process can send it (a local-only type): the Unix
            // side's thread, from the app's own connection.
            [=](app_request_msg& m) {
              on_request(self, m.request);
              send_out(self);
            },
            [=](resend_atom) {
              self->state.resend_scheduled = false;
              send_out(self);
            },
        };
      },
      std::move(cfg));
}

}  // namespace actorstack
