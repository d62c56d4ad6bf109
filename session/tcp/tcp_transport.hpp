#pragma once
/// \file
/// The TCP transport as one session worker sees it (SPEC-TCP, SPEC §1).
/// The data-plane core owns every connection (its engine: TCB, timers,
/// segments); this class is the worker's half, as udp_transport is UDP's:
/// session-layer calls become tcp_* commands, the core's tcp_* events
/// become session-layer calls.
///
/// Fifos: a connection's pair is carved by the core, from the app worker's
/// segment (net::app_segments), only when it reaches ESTABLISHED (SPEC-TCP
/// 2.1); the session gets that pair. From then on the core produces into
/// rx and consumes tx until it says it let go (`tcp_released` after a close
/// or an abort, `tcp_reset` when the connection died); only then do the
/// fifos go back to the segment. A listener or a pending connect holds the
/// segment, since the core may carve from it at any time.
///
/// Where connections live: a listener listens on every core and its
/// connections' sessions live on this worker (session worker 0, where the
/// stack opens listeners); an active open goes to this worker's home core
/// (worker % cores) with a local port that names that core (port % cores),
/// so whichever queue brings its segments, they reach it (SPEC-TCP 1.2).
///
/// `show sessions` gives a connection's RFC state as this worker knows it
/// from the events: ESTABLISHED, CLOSE-WAIT (the peer's FIN), FIN-WAIT-1 or
/// LAST-ACK (the app closed first or second). The core's counters give the
/// exact number of connections in each state.

#include "base/paged_vector.hpp"
#include "dataplane/tcp/state.hpp"
#include "session/net/app_segments.hpp"
#include "session/net/core_link.hpp"
#include "session/net/slot_table.hpp"
#include "session/session_worker_state.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace actorstack::tcp {

struct tcp_worker_config {
  std::uint32_t worker = 0;
  std::uint32_t workers = 1;
  std::uint32_t local_ip = 0;  ///< the data plane's address (host order)
  bool nodelay = false;  ///< Nagle off for every connection
};

struct tcp_worker_counters {
  std::uint64_t accepted = 0;          ///< passive connections handed to apps
  std::uint64_t connected = 0;         ///< active opens that succeeded
  std::uint64_t connect_failures = 0;  ///< active opens that did not
  std::uint64_t refused_by_app = 0;    ///< connections nobody took (listener gone, app gone, no session)
};

class tcp_transport final : public session_layer::transport, public session_layer::fifo_provider {
 public:
  tcp_transport(session_layer::session_worker_state& sessions, std::vector<net::core_link> cores,
                net::app_segments& segments, tcp_worker_config cfg);
  ~tcp_transport() override;

  // ---- transport --------------------------------------------------------
  transport_proto proto() const noexcept override { return transport_proto::tcp; }
  session_layer::service_type service() const noexcept override { return session_layer::service_type::stream; }
  result<std::uint32_t> start_listen(session_handle listener, const endpoint& local) override;
  result<void> stop_listen(std::uint32_t listener_index) override;
  /// The cores stop the listener and start it again at once (one ring, in
  /// order: no SYN meets a closed port), carving from the new app
  /// worker's segment; the other workers' mirrors follow (the hooks).
  result<std::uint32_t> listener_moved(std::uint32_t listener_index, std::uint32_t app_worker) override;
  /// Another worker's listener `owner` changed owner: so does its mirror.
  void move_mirror(session_handle owner, std::uint32_t app_worker);
  /// Sends the SYN; `connected` (or the failure) comes with the core's answer.
  result<std::uint32_t> connect(const session_layer::connect_args& args) override;
  void close(std::uint32_t connection, std::uint32_t worker) override;
  /// The app half-closed: FIN after what it wrote (tcp_shutdown).
  void shutdown(std::uint32_t connection, std::uint32_t worker) override;
  void reset(std::uint32_t connection, std::uint32_t worker) override;
  void cleanup(std::uint32_t connection, std::uint32_t worker) override;
  void custom_tx(session_layer::session& s) override;
  void app_rx_evt(session_layer::session& s) override;
  tx_route direct_tx_route(const session_layer::session& s) const override;
  /// Nothing here: the core reads a tcp session's tx, and after a reset it
  /// reads no more; the bytes go with the fifo.
  void discard_tx(session_layer::session&) override {}
  std::string format(std::uint32_t connection, std::uint32_t worker) const override;
  /// Another worker's tcp listener `owner` (its session lives there), for
  /// the cores whose home worker this one is (core % workers == worker):
  /// their passive connections, and so their sessions, live here
  /// (SPEC-TCP 1.1). Nothing to do on a worker that is no core's home.
  /// Errors: as start_listen's.
  result<void> mirror_listen(session_handle owner, std::uint32_t app_worker, const endpoint& local);
  /// The owner stopped listening: so does its mirror here (if any).
  void stop_mirror(session_handle owner);
  /// Called when a listener of this worker's own stops (not a mirror), so
  /// that the other workers stop theirs.
  void on_listener_stopped(std::function<void(session_handle)> f) { listener_stopped_ = std::move(f); }
  /// Called when a listener of this worker's own changes owner (not a
  /// mirror), so that the other workers move theirs.
  void on_listener_moved(std::function<void(session_handle, std::uint32_t)> f) { listener_moved_ = std::move(f); }
  /// The app workers that accept on listener `owner` (its own first or
  /// not), on the owner's worker and on a mirror's alike: each other one
  /// gets a listen of its own on this worker's cores, in the listener's
  /// group (dataplane::tcp_request::group), so that the cores hand its
  /// connections to each in turn, carved from each one's segment
  /// (SO_REUSEPORT across apps, an app's workers). The owner's worker
  /// tells the mirrors (on_members). Nothing for a listener not here.
  void set_members(session_handle owner, const std::vector<std::uint32_t>& app_workers);
  /// Called when a listener of this worker's own gets new members (not a
  /// mirror), so that the other workers' mirrors follow.
  void on_members(std::function<void(session_handle, const std::vector<std::uint32_t>&)> f) {
    members_changed_ = std::move(f);
  }
  /// A listener's row: `[w:i][T] ip:port->*:0 LISTEN`.
  std::string format_listener(std::uint32_t listener_index, std::uint32_t worker) const;

  // ---- fifo_provider ------------------------------------------------------
  /// Hands over the pair the core carved (there is no other way to get one).
  result<void> alloc_fifos(session_layer::session& s) override;
  void free_fifos(session_layer::session& s) override;

  /// The TCP_INFO of session `s`'s connection, asked of its core: `done`
  /// runs with the core's answer (at once with invalid_session when the
  /// core let go of the connection already, or it is not this transport's).
  void query_info(const session_layer::session& s, std::function<void(result<tcp_conn_info>)> done);
  std::size_t pending_info_queries() const noexcept { return info_queries_.size(); }

  /// One tcp_* event of core `core`.
  void on_event(std::uint32_t core, const dataplane::event& ev);
  /// Drains the cores' events, all for this transport (unit tests).
  bool drain_events(std::size_t budget = 1024);
  bool flush_commands() { return commands_.flush(); }
  bool has_deferred() const noexcept { return commands_.has_deferred(); }

  /// The app worker is gone: its connects still on their way end as soon
  /// as they are answered.
  void app_worker_gone(std::uint32_t app_worker);

  const tcp_worker_counters& counters() const noexcept { return counters_; }
  std::size_t connections() const noexcept { return conns_.live(); }
  std::size_t listeners() const noexcept { return listeners_live_; }
  std::size_t pending_connects() const noexcept { return connects_.size(); }

 private:
  struct conn {
    // 32 bytes, one per connection. The fifos are the session's (one copy
    // per connection, docs/performance.md): they come back here (orphans_)
    // when the session goes before the core let go of them. The endpoints
    // are the 4-tuple's remote half and local port (the local address is
    // the data plane's): `show sessions` names them, the app was told them
    // in its notification.
    session_handle session;
    std::uint32_t app_worker = 0;
    std::uint32_t engine_index = 0;
    std::uint32_t generation = 0;
    std::uint32_t remote_ip = 0;  ///< host order
    std::uint16_t local_port = 0;
    std::uint16_t remote_port = 0;
    std::uint16_t core = 0;
    tcp::state state = tcp::state::established;  ///< the engine's, from tcp_state events
    bool in_use : 1 = false;
    bool core_done : 1 = false;     ///< released or reset: the fifos are ours again
    bool session_gone : 1 = false;  ///< the session freed its fifos: free them when the core is done
    bool peer_closed : 1 = false;
    bool close_sent : 1 = false;    ///< tcp_close or tcp_abort went to the core
    bool shutdown_sent : 1 = false; ///< tcp_shutdown went to the core
  };
  struct listener {
    bool in_use = false;
    bool stopping = false;
    /// Another worker's listener, opened here for the cores whose home
    /// this worker is (mirror_listen); `session` is the owner's.
    bool mirror = false;
    /// One more app worker's part of listener `session` (set_members),
    /// beside the owner's record or its mirror here.
    bool member = false;
    session_handle session;
    std::uint32_t app_worker = 0;
    std::uint64_t cookie = 0;
    endpoint local;
    std::uint32_t acks_due = 0;  ///< cores yet to confirm the unlisten
  };
  struct pending_connect {
    std::uint32_t app_worker = 0;
    std::uint64_t opaque = 0;
    endpoint remote;
    std::uint16_t local_port = 0;  ///< the app's (a bind before connect), or 0: the core picks one
    std::uint32_t core = 0;
  };

  std::uint32_t cores() const noexcept { return static_cast<std::uint32_t>(cores_.size()); }
  /// This worker is core `core`'s home: it opens the core's listeners.
  bool serves(std::uint32_t core) const noexcept { return core % std::max(cfg_.workers, 1u) == cfg_.worker; }
  std::uint32_t served_cores() const noexcept;
  /// Listener `i` is another worker's, open here and not stopping.
  bool live_mirror(std::uint32_t i) const noexcept;
  /// The live mirror of the owner's listener `owner` (at most one: a move
  /// stops the old before it opens the new).
  std::optional<std::uint32_t> mirror_of(session_handle owner) const noexcept;
  /// Listener `i` is another app worker's part of a listener here, not stopping.
  bool live_member(std::uint32_t i) const noexcept;
  /// The record listener `owner` has here that is not a member's: the
  /// owner's own on its worker, its mirror on another.
  std::optional<std::uint32_t> anchor_of(session_handle owner) const noexcept;
  /// Stops every member record of listener `owner`.
  void stop_members(session_handle owner);
  result<std::uint32_t> open_listener(session_handle listener_session, std::uint32_t app_worker,
                                      const endpoint& local, bool mirror, bool member = false);
  /// The index of the connection an event of `core` names, if it still lives.
  std::optional<std::uint32_t> conn_of(std::uint32_t core, const dataplane::event& ev) const;
  std::uint32_t alloc_conn();
  void free_conn(std::uint32_t id);
  void send_conn(const conn& c, dataplane::command_kind k, bool nodelay = false);
  void send_connect(std::uint64_t cookie, const pending_connect& pc);
  std::uint64_t next_cookie() noexcept;
  /// The connection's endpoints, local first: what its app is told and
  /// what `show sessions` names (the local address is the data plane's:
  /// the core takes no TCP segment addressed elsewhere).
  endpoint_pair ends_of(const conn& c) const;

  void on_established(std::uint32_t core, const dataplane::event& ev);
  void on_connect_failed(const dataplane::event& ev);
  void on_unlistened(const dataplane::event& ev);
  /// The core let go of `id`'s fifos (`reset`: because the connection died).
  /// How the core let go of a connection: after the app's close or abort,
  /// a reset (peer, timeout), or because the app broke its shared fifos.
  enum class ended : std::uint8_t { released, reset, violation };
  void on_core_done(std::uint32_t id, ended how);
  /// An established connection nobody will own: RST, its fifos back on release.
  void refuse(std::uint32_t id);

  session_layer::session_worker_state& sessions_;
  std::vector<net::core_link> cores_;
  net::app_segments& segments_;
  net::command_queue commands_{cores_};
  tcp_worker_config cfg_;
  net::slot_table<conn> conns_;
  /// (core, engine index) -> conn + 1 (0: none). A core's engine indices
  /// are dense (its TCB table), so a table per core: 4 bytes an index,
  /// where a hash map took ~40 a connection.
  std::vector<paged_vector<std::uint32_t>> by_engine_;
  void set_engine_index(std::uint32_t core, std::uint32_t index, std::uint32_t value);
  /// The fifos of connections no session holds (it went first, or none
  /// took the connection) while the core may still use them: released
  /// when the core lets go.
  std::unordered_map<std::uint32_t, shm::fifo_pair> orphans_;
  void release_orphan(std::uint32_t id, std::uint32_t app_worker);
  std::vector<listener> listeners_;
  std::size_t listeners_live_ = 0;
  std::unordered_map<std::uint64_t, std::uint32_t> listener_of_cookie_;
  std::unordered_map<std::uint64_t, pending_connect> connects_;  ///< by cookie
  std::unordered_set<std::uint32_t> gone_app_workers_;
  /// TCP_INFO asked of a core, by cookie: the core writes `out` before it
  /// answers (the pointer travels in the command; nothing else shares it).
  struct info_query {
    std::unique_ptr<tcp_conn_info> out;
    std::function<void(result<tcp_conn_info>)> done;
  };
  std::unordered_map<std::uint64_t, info_query> info_queries_;
  void on_info(const dataplane::event& ev);
  std::uint64_t cookie_seq_ = 0;
  /// The pair alloc_fifos() hands to the session being made now (none
  /// between events).
  shm::fifo_pair handing_over_{};
  tcp_worker_counters counters_;
  std::function<void(session_handle)> listener_stopped_;
  std::function<void(session_handle, std::uint32_t)> listener_moved_;
  std::function<void(session_handle, const std::vector<std::uint32_t>&)> members_changed_;
  /// Stops listener `index` on this worker's cores (its record waits for
  /// their acks); `tell` says whether the other workers hear of it.
  void unlisten_cores(std::uint32_t index, bool tell);
};

}  // namespace actorstack::tcp
