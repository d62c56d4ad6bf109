// actorstack-echo over udp://: a server that echoes every datagram until
// SIGINT/SIGTERM, or clients that each send --bytes in datagrams through a
// window and verify every echoed byte. Both run the stack on a DPDK port
// (--port, a vdev such as net_tap0,iface=as0 or net_memif0,role=...).
//
// Each datagram starts with a 16-byte tag (client, sequence) followed by
// the client's byte pattern at that datagram's stream offset, so a
// reordered, duplicated or corrupted echo is caught. UDP may lose
// datagrams: a client that hears nothing for a while counts what is in
// flight as lost and goes on, and the run fails if anything was lost.

#include "demo/dataplane_run.hpp"
#include "demo/echo_options.hpp"

#include <actorstack/stack.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;
using clock_type = std::chrono::steady_clock;

namespace echo {
namespace {


constexpr std::size_t tag_size = 16;

struct tag {
  std::uint32_t client;
  std::uint32_t reserved;
  std::uint64_t seq;
};
static_assert(sizeof(tag) == tag_size);

// ---------------------------------------------------------------------------
// server

// Echoes every datagram to its sender. When the tx fifo is full it keeps
// the one datagram in hand and resumes on_tx: the server itself never
// drops (the network and the peers' fifos still may).
class udp_echo_server final : public app_handler {
 public:
  explicit udp_echo_server(std::atomic<std::uint64_t>& echoed) : echoed_(echoed) {}
  void on_rx(session& s) override { pump(s); }
  void on_tx(session& s) override { pump(s); }

 private:
  void pump(session& s) {
    if (held_) {
      if (!echo(s, *held_)) return;
      held_.reset();
    }
    for (;;) {
      // Sent from the result itself: a copy of it (into held_) made before
      // every send had its endpoint read back with wider loads than the
      // copy's stores, a store-forwarding stall per datagram.
      auto d = s.recv_from(buf_);
      if (!d) return;
      if (!echo(s, *d)) {
        held_ = *d;
        return;
      }
    }
  }
  // Sends `d` back; false (after asking for on_tx) when the tx fifo has
  // no room for it.
  bool echo(session& s, const datagram_info& d) {
    for (;;) {
      if (s.send_to(d.remote, {buf_.data(), d.length})) {
        echoed_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
      s.notify_on_space();
      if (s.max_write() < d.length + datagram_header_size) return false;
      // room appeared meanwhile: again
    }
  }
  std::atomic<std::uint64_t>& echoed_;
  std::optional<datagram_info> held_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(max_datagram_payload);
};

int run_server(const options& opt, const endpoint& ep) {
  std::atomic<std::uint64_t> echoed{0};
  auto st = stack::create(config_of(opt));
  if (!st) {
    std::fprintf(stderr, "actorstack-echo: %s\n", st.error().message().c_str());
    return 1;
  }
  if (!expose(**st, opt)) return 1;
  auto app = (*st)->attach({.name = "udp-echo-server"},
                           [&](std::uint32_t) { return std::make_unique<udp_echo_server>(echoed); });
  if (!app) {
    std::fprintf(stderr, "attach: %s\n", app.error().message().c_str());
    return 1;
  }
  auto listener = (*app)->listen(ep);
  if (!listener) {
    std::fprintf(stderr, "listen %s: %s\n", opt.uri.c_str(), listener.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "actorstack-echo: udp server on %s (%s), until SIGINT/SIGTERM\n", opt.uri.c_str(),
               opt.port.c_str());
  while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  (void)(*app)->stop_listen(*listener);
  if (opt.json) {
    std::printf("{\"transport\":\"udp\",\"role\":\"server\",\"datagrams_echoed\":%llu",
                (unsigned long long)echoed.load());
    print_dataplane(**st, true);
    std::printf("}\n");
  } else {
    std::printf("actorstack-echo udp server on %s: echoed %llu datagrams\n", opt.uri.c_str(),
                (unsigned long long)echoed.load());
    print_dataplane(**st, false);
  }
  std::fflush(stdout);
  auto stuck = (*st)->stop();
  return stuck.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------
// client

struct client_shared {
  options opt;
  std::uint64_t datagrams_per_client = 0;
  std::uint32_t window = 64;
  std::atomic<std::uint64_t> finished{0}, failed{0}, verify_errors{0};
  std::atomic<std::uint64_t> received{0}, lost{0}, bytes{0};
  std::atomic<std::uint64_t> stall_epoch{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<session_handle> sessions;  // under mu: the main thread pokes stalled ones
};

class udp_echo_client final : public app_handler {
 public:
  explicit udp_echo_client(client_shared& sh) : sh_(sh) {}

  bool on_connected(session& s, std::uint64_t opaque) override {
    s.user_data = opaque;
    if (flows_.size() <= opaque) flows_.resize(opaque + 1);
    {
      std::lock_guard lock{sh_.mu};
      sh_.sessions.push_back(s.handle());
    }
    pump(s);
    return true;
  }
  void on_connect_failed(std::uint64_t, errc why) override {
    std::fprintf(stderr, "connect failed: %s\n", std::string{to_string(why)}.c_str());
    sh_.failed.fetch_add(1);
    sh_.cv.notify_all();
  }
  void on_tx(session& s) override { pump(s); }
  // The session moved to another worker (its datagrams arrive on another
  // data-plane core): the main thread's list names it by its new handle.
  void on_migrate(session& s, session_handle old) override {
    std::lock_guard lock{sh_.mu};
    std::replace(sh_.sessions.begin(), sh_.sessions.end(), old, s.handle());
  }
  void on_rx(session& s) override {
    flow& f = flows_[s.user_data];
    // The main thread saw no progress for a while: what is in flight is lost.
    if (const auto epoch = sh_.stall_epoch.load(); epoch != f.epoch) {
      f.epoch = epoch;
      f.lost += f.sent - f.received - f.lost;
      f.lost_below = f.sent;
    }
    for (;;) {
      auto d = s.recv_from(buf_);
      if (!d) break;
      check(s.user_data, f, *d);
    }
    pump(s);
    if (!f.done && f.received + f.lost >= sh_.datagrams_per_client) {
      f.done = true;
      sh_.received.fetch_add(f.received);
      sh_.lost.fetch_add(f.lost);
      (void)s.close();
      sh_.finished.fetch_add(1);
      sh_.cv.notify_all();
    }
  }

 private:
  struct flow {
    std::uint64_t sent = 0, received = 0, lost = 0, lost_below = 0, epoch = 0;
    bool done = false;
  };

  void check(std::uint64_t client, flow& f, const datagram_info& d) {
    tag t{};
    if (d.length < tag_size) {
      sh_.verify_errors.fetch_add(1);
      return;
    }
    std::memcpy(&t, buf_.data(), tag_size);
    const std::uint64_t size = sh_.opt.datagram_size;
    if (t.client != client || t.seq >= f.sent || d.length != size) {
      sh_.verify_errors.fetch_add(1);
      return;
    }
    if (sh_.opt.verify) {
      const std::uint64_t base = t.seq * size;
      if (!matches_pattern(client, base + tag_size, std::span{buf_}.subspan(tag_size, d.length - tag_size)))
        sh_.verify_errors.fetch_add(1);
    }
    if (t.seq < f.lost_below && f.lost > 0) --f.lost;  // late, not lost after all
    ++f.received;
    sh_.bytes.fetch_add(d.length, std::memory_order_relaxed);
  }

  void pump(session& s) {
    flow& f = flows_[s.user_data];
    const std::uint64_t size = sh_.opt.datagram_size;
    while (f.sent < sh_.datagrams_per_client && f.sent - f.received - f.lost < sh_.window) {
      const tag t{static_cast<std::uint32_t>(s.user_data), 0, f.sent};
      std::memcpy(out_.data(), &t, tag_size);
      const std::uint64_t base = f.sent * size;
      fill_pattern(s.user_data, base + tag_size, std::span{out_}.subspan(tag_size, size - tag_size));
      if (!s.write({out_.data(), size})) {
        s.notify_on_space();
        if (s.max_write() < size + datagram_header_size) return;
        continue;
      }
      ++f.sent;
    }
  }

  client_shared& sh_;
  std::vector<flow> flows_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(max_datagram_payload);
  std::vector<std::byte> out_ = std::vector<std::byte>(max_datagram_payload);
};

int run_client(const options& opt, const endpoint& ep) {
  client_shared sh;
  sh.opt = opt;
  sh.datagrams_per_client = (opt.bytes + opt.datagram_size - 1) / opt.datagram_size;
  // In flight, all clients together: at most half a fifo, so a server
  // whose one listener takes every client's datagrams (fifos of the same
  // size) never overflows its rx fifo.
  const std::uint32_t fit = static_cast<std::uint32_t>(opt.fifo_size / 2 / (opt.datagram_size + datagram_header_size) /
                                                       opt.clients);
  sh.window = opt.window != 0 ? opt.window : std::max<std::uint32_t>(1, std::min<std::uint32_t>(256, fit));
  auto st = stack::create(config_of(opt));
  if (!st) {
    std::fprintf(stderr, "actorstack-echo: %s\n", st.error().message().c_str());
    return 1;
  }
  if (!expose(**st, opt)) return 1;
  auto app = (*st)->attach({.name = "udp-echo-client"},
                           [&](std::uint32_t) { return std::make_unique<udp_echo_client>(sh); });
  if (!app) {
    std::fprintf(stderr, "attach: %s\n", app.error().message().c_str());
    return 1;
  }
  const auto t0 = clock_type::now();
  for (std::uint32_t c = 0; c < opt.clients; ++c) {
    if (auto r = (*app)->connect(ep, c); !r) {
      std::fprintf(stderr, "connect: %s\n", r.error().message().c_str());
      return 1;
    }
  }
  // Wait; whenever nothing arrived for a while, tell every client (its
  // on_rx runs) that what it has in flight is lost.
  const auto deadline = clock_type::now() + std::chrono::minutes(5);
  std::uint64_t last_bytes = 0;
  auto last_progress = clock_type::now();
  std::unique_lock lock{sh.mu};
  auto all_done = [&] { return sh.finished.load() + sh.failed.load() >= opt.clients; };
  while (!all_done() && !stop_requested() && clock_type::now() < deadline) {
    sh.cv.wait_for(lock, std::chrono::milliseconds(100), all_done);
    const auto now_bytes = sh.bytes.load();
    if (now_bytes != last_bytes) {
      last_bytes = now_bytes;
      last_progress = clock_type::now();
    } else if (clock_type::now() - last_progress > std::chrono::seconds(2)) {
      sh.stall_epoch.fetch_add(1);
      for (session_handle h : sh.sessions) (void)(*app)->notify_rx(h);
      last_progress = clock_type::now();
    }
  }
  lock.unlock();
  const double duration = std::chrono::duration<double>(clock_type::now() - t0).count();
  const bool interrupted = !all_done() && stop_requested();
  if (!all_done() && !interrupted) std::fprintf(stderr, "timed out waiting for the clients\n");
  (void)(*app)->detach();
  stack_counters left;
  for (int i = 0; i < 300; ++i) {
    auto c = (*st)->counters();
    if (c) left = *c;
    if (c && left.sessions == 0 && left.udp_connections == 0 && left.udp_segments == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::uint64_t bytes = sh.bytes.load();
  const std::uint64_t datagrams = sh.received.load();
  const double gbps = duration > 0 ? bytes * 8.0 / duration / 1e9 : 0;
  const double pps = duration > 0 ? datagrams / duration : 0;
  if (opt.json) {
    std::printf("{\"transport\":\"udp\",\"role\":\"client\",\"clients\":%u,\"workers\":%u,\"bytes_total\":%llu,"
                "\"duration_s\":%.4f,\"gbps\":%.3f,\"pps\":%.0f,\"datagram_size\":%u,\"window\":%u,"
                "\"datagrams\":%llu,\"lost\":%llu,\"verify_errors\":%llu,\"connect_failures\":%llu,"
                "\"sessions_left\":%llu,\"segments_left\":%llu,\"connections_left\":%llu,\"migrations\":%llu,"
                "\"stall_pokes\":%llu,\"interrupted\":%s",
                opt.clients, (*st)->workers(), (unsigned long long)bytes, duration, gbps, pps, opt.datagram_size,
                sh.window, (unsigned long long)datagrams, (unsigned long long)sh.lost.load(),
                (unsigned long long)sh.verify_errors.load(), (unsigned long long)sh.failed.load(),
                (unsigned long long)left.sessions, (unsigned long long)left.udp_segments,
                (unsigned long long)left.udp_connections, (unsigned long long)left.udp_migrations,
                (unsigned long long)sh.stall_epoch.load(), interrupted ? "true" : "false");
    print_dataplane(**st, true);
    std::printf("}\n");
  } else {
    std::printf("actorstack-echo udp client to %s: %u client(s), %llu datagrams of %u B%s\n", opt.uri.c_str(),
                opt.clients, (unsigned long long)datagrams, opt.datagram_size, interrupted ? ", INTERRUPTED" : "");
    std::printf("  %.3f s: %.3f Gbit/s, %.0f datagrams/s, lost %llu, verify errors %llu\n", duration, gbps, pps,
                (unsigned long long)sh.lost.load(), (unsigned long long)sh.verify_errors.load());
    print_dataplane(**st, false);
  }
  std::fflush(stdout);
  const bool ok = sh.verify_errors.load() == 0 && sh.failed.load() == 0 && sh.lost.load() == 0 &&
                  sh.finished.load() == opt.clients && left.sessions == 0 && left.udp_segments == 0 &&
                  left.udp_connections == 0;
  auto stuck = (*st)->stop();
  if (interrupted) return exit_interrupted;
  return ok && stuck.empty() ? exit_ok : exit_failed;
}

}  // namespace

int run_udp(const options& opt, const endpoint& ep) {
  return opt.role == "server" ? run_server(opt, ep) : run_client(opt, ep);
}

}  // namespace echo
