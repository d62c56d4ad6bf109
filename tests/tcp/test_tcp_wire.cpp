// The TCP engine's parts on their own: sequence arithmetic, the segment
// codec (SPEC-TCP 3.1, 5.5), ISNs (4.1), the timer wheel (1.4) and the RTO
// estimator (7.1).

#include "dataplane/tcp/congestion.hpp"
#include "dataplane/tcp/isn.hpp"
#include "dataplane/tcp/rtt.hpp"
#include "dataplane/tcp/segment.hpp"
#include "dataplane/tcp/seq.hpp"
#include "dataplane/tcp/timer_wheel.hpp"
#include "tcp_harness.hpp"

#include <doctest/doctest.h>

using namespace actorstack;
using namespace actorstack::tcp;
using actorstack::test::tcp_harness::craft;

namespace {
constexpr std::uint32_t src = 0xc0a80001, dst = 0xc0a80002;

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(std::byte(x));
  return out;
}

// A 20-byte header plus raw option bytes, checksummed.
std::vector<std::byte> with_raw_options(std::vector<std::byte> opts) {
  while (opts.size() % 4) opts.push_back(std::byte{1});
  header_fields h{1000, 80, 1, 0, flags::syn, 1000};
  std::vector<std::byte> b(header_size + opts.size());
  write_header(b, h, options{});
  b[12] = std::byte(static_cast<std::uint8_t>(((header_size + opts.size()) / 4) << 4));
  std::copy(opts.begin(), opts.end(), b.begin() + header_size);
  finish_checksum(b, src, dst);
  return b;
}
}  // namespace

TEST_CASE("TCP seq: comparisons hold across the 2^32 wrap") {
  CHECK(seq_lt(0xfffffff0u, 0x10u));
  CHECK(seq_gt(0x10u, 0xfffffff0u));
  CHECK(seq_diff(0x10u, 0xfffffff0u) == 0x20u);
  CHECK(seq_in(0x2u, 0xfffffffeu, 0x5u));
  CHECK_FALSE(seq_in(0x5u, 0xfffffffeu, 0x5u));
  CHECK(seq_max(0xffffffffu, 0x1u) == 0x1u);
  CHECK(seq_leq(7u, 7u));
}

TEST_CASE("TCP 3.1 segment: header, payload and every option survive a write and a parse") {
  options o;
  o.has_mss = true, o.mss = 1460;
  o.has_window_shift = true, o.window_shift = 7;
  o.sack_permitted = true;
  o.has_timestamps = true, o.ts_val = 0x01020304, o.ts_ecr = 0xa0b0c0d0;
  const auto payload = bytes_of({1, 2, 3, 4, 5});
  const auto f = craft(src, dst, header_fields{4321, 80, 0xfffffffe, 77, flags::syn | flags::ack, 29200}, o, payload);
  CHECK(f.bytes.size() == header_size + 20 + 5);
  segment s;
  REQUIRE(parse(f.bytes, src, dst, s) == parse_status::ok);
  CHECK(s.src_port == 4321);
  CHECK(s.dst_port == 80);
  CHECK(s.seq == 0xfffffffeu);
  CHECK(s.ack == 77);
  CHECK(s.flags == (flags::syn | flags::ack));
  CHECK(s.window == 29200);
  CHECK(s.opt.has_mss);
  CHECK(s.opt.mss == 1460);
  CHECK(s.opt.has_window_shift);
  CHECK(s.opt.window_shift == 7);
  CHECK(s.opt.sack_permitted);
  CHECK(s.opt.has_timestamps);
  CHECK(s.opt.ts_val == 0x01020304u);
  CHECK(s.opt.ts_ecr == 0xa0b0c0d0u);
  CHECK(s.payload.size() == 5);
  CHECK(s.seq_length() == 6);  // SYN + 5 bytes

  options sack;
  sack.sack_count = 4;
  for (std::uint32_t i = 0; i < 4; ++i) sack.sacks[i] = sack_block{100 * i, 100 * i + 50};
  const auto g = craft(src, dst, header_fields{1, 2, 3, 4, flags::ack, 5}, sack);
  segment t;
  REQUIRE(parse(g.bytes, src, dst, t) == parse_status::ok);
  CHECK(t.opt.sack_count == 4);
  CHECK(t.opt.sacks[3] == sack_block{300, 350});
}

TEST_CASE("TCP 3.1 segment: truncated, data offset < 5, offset past the segment and a bad checksum are refused") {
  segment s;
  auto f = craft(src, dst, header_fields{1, 2, 3, 4, flags::ack, 5}, options{}, bytes_of({9, 9}));
  CHECK(parse(std::span(f.bytes).first(19), src, dst, s) == parse_status::truncated);
  auto low = f.bytes;
  low[12] = std::byte{4 << 4};  // data offset 4
  CHECK(parse(low, src, dst, s) == parse_status::bad_offset);
  auto past = f.bytes;
  past[12] = std::byte{6 << 4};  // 24 bytes of header in a 22-byte segment
  CHECK(parse(past, src, dst, s) == parse_status::bad_offset);
  auto bad = f.bytes;
  bad[21] ^= std::byte{0x40};  // one payload bit
  CHECK(parse(bad, src, dst, s) == parse_status::bad_checksum);
  CHECK(parse(f.bytes, src + 1, dst, s) == parse_status::bad_checksum);  // the pseudo header counts
  CHECK(parse(f.bytes, src, dst, s) == parse_status::ok);
}

TEST_CASE("TCP 5.5 options: length 0, length 1, past the header and wrong sizes are malformed, unknown kinds are skipped") {
  segment s;
  CHECK(parse(with_raw_options(bytes_of({2, 0, 5, 0xb4})), src, dst, s) == parse_status::bad_option);  // length 0
  CHECK(parse(with_raw_options(bytes_of({30, 1, 1, 1})), src, dst, s) == parse_status::bad_option);   // length 1
  CHECK(parse(with_raw_options(bytes_of({1, 1, 30, 9})), src, dst, s) == parse_status::bad_option);   // past the header
  CHECK(parse(with_raw_options(bytes_of({1, 1, 1, 2})), src, dst, s) == parse_status::bad_option);    // no length byte
  CHECK(parse(with_raw_options(bytes_of({2, 3, 5, 1})), src, dst, s) == parse_status::bad_option);    // MSS of length 3
  CHECK(parse(with_raw_options(bytes_of({5, 7, 0, 0, 0, 0, 0, 1})), src, dst, s) == parse_status::bad_option);  // SACK not 2+8n
  // An unknown kind with a sane length is skipped; what follows is read.
  REQUIRE(parse(with_raw_options(bytes_of({30, 4, 0, 0, 2, 4, 0x05, 0xb4})), src, dst, s) == parse_status::ok);
  CHECK(s.opt.has_mss);
  CHECK(s.opt.mss == 1460);
  // End of options stops the walk: garbage after it is padding.
  REQUIRE(parse(with_raw_options(bytes_of({0, 0xff, 0xff, 0xff})), src, dst, s) == parse_status::ok);
  CHECK_FALSE(s.opt.has_mss);
}

TEST_CASE("TCP 4.1 ISN: SipHash-2-4 reference vectors, the hash depends on the 4-tuple and the secret, the clock adds 1 per 4 us") {
  // Key 00 01 .. 0f; messages 00 01 .. of 0 and 8 bytes (the SipHash paper's vectors).
  const std::uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
  CHECK(siphash24(k0, k1, nullptr, 0) == 0x726fdb47dd0e0e31ULL);
  const std::uint64_t m = 0x0706050403020100ULL;
  CHECK(siphash24(k0, k1, &m, 1) == 0x93f5f5799a932462ULL);

  const isn_generator g(1, 2);
  const four_tuple t{1, 2, 3, 4};
  CHECK(g.next(t, 400) - g.next(t, 0) == 100u);
  CHECK(g.next(t, 0) != g.next(four_tuple{1, 2, 3, 5}, 0));
  CHECK(g.next(t, 0) != isn_generator(1, 3).next(t, 0));
}

TEST_CASE("TCP 1.4 timer wheel: timers fire once, in time, re-armed or cancelled, also beyond one turn") {
  timer_wheel w(1000, 8, 0);  // 1 ms ticks, 8 slots: one turn is 8 ms
  w.reserve(4);
  std::vector<timer_wheel::timer_id> out;
  w.arm(0, 3000);
  w.arm(1, 20'000);  // 2.5 turns out
  w.arm(2, 5000);
  w.arm(3, 5000);
  w.cancel(3);
  w.arm(2, 6000);  // re-armed later
  CHECK(w.armed_count() == 3);
  w.advance(2999, out);
  CHECK(out.empty());
  w.advance(3000, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0] == 0);
  out.clear();
  w.advance(5999, out);
  CHECK(out.empty());
  w.advance(6000, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0] == 2);
  out.clear();
  w.advance(19'999, out);
  CHECK(out.empty());
  w.advance(100'000, out);  // a jump of many turns still fires it once
  REQUIRE(out.size() == 1);
  CHECK(out[0] == 1);
  CHECK(w.armed_count() == 0);
  out.clear();
  w.arm(0, 50);  // already past: the next advance fires it
  w.advance(101'000, out);
  CHECK(out.size() == 1);
}

TEST_CASE("TCP 1.4 timer wheel: expiries kept modulo 2^32 ticks fire in time across the wrap, and a timer armed too far out is clamped, not wrapped") {
  const std::uint64_t wrap = std::uint64_t{1} << 32;
  timer_wheel w(1, 8, wrap - 5);  // 1 us ticks, 5 ticks before the 32-bit tick count wraps
  w.reserve(3);
  std::vector<timer_wheel::timer_id> out;
  w.arm(0, wrap + 10);  // after the wrap: its low 32 bits are 10
  w.arm(1, wrap - 2);   // before it
  w.advance(wrap - 3, out);
  CHECK(out.empty());
  w.advance(wrap + 9, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0] == 1);
  out.clear();
  w.advance(wrap + 10, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0] == 0);
  out.clear();
  // 2^31 + 7 ticks out would read as "long past" modulo 2^32: it waits
  // max_ahead_ticks instead, and does not fire at the next advance.
  const std::uint64_t now = wrap + 10;
  w.arm(2, now + (std::uint64_t{1} << 31) + 7);
  w.advance(now + 1000, out);
  CHECK(out.empty());
  CHECK(w.armed(2));
  w.advance(now + timer_wheel::max_ahead_ticks, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0] == 2);
}

TEST_CASE("TCP 7.1 RTO: RFC 6298 from samples, clamped to the minimum and maximum, doubled per backoff") {
  const rto_limits lim{200'000, 1'000'000, 60'000'000};
  rtt_estimator r(lim);
  CHECK(r.rto_us() == 1'000'000);  // initial
  r.sample(100'000, lim);  // SRTT 100 ms, RTTVAR 50 ms: 300 ms
  CHECK(r.srtt_us() == 100'000);
  CHECK(r.rto_us() == 300'000);
  r.sample(100'000, lim);  // RTTVAR 37.5 ms: 250 ms
  CHECK(r.rto_us() == 250'000);
  for (int i = 0; i < 20; ++i) r.sample(1000, lim);
  CHECK(r.rto_us() == 200'000);  // the minimum
  r.backoff(lim);
  CHECK(r.rto_us() == 400'000);
  for (int i = 0; i < 20; ++i) r.backoff(lim);
  CHECK(r.rto_us() == 60'000'000);  // the maximum
  r.sample(1000, lim);
  CHECK(r.rto_us() == 200'000);  // a new sample ends the backoff
}

TEST_CASE("TCP 7.3 NewReno: slow start, congestion avoidance, fast recovery and the loss window") {
  congestion_control none;
  CHECK_FALSE(none);
  none.on_ack(1000);  // nothing chosen: nothing happens
  CHECK(none.cwnd() == 0);
  CHECK(none.ssthresh() == 0);  // TCP_INFO of a connection not synchronized
  congestion_control cc("newreno", 1000, 10);
  CHECK(cc.name() == "newreno");
  CHECK(cc.cwnd() == 10'000);  // RFC 6928
  cc.on_ack(1000);
  CHECK(cc.cwnd() == 11'000);  // slow start: +1 MSS per ACK
  cc.on_fast_retransmit(20'000);
  CHECK(cc.ssthresh() == 10'000);
  CHECK(cc.cwnd() == 13'000);  // ssthresh + 3 MSS
  cc.on_recovery_dupack();
  CHECK(cc.cwnd() == 14'000);
  cc.on_partial_ack(3000);
  CHECK(cc.cwnd() == 12'000);  // deflated by 3000, +1 MSS back
  cc.on_recovery_end(5000);
  CHECK(cc.cwnd() == 6000);  // min(ssthresh, flight + MSS)
  for (int i = 0; i < 4; ++i) cc.on_ack(1000);
  CHECK(cc.cwnd() == 10'000);  // slow start up to ssthresh
  cc.on_ack(5000);
  CHECK(cc.cwnd() == 10'000);  // avoidance: half a window acknowledged adds nothing yet
  cc.on_ack(5000);             // a whole window: +1 MSS
  CHECK(cc.cwnd() == 11'000);
  cc.on_timeout(8000);
  CHECK(cc.cwnd() == 1000);
  CHECK(cc.ssthresh() == 4000);
  CHECK(known_congestion_control("newreno"));
  CHECK_FALSE(known_congestion_control("cubic"));
}
