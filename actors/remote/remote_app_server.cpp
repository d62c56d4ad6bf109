#include "actors/caf_error.hpp"
#include "actors/remote/remote_app_server.hpp"

#include "actors/log.hpp"
#include "base/secret.hpp"

#include <boost/lockfree/spsc_queue.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::app_protocol::attach_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorstack::app_protocol::show_request)

namespace actorstack {

namespace {

using app_protocol::record;

/// What the registry tells the Unix side's thread: the gateway that now
/// answers for a connection. One producer (the registry), one consumer
/// (the thread); the eventfd wakes the thread.
struct attached_note {
  std::uint64_t token = 0;
  caf::actor gateway;
};
struct registry_news {
  boost::lockfree::spsc_queue<attached_note, boost::lockfree::capacity<1024>> ring;
  int wake_fd = -1;
  ~registry_news() {
    if (wake_fd >= 0) ::close(wake_fd);
  }
  void wake() const {
    const std::uint64_t one = 1;
    (void)::write(wake_fd, &one, sizeof one);
  }
};

/// Only the Unix side's thread sends it messages (in this process; nothing
/// of it is ever shown to another).
using attach_registry_actor =
    caf::typed_actor<caf::reacts_to<attach_atom, std::uint64_t, app_protocol::attach_request>,
                     caf::reacts_to<show_atom, std::uint64_t, app_protocol::show_request>,
                     // (token, the connection's fd, its process: pid, uid)
                     caf::reacts_to<hello_atom, std::uint64_t, int, std::int32_t, std::uint32_t>,
                     caf::reacts_to<hangup_atom, std::uint64_t>>;

struct registry_state {
  static inline const char* name = "remote_attach";
  struct entry {
    std::shared_ptr<shm::fd_channel> channel;
    app_origin origin;      // the process at the other end
    caf::actor gateway;     // while attached
    bool attached = false;  // a connection attaches once
  };
  remote_attach_fn attach;
  inspect_service inspector;
  std::shared_ptr<registry_news> news;
  std::unordered_map<std::uint64_t, entry> by_token;
  /// Apps attached here: what a worker add must show, and the app's name.
  struct app_entry {
    std::uint64_t secret = 0;
    std::string name;
  };
  std::unordered_map<std::uint32_t, app_entry> apps;
};

struct registry_args {
  remote_attach_fn fn;
  inspect_service inspector;
  std::shared_ptr<registry_news> news;
};

// Best effort, briefly: an app that does not read its socket is not worth
// stalling anyone for.
void send_answer(shm::fd_channel& ch, errc code, std::uint64_t request = 0) {
  const auto bytes = app_protocol::encode(app_protocol::answer{request, code, 0});
  (void)ch.send(static_cast<std::uint32_t>(record::answer), bytes, {}, std::chrono::milliseconds(100));
}

// The secret a worker add shows, compared in constant time.
bool joins_its_app(const registry_state& st, const app_protocol::attach_request& req) {
  auto app = st.apps.find(req.join_app);
  return app != st.apps.end() && secrets_equal(app->second.secret, req.join_secret);
}

void attach_one(attach_registry_actor::stateful_pointer<registry_state> self, std::uint64_t token,
                app_protocol::attach_request req) {
  auto& st = self->state;
  auto it = st.by_token.find(token);
  if (it == st.by_token.end()) return;  // hung up meanwhile
  auto& e = it->second;
  if (e.attached) return send_answer(*e.channel, errc::bad_message);
  e.attached = true;
  // A worker add names its app and shows the secret that app was given:
  // no other process knows it (it travelled over the app's own
  // connection), so no process adds workers to another's app.
  if (req.join_secret != 0) {
    if (!joins_its_app(st, req)) {
      log_line("remote apps: pid " + std::to_string(e.origin.pid) + " asked to join app " +
               std::to_string(req.join_app) + " without its secret; refused");
      return send_answer(*e.channel, errc::bad_message);
    }
    req.name = st.apps[req.join_app].name;
  } else if (req.name.empty()) {
    req.name = "remote";
  }
  // Blocking (it asks the root): this actor is detached, its own thread
  // waits, nobody else does.
  auto r = st.attach(req, e.channel, e.origin);
  if (!r) {
    log_line("remote apps: attach of pid " + std::to_string(e.origin.pid) + " refused: " + r.error().message());
    return send_answer(*e.channel, r.error().code);
  }
  std::uint64_t secret = req.join_secret;
  if (secret == 0) {
    secret = random_secret();
    st.apps[r->app] = {secret, req.name};
  }
  e.gateway = r->gateway;
  self->monitor(r->gateway);
  // The thread learns the gateway before the app learns it is attached:
  // its first request cannot come before the thread knows where it goes.
  while (!st.news->ring.push({token, r->gateway})) std::this_thread::yield();
  st.news->wake();
  const auto bytes = app_protocol::encode(app_protocol::attach_reply{r->app, r->app_worker, r->session_workers, secret});
  if (auto sent = e.channel->send(static_cast<std::uint32_t>(record::attached), bytes); !sent)
    log_line("remote apps: attach reply to pid " + std::to_string(e.origin.pid) + ": " + sent.error().message());
}

// A show's text in `shown` chunks, briefly waiting for room for each: a
// reader that does not read gets a cut answer, nobody waits long for it.
void send_shown(shm::fd_channel& ch, std::uint64_t request, const std::string& text) {
  for (const auto& c : app_protocol::shown_chunks(request, text))
    if (!ch.send(static_cast<std::uint32_t>(record::shown), app_protocol::encode(c), {}, std::chrono::milliseconds(200)))
      return;
}

// An inspection from any connection (actorstack-ctl --socket): read-only,
// answered by the inspect service as the inspect port would.
void show_one(attach_registry_actor::stateful_pointer<registry_state> self, std::uint64_t token,
              const app_protocol::show_request& req) {
  auto it = self->state.by_token.find(token);
  if (it == self->state.by_token.end()) return;
  auto channel = it->second.channel;
  self->request(self->state.inspector, std::chrono::seconds(30), show_atom_v, req.topic, req.options)
      .then([channel, id = req.request](const std::string& text) { send_shown(*channel, id, text); },
            [self, channel, id = req.request](caf::error& e) {
              send_answer(*channel, from_caf(self->system(), e).code, id);
            });
}

attach_registry_actor::behavior_type registry_behavior(attach_registry_actor::stateful_pointer<registry_state> self,
                                                       registry_args* args) {
  self->state.attach = std::move(args->fn);
  self->state.inspector = std::move(args->inspector);
  self->state.news = std::move(args->news);
  delete args;
  self->set_down_handler([=](caf::down_msg& m) {
    for (auto& [token, e] : self->state.by_token)
      if (e.gateway && e.gateway.address() == m.source) e.gateway = nullptr;
  });
  return {
      [=](attach_atom, std::uint64_t token, app_protocol::attach_request& req) { attach_one(self, token, std::move(req)); },
      [=](show_atom, std::uint64_t token, const app_protocol::show_request& req) { show_one(self, token, req); },
      [=](hello_atom, std::uint64_t token, int fd, std::int32_t pid, std::uint32_t uid) {
        auto& e = self->state.by_token[token];
        e.channel = std::make_shared<shm::fd_channel>(fd);
        e.origin = {pid, uid, true};
      },
      [=](hangup_atom, std::uint64_t token) {
        auto it = self->state.by_token.find(token);
        if (it == self->state.by_token.end()) return;
        if (it->second.gateway) {
          log_line("remote app: its Unix connection hung up; detaching it");
          self->send_exit(it->second.gateway, caf::exit_reason::remote_link_unreachable);
        }
        self->state.by_token.erase(it);
      },
  };
}

}  // namespace

struct remote_app_server::impl {
  caf::actor_system* sys = nullptr;
  std::optional<shm::fd_listener> listener;
  std::vector<std::uint32_t> allowed_uids;  // empty: any
  std::uint32_t max_per_uid = 0;            // connections of one uid at once
  attach_registry_actor registry;
  std::shared_ptr<registry_news> news = std::make_shared<registry_news>();
  int stop_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::uint64_t next_token = 1;

  struct connection {
    std::uint64_t token;
    shm::fd_channel channel;
    std::uint32_t uid;
    std::int32_t pid;
    bool attach_sent = false;  // its attach record went to the registry
    std::chrono::steady_clock::time_point next_show{};  // shows are paced (each asks every worker)
    caf::actor gateway;        // once the registry said so
    std::uint64_t errors = 0;  // malformed records answered
  };
  std::vector<connection> connections;  // the thread's

  void greet_new_connections() {
    for (;;) {
      auto ch = listener->accept();
      if (!ch) {
        if (ch.error().code != errc::would_block)
          log_line("remote apps: accept on " + listener->path() + ": " + ch.error().message());
        return;
      }
      // Who is at the other end, from the kernel (it cannot be forged).
      auto cred = shm::peer_credentials(*ch);
      if (!cred) {
        log_line("remote apps: SO_PEERCRED on a new connection: " + cred.error().message() + "; hung up");
        continue;
      }
      const app_origin origin{cred->first, cred->second, true};
      if (!allowed_uids.empty() &&
          std::find(allowed_uids.begin(), allowed_uids.end(), origin.uid) == allowed_uids.end()) {
        log_line("remote apps: uid " + std::to_string(origin.uid) + " (pid " + std::to_string(origin.pid) +
                 ") may not attach; hung up");
        continue;  // the channel closes: the process reads a hang-up, no hello
      }
      const auto same_uid = std::count_if(connections.begin(), connections.end(),
                                          [&](const connection& c) { return c.uid == origin.uid; });
      if (static_cast<std::uint64_t>(same_uid) >= max_per_uid) {
        log_line("remote apps: uid " + std::to_string(origin.uid) + " holds " + std::to_string(same_uid) +
                 " connections (quota.attach-per-uid); pid " + std::to_string(origin.pid) + " hung up");
        continue;
      }
      // A connection's name between this thread and the registry: never
      // shown to the app (the connection itself is its proof).
      const std::uint64_t token = next_token++;
      const int dup_fd = ::fcntl(ch->fd(), F_DUPFD_CLOEXEC, 0);
      if (dup_fd < 0) continue;
      caf::anon_send(registry, hello_atom_v, token, dup_fd, origin.pid, origin.uid);
      const auto hello = app_protocol::encode_hello();
      if (!ch->send(static_cast<std::uint32_t>(record::hello), hello)) {
        caf::anon_send(registry, hangup_atom_v, token);
        continue;
      }
      connections.push_back({token, std::move(*ch), origin.uid, origin.pid, false, {}, {}, 0});
    }
  }

  // The registry's news: which gateway answers for which connection.
  void take_registry_news() {
    attached_note note;
    while (news->ring.pop(note)) {
      for (auto& c : connections)
        if (c.token == note.token) c.gateway = std::move(note.gateway);
    }
  }

  // Every record waiting on one connection. False: it hung up (dropped).
  bool serve(connection& c) {
    for (int budget = 64; budget > 0; --budget) {  // then the others get a turn
      auto m = c.channel.receive(std::chrono::milliseconds(0));
      if (!m) {
        switch (m.error().code) {
          case errc::would_block:
          case errc::timeout: return true;
          case errc::bad_message: answer_error(c, "bad_message: malformed record on the stack's Unix socket"); continue;
          default:
            caf::anon_send(registry, hangup_atom_v, c.token);
            return false;
        }
      }
      take(c, *m);
    }
    return true;
  }

  void take(connection& c, const shm::channel_message& m) {
    if (!m.fds.empty()) return answer_error(c, "bad_message: apps pass no fds to the stack");
    if (m.type == static_cast<std::uint32_t>(record::show)) {
      auto req = app_protocol::decode_show_request(m.payload);
      if (!req) return answer_error(c, req.error().message());
      // A show asks every worker for its state: a connection that floods
      // them is refused past 100 a second rather than slow everyone.
      const auto now = std::chrono::steady_clock::now();
      if (now < c.next_show) return answer_error(c, "bad_message: at most 100 show requests a second");
      c.next_show = now + std::chrono::milliseconds(10);
      caf::anon_send(registry, show_atom_v, c.token, std::move(*req));
      return;
    }
    if (m.type == static_cast<std::uint32_t>(record::attach)) {
      if (c.attach_sent) return answer_error(c, "bad_message: this connection asked to attach already");
      auto req = app_protocol::decode_attach_request(m.payload);
      if (!req) return answer_error(c, req.error().message());
      c.attach_sent = true;
      caf::anon_send(registry, attach_atom_v, c.token, std::move(*req));
      return;
    }
    auto req = app_protocol::decode_request(m.type, m.payload);
    if (!req) return answer_error(c, req.error().message());
    if (!c.gateway) take_registry_news();  // the attach reply may have just been sent
    if (!c.gateway) return answer_error(c, "bad_message: a request before the attach completed");
    caf::anon_send(c.gateway, app_request_msg{std::move(*req)});
  }

  // Best effort, briefly, and a few times per connection: an app that
  // sends garbage is not worth stalling the other connections for.
  void answer_error(connection& c, std::string_view text) {
    if (c.errors++ == 0)
      log_line("remote apps: pid " + std::to_string(c.pid) + " sent a bad record: " + std::string{text});
    if (c.errors > 16) return;
    (void)c.channel.send(static_cast<std::uint32_t>(record::error), std::as_bytes(std::span{text}), {},
                         std::chrono::milliseconds(10));
  }

  void run() {
    std::vector<pollfd> fds;
    while (!stopping.load()) {
      fds.clear();
      fds.push_back({stop_fd, POLLIN, 0});
      fds.push_back({news->wake_fd, POLLIN, 0});
      fds.push_back({listener->fd(), POLLIN, 0});
      for (const auto& c : connections) fds.push_back({c.channel.fd(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR: look again
      if (fds[0].revents != 0) continue;                     // woken to stop
      if (fds[1].revents != 0) {
        std::uint64_t n = 0;
        (void)::read(news->wake_fd, &n, sizeof n);
      }
      take_registry_news();
      if (fds[2].revents != 0) greet_new_connections();
      // Connections accepted just now are past the end of `fds`.
      std::size_t at = 0;  // fds[i] is connections[at] once earlier ones were dropped
      for (std::size_t i = 3; i < fds.size(); ++i) {
        if (fds[i].revents != 0 && !serve(connections[at]))
          connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(at));
        else
          ++at;
      }
    }
  }
};

remote_app_server::remote_app_server(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}

result<std::unique_ptr<remote_app_server>> remote_app_server::start(caf::actor_system& sys, remote_attach_fn attach,
                                                                    inspect_service inspector,
                                                                    const remote_apps_options& opts) {
  auto listener = shm::fd_listener::bind(opts.socket_path, {opts.socket_mode, opts.socket_group});
  if (!listener) return unexpected{listener.error()};
  auto p = std::make_unique<impl>();
  p->sys = &sys;
  p->allowed_uids = opts.allowed_uids;
  p->max_per_uid = opts.max_attach_per_uid == 0 ? ~std::uint32_t{0} : opts.max_attach_per_uid;
  p->listener.emplace(std::move(*listener));
  p->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  p->news->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->stop_fd < 0 || p->news->wake_fd < 0) {
    if (p->stop_fd >= 0) ::close(p->stop_fd);
    return unexpected{error{errc::system, errno, "remote apps: eventfd"}};
  }
  p->registry = sys.spawn<caf::detached>(registry_behavior, new registry_args{std::move(attach), std::move(inspector), p->news});
  auto* raw = p.get();
  p->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<remote_app_server>{new remote_app_server(std::move(p))};
}

remote_app_server::~remote_app_server() {
  if (!impl_) return;
  impl_->stopping.store(true);
  const std::uint64_t one = 1;
  (void)::write(impl_->stop_fd, &one, sizeof one);
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->connections.clear();  // the apps see their connection hang up
  {
    // An attach in progress finishes first (it may spawn a gateway the
    // stack must then stop): wait, bounded, for the registry to end.
    caf::scoped_actor self{*impl_->sys};
    self->monitor(impl_->registry);
    self->send_exit(impl_->registry, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {}, caf::after(std::chrono::seconds(3)) >> [] {
      log_line("remote apps: the attach registry did not stop within 3 s");
    });
  }
  ::close(impl_->stop_fd);
}

const std::string& remote_app_server::socket_path() const noexcept { return impl_->listener->path(); }

}  // namespace actorstack
