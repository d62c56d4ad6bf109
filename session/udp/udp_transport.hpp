#pragma once
/// \file
/// The UDP transport as one session worker sees it (SPEC §1, issue: DPDK
/// data plane). The worker owns its sessions; the data-plane core owns the
/// connections (5-tuple table, fifo ends). This class is the worker's half:
/// it turns session-layer calls into commands for the core, and the
/// core's events back into session-layer calls. Plain C++ (no CAF): the
/// session_worker actor drains the event channel on its doorbell.
///
/// Fifo ownership across the boundary: once a binding is installed the
/// core produces into its rx fifo and consumes its tx fifo, so the worker
/// frees a udp session's fifos only after the core confirmed the removal
/// (event `removed`). Until then they wait here.
///
/// Fifos come from the worker's segment per app worker (net::app_segments).
///
/// Several data-plane cores: each connection has an owner core (at first
/// this worker's home core, worker % cores) and every other core a
/// forwarding entry. When a connected session's datagrams arrive on
/// another core, that core says so once (event `seen`) and the connection
/// moves there for real (SPEC §5): to the worker whose home that core is,
/// with a new session (migrate_in), the binding handed core to core
/// (command `move`), the app told old handle -> new handle, the old
/// session freed. A connection moves at most once. Its fifos stay in the
/// old worker's segment; the new worker gives them back when it is done.

#include "session/net/app_segments.hpp"
#include "session/net/core_link.hpp"
#include "session/net/slot_table.hpp"
#include "session/session_worker_state.hpp"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace actorstack::udp {

struct udp_worker_config {
  std::uint32_t worker = 0;
  std::uint32_t workers = 1;
  std::uint32_t local_ip = 0;  ///< the data plane's address (host order)
};

struct udp_worker_counters {
  std::uint64_t connections = 0;   ///< installed or being installed
  std::uint64_t moved_in = 0;   ///< connections another worker handed to this one
};

using net::core_link;

/// A connected session moving to another worker, as the new worker needs it.
struct udp_migrant {
  session_layer::session session;  ///< the old session, copied (fifos included)
  std::uint32_t from_worker = 0;
  std::uint32_t from_id = 0;
  endpoint local;
  endpoint remote;
  std::uint32_t core = 0;  ///< the core it moves to
};

/// What the transport needs from the actor around it to move sessions
/// between workers (typed messages in session_worker.cpp).
class udp_migration_port {
 public:
  virtual ~udp_migration_port() = default;
  /// Ask `worker` to take `m` (it answers with adopt()'s result).
  virtual void offer(std::uint32_t worker, const udp_migrant& m) = 0;
  /// A session that arrived from `origin_worker` (where it was
  /// `origin`) is gone: its fifos go back to that worker's segment.
  virtual void departed(std::uint32_t origin_worker, session_handle origin, std::uint32_t app_worker,
                        shm::fifo rx, shm::fifo tx) = 0;
};

class udp_transport final : public session_layer::transport, public session_layer::fifo_provider {
 public:
  /// `cores`: this worker's links to every data-plane core, by core index.
  /// `migration`: null when sessions never move between workers (one
  /// worker, one core, unit tests).
  /// `segments`: the worker's, shared with its other network transport.
  udp_transport(session_layer::session_worker_state& sessions, session_layer::app_notifier& apps,
                std::vector<core_link> cores, net::app_segments& segments, udp_worker_config cfg,
                udp_migration_port* migration = nullptr);
  ~udp_transport() override;

  // ---- transport --------------------------------------------------------
  transport_proto proto() const noexcept override { return transport_proto::udp; }
  session_layer::service_type service() const noexcept override {
    return session_layer::service_type::datagram;
  }
  result<std::uint32_t> start_listen(session_handle listener, const endpoint& local) override;
  result<void> stop_listen(std::uint32_t listener_index) override;
  /// UDP has no handshake: the connected session exists at once (its
  /// notification is queued to the app before this returns).
  result<std::uint32_t> connect(const session_layer::connect_args& args) override;
  void close(std::uint32_t connection, std::uint32_t worker) override;
  void cleanup(std::uint32_t connection, std::uint32_t worker) override;
  void custom_tx(session_layer::session& s) override;
  /// Nothing here: the data-plane core reads a udp session's tx. The close
  /// that follows removes its binding, so it reads no more, and the bytes
  /// go with the fifo.
  void discard_tx(session_layer::session&) override {}
  std::string format(std::uint32_t connection, std::uint32_t worker) const override;

  // ---- fifo_provider ------------------------------------------------------
  result<void> alloc_fifos(session_layer::session& s) override;
  void free_fifos(session_layer::session& s) override;

  /// One event of core `core` (the worker drains the rings: net/core_link.hpp).
  void on_event(std::uint32_t core, const dataplane::event& ev);
  /// Drains the cores' events, all for this transport (unit tests; the
  /// worker drains for both network transports); true if it should be
  /// called again.
  bool drain_events(std::size_t budget = 1024);
  /// Retries commands the ring could not take; true if some still wait.
  bool flush_commands() { return commands_.flush(); }
  bool has_deferred() const noexcept { return commands_.has_deferred(); }
  std::uint64_t commands_deferred() const noexcept { return commands_.deferred(); }

  // ---- moving a session between workers (SPEC §5) -------------------------
  struct adopted {
    session_handle handle;
    std::uint32_t id = 0;
  };
  /// New worker: takes `m` over (new connection, new session flagged
  /// migrating); the binding becomes ours when its core says `taken`.
  adopted adopt(const udp_migrant& m);
  /// Old worker: `worker` adopted our connection `id` as (`handle`, `new_id`).
  /// Hands the binding to its new core, cleans up here and tells the app.
  /// `gone`: the connection ended meanwhile and nothing moved (the new
  /// worker abandons its copy).
  struct handed {
    session_layer::migrate_outcome outcome;
    session_handle old;  ///< the session it was here
  };
  handed hand_over(std::uint32_t id, std::uint32_t worker, session_handle handle, std::uint32_t new_id);
  /// New worker: the old one could not hand over (`gone`): forget the copy.
  void abandon(session_handle handle);
  /// Old worker: fifos of a session that moved away come back.
  void take_back(std::uint32_t app_worker, shm::fifo rx, shm::fifo tx);
  const udp_worker_counters& counters() const noexcept { return counters_; }
  std::size_t connections() const noexcept { return conns_.live(); }

 private:
  enum class conn_state : std::uint8_t {
    free,
    installed,
    removing,   ///< remove sent; the owner core answers `removed`
    offered,    ///< another worker is asked to take it; still ours and installed
    arriving,   ///< moving to `core`; ours once it says `taken`
  };
  struct conn {
    conn_state state = conn_state::free;
    bool listener = false;
    bool settled = false;       ///< moved once: never again
    bool remove_on_taken = false;
    session_handle session;
    endpoint local;
    endpoint remote;
    shm::fifo rx, tx;      ///< held until the core let go
    std::uint32_t app_worker = 0;
    std::uint32_t core = 0;     ///< the owner core (arriving: the core it moves to)
    std::uint32_t target = 0;   ///< offered: the core it moves to
    bool free_fifos_on_remove = false;  ///< the session is gone; free these when removed
  };
  struct arrival {
    std::uint32_t worker;  ///< where it came from (and where its fifos live)
    session_handle origin;
  };

  std::uint32_t alloc_conn();
  void free_conn(std::uint32_t id);
  std::uint32_t cores() const noexcept { return static_cast<std::uint32_t>(cores_.size()); }
  void install(std::uint32_t id);
  /// Forwarding entries for `id` on every core but its owner.
  void announce(std::uint32_t id);
  /// `id`'s binding, to every core except `skip` (none: cores()).
  void send_add(std::uint32_t id, std::uint32_t skip);
  /// Asks `id`'s owner core to hand it to `to_core` as (new_worker, new_id, new_session).
  void send_move(std::uint32_t id, std::uint32_t to_core, std::uint32_t new_worker, std::uint32_t new_id,
                 session_handle new_session);
  void remove(std::uint32_t id);
  void on_seen(std::uint32_t id, std::uint32_t core);
  void on_taken(std::uint32_t id);
  void give_back(session_handle h, std::uint32_t app_worker, shm::fifo& rx, shm::fifo& tx);
  void send(std::uint32_t core, const dataplane::command& c);
  dataplane::udp_binding binding_of(std::uint32_t id) const;
  void on_removed(std::uint32_t id);
  std::uint16_t ephemeral_port();

  session_layer::session_worker_state& sessions_;
  session_layer::app_notifier& apps_;
  std::vector<core_link> cores_;
  net::app_segments& segments_;
  net::command_queue commands_{cores_};
  udp_worker_config cfg_;
  udp_migration_port* migration_;
  net::slot_table<conn> conns_;
  std::unordered_map<std::uint64_t, arrival> arrivals_;   ///< sessions that moved here, by handle
  std::uint16_t next_port_ = 0;
  udp_worker_counters counters_;
};

}  // namespace actorstack::udp
