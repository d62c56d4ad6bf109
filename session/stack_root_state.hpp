#pragma once
/// \file
/// The stack root's decisions, without an actor system: the application
/// registry (apps and their live app workers), who accepts on each
/// listener, the listener tables and the connect decision (SPEC §6), and
/// which cut-through segment context serves each pair of app workers.
///
/// Threading: one owner, the stack root actor (actors/stack_root.cpp). It
/// turns messages into calls and the effects below into messages; the
/// unit tests drive this class directly and record the effects. A call's
/// direct answer is its return value; what it makes happen elsewhere
/// (listeners closed, app workers dropped, contexts made or retired,
/// connects passed on) goes through `root_effects`, in order.

#include "session/lookup/session_tables.hpp"
#include "session/view/inspection.hpp"
#include "session/ct/ct_transport.hpp"

#include <actorstack/app.hpp>
#include <actorstack/config.hpp>
#include <actorstack/endpoint.hpp>
#include <actorstack/result.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace actorstack {

/// An app's index and the global index of its (first) new app worker.
struct app_reservation {
  std::uint32_t app = 0;
  std::uint32_t first_worker = 0;
};

/// Which process an app lives in (`show apps`).
struct app_origin {
  std::int32_t pid = 0;
  std::uint32_t uid = 0;
  bool attached = false;  ///< in another process (libactorstack-client)
};

struct connect_request {
  std::uint32_t app = 0;
  std::uint32_t app_worker = 0;  ///< global index of the connecting worker
  endpoint remote;
  std::uint64_t opaque = 0;
  bool report_to_app = false;  ///< errors go to the app worker, not a reply
  std::uint16_t local_port = 0;  ///< tcp/udp: leave from this port (0: the transport picks)
};

}  // namespace actorstack

namespace actorstack::session_layer {

/// What the root's decisions make happen in other owners.
class root_effects {
 public:
  virtual ~root_effects() = default;
  /// App worker `index` goes: every session worker resets its sessions
  /// (it may be gone: nobody else would), and it is told to stop.
  virtual void app_worker_dropped(std::uint32_t index) = 0;
  /// The listener's session (on session worker 0) closes.
  virtual void close_listener(session_handle listener) = 0;
  /// The listener's session now belongs to app worker `owner`.
  virtual void move_listener(session_handle listener, std::uint32_t owner) = 0;
  /// The app workers that accept on a tcp listener of a stack with a data
  /// plane changed (its owner's among them): the cores hand its
  /// connections from the wire to each in turn (session worker 0).
  virtual void listener_members(session_handle listener, const std::vector<std::uint32_t>& app_workers) = 0;
  /// A segment context `id` now serves (client app worker, server app
  /// worker): it is made and announced to every session worker.
  virtual void context_created(std::uint32_t id, std::uint32_t client_app_worker,
                               std::uint32_t server_app_worker) = 0;
  /// No new pair will be asked of context `id`: it ends once its last
  /// segment is deleted.
  virtual void context_retired(std::uint32_t id) = 0;
  /// A cut-through connect goes to session worker 0 (the half-opens).
  virtual void ct_connect(const ct::pending_connect& pc) = 0;
  /// A network connect goes to session worker `worker`.
  virtual void net_connect(std::uint32_t worker, std::uint32_t app_worker, const endpoint& remote,
                           std::uint64_t opaque, std::uint16_t local_port) = 0;
  /// An asynchronous connect failed here: its live app worker hears it.
  virtual void connect_failed(std::uint32_t app_worker, std::uint64_t opaque, errc why) = 0;
};

/// What `app_worker_down` did, for the log: the app detached on the
/// worker's behalf and the listeners that went with it.
struct app_detached {
  std::string app_name;
  std::size_t listeners = 0;
};

class stack_root_state {
 public:
  /// Bounds on the app workers of one app (app_options::workers).
  static constexpr std::uint32_t max_app_workers = 64;

  stack_root_state(stack_config cfg, root_effects& effects);

  /// The session workers exist (listeners and connects need them).
  void set_session_workers(std::uint32_t n) noexcept { session_workers_ = n; }

  // ---- the application registry ----------------------------------------
  /// A new app and the indices of its `opts.workers` app workers; its fifo
  /// sizes resolved against the stack's. Errors: invalid_argument.
  result<app_reservation> reserve_app(const app_options& opts, app_origin origin = {});
  /// The reserved app workers of `app` exist and take sessions from now.
  /// Returns the first one's index. Errors: no_such_app.
  result<std::uint32_t> add_app_workers(std::uint32_t app, std::uint32_t count);
  /// Worker add: one more app worker for a live app, reserved.
  /// Errors: no_such_app, invalid_argument (too many workers).
  result<app_reservation> reserve_worker(std::uint32_t app);
  /// The reserved worker `index` of `app` exists. Errors: no_such_app (the
  /// app detached in between, or the index is not its reservation).
  result<void> add_worker(std::uint32_t app, std::uint32_t index);
  /// Worker del: its listeners lose it (the last one takes the listener
  /// along), it is dropped. The app and its other workers go on; the last
  /// worker goes only with the app. Errors: no_such_app, invalid_argument.
  result<void> del_worker(std::uint32_t app, std::uint32_t index);
  /// Detaches `app`: its listeners go first, so nothing new reaches it;
  /// then its app workers are dropped. Detaching twice is done. Errors:
  /// no_such_app (never attached).
  result<void> detach(std::uint32_t app);
  /// App worker `app_worker` ended: its app detaches (nothing when it had
  /// already gone, or was deleted).
  std::optional<app_detached> app_worker_down(std::uint32_t app_worker);

  /// A session worker found a session of app worker `app_worker` with its
  /// shared fifos inconsistent (and reset it): counted for its app. Ignored
  /// for an index no app ever had.
  void shm_violation(std::uint32_t app_worker) noexcept;
  /// A quota enforced outside the root (an attached app's gateway:
  /// quota.sessions, quota.pending-connects) refused app `app`: counted.
  void quota_refused(std::uint32_t app) noexcept;

  /// Whether app worker `index` is attached and not deleted.
  bool is_live(std::uint32_t app_worker) const noexcept;
  /// The (resolved) options of the app that app worker `index` belongs to.
  const app_options* options_of_worker(std::uint32_t app_worker) const noexcept;

  // ---- listeners (SPEC §6) ---------------------------------------------
  /// First half of a listen: `whole_app` makes the app's workers accept in
  /// turn (in-process apps); otherwise only `app_worker`, and listening
  /// where its app already listens (a stream transport) joins that
  /// listener, which is the answer (cut-through and tcp listeners; a tcp
  /// one's wire connections are spread by listener_members). `reuse_port` (SO_REUSEPORT): such a
  /// listener of another app of the same uid that said so too is joined
  /// the same way (Linux lets sockets of one user share a port so). Nothing (and no error): a listener session must be
  /// opened on session worker 0, then `listened`.
  /// Errors: no_such_app, already_listening, quota (quota.listeners).
  result<std::optional<session_handle>> listen(std::uint32_t app, std::uint32_t app_worker,
                                               const endpoint& ep, bool whole_app, bool reuse_port = false);
  /// Second half: the listener session `h` exists. Errors: the tables'
  /// (another listen got there first; `h` is closed then).
  result<void> listened(std::uint32_t app, std::uint32_t app_worker, const endpoint& ep, bool whole_app,
                        session_handle h, bool reuse_port = false);
  /// Stop listen: the whole listener (`whole_app`: the app's part of it),
  /// or only `app_worker`'s part. The listener goes with the last app
  /// worker accepting on it. Errors: no_listener.
  result<void> stop_listen(std::uint32_t app, session_handle listener, std::uint32_t app_worker,
                           bool whole_app);

  // ---- connects --------------------------------------------------------
  /// SPEC §6: udp goes to the network (round robin over the session
  /// workers); anything else is resolved in the tables and goes to the
  /// listener's next accepting app worker through its segment context —
  /// except tcp that finds no listener here (or only a wildcard one while
  /// the target is another host), which goes to the network when the stack
  /// has a data plane (SPEC-TCP 9.4).
  /// A refusal is the error, or with `report_to_app` a connect_failed.
  result<void> connect(const connect_request& req);

  // ---- cut-through segment contexts ------------------------------------
  /// The context of (server app, client app worker, server app worker),
  /// made on first use.
  std::uint32_t context_for(std::uint32_t client_app_worker, std::uint32_t server_app_worker);
  /// A context made for an app worker already gone (a connect or pair
  /// request that crossed its going) serves what it was asked, then retires.
  void retire_if_orphaned(std::uint32_t client_app_worker, std::uint32_t server_app_worker);
  /// Context `id` ended: a later request for its pair makes a new one.
  void forget_context(std::uint32_t id);

  // ---- inspection ------------------------------------------------------
  std::vector<app_row> apps() const;
  std::vector<listener_row> listeners() const;
  std::uint64_t live_apps() const noexcept;
  std::uint64_t listener_count() const noexcept { return listener_count_; }

 private:
  struct app_record {
    app_options opts;
    app_origin origin;
    std::uint32_t first_worker = 0;        // the workers it attached with: first_worker + i
    std::set<std::uint32_t> workers;       // live, by global index (workers come and go)
    bool live = true;
    std::uint32_t listeners = 0;           // held now (quota.listeners)
    std::uint64_t quota_refusals = 0;
    std::uint64_t shm_violations = 0;
  };
  // The app workers a listener's connections go to, round robin: those
  // that listen on it (an in-process app listens with all of its workers;
  // each worker of an app in another process listens for itself, and a
  // second one listening on the same endpoint joins the listener).
  struct listener_share {
    std::uint32_t owner = 0;  // its session's app worker: the listener goes with it
    std::vector<std::uint32_t> accepting;
    std::uint32_t next = 0;
    bool reuse_port = false;  // other apps of `uid` that say so may join (SO_REUSEPORT)
    std::uint32_t uid = 0;
  };
  using context_key = std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>;

  bool live_app(std::uint32_t app) const noexcept { return app < apps_.size() && apps_[app].live; }
  bool has_dataplane() const noexcept;
  /// The share of listener `listener` on `local` changed: a wire listener's
  /// cores hear who accepts now.
  void tell_members(const endpoint& local, session_handle listener, const listener_share& share);
  /// Loopback, the wildcard, or the data plane's address.
  bool is_ours(const ip_address& ip) const;
  bool is_wildcard_listener(session_handle listener) const;
  void remove_listener(const lookup::listener_entry& l);
  std::optional<lookup::listener_entry> listener_entry_of(session_handle listener) const;
  void leave_all(std::uint32_t app_worker);
  bool shared_with_another_app(session_handle listener, std::uint32_t app) const;
  void leave_app_part(session_handle listener, std::uint32_t app);
  std::uint32_t next_accepting(listener_share& share, std::uint32_t client_app) const;
  bool leave_listener(const lookup::listener_entry& l, std::uint32_t app_worker);
  result<void> refuse_connect(const connect_request& req, const error& why);
  void drop_worker(std::uint32_t index);
  void retire_contexts_of(std::uint32_t app_worker);
  std::optional<std::size_t> detach_app(std::uint32_t app);

  stack_config cfg_;
  root_effects& fx_;
  std::uint32_t session_workers_ = 0;
  std::vector<app_record> apps_;
  std::uint32_t next_app_worker_ = 0;
  std::vector<std::uint32_t> app_of_worker_;                  // global app worker -> app
  std::unordered_map<std::uint64_t, listener_share> shares_;  // by listener handle
  lookup::session_tables tables_;
  std::uint64_t listener_count_ = 0;
  std::map<context_key, std::uint32_t> context_of_;
  std::uint32_t next_context_ = 0;
  std::uint32_t next_net_worker_ = 0;  // round robin for network connects
};

}  // namespace actorstack::session_layer
