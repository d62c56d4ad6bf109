// Segment arrival (RFC 9293 §3.10.7, with RFC 5961's answers to blind
// attacks and RFC 7323's PAWS): what a received segment does to the
// connection it belongs to, or to a listener, or to nobody.

#include "dataplane/tcp/engine.hpp"
#include "dataplane/tcp/tcb.hpp"

#include <algorithm>

namespace actorstack::tcp {

void engine::input(std::span<const std::byte> bytes, std::uint32_t src_ip, std::uint32_t dst_ip,
                   std::uint64_t now_us) {
  now_us_ = now_us;
  ++stats_.segments_in;
  segment s;
  switch (parse(bytes, src_ip, dst_ip, s)) {
    case parse_status::ok: break;
    case parse_status::bad_checksum: ++stats_.bad_checksum; return;
    default: ++stats_.malformed; return;
  }
  // Flag combinations no stack sends: SYN with FIN or RST, no flag at all,
  // and ports 0. Linux drops them too; answering would help a scanner.
  if ((s.has(flags::syn) && (s.has(flags::fin) || s.has(flags::rst))) ||
      (s.flags & (flags::syn | flags::ack | flags::rst | flags::fin)) == 0 || s.src_port == 0 ||
      s.dst_port == 0) {
    ++stats_.malformed;
    return;
  }
  const four_tuple t{dst_ip, src_ip, s.dst_port, s.src_port};
  if (tcb* found = find(t)) {
    tcb& c = *found;
    if (c.state == state::syn_sent) on_syn_sent(c, s, now_us);
    else if (fifos_sound(c)) on_synchronized(c, s, now_us);
    return;
  }
  if (listener* l = find_listener(dst_ip, s.dst_port)) {
    on_listen(*l, s, t, std::nullopt, now_us);
    return;
  }
  send_reset_for(s, dst_ip, src_ip);  // SPEC-TCP 3.2: nobody here
}

// ---- LISTEN ----------------------------------------------------------------------

void engine::on_listen(listener& l, const segment& s, const four_tuple& t, std::optional<seq_t> iss,
                       std::uint64_t now_us) {
  if (s.has(flags::rst)) return;
  if (s.has(flags::ack)) {
    send_reset_for(s, t.local_ip, t.remote_ip);
    return;
  }
  if (!s.has(flags::syn)) return;
  if (l.half_open >= cfg_.backlog) {
    ++stats_.syn_drops_backlog;  // SPEC-TCP 2.1: the peer will retry
    return;
  }
  tcb& c = alloc_conn(t, state::syn_received);
  c.passive = true;
  c.owner = l.key;
  c.rx_window = l.rx_window;
  ++l.half_open;
  ++stats_.passive_opens;
  c.irs = s.seq;
  c.rcv_nxt = s.seq + 1;
  c.iss = iss ? *iss : isn_.next(t, now_us);
  c.snd_una = c.snd_nxt = c.snd_max = c.iss;
  c.tx_base = c.iss + 1;
  c.snd_wnd = s.window;  // never scaled in a SYN
  c.snd_wl1 = s.seq;
  take_peer_options(c, s);
  // Data on a SYN is not kept (no TCP Fast Open); the peer sends it again.
  send_syn(c, now_us);
}

void engine::take_peer_options(tcb& c, const segment& s) {
  c.peer_mss = s.opt.has_mss ? std::max<std::uint16_t>(s.opt.mss, 64) : 536;
  // Window scaling only when both sides sent the option (SPEC-TCP 5.2).
  if (cfg_.window_scaling && s.opt.has_window_shift && (c.passive || c.offered_shift)) {
    c.snd_shift = std::min(s.opt.window_shift, max_window_shift);
    c.rcv_shift = window_shift_for(c.rx_window);
    c.offered_shift = true;
  } else {
    c.snd_shift = 0;
    c.rcv_shift = 0;
    c.offered_shift = false;
  }
  c.ts_on = cfg_.timestamps && s.opt.has_timestamps;
  if (c.ts_on) c.ts_recent = s.opt.ts_val;
  c.sack_on = cfg_.sack && s.opt.sack_permitted;
}

// ---- SYN-SENT ------------------------------------------------------------------------

void engine::on_syn_sent(tcb& c, const segment& s, std::uint64_t now_us) {
  if (s.has(flags::ack) && (seq_leq(s.ack, c.iss) || seq_gt(s.ack, c.snd_max))) {
    if (!s.has(flags::rst)) send_reset_for(s, c.tuple.local_ip, c.tuple.remote_ip);
    return;
  }
  if (s.has(flags::rst)) {
    ++stats_.rst_in;
    // Only a RST that acknowledges our SYN refuses the connection (SPEC-TCP 2.2).
    if (s.has(flags::ack)) abort(c, abort_reason::peer_reset, errc::refused, false, now_us);
    return;
  }
  if (!s.has(flags::syn)) return;
  c.irs = s.seq;
  c.rcv_nxt = s.seq + 1;
  c.rcv_adv = c.rcv_nxt + std::min<std::uint32_t>(c.rx_window, 0xffff);  // what our SYN offered
  take_peer_options(c, s);
  if (!s.has(flags::ack)) {
    // Simultaneous open: answer with SYN-ACK from SYN-RECEIVED.
    set_state(c, state::syn_received);
    c.snd_wnd = s.window;
    c.snd_wl1 = s.seq;
    send_syn(c, now_us);
    return;
  }
  if (c.rtt_timing && c.retries == 0) c.rtt.sample(static_cast<std::uint32_t>(now_us) - c.rtt_start_us, cfg_.rto);
  c.rtt_timing = false;
  c.snd_una = s.ack;
  c.snd_wnd = s.window;  // a SYN's window is never scaled
  c.max_snd_wnd = c.snd_wnd;
  c.snd_wl1 = s.seq;
  c.snd_wl2 = s.ack;
  c.retries = 0;
  cancel(c, timer::retransmit);
  if (!establish(c, now_us)) return;
  c.ack_now = true;
  mark_pending(c);
  if (!s.payload.empty()) on_text(c, s, now_us);
  if (s.has(flags::fin) && c.in_use && s.seq + 1 + s.payload.size() == c.rcv_nxt) on_fin(c, now_us);
}

bool engine::establish(tcb& c, std::uint64_t now_us) {
  std::uint64_t cookie = c.owner;  // an active open's
  if (c.passive) {
    // The listener outlives its half-opens (unlisten drops them): it
    // names the cookie the session layer knows it by.
    const auto it = listeners_.find(c.owner);
    cookie = it != listeners_.end() ? it->second.cookie : 0;
    if (c.state == state::syn_received && it != listeners_.end() && it->second.half_open > 0) --it->second.half_open;
  }
  set_state(c, state::established);
  c.cc = congestion_control(cfg_.congestion, effective_mss(c), cfg_.initial_window_segments);
  const established_info info{conn_id{c.index, c.generation}, c.tuple, c.passive, cookie};
  std::optional<session_fifos> f = app_.established(info);
  if (!f) {
    abort(c, abort_reason::refused_by_app, c.passive ? errc::none : errc::alloc, true, now_us);
    return false;
  }
  c.has_fifos = true;
  // The shared words' second phase (tcb.hpp). `owner` served its (the
  // cookie is read above): loss recovery's words now, ISS first (RFC
  // 6582), read before the ISS's own word turns into retx_next. Nothing
  // out of order, no hole retransmitted, no FIN beyond a gap yet.
  c.named = true;
  c.rec = {c.iss, sack_scoreboards::none};
  c.newest_ooo = c.rcv_nxt;
  c.retx_next = c.snd_una;
  c.peer_fin_seq = c.rcv_nxt;
  c.rx = f->rx;
  c.tx = f->tx;
  // Before the app hears of them: from here on it may write their memory.
  c.rx_end = shm::private_end{c.rx, shm::private_end::side::producer};
  c.tx_end = shm::private_end{c.tx, shm::private_end::side::consumer};
  return true;
}

// ---- synchronized states -----------------------------------------------------------------

bool engine::time_wait_reuse(const tcb& c, const segment& s) const {
  // RFC 6191: a newer timestamp, or without timestamps a higher sequence
  // number, says the SYN belongs to a new incarnation (SPEC-TCP 2.6).
  if (c.ts_on && s.opt.has_timestamps) return seq_gt(s.opt.ts_val, c.ts_recent);
  return seq_gt(s.seq, c.rcv_nxt);
}

void engine::on_synchronized(tcb& c, const segment& s, std::uint64_t now_us) {
  if (c.state == state::time_wait) {
    if (s.has(flags::syn) && !s.has(flags::ack) && time_wait_reuse(c, s)) {
      const four_tuple t = c.tuple;
      const seq_t iss = c.snd_max + 65535 + 2;  // above anything the old incarnation sent
      free_conn(c);
      if (listener* l = find_listener(t.local_ip, t.local_port)) {
        on_listen(*l, s, t, iss, now_us);
      } else {
        send_reset_for(s, t.local_ip, t.remote_ip);
      }
      return;
    }
    if (s.has(flags::fin) && !s.has(flags::rst)) {
      // The peer did not hear our ACK of its FIN: again, and wait anew.
      c.ack_now = true;
      mark_pending(c);
      arm(c, timer::wait, now_us + cfg_.time_wait_us);
      return;
    }
  }
  if (c.state == state::syn_received && s.has(flags::syn) && !s.has(flags::ack) && s.seq == c.irs) {
    send_syn(c, now_us);  // our SYN-ACK was lost: the peer's SYN came again
    return;
  }
  if (c.state == state::syn_received && !c.passive && s.has(flags::syn) && s.has(flags::ack) &&
      s.seq == c.irs && s.ack == c.snd_nxt) {
    // Simultaneous open: the peer's SYN-ACK answers our SYN. Its SYN was
    // taken already; its ACK completes the open (as Linux lets it pass).
    on_ack(c, s, now_us);
    if (c.in_use) {
      c.ack_now = true;
      mark_pending(c);
    }
    return;
  }
  // PAWS (RFC 7323 §5, SPEC-TCP 5.3): an older timestamp is an old duplicate.
  if (c.ts_on && s.opt.has_timestamps && !s.has(flags::rst) && seq_lt(s.opt.ts_val, c.ts_recent)) {
    ++stats_.paws_drops;
    c.ack_now = true;
    mark_pending(c);
    return;
  }
  if (!acceptable(c, s)) {
    if (!s.has(flags::rst)) {  // SPEC-TCP 3.3; RSTs out of window are dropped (4.2)
      ++stats_.unacceptable;
      c.ack_now = true;
      mark_pending(c);
    }
    return;
  }
  // RFC 7323 §4.3: remember the newest timestamp of a segment that covers
  // the last ACK we sent.
  if (c.ts_on && s.opt.has_timestamps && seq_geq(s.opt.ts_val, c.ts_recent) && seq_leq(s.seq, c.last_ack_sent))
    c.ts_recent = s.opt.ts_val;
  if (s.has(flags::rst)) {
    on_rst(c, s, now_us);
    return;
  }
  if (s.has(flags::syn)) {  // SPEC-TCP 4.3: keep the connection, challenge
    challenge_ack(c, now_us);
    return;
  }
  if (!s.has(flags::ack)) return;
  if (!on_ack(c, s, now_us)) return;
  if (!s.payload.empty()) {
    on_text(c, s, now_us);
    if (!c.in_use) return;
  }
  if (s.has(flags::fin)) {
    const seq_t fin_seq = s.seq + static_cast<std::uint32_t>(s.payload.size());
    if (!c.peer_fin && fin_seq == c.rcv_nxt) {
      on_fin(c, now_us);
    } else if (!c.peer_fin && seq_gt(fin_seq, c.rcv_nxt)) {
      c.peer_fin_pending = true;  // after a gap: taken once the gap fills
      c.peer_fin_seq = fin_seq;
    } else {
      c.ack_now = true;  // a FIN again: our ACK was lost
      mark_pending(c);
    }
  }
}

bool engine::acceptable(const tcb& c, const segment& s) const {
  // SPEC-TCP 3.3, with Linux's bounds rather than RFC 9293's four cases:
  // a segment is acceptable when it does not end before RCV.NXT and does
  // not start after the right edge of the window, the edge included. The
  // RFC's strict test rejects a pure ACK whose sequence number sits exactly
  // at a window the peer has filled (the receiver rounded its window up by
  // a few bytes, or filled it while data was in flight): its ACK field was
  // lost with it, and an echo through a full window stalled for good (seen
  // against Linux at 5 % loss). Data beyond the window is trimmed in
  // on_text, as the RFC's "special allowance" for zero windows intends.
  const std::uint32_t wnd = seq_diff(c.rcv_adv, c.rcv_nxt) > 0x7fffffffu ? 0 : seq_diff(c.rcv_adv, c.rcv_nxt);
  const seq_t end = s.seq + s.seq_length();
  return seq_geq(end, c.rcv_nxt) && seq_leq(s.seq, c.rcv_nxt + wnd);
}

bool engine::on_rst(tcb& c, const segment& s, std::uint64_t now_us) {
  ++stats_.rst_in;
  if (s.seq != c.rcv_nxt) {  // in window but not exact: RFC 5961 §3.2
    challenge_ack(c, now_us);
    return false;
  }
  if (c.state == state::syn_received && c.passive) {
    free_conn(c);  // back to LISTEN: the listener never heard of it
    return true;
  }
  if (c.state == state::time_wait) {  // Linux ends TIME-WAIT on a RST (no RFC 1337)
    free_conn(c);
    return true;
  }
  const errc why = c.state == state::syn_received ? errc::refused : errc::reset;
  abort(c, abort_reason::peer_reset, why, false, now_us);
  return true;
}

void engine::challenge_ack(tcb& c, std::uint64_t now_us) {
  // RFC 5961 §7: a global budget per second (SPEC-TCP 4.5).
  if (now_us - challenge_window_start_us_ >= 1'000'000) {
    challenge_window_start_us_ = now_us;
    challenge_acks_in_window_ = 0;
  }
  if (challenge_acks_in_window_ >= cfg_.challenge_acks_per_second) {
    ++stats_.challenge_acks_suppressed;
    return;
  }
  ++challenge_acks_in_window_;
  ++stats_.challenge_acks;
  c.ack_now = true;
  mark_pending(c);
}

// ---- the ACK field ---------------------------------------------------------------------

bool engine::on_ack(tcb& c, const segment& s, std::uint64_t now_us) {
  if (c.state == state::syn_received) {
    if (!(seq_lt(c.snd_una, s.ack) && seq_leq(s.ack, c.snd_max))) {
      send_reset_for(s, c.tuple.local_ip, c.tuple.remote_ip);
      return false;
    }
    if (c.rtt_timing && c.retries == 0) c.rtt.sample(static_cast<std::uint32_t>(now_us) - c.rtt_start_us, cfg_.rto);
    c.rtt_timing = false;
    c.retries = 0;
    cancel(c, timer::retransmit);
    c.snd_una = s.ack;
    c.snd_wnd = std::uint32_t{s.window} << c.snd_shift;
    c.max_snd_wnd = c.snd_wnd;
    c.snd_wl1 = s.seq;
    c.snd_wl2 = s.ack;
    if (!establish(c, now_us)) return false;
    mark_pending(c);
    return true;
  }
  if (seq_gt(s.ack, c.snd_max)) {  // SPEC-TCP 4.4: ACK of data not yet sent
    ++stats_.ack_unsent;
    c.ack_now = true;
    mark_pending(c);
    return false;
  }
  if (seq_lt(s.ack, c.snd_una - std::max<std::uint32_t>(c.max_snd_wnd, 1))) {  // too old
    ++stats_.ack_too_old;
    return false;
  }
  absorb_sacks(c, s);
  if (seq_gt(s.ack, c.snd_una)) {
    on_new_ack(c, s, seq_diff(s.ack, c.snd_una), now_us);
  } else if (s.ack == c.snd_una && !c.persisting && s.payload.empty() && !s.has(flags::fin) &&
             (std::uint32_t{s.window} << c.snd_shift) == c.snd_wnd && c.snd_max != c.snd_una) {
    on_dup_ack(c, now_us);
  }
  update_window(c, s);

  if (c.fin_sent && seq_gt(c.snd_una, c.fin_seq())) {  // our FIN is acknowledged
    switch (c.state) {
      case state::fin_wait_1:
        enter(c, state::fin_wait_2);
        cancel(c, timer::retransmit);
        // Everything we sent arrived and the app closed for good: the fifos
        // may go; what still arrives is answered by RST (data_after_close).
        // After a half-close the app still reads: FIN-WAIT-2 lasts until
        // the peer's FIN, untimed (as Linux leaves a socket that is not
        // orphaned).
        if (c.app_closed) {
          release_fifos(c);
          arm(c, timer::wait, now_us + cfg_.fin_wait_2_us);
        }
        break;
      case state::closing: enter_time_wait(c, now_us); return false;
      case state::last_ack:
        release_fifos(c);
        free_conn(c);
        return false;
      default: break;
    }
  }
  return true;
}

void engine::on_new_ack(tcb& c, const segment& s, std::uint32_t acked, std::uint64_t now_us) {
  // Bytes leave the tx fifo only once acknowledged (SPEC-TCP 1.3); the FIN
  // and the SYN take sequence space but no fifo byte.
  const seq_t end = data_end(c);
  const seq_t data_acked_to = seq_min(s.ack, end);
  if (seq_gt(data_acked_to, c.tx_base)) {
    const std::uint32_t n = seq_diff(data_acked_to, c.tx_base);
    if (c.has_fifos) {
      c.tx.drop(n);
      c.tx_end.moved(c.tx);
    }
    c.tx_base = data_acked_to;
    if (c.has_fifos) app_.writable({c.index, c.generation}, n);
  }
  // RTT: from the echoed timestamp, else from the one timed segment (Karn).
  if (c.ts_on && s.opt.has_timestamps && s.opt.ts_ecr != 0) {
    const std::uint32_t ms = ts_now(now_us) - s.opt.ts_ecr;
    if (ms < 60'000) c.rtt.sample(ms * 1000, cfg_.rto);
  } else if (c.rtt_timing && seq_gt(s.ack, c.rtt_seq)) {
    c.rtt.sample(static_cast<std::uint32_t>(now_us) - c.rtt_start_us, cfg_.rto);
    c.rtt_timing = false;
  }
  c.retries = 0;
  c.snd_una = s.ack;
  if (seq_lt(c.snd_nxt, c.snd_una)) c.snd_nxt = c.snd_una;  // after a go-back or an accepted probe
  // Forget SACK blocks now below snd_una (the board goes with the last).
  if (c.sacked_count > 0) {
    std::array<sack_block, sack_scoreboards::blocks_per_board> kept{};
    std::size_t n = 0;
    for (sack_block b : sacked(c))
      if (seq_gt(b.right, c.snd_una)) {
        if (seq_lt(b.left, c.snd_una)) b.left = c.snd_una;
        kept[n++] = b;
      }
    set_sacked(c, kept.data(), n);
  }
  if (c.cc) {
    if (c.in_recovery) {
      if (seq_geq(s.ack, c.rec.recover)) {  // full ACK: recovery ends (RFC 6582 §3.2 step 3)
        c.in_recovery = false;
        c.dupacks = 0;
        c.cc.on_recovery_end(c.flight());
      } else {  // partial ACK: the next hole is lost too (step 5)
        c.cc.on_partial_ack(acked);
        if (c.sack_on && c.sacked_count > 0) {
          if (!retransmit_hole(c, now_us)) retransmit_first(c, now_us);
        } else {
          retransmit_first(c, now_us);
        }
        ++stats_.retransmits_fast;
      }
    } else {
      c.dupacks = 0;
      c.cc.on_ack(acked);
    }
  }
  if (c.snd_una == c.snd_max) {
    if (!c.persisting) cancel(c, timer::retransmit);
  } else if (!c.persisting) {
    arm(c, timer::retransmit, now_us + c.rtt.rto_us());  // RFC 6298 5.3
  }
  mark_pending(c);
}

void engine::on_dup_ack(tcb& c, std::uint64_t now_us) {
  ++stats_.dup_acks;
  if (c.dupacks < 0xff) ++c.dupacks;
  if (!c.cc) return;
  if (c.in_recovery) {
    c.cc.on_recovery_dupack();
    if (c.sack_on && retransmit_hole(c, now_us)) ++stats_.retransmits_fast;
    mark_pending(c);
    return;
  }
  // RFC 6582 §3.2 step 2: no new recovery for losses of the last one.
  // With SACK, more than DupThresh segments SACKed above the first
  // unacknowledged byte also says it is lost (RFC 6675 IsLost), which
  // matters when the peer's duplicate ACKs were coalesced.
  std::uint32_t sacked_bytes = 0;
  for (const sack_block& b : sacked(c)) sacked_bytes += seq_diff(b.right, b.left);
  const bool lost = c.dupacks == 3 || (c.dupacks < 3 && sacked_bytes >= 3 * effective_mss(c));
  if (lost && seq_gt(c.snd_una, c.rec.recover - 1)) {
    c.cc.on_fast_retransmit(c.flight());
    c.in_recovery = true;
    c.rec.recover = c.snd_max;
    c.retx_next = c.snd_una;
    ++stats_.retransmits_fast;
    retransmit_first(c, now_us);
    arm(c, timer::retransmit, now_us + c.rtt.rto_us());
    return;
  }
  mark_pending(c);  // limited transmit (RFC 3042) may send new data
}

void engine::absorb_sacks(tcb& c, const segment& s) {
  if (!c.sack_on) return;
  for (std::uint8_t i = 0; i < s.opt.sack_count; ++i) {
    sack_block b = s.opt.sacks[i];
    // Only blocks inside what is outstanding count (RFC 2018 §4 does not
    // bind a receiver to be right; a lie costs only this connection).
    if (!seq_lt(b.left, b.right) || !seq_gt(b.left, c.snd_una) || seq_gt(b.right, c.snd_max)) continue;
    // Merge into the sorted scoreboard.
    std::array<sack_block, sack_scoreboards::blocks_per_board + 1> out{};
    std::size_t m = 0;
    bool placed = false;
    for (const sack_block r : sacked(c)) {
      if (seq_lt(r.right, b.left)) {
        out[m++] = r;
      } else if (seq_gt(r.left, b.right)) {
        if (!placed) out[m++] = b, placed = true;
        out[m++] = r;
      } else {
        b.left = seq_min(b.left, r.left);
        b.right = seq_max(b.right, r.right);
      }
    }
    if (!placed) out[m++] = b;
    // The highest block falls off when the board is full.
    set_sacked(c, out.data(), std::min(m, sack_scoreboards::blocks_per_board));
  }
}

void engine::update_window(tcb& c, const segment& s) {
  // RFC 9293 §3.10.7.4: only a newer segment updates the send window.
  if (!(seq_lt(c.snd_wl1, s.seq) || (c.snd_wl1 == s.seq && seq_leq(c.snd_wl2, s.ack)))) return;
  const std::uint32_t wnd = std::uint32_t{s.window} << c.snd_shift;
  const bool opened = wnd > c.snd_wnd;
  c.snd_wnd = wnd;
  c.max_snd_wnd = std::max(c.max_snd_wnd, wnd);
  c.snd_wl1 = s.seq;
  c.snd_wl2 = s.ack;
  if (c.persisting && wnd > 0) {
    c.persisting = false;
    c.persist_backoff = 0;
    cancel(c, timer::retransmit);
    if (c.snd_una != c.snd_max) arm(c, timer::retransmit, now_us_ + c.rtt.rto_us());
  }
  if (opened) mark_pending(c);
}

// ---- the payload and the FIN ---------------------------------------------------------------

void engine::on_text(tcb& c, const segment& s, std::uint64_t now_us) {
  if (c.state != state::established && c.state != state::fin_wait_1 && c.state != state::fin_wait_2)
    return;  // after the peer's FIN nothing new can come (RFC 9293 step 7)
  if (c.app_closed) {
    // Nobody will read it: Linux answers data to a closed socket with RST.
    abort(c, abort_reason::data_after_close, errc::none, true, now_us);
    return;
  }
  if (!c.has_fifos) return;
  seq_t seq = s.seq + (s.has(flags::syn) ? 1 : 0);
  std::span<const std::byte> data = s.payload;
  if (seq_lt(seq, c.rcv_nxt)) {  // SPEC-TCP 3.4: trim what we already have
    const std::uint32_t old = seq_diff(c.rcv_nxt, seq);
    if (old >= data.size()) {
      c.ack_now = true;  // all of it again: our ACK was lost
      mark_pending(c);
      return;
    }
    data = data.subspan(old);
    seq = c.rcv_nxt;
  }
  const std::uint32_t offset = seq_diff(seq, c.rcv_nxt);
  const std::size_t room = c.rx.max_enqueue();
  if (offset >= room) {
    c.ack_now = true;
    mark_pending(c);
    return;
  }
  data = data.first(std::min<std::size_t>(data.size(), room - offset));
  if (offset == 0) {
    const bool had_holes = c.rx.ooo_segment_count() > 0;
    const std::uint64_t before = c.rx.tail_position();
    auto r = c.rx.enqueue(data);
    if (!r) return;  // the segment could not grow the fifo: dropped, the peer sends it again
    c.rx_end.moved(c.rx);
    const auto advanced = static_cast<std::uint32_t>(c.rx.tail_position() - before);
    c.rcv_nxt += advanced;
    stats_.bytes_in += *r;
    app_.readable({c.index, c.generation});
    // SPEC-TCP 6.3: at once when a hole filled, else every second full
    // segment, else by the delayed-ACK timer.
    if (had_holes) {
      c.ack_now = true;
    } else if (data.size() >= effective_mss(c) && ++c.unacked_segments >= 2) {
      c.ack_now = true;
    } else if (!c.ack_delayed) {
      c.ack_delayed = true;
      arm(c, timer::delayed_ack, now_us + cfg_.delayed_ack_us);
    }
  } else {
    auto r = c.rx.enqueue_with_offset(offset, data);
    ++stats_.ooo_segments;
    if (r) {
      stats_.bytes_in += *r;
      c.newest_ooo = seq;
    }
    // One duplicate ACK (with SACK blocks) per out-of-order segment, even
    // within a burst: the sender counts them to find the loss (SPEC-TCP 6.3).
    if (c.dup_acks_owed < 255) ++c.dup_acks_owed;
  }
  mark_pending(c);
  if (c.peer_fin_pending && c.rcv_nxt == c.peer_fin_seq) on_fin(c, now_us);
}

void engine::on_fin(tcb& c, std::uint64_t now_us) {
  c.peer_fin = true;
  c.peer_fin_pending = false;
  c.rcv_nxt += 1;
  c.ack_now = true;
  mark_pending(c);
  if (c.has_fifos) app_.peer_closed({c.index, c.generation});
  switch (c.state) {
    case state::syn_received:
    case state::established: enter(c, state::close_wait); break;
    case state::fin_wait_1: enter(c, state::closing); break;  // our FIN is not acknowledged yet
    case state::fin_wait_2: enter_time_wait(c, now_us); break;
    default: break;
  }
}

}  // namespace actorstack::tcp
