#pragma once
/// \file
/// `stack`: the session layer as a set of actors inside a CAF actor system
/// — the caller's (embedding) or one the stack owns. Applications attach
/// to it, then listen and connect; see app.hpp and session.hpp.
///
///     auto st = actorstack::stack::create(cfg).value();
///     auto app = st->attach({.name = "echo"}, make_handler).value();
///     app->listen(*actorstack::parse_uri("ct://127.0.0.1/1234"));

#include <actorstack/app.hpp>
#include <actorstack/config.hpp>
#include <actorstack/dataplane_stats.hpp>
#include <actorstack/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace caf {
class actor_system;
class actor_system_config;
}

namespace actorstack {

/// What the stack holds right now (all workers and segment contexts).
struct stack_counters {
  std::uint64_t sessions = 0;        ///< live sessions, listeners included
  std::uint64_t listeners = 0;
  std::uint64_t ct_connections = 0;
  std::uint64_t half_opens = 0;
  std::uint64_t apps = 0;
  std::uint64_t ct_segments = 0;
  std::uint64_t fifos = 0;           ///< fifos allocated in ct segments
  std::uint64_t accepts = 0;
  std::uint64_t connects = 0;
  std::uint64_t refusals = 0;
  std::uint64_t udp_connections = 0;  ///< udp listeners and 5-tuples (data plane)
  std::uint64_t udp_segments = 0;     ///< segments holding udp and tcp fifos (one per worker and app worker)
  std::uint64_t ct_contexts = 0;      ///< cut-through segment contexts alive (see ct_segment_context.hpp)
  /// Connected udp sessions that moved to another worker because their
  /// datagrams arrive on another data-plane core (SPEC §5), ever.
  std::uint64_t udp_migrations = 0;
  std::uint64_t tcp_connections = 0;  ///< tcp connections with a session (until the data plane let go)
  std::uint64_t tcp_listeners = 0;    ///< tcp listeners (data plane)
};

/// Sets the scheduler of `sys_cfg` as stack::create(cfg) sets its own:
/// one scheduler thread per worker, and idle threads that steal work at
/// once for a short spell before backing off. (With one thread a handler
/// must not wait on the stack: blocking calls from inside a handler fail
/// at once with invalid_argument; the asynchronous ones are for handlers.) Call it before
/// constructing the actor system you embed the stack in; every other
/// setting of `sys_cfg` is left alone.
void configure_scheduler(caf::actor_system_config& sys_cfg, const stack_config& cfg);

/// Registers the message types and error category that cross actor
/// systems (attached apps, actorstack-ctl). stack::create(cfg) does it for
/// its own system; an embedder whose stack serves remote apps or is
/// inspected from another process calls it before constructing the system.
void add_message_types(caf::actor_system_config& sys_cfg);

/// Where apps in other processes attach, and who may.
struct remote_apps_options {
  std::string socket_path;
  std::uint32_t socket_mode = 0660;  ///< the socket file's permission bits
  std::int64_t socket_group = -1;    ///< the socket file's group (a gid); -1: the daemon's
  /// Only processes of these uids may attach (checked with SO_PEERCRED at
  /// connect); empty: whoever the file's mode lets connect.
  std::vector<std::uint32_t> allowed_uids;
  /// Processes of one uid connected at once; one more is hung up on.
  /// 0: the stack's `quota.attach-per-uid`.
  std::uint32_t max_attach_per_uid = 0;
};

class stack {
 public:
  /// A stack inside `sys`, which must outlive it. Errors: bad_config.
  static result<std::unique_ptr<stack>> create(caf::actor_system& sys, const stack_config& cfg);
  /// A stack with its own actor system (its scheduler: configure_scheduler).
  static result<std::unique_ptr<stack>> create(const stack_config& cfg);

  /// Stops the stack (stop(5 s)) unless stop() ran already.
  virtual ~stack() = default;

  /// Stops every actor the stack spawned (and the apps' own app worker
  /// actors) and waits at most `bound`. Returns one line per actor still
  /// alive then, naming it and why; empty when all stopped. It never hangs:
  /// if its own actor system cannot be joined, it is left running.
  /// Idempotent; every other call fails once the stack is stopped.
  virtual std::vector<std::string> stop(std::chrono::milliseconds bound = std::chrono::seconds(5)) = 0;

  /// Attaches an application: spawns its app workers, each with the
  /// handler `make_handler(i)` returns. Errors: invalid_argument.
  virtual result<std::unique_ptr<application>> attach(const app_options& opts,
                                                      handler_factory make_handler) = 0;
  // Applications with their own app worker actors: attach_actors() in
  // app_worker.hpp (kept there so this header needs no CAF headers).
  /// `show TOPIC` as actorstack-ctl prints it, from the actors' own state:
  /// summary, workers, sessions, listeners, apps, ct, dataplane. Options:
  /// `--json`; for sessions `--app N`, `--state NAME`, `--transport NAME`.
  /// Errors: invalid_argument (topic or option), timeout.
  virtual result<std::string> show(const std::string& topic,
                                   const std::vector<std::string>& options = {}) = 0;
  /// Publishes the inspector on `inspect.bind`:`port` (127.0.0.1 unless
  /// configured; 0: any free port) for actorstack-ctl; returns the port.
  /// Without tls.* it is a port of the stack's own that answers show
  /// requests and nothing else (no CAF middleman behind it). With tls.* set
  /// it is CAF's middleman over TLS, only to peers whose certificate the
  /// configured CA signed. Errors: not_supported (tls.* is set and the
  /// actor system has no middleman or no OpenSSL module: load
  /// caf::io::middleman and caf::openssl::manager when embedding),
  /// invalid_argument (the port is taken, or already published).
  virtual result<std::uint16_t> publish_inspector(std::uint16_t port) = 0;
  /// Serves Prometheus metrics (text exposition at /metrics) on
  /// 127.0.0.1:`port` (0: any free port); returns the port. Every scrape
  /// reads the actors' own state. Errors: invalid_argument (port taken, or
  /// already serving).
  virtual result<std::uint16_t> serve_metrics(std::uint16_t port) = 0;
  /// Serves applications in other processes (libactorstack-client,
  /// include/actorstack/client.hpp): binds a Unix socket at
  /// `opts.socket_path`. Each app's connection carries its whole
  /// conversation with the stack (attach, requests, notifications, segment
  /// fds); its hang-up detaches the app. No network port is opened. A
  /// stale socket file of this user is replaced; a live one, or another
  /// user's, is an error. Errors: invalid_argument (already serving, path
  /// too long, mode beyond 0777), system (bind, chown, chmod).
  virtual result<void> serve_remote_apps(const remote_apps_options& opts) = 0;
  /// The same with the default socket access (0660, the daemon's group,
  /// any uid).
  result<void> serve_remote_apps(const std::string& socket_path) {
    remote_apps_options opts;
    opts.socket_path = socket_path;
    return serve_remote_apps(opts);
  }
  /// Per data-plane core counters, read live; empty without a data plane
  /// (`dataplane.port` unset).
  virtual std::vector<dataplane_core_stats> dataplane_stats() const = 0;
  /// Sums every worker's and segment context's counters.
  virtual result<stack_counters> counters() = 0;
  virtual std::uint32_t workers() const noexcept = 0;
  virtual caf::actor_system& system() noexcept = 0;
};

}  // namespace actorstack
