// actorstack-echo: an echo server and N echo clients in one process, talking
// through the stack over cut-through (like VPP's builtin echo apps). Every
// byte is checked when --verify is on (the default with no arguments);
// afterwards every session, fifo and segment must be gone.
//
//   actorstack-echo [--uri ct://IP/PORT] [--clients N] [--bytes B] [--fifo-size S]
//                   [--workers W] [--verify|--no-verify] [--json]
//                   [--inspect-port P] [--metrics-port Q] [--hold SECONDS]
//   actorstack-echo --uri udp://IP/PORT --role server|client --port VDEV --ip ADDR/PREFIX
//                   [--gateway IP] [--datagram-size B] [--window N] [--poll-mode busy|adaptive]
//                   [--lcores L] [--clients N] [--bytes B] [--verify] [--json]
//
// Over udp:// the data plane (DPDK) carries the datagrams: the server
// echoes until SIGINT/SIGTERM, then prints its counters; the client sends
// --bytes per client in datagrams, verifies every echoed byte and reports
// loss (see udp_echo.cpp).
//
// --inspect-port publishes the stack's inspector for actorstack-ctl on
// 127.0.0.1:P (0: any free port; the port is printed on stderr).
// --metrics-port serves Prometheus metrics on 127.0.0.1:Q/metrics.
// --hold keeps the verified client sessions open for that long (or until
// SIGINT/SIGTERM) so they can be inspected, then detaches the clients.

#include "demo/echo_options.hpp"

#include <actorstack/stack.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;
using clock_type = std::chrono::steady_clock;

namespace {

using echo::options;
using echo::pattern;

// SIGINT/SIGTERM end a --hold early.
std::atomic<bool> interrupted{false};
extern "C" void on_signal(int) { interrupted.store(true); }

struct shared_state {
  options opt;
  std::atomic<std::uint64_t> connected{0};
  std::atomic<std::uint64_t> finished{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> verify_errors{0};
  std::atomic<std::uint64_t> bytes_echoed{0};
  std::atomic<std::uint64_t> bytes_progress{0};  // echoed so far, all clients
  std::atomic<std::int64_t> last_connect_ns{0};
  std::mutex mu;
  std::condition_variable cv;
  void done_one() {
    std::lock_guard lock{mu};
    cv.notify_all();
  }
};

// Echoes what it reads, never reading more than it can write back; when
// its tx is full it asks for a dequeue notification and resumes on_tx.
class echo_server final : public app_handler {
 public:
  void on_rx(session& s) override { pump(s); }
  void on_tx(session& s) override { pump(s); }

 private:
  void pump(session& s) {
    for (;;) {
      const std::size_t n = std::min({s.max_read(), s.max_write(), buf_.size()});
      if (n == 0) {
        if (s.max_read() == 0) return;
        s.notify_on_space();
        if (s.max_write() == 0) return;  // re-checked: the reader may have been quick
        continue;
      }
      auto r = s.read({buf_.data(), n});
      if (!r) return;
      (void)s.write({buf_.data(), *r});
    }
  }
  std::vector<std::byte> buf_ = std::vector<std::byte>(256 * 1024);
};

class echo_client final : public app_handler {
 public:
  explicit echo_client(shared_state& st) : st_(st) {}

  bool on_connected(session& s, std::uint64_t opaque) override {
    s.user_data = opaque;
    progress_.resize(std::max<std::size_t>(progress_.size(), opaque + 1));
    st_.connected.fetch_add(1);
    st_.last_connect_ns.store(clock_type::now().time_since_epoch().count());
    send(s);
    return true;
  }
  void on_connect_failed(std::uint64_t, errc why) override {
    std::fprintf(stderr, "connect failed: %s\n", std::string{to_string(why)}.c_str());
    st_.failed.fetch_add(1);
    st_.done_one();
  }
  void on_tx(session& s) override { send(s); }
  void on_rx(session& s) override {
    auto& p = progress_[s.user_data];
    for (;;) {
      auto r = s.read(buf_);
      if (!r || *r == 0) break;
      if (st_.opt.verify) {
        for (std::size_t i = 0; i < *r; ++i)
          if (buf_[i] != pattern(s.user_data, p.received + i)) {
            st_.verify_errors.fetch_add(1);
            break;
          }
      }
      p.received += *r;
      st_.bytes_progress.fetch_add(*r, std::memory_order_relaxed);
    }
    if (p.received >= st_.opt.bytes && !p.closed) {
      p.closed = true;
      st_.bytes_echoed.fetch_add(p.received);
      if (st_.opt.hold_s == 0) (void)s.close();  // held sessions go with the app's detach
      st_.finished.fetch_add(1);
      st_.done_one();
    }
  }
  void on_close(session& s) override { (void)s.close(); }

 private:
  struct progress {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    bool closed = false;
  };
  void send(session& s) {
    auto& p = progress_[s.user_data];
    while (p.sent < st_.opt.bytes) {
      const std::size_t want = std::min<std::uint64_t>({st_.opt.bytes - p.sent, buf_.size(), s.max_write()});
      if (want == 0) {
        s.notify_on_space();
        if (s.max_write() == 0) return;
        continue;
      }
      for (std::size_t i = 0; i < want; ++i) buf_[i] = pattern(s.user_data, p.sent + i);
      auto r = s.write({buf_.data(), want});
      if (!r) return;
      p.sent += *r;
    }
  }
  shared_state& st_;
  std::vector<progress> progress_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(256 * 1024);
};

template <class T>
bool parse_number(const char* text, T& out) {
  std::string_view s{text};
  std::uint64_t mult = 1;
  if (!s.empty() && (s.back() == 'k' || s.back() == 'K')) mult = 1ull << 10;
  if (!s.empty() && (s.back() == 'm' || s.back() == 'M')) mult = 1ull << 20;
  if (!s.empty() && (s.back() == 'g' || s.back() == 'G')) mult = 1ull << 30;
  if (mult != 1) s.remove_suffix(1);
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return false;
  out = static_cast<T>(v * mult);
  return static_cast<std::uint64_t>(out) == v * mult;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "actorstack-echo: %s\nusage: actorstack-echo [--uri ct://IP/PORT] [--clients N] "
               "[--bytes B] [--fifo-size S] [--workers W] [--verify|--no-verify] [--json]\n"
               "                       [--inspect-port P] [--metrics-port Q] [--hold SECONDS]\n"
               "       actorstack-echo --uri udp://IP/PORT --role server|client --port VDEV --ip ADDR/PREFIX\n"
               "                       [--gateway IP] [--datagram-size B] [--window N]\n"
               "                       [--poll-mode busy|adaptive] [--cores C] [--lcores L] [--clients N] [--bytes B]\n"
               "                       [--json]\n"
               "       actorstack-echo --attach SOCKET --role server|client [--uri ct://IP/PORT]\n"
               "                       [--clients N] [--bytes B] [--fifo-size S] [--verify|--no-verify] [--json]\n"
               "                       [--workers W]  (server: W app workers, one thread each)\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](auto& out) {
      if (i + 1 >= argc || !parse_number(argv[i + 1], out)) return false;
      ++i;
      return true;
    };
    if (a == "--uri" && i + 1 < argc) opt.uri = argv[++i];
    else if (a == "--clients") { if (!value(opt.clients) || opt.clients == 0) return usage("--clients needs a positive number"); }
    else if (a == "--bytes") { if (!value(opt.bytes) || opt.bytes == 0) return usage("--bytes needs a positive size"); }
    else if (a == "--fifo-size") { if (!value(opt.fifo_size)) return usage("--fifo-size needs a size"); }
    else if (a == "--workers") { if (!value(opt.workers)) return usage("--workers needs a number"); }
    else if (a == "--verify") opt.verify = true;
    else if (a == "--no-verify") opt.verify = false;
    else if (a == "--json") opt.json = true;
    else if (a == "--inspect-port") {
      std::uint32_t port = 0;
      if (!value(port) || port > 65535) return usage("--inspect-port needs a port number (0: any)");
      opt.inspect_port = static_cast<int>(port);
    }
    else if (a == "--metrics-port") {
      std::uint32_t port = 0;
      if (!value(port) || port > 65535) return usage("--metrics-port needs a port number (0: any)");
      opt.metrics_port = static_cast<int>(port);
    }
    else if (a == "--hold") { if (!value(opt.hold_s)) return usage("--hold needs seconds"); }
    else if (a == "--role" && i + 1 < argc) opt.role = argv[++i];
    else if (a == "--port" && i + 1 < argc) opt.port = argv[++i];
    else if (a == "--ip" && i + 1 < argc) opt.ip = argv[++i];
    else if (a == "--gateway" && i + 1 < argc) opt.gateway = argv[++i];
    else if (a == "--poll-mode" && i + 1 < argc) opt.poll_mode = argv[++i];
    else if (a == "--lcores" && i + 1 < argc) opt.lcores = argv[++i];
    else if (a == "--cores") { if (!value(opt.cores) || opt.cores == 0) return usage("--cores needs a positive number"); }
    else if (a == "--attach" && i + 1 < argc) opt.attach = argv[++i];
    else if (a == "--datagram-size") {
      if (!value(opt.datagram_size) || opt.datagram_size < 16 || opt.datagram_size > max_datagram_payload)
        return usage("--datagram-size needs 16 .. 1472 bytes");
    }
    else if (a == "--window") { if (!value(opt.window) || opt.window == 0) return usage("--window needs a positive number"); }
    else return usage(("unknown option " + a).c_str());
  }
  auto ep = parse_uri(opt.uri);
  if (!ep) return usage(ep.error().message().c_str());
  if (ep->proto == transport_proto::udp) {
    if (opt.role != "server" && opt.role != "client") return usage("udp:// needs --role server or --role client");
    if (opt.port.empty() || opt.ip.empty()) return usage("udp:// needs --port VDEV and --ip ADDR/PREFIX");
    return echo::run_udp(opt, *ep);
  }
  if (ep->proto != transport_proto::ct) return usage("the echo demo speaks ct:// and udp://");
  if (!opt.attach.empty()) {
    if (opt.role != "server" && opt.role != "client") return usage("--attach needs --role server or --role client");
    return echo::run_attached(opt);
  }

  stack_config cfg;
  cfg.workers = opt.workers;
  cfg.rx_fifo_size = cfg.tx_fifo_size = opt.fifo_size;
  cfg.max_fifo_size = std::max(cfg.max_fifo_size, opt.fifo_size);
  // Declared before the stack: handlers reference it until the stack stops.
  shared_state shared;
  shared.opt = opt;
  auto st = stack::create(cfg);
  if (!st) return usage(st.error().message().c_str());

  auto server = (*st)->attach({.name = "echo-server"}, [](std::uint32_t) { return std::make_unique<echo_server>(); });
  auto client = (*st)->attach({.name = "echo-client"},
                              [&](std::uint32_t) { return std::make_unique<echo_client>(shared); });
  if (!server || !client) {
    std::fprintf(stderr, "attach failed\n");
    return 1;
  }
  if (opt.inspect_port >= 0) {
    auto port = (*st)->publish_inspector(static_cast<std::uint16_t>(opt.inspect_port));
    if (!port) {
      std::fprintf(stderr, "actorstack-echo: %s\n", port.error().message().c_str());
      return 1;
    }
    std::fprintf(stderr, "actorstack-echo: inspector on 127.0.0.1:%u\n", static_cast<unsigned>(*port));
  }
  if (opt.metrics_port >= 0) {
    auto port = (*st)->serve_metrics(static_cast<std::uint16_t>(opt.metrics_port));
    if (!port) {
      std::fprintf(stderr, "actorstack-echo: %s\n", port.error().message().c_str());
      return 1;
    }
    std::fprintf(stderr, "actorstack-echo: metrics on http://127.0.0.1:%u/metrics\n", static_cast<unsigned>(*port));
  }
  auto listener = (*server)->listen(*ep);
  if (!listener) {
    std::fprintf(stderr, "listen %s: %s\n", opt.uri.c_str(), listener.error().message().c_str());
    return 1;
  }

  const auto t0 = clock_type::now();
  for (std::uint32_t c = 0; c < opt.clients; ++c) {
    if (auto r = (*client)->connect(*ep, c); !r) {
      std::fprintf(stderr, "connect: %s\n", r.error().message().c_str());
      return 1;
    }
  }
  {
    // On a terminal, long runs show one progress line, redrawn in place.
    const bool progress = !opt.json && ::isatty(STDOUT_FILENO) != 0;
    const auto deadline = clock_type::now() + std::chrono::minutes(10);
    std::unique_lock lock{shared.mu};
    auto all_done = [&] { return shared.finished.load() + shared.failed.load() >= opt.clients; };
    while (!all_done() && clock_type::now() < deadline) {
      shared.cv.wait_for(lock, std::chrono::milliseconds(500), all_done);
      if (!progress || all_done()) continue;
      const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
      const auto sent = shared.bytes_progress.load();
      std::printf("\r  %llu MiB echoed, %.2f Gbit/s, %llu of %u clients done   ",
                  static_cast<unsigned long long>(sent >> 20), s > 0 ? sent * 8.0 / s / 1e9 : 0.0,
                  static_cast<unsigned long long>(shared.finished.load()), opt.clients);
      std::fflush(stdout);
    }
    if (progress) std::printf("\r%*s\r", 70, "");
    if (!all_done()) std::fprintf(stderr, "timed out waiting for the clients\n");
  }
  const double duration = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double connect_s =
      std::chrono::duration<double>(clock_type::time_point{clock_type::duration{shared.last_connect_ns.load()}} - t0).count();

  if (opt.hold_s > 0) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::fprintf(stderr, "actorstack-echo: holding %llu session(s) for %u s\n",
                 static_cast<unsigned long long>(2 * shared.finished.load()), opt.hold_s);
    const auto until = clock_type::now() + std::chrono::seconds(opt.hold_s);
    while (!interrupted.load() && clock_type::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    (void)(*client)->detach();  // resets the held sessions; the server closes its ends
  }

  // Everything must drain: poll the stack's counters until nothing is left.
  (void)(*server)->stop_listen(*listener);
  stack_counters left;
  for (int i = 0; i < 500; ++i) {
    auto c = (*st)->counters();
    if (c) left = *c;
    if (c && left.sessions == 0 && left.ct_segments == 0 && left.fifos == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  const std::uint64_t total = shared.bytes_echoed.load();
  const double gbps = duration > 0 ? total * 8.0 / duration / 1e9 : 0;
  const double cps = connect_s > 0 ? opt.clients / connect_s : 0;
  if (opt.json) {
    std::printf(
        "{\"transport\":\"ct\",\"clients\":%u,\"workers\":%u,\"bytes_total\":%llu,\"duration_s\":%.4f,"
        "\"gbps\":%.3f,\"connects_per_s\":%.1f,\"verify_errors\":%llu,\"connect_failures\":%llu,"
        "\"sessions_left\":%llu,\"segments_left\":%llu,\"fifos_left\":%llu}\n",
        opt.clients, (*st)->workers(), static_cast<unsigned long long>(total), duration, gbps, cps,
        static_cast<unsigned long long>(shared.verify_errors.load()),
        static_cast<unsigned long long>(shared.failed.load()),
        static_cast<unsigned long long>(left.sessions), static_cast<unsigned long long>(left.ct_segments),
        static_cast<unsigned long long>(left.fifos));
  } else {
    std::printf("actorstack-echo over %s: %u client(s), %u worker(s)\n", opt.uri.c_str(), opt.clients,
                (*st)->workers());
    std::printf("  echoed %llu bytes in %.3f s: %.2f Gbit/s, %.0f connects/s\n",
                static_cast<unsigned long long>(total), duration, gbps, cps);
    std::printf("  verify errors: %llu%s, connect failures: %llu\n",
                static_cast<unsigned long long>(shared.verify_errors.load()), opt.verify ? "" : " (not verified)",
                static_cast<unsigned long long>(shared.failed.load()));
    std::printf("  left after the run: %llu sessions, %llu segments, %llu fifos\n",
                static_cast<unsigned long long>(left.sessions), static_cast<unsigned long long>(left.ct_segments),
                static_cast<unsigned long long>(left.fifos));
  }
  const bool ok = shared.verify_errors.load() == 0 && shared.failed.load() == 0 &&
                  shared.finished.load() == opt.clients && left.sessions == 0 && left.ct_segments == 0 &&
                  left.fifos == 0;
  return ok ? 0 : 1;
}
