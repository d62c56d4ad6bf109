#pragma once
/// \file
/// The cut-through transport (SPEC §6): two applications on one stack talk
/// through a pair of shared fifos, crossed (client rx = server tx, client
/// tx = server rx). Both ends of a pair live on the same worker, so each
/// worker has one `ct_worker`: its cut-through connections, its queue of
/// connects to accept, its postponed cleanups. Half-opens live on the first
/// worker only (`ct_half_opens`).
///
/// Plain C++, owned by the worker's session_worker actor. Everything that
/// crosses owners is a returned value or a sink call the actor turns into a
/// message: fifo pairs come from a ct_segment_context actor (asynchronous:
/// `begin_accept` then `fifos_ready`), fifo releases go back to it, and
/// "half-open reusable" goes to the first worker.

#include "base/paged_vector.hpp"
#include "session/session_worker_state.hpp"

#include <actorstack/endpoint.hpp>
#include <actorstack/packed_endpoints.hpp>

#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace actorstack::ct {

using session_layer::no_index;

/// A connect the first worker forwards to the worker that will accept it.
struct pending_connect {
  std::uint32_t half_open = no_index;  ///< index in the first worker's ct_half_opens
  std::uint32_t client_app_worker = 0;
  std::uint64_t opaque = 0;
  endpoint remote;                     ///< what the client connected to
  session_handle listener;             ///< the server's listener
  std::uint32_t server_app_worker = 0; ///< the listener's selected app worker
  std::uint32_t context = no_index;    ///< the segment context for this pair of app workers
  std::uint16_t local_port = 0;        ///< the client's port if it bound one (0: one is made up)
};

/// A server connection waiting for its fifo pair, and whom to ask.
struct fifo_need {
  std::uint32_t server_conn = no_index;
  std::uint32_t context = no_index;
  std::uint32_t server_app_worker = 0;
  std::uint32_t client_app_worker = 0;
};

/// A fifo pair a ct_segment_context carved for a server session; the
/// client shares it crossed. `segment` and `context` say where to release.
struct ct_fifo_pair {
  shm::fifo server_rx;
  shm::fifo server_tx;
  std::uint64_t segment = 0;
  std::uint32_t context = 0;
};

/// One side of a pair done with it; a worker sends a run's worth to a
/// context in one message.
struct ct_release {
  ct_fifo_pair pair;
  bool client_side = false;
};

/// Where a ct_worker sends what leaves its worker.
class ct_sink {
 public:
  virtual ~ct_sink() = default;
  /// One side of a pair is done with its fifos (client or server side).
  virtual void release_fifos(const ct_fifo_pair& pair, bool client_side) = 0;
  /// The first worker may reuse this half-open index.
  virtual void half_open_reusable(std::uint32_t half_open) = 0;
};

/// The first worker's half-opens: connects not yet accepted. Indices are
/// recycled once the accepting worker has copied the half-open.
class ct_half_opens {
 public:
  std::uint32_t alloc(const pending_connect& c);
  /// The accepting worker took it: the index may be reused.
  void mark_reusable(std::uint32_t index);
  /// Picks the worker for the next connect, round robin.
  std::uint32_t next_worker(std::uint32_t n_workers) noexcept;
  std::size_t live() const noexcept { return live_; }
  std::string format(std::uint32_t index) const;

 private:
  struct entry {
    pending_connect connect;
    bool live = false;
  };
  std::vector<entry> entries_;
  std::vector<std::uint32_t> reusable_;
  std::size_t live_ = 0;
  std::uint32_t next_worker_ = 0;
};

class ct_worker final : public session_layer::transport, public session_layer::fifo_provider {
 public:
  static constexpr std::size_t max_accepts_per_run = 32;
  static constexpr std::size_t max_cleanups_per_run = 100;

  ct_worker(session_layer::session_worker_state& worker, ct_sink& sink);

  // ---- the accept path -------------------------------------------------------
  /// Queues connects forwarded from the first worker.
  void queue_connects(std::vector<pending_connect> batch);
  /// Takes up to 32 queued connects: creates each client connection (still
  /// half-open) and server connection and returns the server connections
  /// that now need a fifo pair. `more` says whether connects remain (the
  /// actor re-posts).
  std::vector<fifo_need> begin_accepts(bool& more);
  std::size_t queued_connects() const noexcept { return connects_.size(); }
  /// The fifo pair for `server_conn` arrived (or failed): on failure the
  /// client hears "alloc"; otherwise the server session is created and its
  /// app asked to accept.
  void fifos_ready(std::uint32_t server_conn, result<ct_fifo_pair> fifos);

  // ---- postponed cleanups ------------------------------------------------------
  /// Runs up to 100 cleanups (and half-closes); true if more remain (the
  /// actor re-posts).
  bool handle_cleanups();
  std::size_t pending_cleanups() const noexcept { return cleanups_.size() + shutdowns_.size(); }

  // ---- inspection ----------------------------------------------------------------
  std::size_t connections() const noexcept { return live_; }
  /// "[w:s][CT:ct] 127.0.0.1:1234->127.0.0.1:40000 ESTABLISHED"
  std::string format(std::uint32_t connection, std::uint32_t worker) const override;
  /// "[w:l][CT:ct] 127.0.0.1:1234->0.0.0.0:0 LISTEN"
  std::string format_listener(std::uint32_t listener_index, std::uint32_t worker) const;

  // ---- transport ------------------------------------------------------------------
  transport_proto proto() const noexcept override { return transport_proto::ct; }
  session_layer::service_type service() const noexcept override {
    return session_layer::service_type::stream;
  }
  result<std::uint32_t> start_listen(session_handle listener, const endpoint& local) override;
  result<void> stop_listen(std::uint32_t listener_index) override;
  /// Cut-through connects go through ct_half_opens on the first worker.
  result<std::uint32_t> connect(const session_layer::connect_args&) override {
    return unexpected{errc::not_supported, "ct connects go through the half-open table"};
  }
  void close(std::uint32_t connection, std::uint32_t worker) override;
  /// Half-close: the peer hears "closing" once the writes before it have
  /// reached it; both sides stay linked, this one still reads.
  void shutdown(std::uint32_t connection, std::uint32_t worker) override;
  void reset(std::uint32_t connection, std::uint32_t worker) override;
  void cleanup(std::uint32_t connection, std::uint32_t worker) override;
  void accepted(session_layer::session& s) override;
  void custom_tx(session_layer::session& s) override;
  void app_rx_evt(session_layer::session& s) override;
  /// Nothing: a ct session's tx is its peer app's rx, read by that app
  /// (maybe in another process, maybe right now). The peer hears the reset
  /// and the bytes go with the fifo.
  void discard_tx(session_layer::session&) override {}

  // ---- fifo provider (ct sessions' fifos come from their connection) ------------
  result<void> alloc_fifos(session_layer::session& s) override;
  void free_fifos(session_layer::session& s) override;

 private:
  // One per side of every pair, as long as the pair lives: 72 bytes. Who
  // connected to whom is needed only while the pair is set up, so it is
  // kept apart (setups_), named by the client side until the client
  // heard "connected" (or was refused); the server side reads it there.
  struct connection {
    // 80 bytes, one per side.
    session_handle session;
    ct_fifo_pair fifos;
    std::uint32_t peer = no_index;
    std::uint32_t setup = no_index;  ///< client side: its entry in setups_, while set up
    /// The pair's endpoints as its apps were told them, the client's as
    /// local (show sessions), from the end of its set-up on: the sessions
    /// keep none.
    detail::packed_endpoint_pair ends;
    bool live : 1 = false;
    bool client : 1 = false;      ///< client side (else server side)
    bool reset : 1 = false;       ///< the app asked for a reset, not a close
    bool has_fifos : 1 = false;   ///< `fifos` holds this side's reference to the pair
    /// A client side waiting for the server's decision: exactly while it
    /// holds its set-up (a server side never does).
    bool half_open() const noexcept { return setup != no_index; }
  };
  struct listener {
    bool live = false;
    endpoint local;
  };

  connection* get(std::uint32_t index) noexcept;
  /// Who connected to whom, for either side of a pair being set up; null
  /// once the client heard the outcome.
  const pending_connect* setup_of(const connection& c) const noexcept;
  void end_setup(connection& client) noexcept;
  std::uint32_t alloc_connection();
  void free_connection(std::uint32_t index);
  void refuse_client(std::uint32_t index, errc why);
  void close_connection(std::uint32_t index, bool reset);
  void postponed_cleanup(std::uint32_t index);
  void tell_peer(connection& ct, const session_layer::session& ss);

  session_layer::session_worker_state& worker_;
  ct_sink& sink_;
  paged_vector<connection> conns_;  // by index; grown a page at a time
  std::vector<std::uint32_t> free_conns_;
  paged_vector<pending_connect> setups_;  // by connection::setup; as many as pairs in set-up
  std::vector<std::uint32_t> free_setups_;
  std::size_t live_ = 0;
  std::vector<listener> listeners_;
  std::deque<pending_connect> connects_;
  std::deque<std::uint32_t> cleanups_;
  std::deque<std::uint32_t> shutdowns_;
};

}  // namespace actorstack::ct
