#pragma once
/// \file
/// The TCP engine inside one data-plane core (SPEC-TCP 1.1): it owns the
/// core's tcp::engine and is that engine's wire (segments become mbufs with
/// Ethernet and IPv4 headers, held briefly while ARP resolves the next
/// hop) and its app side (what happens to a connection becomes an event
/// for the worker that asked for it). Worker commands arrive here from the
/// core's command pass; received segments from its rx pass.

#include "dataplane/boundary.hpp"
#include "dataplane/direct_tx.hpp"
#include "dataplane/tcp/engine.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

struct rte_mbuf;

namespace actorstack::dataplane {

class core_loop;

class core_tcp final : public tcp::wire, public tcp::app_side {
 public:
  core_tcp(core_loop& core, const tcp::config& cfg);
  ~core_tcp() override;

  /// A worker's tcp_* command.
  void apply(std::uint32_t worker, const command& c);
  /// "Data written" from an app in this process, or its rx route
  /// (direct_tx.hpp).
  void apply_direct(const tx_notice& n);
  /// After the pass: wakes the app workers whose rx inbox this pass filled
  /// (direct_rx.hpp).
  void wake_rx_inboxes();
  /// A received segment (the IPv4 payload) from `src_ip` to `dst_ip`.
  void input(std::span<const std::byte> segment, std::uint32_t src_ip, std::uint32_t dst_ip);
  /// Once per pass: timers, the burst's coalesced ACKs and data, and the
  /// segments that waited for ARP. True if it sent anything.
  bool poll();

  const tcp::counters& counters() const noexcept { return engine_.stats(); }
  std::size_t connections() const noexcept { return engine_.connection_count(); }
  const tcp::engine& engine() const noexcept { return engine_; }

  // ---- tcp::wire ----------------------------------------------------------
  std::span<std::byte> begin_segment(std::size_t tcp_bytes) override;
  void end_segment(std::uint32_t src_ip, std::uint32_t dst_ip, std::size_t tcp_bytes) override;

  // ---- tcp::app_side --------------------------------------------------------
  std::optional<tcp::session_fifos> established(const tcp::established_info& info) override;
  void connect_failed(std::uint64_t cookie, errc why) override;
  void readable(tcp::conn_id id) override;
  void writable(tcp::conn_id id, std::uint32_t bytes) override;
  void peer_closed(tcp::conn_id id) override;
  void reset(tcp::conn_id id, errc why) override;
  void released(tcp::conn_id id) override;
  void state_changed(tcp::conn_id id, tcp::state now) override;

 private:
  void app_sent(tcp::conn_id id, bool nodelay, std::uint64_t now);
  /// Who asked for a listener or a connect, and where its fifos come from.
  struct origin {
    std::uint32_t worker = 0;
    shm::fifo_segment* seg = nullptr;
    std::uint32_t rx_size = 0;
    std::uint32_t tx_size = 0;
  };
  /// What the core remembers of an established connection, by engine index
  /// (its fifos are the engine's: fifo_of).
  struct conn {
    // 16 bytes, one per connection: the inbox is a number, not a pointer.
    /// The session's name in the app worker that hears "bytes arrived"
    /// straight from here (while `inbox` is set).
    std::uint64_t rx_handle = 0;
    std::uint32_t generation = 0;  ///< the engine's; 0: no connection (the engine's start at 1)
    std::uint16_t worker = 0;      ///< < session_handle::max_workers
    std::uint16_t inbox = 0;       ///< 1 + its index in inboxes_; 0: rx goes to the session worker
  };
  /// An app worker's rx inbox, as the connections routed to it name it:
  /// the table holds one reference for all of them.
  struct inbox_slot {
    rx_inbox* in = nullptr;
    std::uint32_t users = 0;
  };
  struct held_frame {
    rte_mbuf* m;
    std::uint32_t next_hop;
    std::uint64_t since_us;
  };

  /// tcp_connect_failed for the listen or connect `cookie` of `worker`.
  void post_failed(std::uint32_t worker, std::uint64_t cookie, errc why);
  conn* conn_of(std::uint64_t session);
  /// The core lets go of `c` (and of its rx route).
  void forget(conn& c) noexcept;
  /// `in`'s number in inboxes_ for one more connection, taking over the
  /// notice's reference to it; 0 when the table is full (the reference is
  /// given back).
  std::uint16_t take_inbox(rx_inbox* in) noexcept;
  void drop_inbox(std::uint16_t number) noexcept;
  /// rx, through the app worker's inbox when routed there; false: the
  /// session worker must be told.
  bool told_app(conn& c, const shm::fifo& rx);
  /// A live connection's rx or tx fifo; null once the core let go of it.
  shm::fifo* fifo_of(std::uint64_t session, bool rx);
  void post_conn(std::uint64_t session, event ev);
  void watch_window(std::uint64_t session);
  std::uint64_t now_us() const noexcept;
  bool send_held();

  core_loop& core_;
  tcp::engine engine_;
  /// The listens on one address (tcp_request::group): the engine knows
  /// one listener, whose cookie is the address's key; each connection it
  /// makes goes to the next of these listens, carved from its segment.
  struct listen_group {
    std::uint64_t group = 0;
    std::vector<std::uint64_t> cookies;
    std::uint32_t next = 0;
  };
  std::unordered_map<std::uint64_t, origin> listeners_;      // by cookie
  std::unordered_map<std::uint64_t, listen_group> groups_;   // by (ip << 16 | port)
  std::unordered_map<std::uint64_t, origin> connects_;   // by cookie
  paged_vector<conn> conns_;  // by engine index
  rte_mbuf* building_ = nullptr;  // between begin_segment and end_segment
  std::deque<held_frame> held_;   // waiting for a next hop's MAC
  std::vector<std::uint64_t> window_checks_;  // sessions whose app must tell us of reads
  std::vector<std::uint64_t> checking_;
  std::vector<rx_inbox*> to_wake_;  // one reference each, until woken
  std::vector<inbox_slot> inboxes_;  // few: one per app worker with routed connections here
  std::uint64_t tsc_per_us_ = 1;
};

}  // namespace actorstack::dataplane
