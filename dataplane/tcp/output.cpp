// Sending: SYNs, data within min(cwnd, peer window) in segments of at most
// MSS, retransmissions, window probes, ACKs and RSTs (SPEC-TCP §6, §7).

#include "dataplane/tcp/engine.hpp"
#include "dataplane/tcp/tcb.hpp"

#include <algorithm>

namespace actorstack::tcp {

namespace {
constexpr std::uint32_t timestamp_option_bytes = 12;
}

std::uint32_t engine::ts_now(std::uint64_t now_us) const noexcept {
  return static_cast<std::uint32_t>(now_us / 1000) + 1;  // a 1 ms clock (RFC 7323 §5.4 allows 1 ms - 1 s)
}

std::uint32_t engine::effective_mss(const tcb& c) const noexcept {
  const std::uint32_t mss = std::min<std::uint32_t>(cfg_.mss, c.peer_mss);
  return mss - (c.ts_on ? timestamp_option_bytes : 0);
}

std::uint32_t engine::data_end(const tcb& c) const noexcept {
  if (c.fin_sent) return c.fin_seq();
  return c.tx_base + static_cast<std::uint32_t>(c.has_fifos ? c.tx.max_dequeue() : 0);
}

std::uint32_t engine::receive_window(const tcb& c) const {
  return c.has_fifos ? static_cast<std::uint32_t>(c.rx.max_enqueue()) : c.rx_window;
}

std::uint16_t engine::advertise(tcb& c) {
  std::uint32_t wnd = receive_window(c);
  const std::uint32_t told = seq_gt(c.rcv_adv, c.rcv_nxt) ? seq_diff(c.rcv_adv, c.rcv_nxt) : 0;
  // Receiver SWS avoidance: move the right edge only by a worthwhile step.
  const std::uint32_t step = std::min<std::uint32_t>(cfg_.mss, (c.has_fifos ? c.rx.size() : c.rx_window) / 2);
  if (wnd > told && wnd - told < step) wnd = told;
  // The right edge never moves left (SPEC-TCP 5.2): round up if needed.
  wnd = std::max(wnd, told);
  const std::uint32_t unit = 1u << c.rcv_shift;
  std::uint32_t field = wnd >> c.rcv_shift;
  if ((field << c.rcv_shift) < told) field = (told + unit - 1) >> c.rcv_shift;
  field = std::min<std::uint32_t>(field, 0xffff);
  const seq_t edge = c.rcv_nxt + (field << c.rcv_shift);
  if (seq_gt(edge, c.rcv_adv) || told == 0) c.rcv_adv = edge;
  return static_cast<std::uint16_t>(field);
}

options engine::segment_options(tcb& c, std::uint64_t now_us) {
  options o;
  if (c.ts_on) {
    o.has_timestamps = true;
    o.ts_val = ts_now(now_us);
    o.ts_ecr = c.ts_recent;
  }
  if (c.sack_on && c.has_fifos && c.rx.ooo_segment_count() > 0) {
    // SPEC-TCP 5.4: up to 3 blocks with timestamps, 4 without; the one
    // holding the newest out-of-order segment first, then in order.
    const std::size_t limit = c.ts_on ? 3 : 4;
    const std::uint64_t tail = c.rx.tail_position();
    std::array<sack_block, 8> all{};
    std::size_t n = 0, newest = 0;
    for (std::size_t i = 0; i < c.rx.ooo_segment_count() && n < all.size(); ++i) {
      const auto r = c.rx.ooo_segment(i);
      if (r.length == 0) continue;
      const seq_t left = c.rcv_nxt + static_cast<std::uint32_t>(r.start - tail);
      all[n] = sack_block{left, left + static_cast<std::uint32_t>(r.length)};
      if (seq_in(c.newest_ooo, all[n].left, all[n].right)) newest = n;
      ++n;
    }
    if (n > 0) {
      o.sacks[o.sack_count++] = all[newest];
      for (std::size_t i = 0; i < n && o.sack_count < limit; ++i)
        if (i != newest) o.sacks[o.sack_count++] = all[i];
    }
  }
  return o;
}

bool engine::emit(const four_tuple& t, const header_fields& h, const options& o, const shm::fifo* from,
                  std::uint32_t offset, std::uint32_t len) {
  const std::size_t size = header_size + options_size(o) + len;
  std::span<std::byte> buf = wire_.begin_segment(size);
  if (buf.size() < size) {
    ++stats_.tx_no_room;
    return false;
  }
  const std::size_t hlen = write_header(buf, h, o);
  if (len > 0) {
    auto got = from->peek(offset, buf.subspan(hlen, len));
    if (!got || *got != len) {  // the fifo holds less than it said: send nothing
      ++stats_.tx_no_room;
      return false;
    }
  }
  finish_checksum(buf.first(size), t.local_ip, t.remote_ip);
  wire_.end_segment(t.local_ip, t.remote_ip, size);
  ++stats_.segments_out;
  stats_.bytes_out += len;
  if ((h.flags & flags::rst) != 0) ++stats_.rst_out;
  return true;
}

void engine::send_syn(tcb& c, std::uint64_t now_us) {
  const bool syn_ack = c.state == state::syn_received;
  header_fields h{c.tuple.local_port, c.tuple.remote_port, c.iss, syn_ack ? c.rcv_nxt : 0,
                  static_cast<std::uint8_t>(flags::syn | (syn_ack ? flags::ack : 0)),
                  static_cast<std::uint16_t>(std::min<std::uint32_t>(c.rx_window, 0xffff))};
  options o;
  o.has_mss = true;
  o.mss = cfg_.mss;
  if (syn_ack) {  // only what the peer offered (SPEC-TCP 5.2-5.4)
    if (c.offered_shift) o.has_window_shift = true, o.window_shift = c.rcv_shift;
    if (c.ts_on) o.has_timestamps = true, o.ts_val = ts_now(now_us), o.ts_ecr = c.ts_recent;
    o.sack_permitted = c.sack_on;
  } else {
    if (cfg_.window_scaling) {
      c.offered_shift = true;
      c.rcv_shift = window_shift_for(c.rx_window);
      o.has_window_shift = true, o.window_shift = c.rcv_shift;
    }
    if (cfg_.timestamps) o.has_timestamps = true, o.ts_val = ts_now(now_us), o.ts_ecr = 0;
    o.sack_permitted = cfg_.sack;
  }
  if (c.retries == 0) {
    c.rtt_timing = true;
    c.rtt_seq = c.iss;
    c.rtt_start_us = static_cast<std::uint32_t>(now_us);
  }
  emit(c.tuple, h, o, nullptr, 0, 0);
  c.rcv_adv = c.rcv_nxt + h.window;
  c.last_ack_sent = c.rcv_nxt;
  c.snd_nxt = c.iss + 1;
  c.snd_max = seq_max(c.snd_max, c.snd_nxt);
  arm(c, timer::retransmit, now_us + c.rtt.rto_us());
}

void engine::send_ack(tcb& c, std::uint64_t now_us) {
  const options o = segment_options(c, now_us);
  const header_fields h{c.tuple.local_port, c.tuple.remote_port, c.snd_max == c.snd_nxt ? c.snd_nxt : c.snd_max,
                        c.rcv_nxt, flags::ack, advertise(c)};
  emit(c.tuple, h, o, nullptr, 0, 0);
  c.last_ack_sent = c.rcv_nxt;
  c.ack_now = false;
  c.ack_delayed = false;
  c.unacked_segments = 0;
  cancel(c, timer::delayed_ack);
}

bool engine::send_data(tcb& c, seq_t seq, std::uint32_t len, bool fin, std::uint64_t now_us) {
  options o = segment_options(c, now_us);
  // Options count against the MSS (RFC 6691): a full segment has no room
  // for SACK blocks, which then ride on the pure ACKs only. Sending them
  // anyway made 1500-byte IPv4 packets that the link refuses.
  const std::uint32_t room = std::min<std::uint32_t>(cfg_.mss, c.peer_mss);
  while (o.sack_count > 0 && options_size(o) + len > room) --o.sack_count;
  const bool last = seq + len == data_end(c);
  const header_fields h{c.tuple.local_port, c.tuple.remote_port, seq, c.rcv_nxt,
                        static_cast<std::uint8_t>(flags::ack | (fin ? flags::fin : 0) |
                                                  (len > 0 && last ? flags::psh : 0)),
                        advertise(c)};
  if (!emit(c.tuple, h, o, &c.tx, seq_diff(seq, c.tx_base), len)) return false;
  // The ACK rode along.
  c.last_ack_sent = c.rcv_nxt;
  c.ack_now = false;
  c.ack_delayed = false;
  c.unacked_segments = 0;
  cancel(c, timer::delayed_ack);
  if (!c.rtt_timing && !c.ts_on && len > 0 && seq_geq(seq, c.snd_max)) {
    c.rtt_timing = true;  // Karn: only new data is timed
    c.rtt_seq = seq;
    c.rtt_start_us = static_cast<std::uint32_t>(now_us);
  }
  const seq_t end = seq + len + (fin ? 1 : 0);
  if (fin) c.fin_sent = true;  // at seq + len: snd_max - 1 from here on (fin_seq())
  if (seq_gt(end, c.snd_max)) c.snd_max = end;
  return true;
}

void engine::retransmit_first(tcb& c, std::uint64_t now_us) {
  const seq_t end = data_end(c);
  const std::uint32_t avail = seq_gt(end, c.snd_una) ? seq_diff(end, c.snd_una) : 0;
  const std::uint32_t len = std::min(avail, effective_mss(c));
  const bool fin = c.fin_sent && c.snd_una + len == c.fin_seq();
  if (len == 0 && !fin) return;
  if (!send_data(c, c.snd_una, len, fin, now_us)) return;
  ++c.total_retrans;
  const seq_t sent_to = c.snd_una + len + (fin ? 1 : 0);
  if (seq_lt(c.snd_nxt, sent_to)) c.snd_nxt = sent_to;
  c.retx_next = seq_max(c.retx_next, c.snd_una + len);
}

bool engine::retransmit_hole(tcb& c, std::uint64_t now_us) {
  // The first byte at or after retx_next that the peer has not SACKed,
  // below its highest SACKed byte (RFC 6675's "lost" bytes, simplified:
  // SACKed bytes are never sent again, SPEC-TCP 5.4).
  if (c.sacked_count == 0) return false;
  seq_t seq = seq_max(c.retx_next, c.snd_una);
  for (const sack_block& b : sacked(c)) {
    if (seq_lt(seq, b.left)) {
      const std::uint32_t len = std::min(seq_diff(b.left, seq), effective_mss(c));
      const seq_t end = data_end(c);
      const std::uint32_t avail = seq_gt(end, seq) ? seq_diff(end, seq) : 0;
      const std::uint32_t n = std::min(len, avail);
      if (n == 0) return false;
      if (!send_data(c, seq, n, false, now_us)) return false;
      ++c.total_retrans;
      c.retx_next = seq + n;
      return true;
    }
    if (seq_lt(seq, b.right)) seq = b.right;
  }
  return false;
}

void engine::send_probe(tcb& c, std::uint64_t now_us) {
  const seq_t end = data_end(c);
  if (!seq_lt(c.snd_nxt, end)) return;
  if (c.snd_wnd > 0) {
    // A window too small for SWS avoidance: send what fits, now.
    const std::uint32_t len = std::min({c.snd_wnd, seq_diff(end, c.snd_nxt), effective_mss(c)});
    if (send_data(c, c.snd_nxt, len, false, now_us)) c.snd_nxt += len;
    c.persisting = false;
    c.persist_backoff = 0;
    arm(c, timer::retransmit, now_us + c.rtt.rto_us());
    return;
  }
  // One byte beyond the closed window; if the peer takes it, its ACK
  // covers it (snd_max includes it), else it answers with its window.
  ++stats_.window_probes;
  send_data(c, c.snd_nxt, 1, false, now_us);
}

void engine::send_rst(tcb& c) {
  const header_fields h{c.tuple.local_port, c.tuple.remote_port, c.snd_max, c.rcv_nxt,
                        static_cast<std::uint8_t>(flags::rst | flags::ack), 0};
  emit(c.tuple, h, options{}, nullptr, 0, 0);
}

void engine::send_reset_for(const segment& s, std::uint32_t local_ip, std::uint32_t remote_ip) {
  if (s.has(flags::rst)) return;  // never answer a RST with a RST (SPEC-TCP 3.2)
  header_fields h{s.dst_port, s.src_port, 0, 0, flags::rst, 0};
  if (s.has(flags::ack)) {
    h.seq = s.ack;
  } else {
    h.ack = s.seq + s.seq_length();
    h.flags |= flags::ack;
  }
  emit(four_tuple{local_ip, remote_ip, s.dst_port, s.src_port}, h, options{}, nullptr, 0, 0);
}

void engine::output(tcb& c, std::uint64_t now_us) {
  if (!fifos_sound(c)) return;
  switch (c.state) {
    case state::syn_sent:
    case state::syn_received:
    case state::closed:
    case state::listen:
      c.ack_now = false;
      return;
    case state::time_wait:
      if (c.ack_now) send_ack(c, now_us);
      return;
    default: break;
  }
  if (c.has_fifos && c.cc && !c.persisting) {
    const std::uint32_t mss = effective_mss(c);
    const seq_t end = data_end(c);
    // Limited transmit (RFC 3042): each of the first two duplicate ACKs
    // lets one new segment out beyond cwnd.
    const std::uint32_t extra = !c.in_recovery && c.dupacks < 3 ? c.dupacks * mss : 0;
    const std::uint32_t wnd = std::min<std::uint32_t>(c.cc.cwnd() + extra, c.snd_wnd);
    bool blocked = false;
    while (seq_lt(c.snd_nxt, end)) {
      const std::uint32_t unsent = seq_diff(end, c.snd_nxt);
      const std::uint32_t flight = c.flight();
      const std::uint32_t usable = wnd > flight ? wnd - flight : 0;
      const std::uint32_t len = std::min({mss, unsent, usable});
      if (len == 0) break;
      if (len < mss) {
        // Nagle (SPEC-TCP 6.2): a small segment waits while data is
        // unacknowledged, unless nodelay or the app closed; sender SWS
        // avoidance: nor is a segment cut short by the window sent unless
        // it is half the largest window the peer offered.
        const bool all_queued = len == unsent;
        const bool nagle_ok = c.nodelay || flight == 0 || c.sending_done();
        const bool sws_ok = len >= c.max_snd_wnd / 2;
        if (!((all_queued && nagle_ok) || sws_ok)) break;
      }
      const bool fin = c.sending_done() && len == unsent;
      if (!send_data(c, c.snd_nxt, len, fin, now_us)) {
        // No room on the wire now (the port's queue is full): nothing was
        // sent, so nothing is lost; this connection goes on next flush.
        blocked_.push_back(c.index);
        blocked = true;
        break;
      }
      c.snd_nxt += len + (fin ? 1 : 0);
      if (!armed(c, timer::retransmit)) arm(c, timer::retransmit, now_us + c.rtt.rto_us());
    }
    if (c.sending_done() && c.snd_nxt == end && !(c.fin_sent && seq_gt(c.snd_nxt, c.fin_seq()))) {
      // A bare FIN: every byte went, the FIN did not.
      if (send_data(c, c.snd_nxt, 0, true, now_us)) {
        c.snd_nxt += 1;
        arm(c, timer::retransmit, now_us + c.rtt.rto_us());
      }
    }
    // Data waiting, nothing in flight, and the window too small (zero, or
    // under what sender SWS avoidance lets out): the persist timer probes
    // or, with some window, overrides SWS avoidance once it fires (RFC
    // 9293 §3.8.6.2.1's override timeout; SPEC-TCP 6.4).
    // (Not when the wire had no room: the window is open, the port full.)
    if (!blocked && seq_lt(c.snd_nxt, data_end(c)) && c.snd_una == c.snd_max) {
      c.persisting = true;
      c.persist_backoff = 0;
      arm(c, timer::retransmit, now_us + c.rtt.rto_us());
    }
  }
  // Duplicate ACKs owed for out-of-order segments, then any other ACK.
  for (; c.dup_acks_owed > 0; --c.dup_acks_owed) send_ack(c, now_us);
  if (c.ack_now) send_ack(c, now_us);
}

}  // namespace actorstack::tcp
