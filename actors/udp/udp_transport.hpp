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
/// Fifos come from one segment per app worker, created on first use and
/// announced to the app (segment_add) before anything names it (SPEC 9.3).

#include "actors/session/session_worker_state.hpp"
#include "dataplane/boundary.hpp"

#include "shm/fifo_segment.hpp"

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace actorstack::udp {

struct udp_worker_config {
  std::uint32_t worker = 0;
  std::uint32_t workers = 1;
  std::uint32_t local_ip = 0;  ///< the data plane's address (host order)
  std::uint32_t rx_fifo_size = 64 * 1024;
  std::uint32_t tx_fifo_size = 64 * 1024;
  std::uint32_t max_fifo_size = 4 * 1024 * 1024;
  std::uint64_t segment_size = 128ull << 20;
};

struct udp_worker_counters {
  std::uint64_t connections = 0;   ///< installed or being installed
  std::uint64_t commands_deferred = 0;  ///< the command ring was full: retried later
  std::uint64_t segments = 0;
};

class udp_transport final : public session_layer::transport, public session_layer::fifo_provider {
 public:
  udp_transport(session_layer::session_worker_state& sessions, session_layer::app_notifier& apps,
                dataplane::channel<dataplane::command>& commands,
                dataplane::channel<dataplane::event>& events, udp_worker_config cfg);
  ~udp_transport() override;

  // ---- transport --------------------------------------------------------
  transport_proto proto() const noexcept override { return transport_proto::udp; }
  session_layer::service_type service() const noexcept override {
    return session_layer::service_type::datagram;
  }
  bool uses_lookup() const noexcept override { return false; }  // the core has the 5-tuples
  result<std::uint32_t> start_listen(session_handle listener, const endpoint& local) override;
  result<void> stop_listen(std::uint32_t listener_index) override;
  /// UDP has no handshake: the connected session exists at once (its
  /// notification is queued to the app before this returns).
  result<std::uint32_t> connect(const session_layer::connect_args& args) override;
  void close(std::uint32_t connection, std::uint32_t worker) override;
  void cleanup(std::uint32_t connection, std::uint32_t worker) override;
  void custom_tx(session_layer::session& s) override;
  std::string format(std::uint32_t connection, std::uint32_t worker) const override;

  // ---- fifo_provider ------------------------------------------------------
  result<void> alloc_fifos(session_layer::session& s) override;
  void free_fifos(session_layer::session& s) override;

  /// Drains the core's events (the worker's doorbell); true if it should
  /// be called again (it stopped at its budget, or events raced the arm).
  bool drain_events(std::size_t budget = 1024);
  /// Retries commands the ring could not take; true if some still wait.
  bool flush_commands();
  bool has_deferred() const noexcept { return !deferred_.empty(); }

  /// The app worker is gone: its segment goes once its last fifo does.
  void app_worker_gone(std::uint32_t app_worker);
  const udp_worker_counters& counters() const noexcept { return counters_; }
  std::size_t connections() const noexcept { return live_; }

 private:
  enum class conn_state : std::uint8_t { free, installed, removing };
  struct conn {
    conn_state state = conn_state::free;
    bool listener = false;
    session_handle session;
    endpoint local;
    endpoint remote;
    shm::fifo rx, tx;      ///< held until the core let go
    std::uint32_t app_worker = 0;
    bool free_fifos_on_remove = false;  ///< the session is gone; free these when removed
  };
  struct app_segment {
    shm::fifo_segment seg;
    std::uint64_t id = 0;
    bool app_gone = false;
  };

  std::uint32_t alloc_conn();
  void install(std::uint32_t id);
  void remove(std::uint32_t id);
  void send(const dataplane::command& c);
  void release_fifos(std::uint32_t app_worker, shm::fifo& rx, shm::fifo& tx);
  void maybe_drop_segment(std::uint32_t app_worker);
  void on_removed(std::uint32_t id);
  std::uint16_t ephemeral_port();

  session_layer::session_worker_state& sessions_;
  session_layer::app_notifier& apps_;
  dataplane::channel<dataplane::command>& commands_;
  dataplane::channel<dataplane::event>& events_;
  udp_worker_config cfg_;
  std::vector<conn> conns_;
  std::vector<std::uint32_t> free_ids_;
  std::size_t live_ = 0;
  std::deque<dataplane::command> deferred_;
  std::unordered_map<std::uint32_t, app_segment> segments_;
  std::uint16_t next_port_ = 0;
  udp_worker_counters counters_;
};

}  // namespace actorstack::udp
