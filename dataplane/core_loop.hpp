#pragma once
/// \file
/// One data-plane core: the loop that owns a port queue pair, an ARP cache
/// and a UDP table, and moves datagrams between the wire and session
/// fifos. Per packet there is no lock, no allocation beyond the mbuf pool,
/// and no message: only the fifos and, per burst, the event rings
/// (docs/architecture.md §4).
///
/// Loop: rx burst → classify → ARP (answer, learn) / ICMP echo (answer in
/// place) / UDP (into the matching session's rx fifo; on a miss the queued
/// commands are applied and the lookup repeated, then a counted drop) →
/// commands from the workers (install, remove, "the app wrote") → drain
/// tx fifos into mbufs (resolving next hops first) → tx burst → ring the
/// doorbells of workers that got events.
///
/// Back-pressure instead of loss on tx: mbufs the port did not take stay
/// queued for the next pass and no further fifo is drained until they go,
/// so a slow peer fills the app's tx fifo and the app sees fifo_full.

#include "dataplane/direct_tx.hpp"
#include "dataplane/idle_backoff.hpp"
#include "dataplane/boundary.hpp"
#include "dataplane/core_counters.hpp"
#include "dataplane/core_handoff.hpp"
#include "dataplane/core_tcp.hpp"
#include "dataplane/published_counters.hpp"
#include "dataplane/impairment_stage.hpp"
#include "dataplane/neighbors.hpp"
#include "dataplane/udp_table.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

struct rte_mbuf;
struct rte_mempool;

namespace actorstack::dataplane {

/// Busy: spin forever (lowest latency, one CPU at 100%). Adaptive: after a
/// run of empty polls, sleep a little, longer while it stays idle (capped),
/// back to spinning at the first packet or command. The default.
enum class poll_mode : std::uint8_t { busy, adaptive };

/// The IPv4 address of the port, its on-link prefix and optional gateway.
struct interface_address {
  std::uint32_t ip = 0;  ///< host order
  unsigned prefix_len = 24;
  std::uint32_t gateway = 0;  ///< 0 = only on-link destinations are reachable
  bool on_link(std::uint32_t other) const noexcept {
    if (prefix_len == 0) return true;
    const std::uint32_t mask = prefix_len >= 32 ? ~0u : ~((1u << (32 - prefix_len)) - 1);
    return (other & mask) == (ip & mask);
  }
};

/// One worker's channels to this core.
struct worker_link {
  channel<command>* commands = nullptr;  ///< worker -> core
  channel<event>* events = nullptr;      ///< core -> worker
  doorbell* bell = nullptr;              ///< wakes the worker
};

struct core_setup {
  std::uint32_t index = 0;
  std::uint16_t port_id = 0;
  std::uint16_t queue = 0;
  rte_mempool* pool = nullptr;
  mac_address mac{};
  interface_address address;
  poll_mode mode = poll_mode::adaptive;
  std::vector<worker_link> workers;
  /// Rings to and from the other cores, by core index (null at this
  /// core's own index; empty with one core).
  std::vector<channel<handoff>*> to_cores;
  std::vector<channel<handoff>*> from_cores;
  tcp::config tcp;  ///< this core's TCP engine (SPEC-TCP 9.3)
  /// Faults on demand, applied to every frame received and sent (each
  /// direction its own seeded sequence, salted by the core's index).
  impairment_config impair;
  /// "Data written" straight from app workers (direct_tx.hpp); null: none.
  tx_inbox* direct_tx = nullptr;
};

class core_loop {
 public:
  static constexpr std::uint16_t burst = 32;
  /// What a pass takes from the rx queue while the queue keeps up (see
  /// receive()).
  static constexpr std::uint16_t short_burst = 8;

  explicit core_loop(core_setup setup);
  ~core_loop();
  core_loop(const core_loop&) = delete;
  core_loop& operator=(const core_loop&) = delete;

  /// Runs until `stop` becomes true. The lcore's function.
  void run(const std::atomic<bool>& stop);
  /// One pass; true if it did any work. (run() is pass() in a loop plus
  /// the idle policy, idle_backoff.hpp.)
  bool poll_once();
  /// poll_once(), counted as a busy or an idle pass: what a thread that
  /// hosts this core calls (dataplane::launch with a core_host).
  bool pass();
  /// The core's poll mode is busy: whoever runs it never yields or sleeps.
  bool busy_polling() const noexcept { return setup_.mode == poll_mode::busy; }

  const core_counters& counters() const noexcept { return counters_; }
  /// Installed connections, readable from any thread.
  std::uint64_t connections() const noexcept { return connections_.load(std::memory_order_relaxed); }
  std::uint32_t index() const noexcept { return setup_.index; }
  /// This core's TCP engine. Its counters and connections are this core's
  /// thread's to read (tests read them once the core stopped).
  const core_tcp& tcp() const noexcept { return *tcp_; }
  /// What the impairment stage did to received (rx) or sent frames; zeros
  /// without one. The core's thread's to read, as tcp().
  impairment_counters impaired(bool rx) const noexcept;
  /// The TCP engine's counters and the impairment stage's (`rx_dropped`,
  /// `tx_corrupted`...), as last published (at most a millisecond old):
  /// any thread may read them.
  std::vector<std::pair<std::string, std::uint64_t>> tcp_counters() const { return tcp_published_.read(); }
  std::vector<std::pair<std::string, std::uint64_t>> impairment_counters_published() const {
    return impair_published_.read();
  }

 private:
  friend class core_tcp;
  struct tx_ref {
    std::uint32_t worker;
    std::uint32_t id;
  };

  bool receive();
  bool receive_handoffs();
  /// Tells each app whose rx fifo got datagrams in this pass's bursts,
  /// once (rx_signal_).
  void signal_rx();
  /// `from_wire`: the port gave it (counted as rx, may hint a move) rather
  /// than another core.
  void handle_frame(rte_mbuf* m, bool from_wire);
  /// False if the frame went on to its owner core (which frees it).
  bool deliver_udp(const parsed_frame& p, rte_mbuf* m, bool from_wire);
  void learn(std::uint32_t ip, const mac_address& mac);
  void take(const udp_binding& b);
  void move(const command& c);
  /// Queues `h` for core `to`; control items wait in order when the ring
  /// is full, frames are dropped (counted) then.
  bool hand_off(std::uint32_t to, const handoff& h);
  void flush_handoffs();
  bool apply_direct_tx();
  bool apply_commands();
  bool drain_tx_fifos();
  /// Sends what `e`'s tx fifo holds; false if it stopped waiting for ARP.
  bool drain(udp_table::entry& e);
  /// Before a binding goes: what its app sent is sent (as a closed kernel
  /// socket's queued datagrams still leave), as far as the port takes it
  /// now and the next hop is known.
  void send_what_is_left(udp_table::entry& e);
  void broken(udp_binding& b);
  void retry_arp_waiters();
  void queue_tx(udp_table::entry& e);
  void send_arp_request(std::uint32_t ip);
  /// Queues a frame to send (through the tx impairment stage, if any).
  void push_tx(rte_mbuf* m);
  /// Whether one more frame fits the tx batch (flushing it to the port
  /// first if it is full): TCP sends nothing it would have to drop.
  bool tx_room();
  void push_tx_now(rte_mbuf* m);
  void release_impaired();
  bool flush_tx();
  void post(std::uint32_t worker, const event& ev);
  void ring_doorbells();
  /// The TSC at the start of this pass.
  std::uint64_t now() const noexcept;
  /// The core that owns the connection of a received TCP segment (SPEC-TCP 1.2).
  std::uint32_t tcp_owner(std::span<const std::byte> segment) const noexcept;
  /// Copies the plain counters (TCP, impairment) where other threads read them.
  void publish();

  core_setup setup_;
  local_addresses us_;
  core_counters counters_;
  neighbors neighbors_;
  udp_table table_;
  std::deque<tx_ref> tx_list_;    ///< fifos with data to send
  std::vector<tx_ref> arp_wait_;  ///< fifos blocked on an unresolved next hop
  /// Bindings whose rx fifo got datagrams since the last signal_rx: the
  /// fifo's event flag is an atomic exchange on a line the app also
  /// writes, a sixth of a UDP echo's profile when set per datagram.
  std::vector<tx_ref> rx_signal_;
  std::array<rte_mbuf*, 2 * burst> tx_batch_{};
  std::uint16_t tx_count_ = 0;
  std::uint16_t rx_take_ = short_burst;  // the next rx burst's size
  // Empty passes in a row, and whether the direct tx inbox was told this
  // core may doze (direct_tx.hpp). Raised well before any idle policy
  // sleeps: idle_backoff spins 256 empty passes first.
  static constexpr unsigned doze_after = 128;
  unsigned empty_passes_ = 0;
  bool dozing_ = true;
  std::vector<bool> posted_;      ///< per worker: events pushed since the last doorbell pass
  std::vector<std::deque<event>> overflow_;  ///< per worker: events its full ring could not take
  std::vector<std::deque<handoff>> handoff_overflow_;  ///< per core: control items its full ring could not take
  std::uint16_t ip_id_ = 0;
  std::uint64_t arp_retry_ticks_ = 0;
  std::atomic<std::uint64_t> connections_{0};
  std::unique_ptr<core_tcp> tcp_;
  std::unique_ptr<impairment_stage> rx_impair_;
  std::unique_ptr<impairment_stage> tx_impair_;
  std::vector<rte_mbuf*> impaired_;     // scratch: what the rx stage let through
  std::vector<rte_mbuf*> impaired_tx_;  // scratch: what the tx stage let through
  published_counters tcp_published_;
  published_counters impair_published_;
  std::uint64_t publish_ticks_ = 0;
  std::uint64_t last_publish_ = 0;
  std::uint64_t pass_tsc_ = 0;  // now(): read once per pass
  std::uint64_t tx_refused_since_ = 0;   // when the port began taking nothing (0: it takes)
  std::uint64_t refused_drop_ticks_ = 0;  // how long before the head frame is dropped
};

}  // namespace actorstack::dataplane
