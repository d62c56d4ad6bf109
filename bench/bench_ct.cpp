// actorstack-bench-ct: the stack over cut-through, with kernel baselines
// measured in the same run.
//
//   throughput     one client/server pair, --bytes (4 GiB), 64 KiB writes,
//                  1 MiB fifos, Gbit/s; baseline: a Unix stream socketpair,
//                  same writes, two threads.
//   connects       --connects (100 000) open + accept + close with 8 clients
//                  in flight, connects/s; baseline: kernel TCP on 127.0.0.1,
//                  same concurrency.
//   session_bytes  private memory (RssAnon) per established idle session
//                  pair at --pairs (100 000); the fifos live in shared
//                  segments and are not counted (no baseline).
//
//   actorstack-bench-ct [--bytes N] [--connects N] [--pairs N] [--reps R] [--only CASE]
//                       [--profile]   (the stack's side only, no baselines: for perf)
//
// ACTORSTACK_BENCH_SAMPLES=1 prints every repetition's pair to stderr.

#include "tools/cli/cli.hpp"
#include "bench/bench_report.hpp"
#include "bench/child_process.hpp"
#include "bench/two_process.hpp"

#include <actorstack/stack.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;
using namespace actorstack::bench;
using clock_type = std::chrono::steady_clock;

namespace {

struct latch {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  void set() {
    std::lock_guard l{mu};
    done = true;
    cv.notify_all();
  }
  bool wait(std::chrono::seconds d) {
    std::unique_lock l{mu};
    return cv.wait_for(l, d, [&] { return done; });
  }
};

// ---- throughput ---------------------------------------------------------------

struct sink_server : app_handler {
  std::uint64_t target;
  std::atomic<std::uint64_t>* got;
  latch* done;
  // Reads 64 KiB at a time, like the baseline's reader. A 1 MiB buffer
  // pushed the copy's working set (fifo plus buffer) past a 1 MiB L2 and
  // cost ~12% here: a cost of the benchmark's reader, not of the stack.
  std::vector<std::byte> buf = std::vector<std::byte>(65536);
  void on_rx(session& s) override {
    for (;;) {
      auto n = s.read(buf);
      if (!n || *n == 0) break;
      if (got->fetch_add(*n) + *n >= target) done->set();
    }
  }
};

struct blast_client : app_handler {
  std::uint64_t total;
  std::size_t write;
  std::uint64_t sent = 0;
  std::vector<std::byte> buf;
  blast_client(std::uint64_t t, std::size_t w) : total(t), write(w), buf(w, std::byte{0x42}) {}
  bool on_connected(session& s, std::uint64_t) override {
    pump(s);
    return true;
  }
  void on_tx(session& s) override { pump(s); }
  void pump(session& s) {
    while (sent < total) {
      const std::size_t n = std::min<std::uint64_t>(write, total - sent);
      auto r = s.write({buf.data(), n});
      if (!r || *r < n) {
        if (r) sent += *r;
        s.notify_on_space();
        if (s.max_write() == 0) return;
        continue;
      }
      sent += *r;
    }
  }
};

double ct_gbps(std::uint64_t bytes, std::size_t write, std::uint32_t fifo) {
  stack_config cfg;
  cfg.workers = 1;
  cfg.rx_fifo_size = cfg.tx_fifo_size = fifo;
  std::atomic<std::uint64_t> got{0};  // outlive the stack: handlers use them
  latch done;
  auto st = stack::create(cfg);
  if (!st) std::abort();
  auto server = (*st)->attach({}, [&](std::uint32_t) {
    auto h = std::make_unique<sink_server>();
    h->target = bytes;
    h->got = &got;
    h->done = &done;
    return h;
  });
  auto client = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<blast_client>(bytes, write); });
  const auto ep = *parse_uri("ct://127.0.0.1/5000");
  if (!(*server)->listen(ep)) std::abort();
  const auto t0 = clock_type::now();
  if (!(*client)->connect(ep, 0)) std::abort();
  if (!done.wait(std::chrono::seconds(300))) std::abort();
  return static_cast<double>(bytes) * 8 / seconds_since(t0) / 1e9;
}

double uds_gbps(std::uint64_t bytes, std::size_t write) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) std::abort();
  std::thread writer([&] {
    std::vector<char> buf(write, 'x');
    std::uint64_t sent = 0;
    while (sent < bytes) {
      const auto n = ::write(sv[0], buf.data(), std::min<std::uint64_t>(write, bytes - sent));
      if (n <= 0) break;
      sent += static_cast<std::uint64_t>(n);
    }
  });
  std::vector<char> buf(write);
  std::uint64_t got = 0;
  const auto t0 = clock_type::now();
  while (got < bytes) {
    const auto n = ::read(sv[1], buf.data(), buf.size());
    if (n <= 0) break;
    got += static_cast<std::uint64_t>(n);
  }
  const double s = seconds_since(t0);
  writer.join();
  ::close(sv[0]);
  ::close(sv[1]);
  return static_cast<double>(got) * 8 / s / 1e9;
}

// ---- connects -------------------------------------------------------------------

struct closing_server : app_handler {
  void on_close(session& s) override { (void)s.close(); }
};

// Each connected session is closed at once; each cleanup starts the next
// connect from inside the handler (connect_async), so `inflight` are in
// flight at any time, like 8 concurrent clients.
struct churn_client : app_handler {
  std::atomic<std::uint64_t>* completed;
  std::atomic<std::uint64_t>* issued;
  std::uint64_t target;
  latch* done;
  application* app = nullptr;
  endpoint ep;
  bool on_connected(session& s, std::uint64_t) override {
    (void)s.close();
    return true;
  }
  void on_connect_failed(std::uint64_t, errc) override { std::abort(); }
  void on_cleanup(session_handle, bool transport_only) override {
    if (transport_only) return;
    if (completed->fetch_add(1) + 1 == target) done->set();
    const std::uint64_t i = issued->fetch_add(1);
    if (i < target) (void)app->connect_async(ep, i);
  }
};

double ct_connects(std::uint64_t n, unsigned inflight) {
  stack_config cfg;
  cfg.rx_fifo_size = cfg.tx_fifo_size = 4096;
  std::atomic<std::uint64_t> completed{0};  // outlive the stack: handlers use them
  std::atomic<std::uint64_t> issued{0};
  latch done;
  auto st = stack::create(cfg);
  if (!st) std::abort();
  const auto ep = *parse_uri("ct://127.0.0.1/5001");
  churn_client* handler = nullptr;
  auto server = (*st)->attach({}, [](std::uint32_t) { return std::make_unique<closing_server>(); });
  auto client = (*st)->attach({}, [&](std::uint32_t) {
    auto h = std::make_unique<churn_client>();
    h->completed = &completed;
    h->issued = &issued;
    h->target = n;
    h->done = &done;
    h->ep = ep;
    handler = h.get();
    return h;
  });
  handler->app = client->get();  // before any connect: no handler call yet
  if (!(*server)->listen(ep)) std::abort();
  const auto t0 = clock_type::now();
  for (unsigned d = 0; d < inflight; ++d) (void)(*client)->connect_async(ep, issued.fetch_add(1));
  if (!done.wait(std::chrono::seconds(120))) {
    auto c = (*st)->counters();
    std::fprintf(stderr,
                 "connects stalled: completed %llu of %llu; sessions %llu ct %llu half-opens %llu "
                 "accepts %llu connects %llu refusals %llu\n",
                 (unsigned long long)completed.load(), (unsigned long long)n,
                 c ? (unsigned long long)c->sessions : 0ull, c ? (unsigned long long)c->ct_connections : 0ull,
                 c ? (unsigned long long)c->half_opens : 0ull, c ? (unsigned long long)c->accepts : 0ull,
                 c ? (unsigned long long)c->connects : 0ull, c ? (unsigned long long)c->refusals : 0ull);
    std::abort();
  }
  return static_cast<double>(n) / seconds_since(t0);
}

double tcp_connects(std::uint64_t n, unsigned inflight) {
  const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 1024) != 0) std::abort();
  socklen_t len = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  // Accepts until the listener is shut down: a connection reset while it
  // waits in the accept queue may never be returned, so "exactly n
  // accepts" could wait forever.
  std::thread acceptor([&] {
    for (;;) {
      const int c = ::accept(lfd, nullptr, nullptr);
      if (c >= 0) {
        ::close(c);
      } else if (errno != EINTR && errno != ECONNABORTED) {
        return;
      }
    }
  });
  std::atomic<std::uint64_t> issued{0};
  const auto t0 = clock_type::now();
  std::vector<std::thread> clients;
  for (unsigned d = 0; d < inflight; ++d)
    clients.emplace_back([&] {
      while (issued.fetch_add(1) < n) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        linger lg{1, 0};  // RST on close: no TIME_WAIT exhausting ports
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
        ::close(fd);
      }
    });
  for (auto& t : clients) t.join();
  const double s = seconds_since(t0);
  ::shutdown(lfd, SHUT_RDWR);  // wakes the acceptor
  acceptor.join();
  ::close(lfd);
  return static_cast<double>(n) / s;
}

// ---- memory per session pair ------------------------------------------------------

// One resident-memory line of /proc/self/status ("RssAnon:", "RssShmem:"), in bytes.
std::uint64_t rss_bytes(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(key.size())) * 1024;
  return 0;
}

struct idle_client : app_handler {
  std::atomic<std::uint64_t>* up;
  bool on_connected(session&, std::uint64_t) override {
    up->fetch_add(1);
    return true;
  }
};

double session_bytes(std::uint64_t pairs) {
  stack_config cfg;
  cfg.rx_fifo_size = cfg.tx_fifo_size = 4096;
  std::atomic<std::uint64_t> up{0};  // outlives the stack: handlers use it
  auto st = stack::create(cfg);
  if (!st) std::abort();
  auto server = (*st)->attach({}, [](std::uint32_t) { return std::make_unique<app_handler>(); });
  auto client = (*st)->attach({}, [&](std::uint32_t) {
    auto h = std::make_unique<idle_client>();
    h->up = &up;
    return h;
  });
  const auto ep = *parse_uri("ct://127.0.0.1/5002");
  if (!(*server)->listen(ep)) std::abort();
  // Warm up: the first pairs map segments and grow pools.
  for (int i = 0; i < 100; ++i) (void)(*client)->connect(ep, i);
  while (up.load() < 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The fifos live in memfd segments (RssShmem); everything else a pair
  // costs is private memory (RssAnon): fifos excluded, as the target says,
  // by where they are rather than by an estimate of their size.
  const std::uint64_t anon0 = rss_bytes("RssAnon:");
  const std::uint64_t shmem0 = rss_bytes("RssShmem:");
  for (std::uint64_t i = 0; i < pairs; ++i) (void)(*client)->connect(ep, i);
  while (up.load() < pairs + 100) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::uint64_t anon1 = rss_bytes("RssAnon:");
  const std::uint64_t shmem1 = rss_bytes("RssShmem:");
  std::fprintf(stderr, "session_bytes: %.0f bytes of fifo segment per pair (not counted)\n",
               static_cast<double>(shmem1 - shmem0) / static_cast<double>(pairs));
  return static_cast<double>(anon1 - anon0) / static_cast<double>(pairs);
}

}  // namespace

int main(int argc, char** argv) {
  // This binary also plays the two apps of throughput_2proc.
  if (const int rc = two_process_role(argc, argv); rc >= 0) return rc;
  std::uint64_t bytes = 4ull << 30;
  std::uint64_t connects = 100'000;
  std::uint64_t pairs = 100'000;
  int reps = 3;
  std::string only;
  bool profile = false;
  CLI::App app{"Cut-through against the kernel, alternated in the same run: throughput (vs a Unix stream\n"
               "socket), connects/s (vs TCP loopback), bytes per idle session pair, throughput between two\n"
               "attached processes. One JSON line per case: the stack's median, the baseline's, the ratio.",
               "actorstack-bench-ct"};
  app.option_defaults()->always_capture_default();
  cli::add_size(app, "--bytes", bytes, "Bytes per throughput run", 1);
  app.add_option("--connects", connects, "Connects per connects run")->check(CLI::PositiveNumber);
  app.add_option("--pairs", pairs, "Idle session pairs for session_bytes")->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "Repetitions of each side; the medians are printed")->check(CLI::PositiveNumber);
  app.add_option("--only", only, "Run one case")
      ->check(CLI::IsMember({"throughput", "connects", "session_bytes", "throughput_2proc"}));
  app.add_flag("--profile", profile, "The stack's side only, no baselines (to run under perf)");
  cli::add_standard(app, "  0  every case ran (one JSON object per case on stdout)\n"
                         "  1  a case could not run\n"
                         "  2  bad command line\n");
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  if (only.empty() || only == "throughput") {
    const auto [v, b] = paired_medians(
        reps, [&] { return ct_gbps(bytes, 65536, 1u << 20); }, [&] { return uds_gbps(bytes, 65536); }, !profile);
    report("ct", "throughput", v, "Gbit/s", b, "unix_stream_socketpair");
  }
  if (only.empty() || only == "connects") {
    const auto [v, b] = paired_medians(
        reps, [&] { return ct_connects(connects, 8); }, [&] { return tcp_connects(connects, 8); }, !profile);
    report("ct", "connects", v, "connects/s", b, "kernel_tcp_loopback");
  }
  if (only.empty() || only == "session_bytes") {
    report("ct", "session_bytes", session_bytes(pairs), "bytes/pair", 0, "none");
  }
  if (only.empty() || only == "throughput_2proc") {
    two_process_settings tp;
    tp.bytes = bytes;
    tp.self = sibling("bench", "actorstack-bench-ct");
    tp.stackd = sibling("tools", "actorstack-stackd");
    const auto [v, b] = paired_medians(
        reps, [&] { return stack_two_process(tp); }, [&] { return unix_two_process(tp); }, !profile);
    report("ct", "throughput_2proc", v, "Gbit/s", b, "unix_stream_socket_2proc");
  }
  return 0;
}
