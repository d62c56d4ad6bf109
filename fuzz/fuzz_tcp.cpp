// libFuzzer: a TCP engine fed any segments a peer may send. The input is
// a script: each step is a length byte, a flag byte and that many bytes
// of TCP segment; the flag's low bit fixes the segment's checksum (so the
// fuzzer gets past it), the next bits advance the clock. The engine holds
// a listener, and a connection of its own that the script can hit. It
// must never fault, loop forever, touch memory outside its fifos or leave
// a timer for a freed connection (ASan, UBSan and the checks below).
#include "dataplane/tcp/engine.hpp"
#include "dataplane/tcp/segment.hpp"
#include "shm/fifo_segment.hpp"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <vector>

using namespace actorstack;

namespace {

constexpr std::uint32_t us_ip = 0x0a000001, peer_ip = 0x0a000002;

struct null_wire : tcp::wire {
  std::vector<std::byte> buf;
  std::span<std::byte> begin_segment(std::size_t n) override {
    buf.resize(n);
    return buf;
  }
  void end_segment(std::uint32_t, std::uint32_t, std::size_t) override {}
};

struct fifo_app : tcp::app_side {
  shm::fifo_segment seg = shm::fifo_segment::create("fuzz-tcp", 8u << 20).value();
  std::map<std::uint64_t, shm::fifo_pair> live;  // by key(conn_id)
  static std::uint64_t key(tcp::conn_id id) { return std::uint64_t{id.index} << 32 | id.generation; }
  std::optional<tcp::session_fifos> established(const tcp::established_info& i) override {
    auto p = seg.alloc_fifo_pair(16384, 16384);
    if (!p) return std::nullopt;
    if (!live.emplace(key(i.id), *p).second) std::abort();  // a conn_id established twice
    return tcp::session_fifos{p->rx, p->tx};
  }
  void connect_failed(std::uint64_t, errc) override {}
  void readable(tcp::conn_id id) override {
    // The app reads everything at once.
    std::vector<std::byte> b(16384);
    auto it = live.find(key(id));
    if (it == live.end()) std::abort();  // an event for a session that is gone
    while (it->second.rx.dequeue(b)) {
    }
  }
  void writable(tcp::conn_id, std::uint32_t) override {}
  void peer_closed(tcp::conn_id) override {}
  void reset(tcp::conn_id id, errc) override { release(id); }
  void released(tcp::conn_id id) override { release(id); }
  void release(tcp::conn_id id) {
    auto it = live.find(key(id));
    if (it == live.end()) std::abort();  // an event for a session that is gone
    seg.free_fifo(it->second.rx);
    seg.free_fifo(it->second.tx);
    live.erase(it);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  null_wire w;
  fifo_app app;
  std::uint64_t now = 0;
  tcp::engine eng(tcp::config{}, app, w, tcp::isn_generator(1, 2), now);
  (void)eng.listen(us_ip, 80, 1, 16384);
  (void)eng.connect(tcp::four_tuple{us_ip, peer_ip, 40000, 80}, 2, 16384, now);
  std::size_t i = 0;
  while (i + 2 <= size) {
    const std::size_t len = data[i];
    const std::uint8_t flag = data[i + 1];
    i += 2;
    if (i + len > size) break;
    std::vector<std::byte> seg(reinterpret_cast<const std::byte*>(data + i),
                               reinterpret_cast<const std::byte*>(data + i + len));
    i += len;
    if ((flag & 1) && seg.size() >= tcp::header_size) tcp::finish_checksum(seg, peer_ip, us_ip);
    now += static_cast<std::uint64_t>(flag >> 1) * 50'000;  // up to 6 s per step: timers fire
    eng.input(seg, peer_ip, us_ip, now);
    eng.flush(now);
    eng.advance(now);
  }
  // Run the clock out: every connection ends (retries, FIN-WAIT-2 and
  // TIME-WAIT timers), and nothing stays armed.
  for (int k = 0; k < 400; ++k) {
    now += 1'000'000;
    eng.advance(now);
  }
  if (eng.connection_count() != 0 && eng.timers_armed() == 0) std::abort();  // a connection nothing will ever end
  return 0;
}
