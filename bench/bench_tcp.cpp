// actorstack-bench-tcp: TCP between two stacks in two processes over
// net_memif, one data-plane core each, against kernel TCP between two
// processes in two network namespaces joined by a veth pair (MTU 1500),
// with the same sizes and concurrency, alternated in the same run. Every
// repetition starts fresh processes (a DPDK EAL starts once per process);
// medians are reported.
//
// Cases (issue: TCP):
//   bulk        one connection, --bytes (1 GiB) one way, Gbit/s: the sender
//               is done when its last byte is acknowledged (the stack: its
//               tx fifo is empty; the kernel: the receiver saw EOF)
//   rr_64_1     64-byte request, 64-byte response, 1 connection, transactions/s
//   rr_64_32    the same over 32 connections
//   cps         connect + 64-byte request/response + close (the server
//               closes first), 8 at a time, connections/s
//   conn_bytes  memory per idle established connection at --idle (10 000)
//               connections, fifos excluded: the stack server's anonymous
//               RSS growth per connection, the kernel's slab growth per
//               socket (both ends live in one kernel: divided by two)
//
// bulk, rr_64_1 and rr_64_32 print a second line against the `raw`
// baseline: a bare DPDK echo over the same memif pair on the same CPUs
// (bench/raw_echo.hpp), what the port itself can do here.
//
// The stack's sides are this program run again with --role server|client
// (the server listens on three ports: a sink, an echo, a one-request echo
// that closes).

#include "tools/cli/cli.hpp"
#include "bench/bench_report.hpp"
#include "bench/child_process.hpp"
#include "bench/placement.hpp"
#include "bench/raw_echo.hpp"
#include "base/quote.hpp"

#include <actorstack/stack.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using namespace actorstack;
using clock_type = std::chrono::steady_clock;
using bench::median;
using bench::read_file;
using bench::report;
using bench::spawn;
using bench::wait_for_text;

constexpr std::uint16_t sink_port = 9100, echo_port = 9101, once_port = 9102;
constexpr std::size_t rr_size = 64;
// The raw baseline's frames: Ethernet, IPv4 and a TCP header with the
// timestamp option (as the stacks send), and a full segment's payload.
constexpr std::size_t raw_header = 66, raw_mss = 1448;
constexpr const char* raw_name = "raw DPDK echo, same memif pair, CPUs and frames in flight";

struct settings {
  std::string role = "bench";
  std::string sock;
  std::string kase;
  // Adaptive: two stacks' polling cores on two CPUs would starve the apps
  // and workers that share them (bulk swung between 7 and 15 Gbit/s busy,
  // held 13-15 adaptive; cps was higher too; rr_64 a little lower).
  std::string poll_mode = "adaptive";
  std::string threads = "shared";  // dataplane.threads
  std::string only;  // run only this case
  std::uint64_t bytes = 1ull << 30;
  std::uint32_t conns = 1;
  unsigned cores = 1;  // data-plane cores and session workers per stack process
  std::uint32_t idle = 10000;
  double seconds = 2;
  int reps = 3;
  std::string self;
};

// ---------------------------------------------------------------------------
// the stack's sides (--role server / --role client)

stack_config stack_cfg(const settings& s, bool server) {
  stack_config c;
  c.workers = s.cores;
  c.dataplane_cores = s.cores;
  c.dataplane_port = "net_memif0,role=" + std::string{server ? "server" : "client"} +
                     ",socket-abstract=no,socket=" + s.sock;
  c.dataplane_ip = server ? "10.76.0.1/24" : "10.76.0.2/24";
  c.dataplane_poll_mode = s.poll_mode;
  c.dataplane_threads = s.threads;
  c.dataplane_lcores = bench::dataplane_lcores(s.cores, server);
  c.dataplane_mbufs = 65535;
  // Idle connections: small fifos, so 10 000 pairs fit one segment.
  const std::uint32_t fifo = s.kase == "conn_bytes" ? 4096 : 1u << 20;
  c.rx_fifo_size = c.tx_fifo_size = fifo;
  c.max_fifo_size = std::max(c.max_fifo_size, fifo);
  c.segment_size = 512ull << 20;
  c.tcp_nagle = 0;  // request/response: as TCP_NODELAY on the kernel side
  return c;
}

endpoint server_ep(std::uint16_t port) { return *parse_uri("tcp://10.76.0.1/" + std::to_string(port)); }

// Reads and drops everything; closes when the peer does.
class sink final : public app_handler {
 public:
  void on_rx(session& s) override { (void)s.drop(s.max_read()); }
  void on_close(session& s) override {
    (void)s.drop(s.max_read());
    (void)s.close();
  }
};

// Echoes; with `once`, one 64-byte request, then closes (the server closes first).
class echo final : public app_handler {
 public:
  explicit echo(bool once) : once_(once) {}
  void on_rx(session& s) override { pump(s); }
  void on_tx(session& s) override { pump(s); }
  void on_close(session& s) override {
    (void)s.drop(s.max_read());
    (void)s.close();
  }

 private:
  void pump(session& s) {
    for (;;) {
      std::size_t n = std::min({s.max_read(), s.max_write(), buf_.size()});
      if (once_) n = s.max_read() >= rr_size && s.max_write() >= rr_size ? rr_size : 0;
      if (n == 0) {
        if (s.max_read() > 0 && s.max_write() == 0) s.notify_on_space();
        return;
      }
      auto r = s.read({buf_.data(), n});
      if (!r) return;
      (void)s.write({buf_.data(), *r});
      if (once_) {
        (void)s.close();
        return;
      }
    }
  }
  bool once_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(64 * 1024);
};

int run_server(const settings& s) {
  auto st = stack::create(stack_cfg(s, true));
  if (!st) return std::fprintf(stderr, "server: %s\n", st.error().message().c_str()), 1;
  std::vector<std::unique_ptr<application>> apps;
  auto add = [&](const char* name, std::uint16_t port, auto make) {
    auto a = (*st)->attach({.name = name}, [make](std::uint32_t) { return make(); });
    if (!a || !(*a)->listen(server_ep(port))) return false;
    apps.push_back(std::move(*a));
    return true;
  };
  if (!add("sink", sink_port, [] { return std::make_unique<sink>(); }) ||
      !add("echo", echo_port, [] { return std::make_unique<echo>(false); }) ||
      !add("once", once_port, [] { return std::make_unique<echo>(true); }))
    return std::fprintf(stderr, "server: listen failed\n"), 1;
  std::fprintf(stderr, "tcp bench server ready\n");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  std::quick_exit(0);  // the measurement is over; nothing to keep
}

struct client_state {
  settings opt;
  std::atomic<bool> measuring{false}, done{false};
  std::atomic<std::uint64_t> count{0}, connected{0}, failed{0};
  clock_type::time_point t0, t1;
  std::mutex mu;
  std::condition_variable cv;
  application* app = nullptr;
  void finish() {
    std::lock_guard lock{mu};
    done.store(true);
    cv.notify_all();
  }
};

// bulk: writes opt.bytes, done when every byte was acknowledged (the tx
// fifo is empty: a byte leaves it only when the peer acknowledged it).
class bulk_client final : public app_handler {
 public:
  explicit bulk_client(client_state& st) : st_(st) {}
  bool on_connected(session& s, std::uint64_t) override {
    st_.t0 = clock_type::now();
    pump(s);
    return true;
  }
  void on_connect_failed(std::uint64_t, errc) override { st_.failed.fetch_add(1), st_.finish(); }
  void on_tx(session& s) override { pump(s); }

 private:
  void pump(session& s) {
    while (sent_ < st_.opt.bytes) {
      const std::size_t n = std::min<std::uint64_t>({st_.opt.bytes - sent_, buf_.size(), s.max_write()});
      if (n == 0) {
        s.notify_on_space();
        if (s.max_write() == 0) return;
        continue;
      }
      auto r = s.write({buf_.data(), n});
      if (!r) return;
      sent_ += *r;
    }
    const std::uint32_t size = s.fifo_size(fifo_side::tx);
    if (s.max_write() < size) {
      s.notify_on_space(size);  // on_tx again once everything was acknowledged
      if (s.max_write() < size) return;
    }
    if (!st_.done.load()) {
      st_.t1 = clock_type::now();
      st_.count.store(sent_);
      (void)s.close();
      st_.finish();
    }
  }
  client_state& st_;
  std::uint64_t sent_ = 0;
  std::vector<std::byte> buf_ = std::vector<std::byte>(256 * 1024);
};

// rr: each connection sends 64 bytes, waits for 64 back, again; counted
// while `measuring`.
class rr_client final : public app_handler {
 public:
  explicit rr_client(client_state& st) : st_(st) {}
  bool on_connected(session& s, std::uint64_t) override {
    if (st_.connected.fetch_add(1) + 1 == st_.opt.conns) st_.cv.notify_all();
    (void)s.write({req_.data(), rr_size});
    return true;
  }
  void on_connect_failed(std::uint64_t, errc) override { st_.failed.fetch_add(1), st_.finish(); }
  void on_rx(session& s) override {
    for (;;) {
      if (s.user_data + s.max_read() < rr_size) {
        s.user_data += s.drop(s.max_read());
        return;
      }
      (void)s.drop(rr_size - s.user_data);
      s.user_data = 0;
      if (st_.measuring.load(std::memory_order_relaxed)) st_.count.fetch_add(1, std::memory_order_relaxed);
      if (st_.done.load(std::memory_order_relaxed)) return;
      (void)s.write({req_.data(), rr_size});
    }
  }

 private:
  client_state& st_;
  std::array<std::byte, rr_size> req_{};
};

// cps: connect, 64 bytes out, 64 back, the server closes, we close, the
// next connect — `conns` of these at a time.
class cps_client final : public app_handler {
 public:
  explicit cps_client(client_state& st) : st_(st) {}
  bool on_connected(session& s, std::uint64_t) override {
    (void)s.write({req_.data(), rr_size});
    return true;
  }
  void on_connect_failed(std::uint64_t, errc why) override {
    std::fprintf(stderr, "cps connect failed: %s\n", std::string{to_string(why)}.c_str());
    st_.failed.fetch_add(1);
    next();
  }
  void on_rx(session& s) override { s.user_data += s.drop(s.max_read()); }
  void on_close(session& s) override {
    s.user_data += s.drop(s.max_read());
    const bool ok = s.user_data >= rr_size;
    (void)s.close();
    if (ok && st_.measuring.load(std::memory_order_relaxed)) st_.count.fetch_add(1, std::memory_order_relaxed);
    next();
  }
  void on_reset(session& s) override {
    (void)s.close();
    st_.failed.fetch_add(1);
    next();
  }

 private:
  void next() {
    if (!st_.done.load()) (void)st_.app->connect_async(server_ep(once_port), 0);
  }
  client_state& st_;
  std::array<std::byte, rr_size> req_{};
};

// conn_bytes: connections that only connect.
class idle_client final : public app_handler {
 public:
  explicit idle_client(client_state& st) : st_(st) {}
  bool on_connected(session&, std::uint64_t) override {
    if (st_.connected.fetch_add(1) + 1 == st_.opt.idle) st_.finish();
    return true;
  }
  void on_connect_failed(std::uint64_t, errc why) override {
    std::fprintf(stderr, "idle connect failed: %s\n", std::string{to_string(why)}.c_str());
    st_.failed.fetch_add(1);
    st_.finish();
  }

 private:
  client_state& st_;
};

int run_client(const settings& s) {
  client_state st;
  st.opt = s;
  auto stk = stack::create(stack_cfg(s, false));
  if (!stk) return std::fprintf(stderr, "client: %s\n", stk.error().message().c_str()), 1;
  auto a = (*stk)->attach({.name = "bench-client"}, [&](std::uint32_t) -> std::unique_ptr<app_handler> {
    if (s.kase == "bulk") return std::make_unique<bulk_client>(st);
    if (s.kase == "rr") return std::make_unique<rr_client>(st);
    if (s.kase == "cps") return std::make_unique<cps_client>(st);
    return std::make_unique<idle_client>(st);
  });
  if (!a) return std::fprintf(stderr, "client: %s\n", a.error().message().c_str()), 1;
  st.app = a->get();
  std::unique_lock lock{st.mu};
  double value = 0;
  if (s.kase == "bulk") {
    if (!(*a)->connect(server_ep(sink_port), 0)) return 1;
    st.cv.wait_for(lock, std::chrono::minutes(5), [&] { return st.done.load(); });
    const double secs = std::chrono::duration<double>(st.t1 - st.t0).count();
    value = secs > 0 ? st.count.load() * 8.0 / secs / 1e9 : 0;
  } else if (s.kase == "rr" || s.kase == "cps") {
    const std::uint16_t port = s.kase == "rr" ? echo_port : once_port;
    for (std::uint32_t i = 0; i < s.conns; ++i)
      if (!(*a)->connect(server_ep(port), i)) return 1;
    if (s.kase == "rr") st.cv.wait_for(lock, std::chrono::seconds(30), [&] { return st.connected.load() >= s.conns; });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm up
    st.measuring.store(true);
    const auto t0 = clock_type::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(s.seconds));
    st.measuring.store(false);
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    st.done.store(true);
    value = st.count.load() / secs;
  } else {
    for (std::uint32_t i = 0; i < s.idle; ++i)
      if (!(*a)->connect(server_ep(echo_port), i)) return 1;
    st.cv.wait_for(lock, std::chrono::minutes(2), [&] { return st.done.load(); });
    std::fprintf(stderr, "idle connections up: %llu\n", static_cast<unsigned long long>(st.connected.load()));
    std::fflush(stderr);
    std::this_thread::sleep_for(std::chrono::minutes(5));  // until the bench measured and killed us
  }
  std::printf("{\"value\":%.4f,\"failed\":%llu}\n", value, static_cast<unsigned long long>(st.failed.load()));
  std::fflush(stdout);
  std::quick_exit(st.failed.load() == 0 || s.kase == "cps" ? 0 : 1);
}

// ---------------------------------------------------------------------------
// the kernel's sides: two namespaces, one veth pair

constexpr const char* ns_server = "asbench-tcp-s";
constexpr const char* ns_client = "asbench-tcp-c";
constexpr const char* kernel_server_ip = "10.75.0.1";

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

struct namespaces {
  bool ok = false;
  namespaces() {
    down();
    ok = sh(std::string{"ip netns add "} + ns_server) && sh(std::string{"ip netns add "} + ns_client) &&
         sh("ip link add asb-s netns " + std::string{ns_server} + " type veth peer name asb-c netns " + ns_client) &&
         sh("ip -n " + std::string{ns_server} + " addr add 10.75.0.1/24 dev asb-s") &&
         sh("ip -n " + std::string{ns_client} + " addr add 10.75.0.2/24 dev asb-c") &&
         sh("ip -n " + std::string{ns_server} + " link set asb-s mtu 1500 up") &&
         sh("ip -n " + std::string{ns_client} + " link set asb-c mtu 1500 up") &&
         sh("ip -n " + std::string{ns_server} + " link set lo up") && sh("ip -n " + std::string{ns_client} + " link set lo up");
  }
  ~namespaces() { down(); }
  static void down() {
    sh(std::string{"ip netns del "} + ns_server);
    sh(std::string{"ip netns del "} + ns_client);
  }
};

bool enter(const char* ns) {
  const int fd = open(("/var/run/netns/" + std::string{ns}).c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = setns(fd, CLONE_NEWNET) == 0;
  close(fd);
  return ok;
}

int nodelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

sockaddr_in kaddr(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, kernel_server_ip, &a.sin_addr);
  return a;
}

// An epoll loop on one thread, as the stack's one app worker: echoes
// every connection of listener `l`, or (once) answers one 64-byte request
// and closes.
void epoll_server(int l, bool once) {
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = l;
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  std::unordered_map<int, std::size_t> got;
  std::array<epoll_event, 256> events;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == l) {
        for (int c; (c = accept4(l, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          nodelay(c);
          epoll_event e{};
          e.events = EPOLLIN;
          e.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
          got[c] = 0;
        }
        continue;
      }
      const ssize_t r = recv(fd, buf.data(), buf.size(), 0);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) {
        close(fd);  // also leaves the epoll set
        got.erase(fd);
        continue;
      }
      if (!once) {
        (void)send(fd, buf.data(), static_cast<std::size_t>(r), MSG_NOSIGNAL);
        continue;
      }
      if ((got[fd] += static_cast<std::size_t>(r)) >= rr_size) {
        (void)send(fd, buf.data(), rr_size, MSG_NOSIGNAL);
        close(fd);
        got.erase(fd);
      }
    }
  }
}

// The kernel server, in its namespace: the same three ports; the sink a
// thread per connection (there is one), the others an epoll loop each.
[[noreturn]] void kernel_server() {
  if (!enter(ns_server)) _exit(1);
  std::vector<std::thread> loops;
  for (std::uint16_t port : {sink_port, echo_port, once_port}) {
    const int l = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = kaddr(port);
    if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 4096) != 0) _exit(1);
    if (port != sink_port) {
      fcntl(l, F_SETFL, O_NONBLOCK);
      loops.emplace_back([l, port] { epoll_server(l, port == once_port); });
      continue;
    }
    loops.emplace_back([l] {
      for (;;) {
        const int c = accept(l, nullptr, nullptr);
        if (c < 0) continue;
        std::thread([c] {
          std::vector<char> buf(256 * 1024);
          while (recv(c, buf.data(), buf.size(), 0) > 0) {
          }
          close(c);
        }).detach();
      }
    });
  }
  std::fprintf(stderr, "kernel server ready\n");
  for (;;) pause();
}

int kconnect(std::uint16_t port) {
  const int fd = nodelay(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a = kaddr(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The kernel client in its namespace; the value goes to a pipe.
double kernel_client(const settings& s, const std::string& kase) {
  if (kase == "bulk") {
    const int fd = kconnect(sink_port);
    if (fd < 0) return 0;
    std::vector<char> buf(256 * 1024, 'x');
    const auto t0 = clock_type::now();
    for (std::uint64_t sent = 0; sent < s.bytes;) {
      const ssize_t n = send(fd, buf.data(), std::min<std::uint64_t>(buf.size(), s.bytes - sent), 0);
      if (n <= 0) return 0;
      sent += static_cast<std::uint64_t>(n);
    }
    shutdown(fd, SHUT_WR);
    char c;
    while (recv(fd, &c, 1, 0) > 0) {
    }
    const double secs = bench::seconds_since(t0);
    close(fd);
    return s.bytes * 8.0 / secs / 1e9;
  }
  std::atomic<bool> measuring{false}, done{false};
  std::atomic<std::uint64_t> count{0};
  std::vector<std::thread> workers;
  std::vector<int> fds;  // outlives the threads
  if (kase == "rr") {
    // One thread, one poll loop over every connection, as the stack's one
    // app worker.
    for (std::uint32_t i = 0; i < s.conns; ++i) fds.push_back(kconnect(echo_port));
    workers.emplace_back([&] {
      std::vector<pollfd> p;
      std::vector<std::size_t> got(fds.size(), 0);
      char req[rr_size] = {}, buf[4096];
      for (int fd : fds) {
        p.push_back({fd, POLLIN, 0});
        (void)send(fd, req, rr_size, 0);
      }
      while (!done.load(std::memory_order_relaxed)) {
        if (::poll(p.data(), p.size(), 100) <= 0) continue;
        for (std::size_t i = 0; i < p.size(); ++i) {
          if (!(p[i].revents & POLLIN)) continue;
          const ssize_t n = recv(p[i].fd, buf, sizeof buf, 0);
          if (n <= 0) continue;
          got[i] += static_cast<std::size_t>(n);
          while (got[i] >= rr_size) {
            got[i] -= rr_size;
            if (measuring.load(std::memory_order_relaxed)) count.fetch_add(1, std::memory_order_relaxed);
            (void)send(p[i].fd, req, rr_size, 0);
          }
        }
      }
      for (int fd : fds) close(fd);
    });
  } else {  // cps: `conns` threads, each connect/request/response/close
    for (std::uint32_t i = 0; i < s.conns; ++i)
      workers.emplace_back([&] {
        char req[rr_size] = {}, buf[rr_size];
        while (!done.load(std::memory_order_relaxed)) {
          const int fd = kconnect(once_port);
          if (fd < 0) continue;
          (void)send(fd, req, rr_size, 0);
          std::size_t got = 0;
          for (ssize_t n; got < rr_size && (n = recv(fd, buf, sizeof buf, 0)) > 0;) got += static_cast<std::size_t>(n);
          char c;
          while (recv(fd, &c, 1, 0) > 0) {
          }
          close(fd);
          if (got >= rr_size && measuring.load(std::memory_order_relaxed)) count.fetch_add(1);
        }
      });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  measuring.store(true);
  const auto t0 = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(s.seconds));
  measuring.store(false);
  const double secs = bench::seconds_since(t0);
  done.store(true);
  for (auto& t : workers) t.join();
  return count.load() / secs;
}

// Runs `fn` in a child process entered into the client namespace; its
// double comes back through a pipe.
template <class Fn>
double in_client_ns(Fn fn) {
  int p[2];
  if (pipe(p) != 0) return 0;
  const pid_t child = fork();
  if (child == 0) {
    close(p[0]);
    double v = enter(ns_client) ? fn() : 0;
    (void)!write(p[1], &v, sizeof v);
    _exit(0);
  }
  close(p[1]);
  double v = 0;
  if (read(p[0], &v, sizeof v) != sizeof v) v = 0;
  close(p[0]);
  waitpid(child, nullptr, 0);
  return v;
}

std::uint64_t meminfo_kib(const char* key) {
  std::ifstream in{"/proc/meminfo"};
  std::string k;
  std::uint64_t v = 0;
  std::string unit;
  while (in >> k >> v >> unit)
    if (k == key) return v;
  return 0;
}

std::uint64_t rss_anon_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::strtoull(line.c_str() + 8, nullptr, 10);
  return 0;
}

// Kernel bytes per idle established socket: slab growth while `idle`
// connections are open, divided by the 2 * idle sockets (both ends).
double kernel_conn_bytes(const settings& s) {
  const std::uint64_t before = meminfo_kib("Slab:");
  int p[2], q[2];
  if (pipe(p) != 0 || pipe(q) != 0) return 0;
  const pid_t child = fork();
  if (child == 0) {
    close(p[0]);
    close(q[1]);
    std::vector<int> fds;
    if (enter(ns_client))
      for (std::uint32_t i = 0; i < s.idle; ++i) fds.push_back(kconnect(echo_port));
    char c = 1;
    (void)!write(p[1], &c, 1);
    (void)!read(q[0], &c, 1);  // hold them until measured
    _exit(0);
  }
  close(p[1]);
  close(q[0]);
  char c;
  (void)!read(p[0], &c, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the server threads accepted
  const std::uint64_t after = meminfo_kib("Slab:");
  (void)!write(q[1], &c, 1);
  waitpid(child, nullptr, 0);
  close(p[0]);
  close(q[1]);
  return after > before ? (after - before) * 1024.0 / (2.0 * s.idle) : 0;
}

// ---------------------------------------------------------------------------
// the stack's runs

struct stack_run {
  double value = 0;
  bool ok = false;
};

stack_run stack_case(const settings& s, const std::string& kase, std::uint32_t conns, int rep) {
  const std::string tag = std::to_string(getpid()) + "-" + kase + "-" + std::to_string(conns) + "-" + std::to_string(rep);
  const std::string sock = "/tmp/asbench-tcp-" + tag + ".sock";
  const std::string out = "/tmp/asbench-tcp-" + tag + ".json";
  const std::string err = "/tmp/asbench-tcp-" + tag + ".err";
  const std::string server_err = "/tmp/asbench-tcp-" + tag + ".server.err";
  const std::string stack_kase = kase == "conn_bytes" ? "conn_bytes" : kase;
  const pid_t server = spawn({s.self, "--role", "server", "--sock", sock, "--case", stack_kase, "--poll-mode", s.poll_mode,
                             "--dataplane-threads", s.threads, "--cores", std::to_string(s.cores)},
                             "/dev/null", server_err);
  stack_run r;
  if (!wait_for_text(server_err, "tcp bench server ready", std::chrono::seconds(20))) {
    std::fprintf(stderr, "bench-tcp: the server did not start: %s\n", read_file(server_err).c_str());
    kill(server, SIGKILL);
    waitpid(server, nullptr, 0);
    return r;
  }
  const std::uint64_t before = rss_anon_kib(server);
  const pid_t client = spawn({s.self, "--role", "client", "--sock", sock, "--case", stack_kase, "--poll-mode", s.poll_mode,
                              "--dataplane-threads", s.threads, "--cores", std::to_string(s.cores), "--conns", std::to_string(conns), "--bytes", std::to_string(s.bytes), "--seconds",
                              std::to_string(s.seconds), "--idle", std::to_string(s.idle)},
                             out, err);
  int status = 0;
  if (kase == "conn_bytes") {
    r.ok = wait_for_text(err, "idle connections up: " + std::to_string(s.idle), std::chrono::minutes(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const std::uint64_t after = rss_anon_kib(server);
    r.value = after > before ? (after - before) * 1024.0 / s.idle : 0;
    kill(client, SIGKILL);
    waitpid(client, &status, 0);
  } else {
    waitpid(client, &status, 0);
    const std::string text = read_file(out);
    const auto at = text.find("\"value\":");
    r.value = at == std::string::npos ? 0 : std::strtod(text.c_str() + at + 8, nullptr);
    r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && at != std::string::npos;
  }
  if (!r.ok) std::fprintf(stderr, "bench-tcp: %s run failed: %s\n", kase.c_str(), read_file(err).c_str());
  kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  for (const auto& f : {sock, out, err, server_err}) std::remove(f.c_str());
  return r;
}

int run_bench(settings s) {
  namespaces ns;
  if (!ns.ok) {
    std::fprintf(stderr, "bench-tcp: cannot make the kernel baseline's namespaces (root needed)\n");
    return 1;
  }
  const pid_t kserver = fork();
  if (kserver == 0) kernel_server();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  struct kase {
    const char* name;
    const char* stack_case;
    std::uint32_t conns;
    const char* unit;
    unsigned raw_window;  // frames in flight of its raw baseline; 0: none
  };
  // The raw baseline of bulk: full-sized segments one way, each answered
  // by its bare header (an ACK per segment: TCP sends fewer), the payload
  // in Gbit/s;
  // of rr: one 64-byte frame per connection in flight. A connect is no
  // echo, so cps has none; conn_bytes is no rate.
  const kase cases[] = {{"bulk", "bulk", 1, "Gbit/s", 256},
                        {"rr_64_1", "rr", 1, "transactions/s", 1},
                        {"rr_64_32", "rr", 32, "transactions/s", 32},
                        {"cps", "cps", 8, "connections/s", 0},
                        {"conn_bytes", "conn_bytes", 0, "bytes", 0}};
  int failures = 0;
  for (const kase& k : cases) {
    if (!s.only.empty() && s.only != k.name) continue;
    settings ks = s;
    ks.conns = k.conns;
    const std::string kn = k.stack_case;
    std::function<double()> raw;  // the port's own limit, where a case has one
    if (k.raw_window > 0)
      raw = [&] {
        const std::size_t payload = kn == "bulk" ? raw_mss : rr_size;
        const double rate = bench::raw_echo_round_trips(
            s.self, {.header = raw_header,
                     .payload = payload,
                     .window = k.raw_window,
                     .reply = kn == "bulk" ? raw_header : 0,
                     .seconds = 1});
        failures += rate > 0 ? 0 : 1;
        return kn == "bulk" ? rate * double(payload) * 8 / 1e9 : rate;
      };
    const auto m = bench::alternated_medians(
        s.reps,
        {[&] {
           const auto r = stack_case(s, kn, k.conns, 0);
           failures += r.ok ? 0 : 1;
           return r.value;
         },
         [&] { return kn == "conn_bytes" ? kernel_conn_bytes(ks) : in_client_ns([&] { return kernel_client(ks, kn); }); },
         raw});
    report("tcp", k.name, m[0], k.unit, m[1], "kernel TCP, 2 processes in 2 netns over veth (MTU 1500)");
    if (raw) report("tcp", k.name, m[0], k.unit, m[2], raw_name);
  }
  kill(kserver, SIGKILL);
  waitpid(kserver, nullptr, 0);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (const int rc = bench::raw_echo_role(argc, argv); rc >= 0) return rc;
  settings s;
  s.self = bench::sibling("bench", "actorstack-bench-tcp");
  CLI::App app{"TCP between two actorstack processes over net_memif against kernel TCP between two network\n"
               "namespaces over veth, alternated in the same run: bulk Gbit/s, 64-byte request/response\n"
               "transactions/s over 1 and 32 connections, connections/s 8 at a time, bytes per idle\n"
               "connection. One JSON line per case; bulk and rr also one against a bare DPDK echo over the\n"
               "same memif pair (raw).",
               "actorstack-bench-tcp"};
  app.option_defaults()->always_capture_default();
  app.add_option("--reps", s.reps, "Repetitions of each side; the medians are printed")->check(CLI::PositiveNumber);
  app.add_option("--bytes", s.bytes, "bulk: bytes sent one way")->check(CLI::PositiveNumber);
  app.add_option("--seconds", s.seconds, "rr and cps: seconds measured (after 0.3 s of warm-up)")
      ->check(CLI::PositiveNumber);
  // All go to one server port: at most the 16 384 ports of the default
  // ephemeral range (Linux's default range holds 28 232).
  app.add_option("--idle", s.idle, "conn_bytes: idle connections held (to one server port)")
      ->check(CLI::Range(1u, 16000u));
  app.add_option("--case", s.only, "Run only this case (bulk, rr_64_1, rr_64_32, cps, conn_bytes)");
  app.add_option("--poll-mode", s.poll_mode, "The stacks' data-plane polling")->check(CLI::IsMember({"busy", "adaptive"}));
  app.add_option("--dataplane-threads", s.threads,
                 "Where the stacks' cores run: shared (on the session worker's scheduler thread) or own (an lcore each)")
      ->capture_default_str()
      ->check(CLI::IsMember({"shared", "own"}));
  app.add_option("--cores", s.cores,
                 "Data-plane cores and session workers per stack process (scale; the baselines do not change)")
      ->check(CLI::Range(1u, 2u));
  // The stack's sides: this program again.
  app.add_option("--role", s.role, "bench (default); server or client: one stack side (run by the bench itself)")
      ->check(CLI::IsMember({"bench", "server", "client"}))
      ->group("Internal");
  app.add_option("--sock", s.sock, "server/client: the memif socket")->group("Internal");
  app.add_option("--conns", s.conns, "client: connections at a time")->group("Internal");
  cli::add_standard(app, "  0  every case ran (one JSON object per case on stdout)\n"
                         "  1  a case could not run\n"
                         "  2  bad command line\n");
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  if (s.role == "server") {
    s.kase = s.only;
    return run_server(s);
  }
  if (s.role == "client") {
    s.kase = s.only;
    return run_client(s);
  }
  if (!s.only.empty() && s.only != "bulk" && s.only != "rr_64_1" && s.only != "rr_64_32" && s.only != "cps" &&
      s.only != "conn_bytes") {
    std::fprintf(stderr, "actorstack-bench-tcp: --case: no case %s\n", actorstack::quoted(s.only).c_str());
    return 2;
  }
  return run_bench(s);
}
