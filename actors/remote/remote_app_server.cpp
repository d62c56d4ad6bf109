#include "actors/caf_error.hpp"
#include "actors/remote/remote_app_server.hpp"

#include "actors/answer_as_self.hpp"
#include "actors/door_shield.hpp"
#include "actors/log.hpp"
#include "base/secret.hpp"

#include <caf/io/all.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <string_view>
#include <optional>
#include <thread>
#include <unordered_map>

namespace actorstack {

namespace {

/// Not published: besides attach requests (delegated by the door), news
/// from the Unix side's thread. A remote process cannot reach it, so it
/// cannot forge a greeting or a hang-up.
using attach_registry_actor =
    caf::typed_actor<caf::replies_to<attach_atom, remote_attach_request>::with<remote_attach_reply>,
                     // (token, the connection's fd, its process: pid, uid)
                     caf::reacts_to<hello_atom, std::uint64_t, int, std::int32_t, std::uint32_t>,
                     caf::reacts_to<hangup_atom, std::uint64_t>>;

struct registry_state {
  static inline const char* name = "remote_attach";
  struct entry {
    std::shared_ptr<shm::fd_channel> channel;
    app_origin origin;      // the process at the other end
    caf::actor gateway;     // while attached
    bool attached = false;  // a token attaches once
  };
  remote_attach_fn attach;
  std::unordered_map<std::uint64_t, entry> by_token;
  /// Apps attached here: what a worker add must show, and the app's name.
  struct app_entry {
    std::uint64_t secret = 0;
    std::string name;
  };
  std::unordered_map<std::uint32_t, app_entry> apps;
};

struct attach_fn_holder {
  remote_attach_fn fn;
};

std::uint64_t fresh_token();
auto find_token(registry_state& st, std::uint64_t token) -> decltype(st.by_token.begin());

attach_registry_actor::behavior_type registry_behavior(attach_registry_actor::stateful_pointer<registry_state> self,
                                                       attach_fn_holder* holder) {
  self->state.attach = std::move(holder->fn);
  delete holder;
  self->set_down_handler([=](caf::down_msg& m) {
    for (auto& [token, e] : self->state.by_token)
      if (e.gateway && e.gateway.address() == m.source) e.gateway = nullptr;
  });
  return {
      [=](attach_atom, const remote_attach_request& req) -> caf::result<remote_attach_reply> {
        auto it = find_token(self->state, req.token);
        if (it == self->state.by_token.end() || it->second.attached)
          return to_caf(errc::bad_message,
                        "unknown or already used attach token (connect to the stack's Unix socket first)");
        if (!req.receiver) return to_caf(errc::bad_message, "no receiver actor");
        // A worker add names its app and shows the secret that app was
        // given: no other process knows it (it travelled over the app's
        // own connection), so no process adds workers to another's app.
        remote_attach_request checked = req;
        checked.name = req.name.empty() ? "remote" : req.name.substr(0, 64);  // shows in actorstack-ctl
        if (req.join_secret != 0) {
          auto app = self->state.apps.find(req.join_app);
          if (app == self->state.apps.end() || !secrets_equal(app->second.secret, req.join_secret))
            return to_caf(errc::bad_message, "worker add for an app that is not this process's");
          checked.name = app->second.name;
        }
        // Blocking (it asks the root): this actor is detached, its own
        // thread waits, nobody else does.
        auto r = self->state.attach(checked, it->second.channel, it->second.origin);
        if (!r) return to_caf(r.error());
        if (req.join_secret == 0) {
          r->secret = fresh_token();
          self->state.apps[r->app] = {r->secret, checked.name};
        } else {
          r->secret = req.join_secret;
        }
        it->second.gateway = r->gateway;
        it->second.attached = true;
        self->monitor(r->gateway);  // a detached app's hang-up is no news
        return *r;
      },
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

std::uint64_t fresh_token() { return random_secret(); }

// The entry of an attach token a remote process shows: every entry is
// compared, each in constant time, so how long the answer takes does not
// depend on how close a guess came (a hash lookup's would).
auto find_token(registry_state& st, std::uint64_t token) -> decltype(st.by_token.begin()) {
  auto found = st.by_token.end();
  for (auto it = st.by_token.begin(); it != st.by_token.end(); ++it)
    if (secrets_equal(it->first, token)) found = it;
  return found;
}

}  // namespace

struct remote_app_server::impl {
  caf::actor_system* sys = nullptr;
  std::optional<shm::fd_listener> listener;
  std::vector<std::uint32_t> allowed_uids;  // empty: any
  std::uint32_t max_per_uid = 0;            // connections of one uid at once
  std::uint16_t port = 0;
  attach_registry_actor registry;
  attach_door_actor door;
  caf::actor face;  ///< the door's shield: all that is published (door_shield.hpp)
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread thread;

  struct connection {
    std::uint64_t token;
    shm::fd_channel channel;
    std::uint32_t uid;
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
      const std::uint64_t token = fresh_token();
      std::array<std::byte, 10> hello{};
      std::memcpy(hello.data(), &port, 2);
      std::memcpy(hello.data() + 2, &token, 8);
      const int dup_fd = ::fcntl(ch->fd(), F_DUPFD_CLOEXEC, 0);
      if (dup_fd < 0) continue;
      // The registry hears the token before the app does: the app's attach
      // (over the middleman, another path) may otherwise overtake it and be
      // refused as an unknown token — seen under load in the test suite.
      caf::anon_send(registry, hello_atom_v, token, dup_fd, origin.pid, origin.uid);
      if (!ch->send(static_cast<std::uint32_t>(channel_message_type::hello), hello)) {
        caf::anon_send(registry, hangup_atom_v, token);
        continue;
      }
      connections.push_back({token, std::move(*ch), origin.uid});
    }
  }

  // Apps send nothing on this connection: anything they do send is
  // answered with an error and dropped; a hang-up detaches the app.
  bool serve(connection& c) {
    auto m = c.channel.receive(std::chrono::milliseconds(0));
    if (m) return answer_error(c, "bad_message: apps send nothing on the stack's Unix socket");
    switch (m.error().code) {
      case errc::would_block:
      case errc::timeout: return true;
      case errc::bad_message: return answer_error(c, "bad_message: malformed message on the stack's Unix socket");
      default:
        caf::anon_send(registry, hangup_atom_v, c.token);
        return false;
    }
  }

  // Best effort, briefly: an app that does not read its socket is not
  // worth stalling the other connections for.
  static bool answer_error(connection& c, std::string_view text) {
    (void)c.channel.send(static_cast<std::uint32_t>(channel_message_type::error), std::as_bytes(std::span{text}), {},
                         std::chrono::milliseconds(100));
    return true;
  }

  void run() {
    std::vector<pollfd> fds;
    while (!stopping.load()) {
      fds.clear();
      fds.push_back({wake_fd, POLLIN, 0});
      fds.push_back({listener->fd(), POLLIN, 0});
      for (const auto& c : connections) fds.push_back({c.channel.fd(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR: look again
      if (fds[0].revents != 0) continue;                     // woken to stop
      if (fds[1].revents != 0) greet_new_connections();
      // Connections accepted just now are past the end of `fds`.
      std::size_t at = 0;  // fds[i] is connections[at] once earlier ones were dropped
      for (std::size_t i = 2; i < fds.size(); ++i) {
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
                                                                    const remote_apps_options& opts) {
  if (!sys.has_middleman())
    return unexpected{errc::not_supported, "the actor system has no middleman (load caf::io::middleman)"};
  auto listener = shm::fd_listener::bind(opts.socket_path, {opts.socket_mode, opts.socket_group});
  if (!listener) return unexpected{listener.error()};
  const std::uint16_t port = opts.port;
  auto p = std::make_unique<impl>();
  p->sys = &sys;
  p->allowed_uids = opts.allowed_uids;
  p->max_per_uid = opts.max_attach_per_uid == 0 ? ~std::uint32_t{0} : opts.max_attach_per_uid;
  p->listener.emplace(std::move(*listener));
  p->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->wake_fd < 0) return unexpected{error{errc::system, errno, "remote apps: eventfd"}};
  p->registry = sys.spawn<caf::detached>(registry_behavior, new attach_fn_holder{std::move(attach)});
  auto registry = p->registry;
  p->door = sys.spawn([](attach_door_actor::pointer self, attach_registry_actor reg) -> attach_door_actor::behavior_type {
    drop_unexpected_quietly(self);
    return {[=](attach_atom a, const remote_attach_request& req) {
      return answer_as_self<remote_attach_reply>(self, reg, a, req);
    }};
  }, registry);
  p->face = shield(sys, caf::actor_cast<caf::actor>(p->door), "attach door");
  auto published = sys.middleman().publish(caf::actor_cast<attach_door_actor>(p->face), port, "127.0.0.1", true);
  if (!published) {
    caf::anon_send_exit(p->door, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(p->registry, caf::exit_reason::user_shutdown);
    ::close(p->wake_fd);
    return unexpected{errc::invalid_argument, intern("cannot publish the attach actor: " + sys.render(published.error()))};
  }
  p->port = *published;
  auto* raw = p.get();
  p->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<remote_app_server>{new remote_app_server(std::move(p))};
}

remote_app_server::~remote_app_server() {
  if (!impl_) return;
  impl_->stopping.store(true);
  const std::uint64_t one = 1;
  (void)::write(impl_->wake_fd, &one, sizeof one);
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->connections.clear();  // the apps see their connection hang up
  (void)impl_->sys->middleman().unpublish(caf::actor_cast<attach_door_actor>(impl_->face), impl_->port);
  caf::anon_send_exit(impl_->door, caf::exit_reason::user_shutdown);  // its shield ends with it
  {
    // An attach in progress finishes first (it may spawn a gateway the
    // stack must then stop): wait, bounded, for the registry to end.
    caf::scoped_actor self{*impl_->sys};
    self->monitor(impl_->registry);
    self->send_exit(impl_->registry, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {}, caf::after(std::chrono::seconds(3)) >> [] {
      log_line("remote apps: the attach actor did not stop within 3 s");
    });
  }
  ::close(impl_->wake_fd);
}

std::uint16_t remote_app_server::port() const noexcept { return impl_->port; }
const std::string& remote_app_server::socket_path() const noexcept { return impl_->listener->path(); }
caf::actor remote_app_server::attach_actor() const { return impl_->face; }

}  // namespace actorstack
