#pragma once
/// \file
/// The TCP engine of one data-plane core: its connections, listeners,
/// timer wheel and counters (SPEC-TCP 1.1). It is CAF-free and DPDK-free:
/// the core feeds it received segments and the time, it writes segments
/// through a `wire` and tells the session side what happened through an
/// `app_side`. Tests drive it the same way with a scripted clock.
///
/// Bytes live in the session's fifos (SPEC-TCP 1.3): received payload is
/// enqueued into the rx fifo (out-of-order payload at its offset), sent
/// payload is peeked from the tx fifo and leaves it only when acknowledged.
///
/// Nothing here is thread-safe: one core owns an engine.

#include "base/hashed_index.hpp"
#include "base/paged_vector.hpp"
#include "dataplane/tcp/config.hpp"
#include "dataplane/tcp/counters.hpp"
#include "dataplane/tcp/isn.hpp"
#include "dataplane/tcp/sack_scoreboards.hpp"
#include "dataplane/tcp/segment.hpp"
#include "dataplane/tcp/seq.hpp"
#include "dataplane/tcp/timer_wheel.hpp"
#include "shm/fifo.hpp"

#include <actorstack/result.hpp>
#include <actorstack/tcp_info.hpp>

#include "dataplane/tcp/state.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace actorstack::tcp {

/// Names one connection of one engine; stale once the connection is gone
/// (the slot's generation moved on), and then every call ignores it.
struct conn_id {
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
  friend bool operator==(const conn_id&, const conn_id&) = default;
};

/// Where segments go. The engine asks for room for one segment, writes
/// the TCP header and payload into it, and commits it.
class wire {
 public:
  virtual ~wire() = default;
  /// Room for `tcp_bytes` (header + payload), or an empty span when none
  /// is available now (the segment is not sent; counted as tx_no_room).
  virtual std::span<std::byte> begin_segment(std::size_t tcp_bytes) = 0;
  /// The segment written into the last begin_segment() room is complete.
  virtual void end_segment(std::uint32_t src_ip, std::uint32_t dst_ip, std::size_t tcp_bytes) = 0;
};

/// What a connection needs from the session layer once established.
struct session_fifos {
  shm::fifo rx;
  shm::fifo tx;
};

struct established_info {
  conn_id id;
  four_tuple tuple;
  bool passive = false;
  std::uint64_t cookie = 0;  ///< the listener's (passive) or the connect's (active)
};

/// The session layer's side. Every call is made on the owning core. From
/// established() on, a connection is named by its conn_id (the session
/// layer keeps what it needs by it; the TCB keeps no name of its own).
class app_side {
 public:
  virtual ~app_side() = default;
  /// The connection reached ESTABLISHED (SPEC-TCP 2.1, 2.2). Return its
  /// fifos, or nothing to refuse it (the peer gets a RST).
  virtual std::optional<session_fifos> established(const established_info& info) = 0;
  /// An active open failed: `refused` (RST) or `timeout` (no answer).
  virtual void connect_failed(std::uint64_t cookie, errc why) = 0;
  /// New in-order bytes sit in the rx fifo.
  virtual void readable(conn_id c) = 0;
  /// `bytes` acknowledged bytes left the tx fifo.
  virtual void writable(conn_id c, std::uint32_t bytes) = 0;
  /// The peer's FIN: no more bytes will arrive (SPEC-TCP 2.3).
  virtual void peer_closed(conn_id c) = 0;
  /// The connection is gone (`reset`: peer RST; `timeout`: retries ran
  /// out). The engine no longer touches the fifos (SPEC-TCP 2.4, 2.7).
  virtual void reset(conn_id c, errc why) = 0;
  /// After app_close(): the engine is done with the fifos (all sent data
  /// acknowledged, or the connection ended); the session may go.
  virtual void released(conn_id c) = 0;
  /// The connection moved to `now` while its session holds it (after
  /// established(), before released() or reset()): what `show sessions`
  /// shows. Nothing to do by default.
  virtual void state_changed(conn_id c, tcp::state now) {
    (void)c;
    (void)now;
  }
};

/// A snapshot of one connection, for `show sessions` and tests.
struct conn_info {
  conn_id id;
  four_tuple tuple;
  tcp::state state = state::closed;
  std::uint32_t snd_una = 0, snd_nxt = 0, snd_wnd = 0, rcv_nxt = 0, rcv_wnd = 0;
  std::uint32_t cwnd = 0, ssthresh = 0, rto_us = 0, srtt_us = 0, rttvar_us = 0, mss = 0, peer_mss = 0;
  std::uint32_t retries = 0, backoffs = 0, total_retrans = 0;
  std::uint8_t snd_shift = 0, rcv_shift = 0;
  bool timestamps = false, sack = false, has_fifos = false;
};

/// The snapshot as Linux's TCP_INFO says it (state numbers, field names).
tcp_conn_info to_tcp_info(const conn_info& i) noexcept;

class engine {
 public:
  engine(const config& cfg, app_side& app, wire& out, isn_generator isn, std::uint64_t now_us);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // ---- control (from the session side, on the owning core) -----------------
  /// Accepts connections to `ip`:`port` (ip 0: any of ours). `rx_window`
  /// is what a SYN-ACK advertises (the rx fifo size the session will get).
  /// Errors: already_listening.
  result<void> listen(std::uint32_t ip, std::uint16_t port, std::uint64_t cookie, std::uint32_t rx_window);
  /// Stops accepting; half-open connections of this listener are dropped.
  void unlisten(std::uint32_t ip, std::uint16_t port);
  /// Something listens on `ip`:`port` (or on any address at `port`).
  bool listening(std::uint32_t ip, std::uint16_t port) const noexcept;
  /// Sends a SYN. A local port 0 asks the engine for one: the first free
  /// 4-tuple among the ephemeral ports it owns, from an offset keyed by a
  /// secret and the destination plus a counter (RFC 6056, algorithm 3), so
  /// every port of the range serves each destination, as Linux's connect().
  /// Errors: invalid_argument (remote port 0), already_listening (the
  /// app's own port: that 4-tuple is in use), no_port (every owned port
  /// toward this destination is in use).
  result<conn_id> connect(const four_tuple& t, std::uint64_t cookie, std::uint32_t rx_window, std::uint64_t now_us);
  /// The ephemeral ports this engine may pick: those of the configured
  /// range with port % cores == core, since the cores hand a segment to
  /// an ephemeral port over to the core that port names (SPEC-TCP 1.2).
  /// One core owns them all until told otherwise.
  void own_ephemeral_ports(std::uint32_t cores, std::uint32_t core) noexcept;

  /// The app queued bytes in the tx fifo.
  void app_sent(conn_id c, std::uint64_t now_us);
  /// The app read from the rx fifo (the window may open).
  void app_read(conn_id c, std::uint64_t now_us);
  /// Orderly close: FIN after every queued byte; with unread rx data, RST
  /// instead (SPEC-TCP 2.5). released() follows once the fifos are free.
  void app_close(conn_id c, std::uint64_t now_us);
  /// Half-close (shutdown(SHUT_WR)): FIN after every queued byte; what
  /// the peer sends still reaches the rx fifo until its own FIN. A later
  /// app_close() ends it as usual.
  void app_shutdown(conn_id c, std::uint64_t now_us);
  /// RST now. The engine never touches the fifos again; no event follows.
  void app_abort(conn_id c, std::uint64_t now_us);
  /// Nagle off (true) or on for one connection (SPEC-TCP 6.2).
  void set_nodelay(conn_id c, bool on);
  /// The connection's rx or tx fifo (its flags and notification requests
  /// are the core's to set), once it has them; null otherwise.
  shm::fifo* fifo_of(conn_id c, bool rx);

  // ---- the data path ---------------------------------------------------------
  /// One received TCP segment (IPv4 payload, already cut to the IPv4 total
  /// length), from `src_ip` to `dst_ip`.
  void input(std::span<const std::byte> tcp_bytes, std::uint32_t src_ip, std::uint32_t dst_ip,
             std::uint64_t now_us);
  /// End of a burst: data the windows allow and one coalesced ACK per
  /// connection that owes one (SPEC-TCP 6.3).
  void flush(std::uint64_t now_us);
  /// Fires due timers (then flushes).
  void advance(std::uint64_t now_us);

  // ---- inspection --------------------------------------------------------------
  const counters& stats() const noexcept { return stats_; }
  std::size_t connection_count() const noexcept { return live_; }
  /// Connections holding a SACK scoreboard now (the peer reports holes).
  std::size_t sack_boards_held() const noexcept { return sacks_.held(); }
  std::optional<conn_info> info(conn_id c) const;
  void for_each(const std::function<void(const conn_info&)>& f) const;
  /// Live connections in each state, kept at every transition (the
  /// published gauges read it every millisecond: no walk over thousands
  /// of TIME-WAIT connections).
  const std::array<std::size_t, state_count>& connections_per_state() const noexcept { return per_state_; }
  std::size_t timers_armed() const noexcept { return wheel_.armed_count(); }

 private:
  struct tcb;
  struct listener {
    std::uint64_t key = 0;  ///< its key in listeners_: (ip << 16) | port, ip 0 for any
    std::uint64_t cookie = 0;
    std::uint32_t rx_window = 0;
    std::uint32_t half_open = 0;
  };
  /// A connection's timers. One wheel node per connection, named by its
  /// index: `wait` (FIN-WAIT-2, TIME-WAIT) shares the retransmission
  /// timer's, armed only once every byte and the FIN are acknowledged (or
  /// in TIME-WAIT), when nothing is left to retransmit (the state tells
  /// on_timer which one fired). The delayed ACK has no node — 12 bytes
  /// less per idle connection: a connection that owes one keeps when it is
  /// due (tcb::delayed_ack_due) and has at most one entry in
  /// `delayed_acks_`, a heap of the connections that owe an ACK now. An
  /// entry that comes due finds the ACK sent since (nothing to do), still
  /// owed (sent now) or owed anew for later (filed again, once): a
  /// request/response turn, which owes and pays one per request, touches
  /// the heap once per delay, not once per turn.
  enum class timer : std::uint32_t { retransmit, delayed_ack, wait };
  struct delayed_ack {
    std::uint32_t index = 0;
    std::uint32_t generation = 0;  ///< a freed slot's entry is stale
    std::uint64_t due_tick = 0;
    /// Orders the heap: the earliest due on top.
    bool operator>(const delayed_ack& o) const noexcept { return due_tick > o.due_tick; }
  };
  void run_delayed_acks(std::uint64_t now_us);

  // engine.cpp: table, timers, control
  tcb* find(conn_id c);
  const tcb* find(conn_id c) const;
  /// The connection with this 4-tuple, or nullptr.
  tcb* find(const four_tuple& t);
  /// A free local port toward `t`'s remote end (connect's port 0), or 0.
  std::uint16_t choose_port(const four_tuple& t) noexcept;
  /// Where by_tuple_ files a 4-tuple: mixed under a per-engine secret, so
  /// that a peer cannot choose ports that pile into one bucket run.
  std::uint64_t tuple_hash(const four_tuple& t) const noexcept;
  tcb& alloc_conn(const four_tuple& t, tcp::state s);
  void free_conn(tcb& c);
  /// The peer's SACK blocks above snd_una (none without a board).
  std::span<const sack_block> sacked(const tcb& c) const noexcept;
  /// Keeps the first `n` blocks of `blocks` as the scoreboard (a board
  /// taken or given back as needed; n <= blocks_per_board).
  void set_sacked(tcb& c, const sack_block* blocks, std::size_t n);
  listener* find_listener(std::uint32_t ip, std::uint16_t port);
  void arm(tcb& c, timer t, std::uint64_t when_us);
  bool armed(const tcb& c, timer t) const;
  void cancel(tcb& c, timer t);
  void on_timer(std::uint32_t id, std::uint64_t now_us);
  void on_retransmit_timer(tcb& c, std::uint64_t now_us);
  void on_persist_timer(tcb& c, std::uint64_t now_us);
  void mark_pending(tcb& c);
  void abort(tcb& c, abort_reason why, errc app_error, bool send_rst, std::uint64_t now_us);
  void enter_time_wait(tcb& c, std::uint64_t now_us);
  /// c.state = s and the per-state counts; nobody told.
  void set_state(tcb& c, tcp::state s);
  /// set_state, told to the session while it holds the connection.
  void enter(tcb& c, tcp::state s);
  void release_fifos(tcb& c);
  bool fifos_sound(tcb& c);
  conn_info snapshot(const tcb& c) const;

  // input.cpp: segment arrival (RFC 9293 §3.10.7)
  void on_listen(listener& l, const segment& s, const four_tuple& t, std::optional<seq_t> iss,
                 std::uint64_t now_us);
  void on_syn_sent(tcb& c, const segment& s, std::uint64_t now_us);
  void on_synchronized(tcb& c, const segment& s, std::uint64_t now_us);
  bool acceptable(const tcb& c, const segment& s) const;
  bool on_rst(tcb& c, const segment& s, std::uint64_t now_us);
  bool on_ack(tcb& c, const segment& s, std::uint64_t now_us);
  void on_new_ack(tcb& c, const segment& s, std::uint32_t acked, std::uint64_t now_us);
  void on_dup_ack(tcb& c, std::uint64_t now_us);
  void absorb_sacks(tcb& c, const segment& s);
  void on_text(tcb& c, const segment& s, std::uint64_t now_us);
  void on_fin(tcb& c, std::uint64_t now_us);
  bool establish(tcb& c, std::uint64_t now_us);
  void take_peer_options(tcb& c, const segment& s);
  void update_window(tcb& c, const segment& s);
  void challenge_ack(tcb& c, std::uint64_t now_us);
  bool time_wait_reuse(const tcb& c, const segment& s) const;
  options segment_options(tcb& c, std::uint64_t now_us);
  std::uint32_t data_end(const tcb& c) const noexcept;

  // output.cpp: sending
  void output(tcb& c, std::uint64_t now_us);
  void send_syn(tcb& c, std::uint64_t now_us);
  void send_ack(tcb& c, std::uint64_t now_us);
  bool send_data(tcb& c, std::uint32_t seq, std::uint32_t len, bool fin, std::uint64_t now_us);
  void retransmit_first(tcb& c, std::uint64_t now_us);
  bool retransmit_hole(tcb& c, std::uint64_t now_us);
  void send_probe(tcb& c, std::uint64_t now_us);
  void send_reset_for(const segment& s, std::uint32_t local_ip, std::uint32_t remote_ip);
  void send_rst(tcb& c);
  std::uint16_t advertise(tcb& c);
  std::uint32_t receive_window(const tcb& c) const;
  bool emit(const four_tuple& t, const header_fields& h, const options& o,
            const shm::fifo* from, std::uint32_t offset, std::uint32_t len);
  std::uint32_t ts_now(std::uint64_t now_us) const noexcept;
  std::uint32_t effective_mss(const tcb& c) const noexcept;

  config cfg_;
  app_side& app_;
  wire& wire_;
  isn_generator isn_;
  timer_wheel wheel_;
  paged_vector<tcb> conns_;  // by index; a tcb never moves
  std::vector<std::uint32_t> free_;
  sack_scoreboards sacks_;
  std::size_t live_ = 0;
  std::array<std::size_t, state_count> per_state_{};
  std::uint64_t tuple_seed_;
  std::uint64_t port_seed_;          // keys choose_port's offset per destination
  std::uint32_t port_counter_ = 0;   // moves that offset on after every choice
  std::uint32_t port_stride_ = 1;    // own_ephemeral_ports: port % stride == residue
  std::uint32_t port_residue_ = 0;
  hashed_index by_tuple_;  // 4-tuple -> index in conns_
  std::unordered_map<std::uint64_t, listener> listeners_;  // (ip << 16) | port
  std::vector<std::uint32_t> pending_;
  /// Connections whose output stopped because the wire had no room: they
  /// go on at the next flush (the core drained its tx queue meanwhile).
  std::vector<std::uint32_t> blocked_;
  std::vector<timer_wheel::timer_id> expired_;
  std::priority_queue<delayed_ack, std::vector<delayed_ack>, std::greater<>> delayed_acks_;
  counters stats_;
  std::uint64_t challenge_window_start_us_ = 0;
  std::uint32_t challenge_acks_in_window_ = 0;
  std::uint64_t now_us_ = 0;
};

}  // namespace actorstack::tcp
