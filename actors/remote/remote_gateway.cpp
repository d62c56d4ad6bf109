#include "actors/caf_error.hpp"
#include "actors/remote/remote_gateway.hpp"

#include "actors/answer_as_self.hpp"
#include "actors/door_shield.hpp"
#include "actors/log.hpp"
#include "actors/mailbox_depth.hpp"
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
  std::vector<session_worker_actor> workers;
  /// Sessions this app worker was told about and has not given up: the
  /// only handles its requests may name.
  std::unordered_set<std::uint64_t> owned;
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
  /// The app's own detach, asked of the root: the root ends this gateway
  /// (detach_atom) before its answer could come back here, so the gateway
  /// answers the app as it goes.
  std::optional<caf::typed_response_promise<bool>> detaching;
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

// What happened to the app's sessions (notifications), its detach and
// inspection come from the stack's own actors, in this process: a message
// of that kind from anyone else (an attached process reaching this actor
// through the middleman, or a sender that hides itself) is refused,
// counted and logged. Without this, any process connected to the attach
// port could detach an app by naming its gateway.
bool refused(self_pointer self, const char* what, const char* expected) {
  const auto& sender = self->current_sender();
  auto& st = self->state;
  if (st.refused_foreign++ < 8)
    log_line("remote app worker " + std::to_string(st.cfg.ctx.index) + ": refused '" + what + "' from outside " +
             expected + " (" + (sender ? to_string(sender->node()) : std::string{"anonymous"}) + ")");
  return false;
}

bool from_the_stack(self_pointer self, const char* what) {
  return from_inside(self) || refused(self, what, "the stack");
}

// The app's requests come from the app's own process: the node its
// receiving actor lives on. Another process that learnt this gateway's id
// (the middleman lets a node name any actor another node was shown, and
// ids are small numbers) is refused the same way: an app can name only
// its own app workers, sessions and listeners.
bool from_its_app(self_pointer self, const char* what) {
  const auto& sender = self->current_sender();
  return (sender && sender->node() == self->state.cfg.remote.node()) || refused(self, what, "its app");
}

caf::error not_from_its_app() { return to_caf(errc::invalid_argument, "not from this app worker's process"); }

// A request from the app: from its process, and showing its seal — the
// middleman believes a peer's word on which node sent a message
// (docs/architecture.md, Seals); the seal is what another process cannot
// know.
bool from_its_app(self_pointer self, const char* what, std::uint64_t seal) {
  if (!from_its_app(self, what)) return false;
  return secrets_equal(seal, self->state.cfg.seal) || refused(self, what, "its app (wrong seal)");
}

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
// it; the gateway answers it (answer_as_self.hpp says why).
caf::result<bool> start_connect(self_pointer self, const endpoint& remote, std::uint64_t opaque,
                                std::uint16_t local_port) {
  auto& st = self->state;
  const auto& c = st.cfg;
  if (c.usage && !app_usage::take(c.usage->pending_connects, c.usage->limits.pending_connects)) {
    over_quota(self, "quota.pending-connects");
    return to_caf(errc::quota, "the app has quota.pending-connects connects under way");
  }
  ++st.pending_connects;
  auto rp = self->make_response_promise<bool>();
  self->request(c.root, caf::infinite, connect_atom_v,
                connect_request{c.ctx.app, c.ctx.index, remote, opaque, false, local_port})
      .then([rp](bool ok) mutable { rp.deliver(ok); },
            [self, rp](caf::error& e) mutable {
              connect_answered(self->state);  // refused at once: no connected notification follows
              rp.deliver(std::move(e));
            });
  return rp;
}

caf::error not_owned(session_handle h) {
  return to_caf(errc::invalid_session, h.to_string() + " is not a session of this app worker");
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

// The memfd goes over the Unix connection first: by the time the app
// reads the notification (over TCP, later), the fd is waiting for it.
bool send_segment(gateway_state& st, const segment_info& seg) {
  std::array<std::byte, 16> payload{};
  std::memcpy(payload.data(), &seg.id, 8);
  std::memcpy(payload.data() + 8, &seg.size, 8);
  const int fds[] = {seg.fd};
  auto r = st.cfg.channel->send(static_cast<std::uint32_t>(channel_message_type::segment), payload, fds);
  if (!r) log_line("remote app worker " + std::to_string(st.cfg.ctx.index) + ": cannot pass segment " +
                   seg.name + ": " + r.error().message());
  return r.has_value();
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
  if (!send_segment(st, seg)) return withheld_pass::broken;
  // Told as the stack would have told it: the memfd, then segment_add.
  app_notification added;
  added.kind = notification::segment_add;
  added.segment = seg;
  added.segment.fd = -1;  // the copy's number means nothing to the app
  caf::anon_send(st.cfg.remote, notify_atom_v, std::move(added), st.cfg.seal);
  st.segment_of[seg.base] = seg.id;
  st.withheld.erase(it);
  return withheld_pass::passed;
}

// A request naming a session: forwarded to its worker only if this app
// worker holds it.
template <class Atom, class... Ts>
caf::result<void> forward(self_pointer self, std::uint64_t seal, Atom atom, session_handle h, Ts... xs) {
  if (!from_its_app(self, "session request", seal)) return not_from_its_app();
  auto& st = self->state;
  if ((!st.owned.count(h.value()) && !st.old_names.count(h.value())) || h.worker() >= st.workers.size())
    return not_owned(h);
  self->send(st.workers[h.worker()], atom, h, xs...);
  return caf::unit;
}

// The app's answer to an accept or a connected: a "no" gives the session up.
template <class Atom>
caf::result<void> forward_answer(self_pointer self, std::uint64_t seal, Atom atom, session_handle h, bool ok) {
  if (!from_its_app(self, "answer", seal)) return not_from_its_app();
  auto r = forward(self, seal, atom, h, ok);
  auto& st = self->state;
  if (!ok) {
    st.owned.erase(h.value());
    if (st.counted.erase(h.value()) > 0 && st.cfg.usage) app_usage::give_back(st.cfg.usage->sessions);
  }
  return r;
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
      if (!send_segment(st, n.segment)) {
        self->quit(caf::exit_reason::remote_link_unreachable);
        return false;
      }
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
      if (pass == withheld_pass::broken) {
        self->quit(caf::exit_reason::remote_link_unreachable);
        return false;
      }
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
      break;
    }
    case notification::migrate:
      if (st.owned.erase(n.handle.value()) > 0) {
        st.owned.insert(n.other.value());
        st.old_names[n.handle.value()] = n.other.value();
      }
      if (st.counted.erase(n.handle.value()) > 0) st.counted.insert(n.other.value());
      break;
    case notification::cleanup_session:
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
  caf::anon_send(st.cfg.remote, notify_atom_v, std::move(n), st.cfg.seal);
  return true;
}

}  // namespace

remote_gateway_actor spawn_remote_gateway(caf::actor_system& sys, remote_gateway_config cfg) {
  return sys.spawn(
      [](self_pointer self, remote_gateway_config cfg) -> remote_gateway_actor::behavior_type {
        auto& st = self->state;
        st.cfg = std::move(cfg);
        for (const auto& w : st.cfg.ctx.session_workers)
          st.workers.push_back(caf::actor_cast<session_worker_actor>(w));
        // The process behind the remote actor died or its connection
        // broke: end, so the inspector cleans up after this app worker.
        self->monitor(st.cfg.remote);
        drop_unexpected_quietly(self);
        self->set_down_handler([=](caf::down_msg& m) {
          if (m.source != self->state.cfg.remote.address()) return;
          // Another process can send a down_msg naming the app's actor
          // (door_shield.hpp): believed only once the middleman really
          // ended its proxy here.
          if (!caf::actor_cast<caf::abstract_actor*>(self->state.cfg.remote)
                   ->getf(caf::abstract_actor::is_cleaned_up_flag)) {
            refused(self, "down", "the middleman");
            return;
          }
          log_line("remote app worker " + std::to_string(self->state.cfg.ctx.index) +
                   ": its process is gone (" + to_string(m.reason) + ")");
          self->quit(caf::exit_reason::remote_link_unreachable);
        });
        return {
            [=](notify_atom, app_notification& n) {
              if (from_the_stack(self, "notify")) relay(self, std::move(n));
            },
            [=](notify_atom, std::vector<app_notification>& batch) {
              if (!from_the_stack(self, "notify")) return;
              for (auto& n : batch)
                if (!relay(self, std::move(n))) return;
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
              caf::anon_send(st.cfg.remote, detach_atom_v, st.cfg.seal);
              if (st.detaching) st.detaching->deliver(true);
              self->quit();
            },
            [=](mailbox_atom) -> caf::result<std::uint64_t> {
              if (!from_the_stack(self, "mailbox")) return to_caf(errc::invalid_argument, "not from the stack");
              return mailbox_depth(self);
            },
            [=](tx_atom a, session_handle h, std::uint64_t seal) { return forward(self, seal, a, h); },
            [=](app_rx_atom a, session_handle h, std::uint64_t seal) { return forward(self, seal, a, h); },
            [=](rx_notify_atom a, session_handle h, std::uint64_t seal) { return forward(self, seal, a, h); },
            [=](close_atom a, session_handle h, std::uint64_t seal) { return forward(self, seal, a, h); },
            [=](reset_atom a, session_handle h, std::uint64_t seal) { return forward(self, seal, a, h); },
            [=](shutdown_atom a, session_handle h, std::uint64_t seal) { return forward(self, seal, a, h); },
            [=](accept_atom a, session_handle h, bool ok, std::uint64_t seal) {
              return forward_answer(self, seal, a, h, ok);
            },
            [=](connected_atom a, session_handle h, bool ok, std::uint64_t seal) {
              return forward_answer(self, seal, a, h, ok);
            },
            [=](remote_listen_atom, const endpoint& ep, std::uint64_t seal) -> caf::result<session_handle> {
              if (!from_its_app(self, "listen", seal)) return not_from_its_app();
              const auto& c = self->state.cfg;
              return answer_as_self<session_handle>(self, c.root, listen_atom_v, c.ctx.app, c.ctx.index, ep, false);
            },
            [=](remote_unlisten_atom, session_handle listener, std::uint64_t seal) -> caf::result<bool> {
              if (!from_its_app(self, "stop listen", seal)) return not_from_its_app();
              const auto& c = self->state.cfg;
              return answer_as_self<bool>(self, c.root, close_atom_v, c.ctx.app, listener, c.ctx.index, false);
            },
            [=](remote_connect_atom, const endpoint& remote, std::uint64_t opaque, std::uint16_t local_port,
                std::uint64_t seal) -> caf::result<bool> {
              if (!from_its_app(self, "connect", seal)) return not_from_its_app();
              return start_connect(self, remote, opaque, local_port);
            },
            [=](remote_detach_atom, std::uint64_t seal) -> caf::result<bool> {
              if (!from_its_app(self, "detach", seal)) return not_from_its_app();
              const auto& c = self->state.cfg;
              auto rp = c.added ? answer_as_self<bool>(self, c.root, del_worker_atom_v, c.ctx.app, c.ctx.index)
                                : answer_as_self<bool>(self, c.root, detach_atom_v, c.ctx.app);
              self->state.detaching = rp;
              return rp;
            },
        };
      },
      std::move(cfg));
}

}  // namespace actorstack
