#pragma once
// Drives TCP engines without DPDK: a wire that keeps what an engine sends,
// an app side that hands out fifos from a private segment and records
// what it hears, a scripted clock, and a network of two engines whose
// segments a test can drop, keep or reorder by a seeded rule.

#include "dataplane/tcp/engine.hpp"
#include "dataplane/tcp/segment.hpp"
#include "shm/fifo_segment.hpp"
#include "tests/xorshift.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace actorstack::test::tcp_harness {

namespace tcp = actorstack::tcp;

struct frame {
  std::uint32_t src_ip = 0;
  std::uint32_t dst_ip = 0;
  std::vector<std::byte> bytes;

  tcp::segment parsed() const {
    tcp::segment s;
    REQUIRE(tcp::parse(bytes, src_ip, dst_ip, s) == tcp::parse_status::ok);
    return s;
  }
};

struct capture_wire : tcp::wire {
  std::deque<frame> sent;
  std::vector<std::byte> buf;
  bool full = false;  // tests: no room for a segment
  std::span<std::byte> begin_segment(std::size_t n) override {
    if (full) return {};
    buf.assign(n, std::byte{0});
    return buf;
  }
  void end_segment(std::uint32_t src, std::uint32_t dst, std::size_t n) override {
    sent.push_back(frame{src, dst, std::vector<std::byte>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n))});
  }
  frame pop() {
    REQUIRE(!sent.empty());
    frame f = std::move(sent.front());
    sent.pop_front();
    return f;
  }
};

// The session side: fifos of `fifo_size` from one private segment; every
// event recorded as text ("established 7", "reset 1 reset"…).
struct recording_app : tcp::app_side {
  shm::fifo_segment seg;
  std::uint32_t fifo_size;
  std::uint64_t next_session = 1;
  bool refuse = false;
  std::vector<std::string> events;
  std::map<std::uint64_t, shm::fifo_pair> fifos;  // by session
  std::map<std::uint64_t, tcp::conn_id> conns;    // by session
  std::map<std::uint64_t, std::uint64_t> by_conn;  // session by key(conn_id)
  std::map<std::uint64_t, errc> failed_connects;  // by cookie
  std::map<std::uint64_t, std::vector<tcp::state>> states;  // state_changed, by session

  explicit recording_app(std::uint32_t fifo_size_ = 256 * 1024)
      : seg(shm::fifo_segment::create("tcp-test", 64u << 20).value()), fifo_size(fifo_size_) {}

  std::optional<tcp::session_fifos> established(const tcp::established_info& i) override {
    if (refuse) return std::nullopt;
    auto p = seg.alloc_fifo_pair(fifo_size, fifo_size);
    REQUIRE(p);
    const std::uint64_t s = next_session++;
    fifos[s] = *p;
    conns[s] = i.id;
    events.push_back("established " + std::to_string(s) + (i.passive ? " passive" : " active"));
    by_conn[key(i.id)] = s;
    return tcp::session_fifos{p->rx, p->tx};
  }
  void connect_failed(std::uint64_t cookie, errc why) override {
    failed_connects[cookie] = why;
    events.push_back("connect_failed " + std::string(to_string(why)));
  }
  // The engine names an established connection by its conn_id; these
  // tests by the session number established() handed out.
  static std::uint64_t key(tcp::conn_id id) { return std::uint64_t{id.index} << 32 | id.generation; }
  std::uint64_t session_of(tcp::conn_id id) const {
    auto it = by_conn.find(key(id));
    REQUIRE(it != by_conn.end());  // only a connection that was established is ever named
    return it->second;
  }
  void readable(tcp::conn_id id) override { (void)session_of(id); }
  void writable(tcp::conn_id id, std::uint32_t) override { (void)session_of(id); }
  void peer_closed(tcp::conn_id id) override { events.push_back("peer_closed " + std::to_string(session_of(id))); }
  void reset(tcp::conn_id id, errc why) override {
    const std::uint64_t s = session_of(id);
    events.push_back("reset " + std::to_string(s) + " " + std::string(to_string(why)));
    free(s);
  }
  void released(tcp::conn_id id) override {
    const std::uint64_t s = session_of(id);
    events.push_back("released " + std::to_string(s));
    free(s);
  }
  void state_changed(tcp::conn_id id, tcp::state now) override {
    const std::uint64_t s = session_of(id);
    // Only while the session holds the connection (established .. released/reset).
    CHECK(fifos.count(s) == 1);
    states[s].push_back(now);
  }
  void free(std::uint64_t s) {
    auto it = fifos.find(s);
    if (it == fifos.end()) return;
    seg.free_fifo(it->second.rx);
    seg.free_fifo(it->second.tx);
    fifos.erase(it);
  }
  bool heard(const std::string& e) const {
    for (const auto& x : events)
      if (x == e) return true;
    return false;
  }
  bool heard_prefix(const std::string& p) const {
    for (const auto& x : events)
      if (x.rfind(p, 0) == 0) return true;
    return false;
  }
};

inline constexpr std::uint32_t ip_a = 0x0a000001;  // 10.0.0.1
inline constexpr std::uint32_t ip_b = 0x0a000002;  // 10.0.0.2

// One engine with its wire and app side.
struct host {
  capture_wire wire;
  recording_app app;
  tcp::engine eng;
  host(const tcp::config& cfg, std::uint64_t key, std::uint32_t fifo_size = 256 * 1024)
      : app(fifo_size), eng(cfg, app, wire, tcp::isn_generator(key, key * 7 + 1), 0) {}
};

// Two engines on one wire_link. Every frame passes `filter` (true: deliver);
// `now` advances only when a test says so.
struct wire_link {
  host a;
  host b;
  std::uint64_t now = 0;
  std::function<bool(const frame&, bool a_to_b)> filter;
  std::uint64_t delivered = 0, dropped = 0;

  explicit wire_link(const tcp::config& cfg = {}, std::uint32_t fifo_size = 256 * 1024)
      : a(cfg, 11, fifo_size), b(cfg, 22, fifo_size) {}
  wire_link(const tcp::config& ca, const tcp::config& cb, std::uint32_t fifo_size = 256 * 1024)
      : a(ca, 11, fifo_size), b(cb, 22, fifo_size) {}

  // Moves what both sent until both are quiet (bounded).
  void pump(int rounds = 100000) {
    for (int r = 0; r < rounds; ++r) {
      if (a.wire.sent.empty() && b.wire.sent.empty()) return;
      move(a, b, true);
      move(b, a, false);
    }
    FAIL("wire_link did not settle");
  }
  void move(host& from, host& to, bool a_to_b) {
    std::deque<frame> batch;
    batch.swap(from.wire.sent);
    for (auto& f : batch) {
      if (filter && !filter(f, a_to_b)) {
        ++dropped;
        continue;
      }
      ++delivered;
      to.eng.input(f.bytes, f.src_ip, f.dst_ip, now);
    }
    to.eng.flush(now);
  }
  void tick(std::uint64_t us) {
    now += us;
    a.eng.advance(now);
    b.eng.advance(now);
  }
};

inline std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = std::byte(x & 0xff);
  }
  return v;
}

// A segment as a scripted peer would send it.
inline frame craft(std::uint32_t src_ip, std::uint32_t dst_ip, const tcp::header_fields& h,
                   const tcp::options& o = {}, std::span<const std::byte> payload = {}) {
  frame f{src_ip, dst_ip, {}};
  const std::size_t hlen = tcp::header_size + tcp::options_size(o);
  f.bytes.resize(hlen + payload.size());
  tcp::write_header(f.bytes, h, o);
  std::copy(payload.begin(), payload.end(), f.bytes.begin() + static_cast<std::ptrdiff_t>(hlen));
  tcp::finish_checksum(f.bytes, src_ip, dst_ip);
  return f;
}

}  // namespace actorstack::test::tcp_harness
