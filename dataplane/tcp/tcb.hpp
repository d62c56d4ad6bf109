#pragma once
/// \file
/// The transmission control block: everything one connection remembers
/// (RFC 9293 §3.3.1 plus options, timers, loss recovery). Private to the
/// engine; one lives in its core's table per connection.

#include "dataplane/tcp/congestion.hpp"
#include "dataplane/tcp/engine.hpp"
#include "dataplane/tcp/rtt.hpp"
#include "dataplane/tcp/sack_scoreboards.hpp"
#include "dataplane/tcp/seq.hpp"
#include "shm/private_end.hpp"

#include <array>

namespace actorstack::tcp {

/// The smallest window shift that lets a window of `window` bytes be
/// advertised (RFC 7323 §2.3: at most 14).
inline std::uint8_t window_shift_for(std::uint32_t window) noexcept {
  std::uint8_t shift = 0;
  while (shift < max_window_shift && (std::uint64_t{0xffff} << shift) < window) ++shift;
  return shift;
}

struct engine::tcb {
  // Grouped by width, widest first, so that padding does not grow the
  // table (one per connection; it was 448 bytes with the flags among the
  // words), and the flags are bits: the groups below say what each field
  // belongs to.

  // ---- 8-byte fields ----
  /// Loss recovery's words, from ESTABLISHED on (`named`).
  struct recovery_words {
    seq_t recover;        ///< RFC 6582: snd_max when recovery began (ISS at first)
    /// The peer's SACK scoreboard (engine::sacks_), held only while the
    /// peer reports bytes above snd_una: `sacked_count` blocks, merged, sorted.
    std::uint32_t sack_board;
  };
  /// One word by phase: until established, whose connection it is — a
  /// passive half-open's listener key (the listener that counts it, whose
  /// cookie establish() looks up) or an active open's connect cookie;
  /// from then on (`named`: the app side names it by its conn_id) loss
  /// recovery's words, switched in establish().
  union {
    std::uint64_t owner = 0;
    recovery_words rec;
  };
  // fifos
  shm::fifo rx;
  shm::fifo tx;
  /// Where the engine left its own cursors (rx tail, tx head) and saw the
  /// app's: the app shares the fifos' memory and may write anything there.
  shm::private_end rx_end{shm::private_end::side::producer};
  shm::private_end tx_end{shm::private_end::side::consumer};

  // ---- 4-byte fields ----
  rtt_estimator rtt;  ///< 16 bytes: the limits are the engine's
  std::uint32_t index = 0;  ///< where it sits in the engine's table (names its timers)
  std::uint32_t generation = 0;
  four_tuple tuple;
  // Words that serve two phases, never both at once (each pair switches
  // in establish(), input.cpp): the handshake's, until ESTABLISHED, and
  // what only an established connection needs.
  union {
    seq_t iss = 0;     ///< handshake: our initial sequence number
    seq_t retx_next;   ///< established: next hole to retransmit in SACK recovery
  };
  union {
    seq_t irs = 0;       ///< handshake: the peer's initial sequence number
    seq_t peer_fin_seq;  ///< established: where the peer's FIN is, when it came beyond a gap
  };
  /// One word for two phases, never both at once: before the fifos exist
  /// (SYN, SYN-ACK) the window to offer; from ESTABLISHED on (the only
  /// time out-of-order bytes can be held) where the most recent
  /// out-of-order segment started, the SACK option's first block.
  union {
    std::uint32_t rx_window = 0;
    seq_t newest_ooo;
  };
  std::uint32_t rtt_start_us = 0;  ///< when the timed segment left, modulo 2^32 (an RTT is far shorter)
  // send sequence space
  seq_t snd_una = 0;
  seq_t snd_nxt = 0;
  seq_t snd_max = 0;    ///< highest sequence number sent (+1); snd_nxt < snd_max after a timeout
  seq_t tx_base = 0;    ///< sequence number of the tx fifo's head byte
  std::uint32_t snd_wnd = 0;
  std::uint32_t max_snd_wnd = 0;
  seq_t snd_wl1 = 0;
  seq_t snd_wl2 = 0;
  // receive sequence space
  seq_t rcv_nxt = 0;
  seq_t rcv_adv = 0;   ///< right edge of the window last advertised; never moves left
  // options
  std::uint32_t ts_recent = 0;
  seq_t last_ack_sent = 0;
  // RTT timing (Karn)
  seq_t rtt_seq = 0;
  // acknowledgement
  std::uint32_t total_retrans = 0;     ///< segments sent again (TCP_INFO's tcpi_total_retrans)
  congestion_control cc;               ///< from the handshake's end on (20 bytes, 4-aligned)

  // ---- 2- and 1-byte fields ----
  std::uint16_t peer_mss = 536;  ///< RFC 9293 default when the peer sends none (SPEC-TCP 5.1)
  /// When the delayed ACK owed is due, in timer ticks modulo 2^16 (it is
  /// at most tcp.delayed-ack-ms, 500 ticks, away).
  std::uint16_t delayed_ack_due = 0;
  std::uint8_t dupacks = 0;      ///< in a row; saturates (only "3 or more" matters, and up to 3 for limited transmit)
  std::uint8_t retries = 0;      ///< timeouts in a row: tcp.syn-retries / data-retries are at most 64
  std::uint8_t unacked_segments = 0;  ///< full segments received since our last ACK (an ACK goes at 2)
  tcp::state state = state::closed;
  std::uint8_t snd_shift = 0;
  std::uint8_t rcv_shift = 0;
  std::uint8_t sacked_count = 0;
  std::uint8_t persist_backoff = 0;  ///< doublings of the persist interval, at most 16
  std::uint8_t dup_acks_owed = 0;  ///< one per out-of-order segment this burst (the sender counts them)
  bool in_use : 1 = false;
  bool passive : 1 = false;
  bool offered_shift : 1 = false;  ///< we sent (or will send) a window scale option
  bool ts_on : 1 = false;
  bool sack_on : 1 = false;
  bool nodelay : 1 = false;
  bool has_fifos : 1 = false;
  bool app_closed : 1 = false;   ///< the app closed: FIN after the queued bytes
  /// The app shut its sending side (shutdown(SHUT_WR)): FIN after the
  /// queued bytes, and what arrives still goes to the app.
  bool tx_shut : 1 = false;
  bool fin_sent : 1 = false;
  bool peer_fin : 1 = false;     ///< the peer's FIN was received in order
  bool peer_fin_pending : 1 = false;  ///< a FIN arrived beyond a gap
  bool rtt_timing : 1 = false;   ///< Karn: one segment timed at a time, never a retransmitted one
  bool persisting : 1 = false;   ///< the retransmit timer runs as the persist timer (zero window)
  bool in_recovery : 1 = false;
  bool ack_now : 1 = false;       ///< owe an ACK at the end of this burst
  bool ack_delayed : 1 = false;   ///< owe one by the delayed-ACK timer
  bool pending : 1 = false;       ///< on the engine's flush list
  bool named : 1 = false;         ///< established: `rec`, not `owner`
  bool delayed_ack_queued : 1 = false;  ///< has an entry in engine::delayed_acks_

  /// No byte will be queued after the ones in the tx fifo: a FIN follows them.
  bool sending_done() const noexcept { return app_closed || tx_shut; }
  std::uint32_t flight() const noexcept { return seq_diff(snd_nxt, snd_una); }
  /// Our FIN's sequence number, once sent (fin_sent): nothing is ever
  /// sent past a FIN, so it is the last sequence number sent.
  seq_t fin_seq() const noexcept { return snd_max - 1; }
};

}  // namespace actorstack::tcp
