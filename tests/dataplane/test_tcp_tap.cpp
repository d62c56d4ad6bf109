// TCP against the Linux kernel (issue: TCP, kernel interop): one data-plane
// core on a DPDK net_tap port in a network namespace of the test's own,
// driven through its command and event rings exactly as a session worker
// drives it, and kernel TCP sockets on the other side. Every byte is
// checked. Each case is its own process under ctest (one EAL per process).

#include "dataplane/core_loop.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/port.hpp"
#include "dataplane/packet/packet.hpp"
#include "dataplane/tcp/segment.hpp"
#include "shm/fifo_segment.hpp"
#include "tests/dataplane/kernel_side.hpp"
#include "tests/fifo_scribble.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <map>
#include <optional>
#include <set>
#include <thread>

using namespace actorstack;
using namespace actorstack::dataplane;
using namespace std::chrono_literals;

namespace {

constexpr const char* stack_ip_text = "10.98.0.2";
constexpr const char* kernel_ip_text = "10.98.0.1";
constexpr std::uint32_t stack_ip = 0x0a620002;
constexpr std::uint32_t kernel_ip = 0x0a620001;

struct quiet_doorbell final : doorbell {
  void ring() noexcept override {}
};

std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> v(n);
  std::uint32_t x = seed * 2654435761u + 7;
  for (auto& b : v) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = std::byte(x & 0xff);
  }
  return v;
}

// One core on a tap whose kernel end has kernel_ip; the core runs on its
// own thread; the test is its only worker.
struct tcp_tap {
  std::string iface = "astcp" + std::to_string(::getpid() % 100000);
  bool ready = false;
  std::optional<port> p;
  channel<command> commands{8192};
  channel<event> events{1 << 16};
  quiet_doorbell bell;
  std::unique_ptr<core_loop> core;
  std::atomic<bool> stop{false};
  std::thread runner;
  shm::fifo_segment seg;

  explicit tcp_tap(const tcp::config& cfg = {}, const impairment_config& impair = {}) {
    if (eal_running()) {
      MESSAGE("EAL already started by another case in this process; run one case per process (ctest does)");
      return;
    }
    std::string why;
    if (!test::enter_fresh_netns(&why)) {
      MESSAGE("skipped: no network namespace (" << why << ")");
      return;
    }
    eal_options o;
    o.vdevs = {"net_tap0,iface=" + iface};
    auto eal = eal_init(o);
    REQUIRE_MESSAGE(eal.has_value(), eal.error().message());
    port_options po;
    po.device = "net_tap0";
    auto opened = port::open(po);
    REQUIRE_MESSAGE(opened.has_value(), opened.error().message());
    p.emplace(std::move(opened).value());
    auto s = shm::fifo_segment::create("tcp-tap", 512u << 20);
    REQUIRE(s.has_value());
    seg = std::move(*s);
    core_setup setup;
    setup.port_id = p->id();
    setup.pool = p->pool();
    setup.mac = p->mac();
    setup.address.ip = stack_ip;
    setup.address.prefix_len = 24;
    setup.workers.push_back({&commands, &events, &bell});
    setup.tcp = cfg;
    setup.impair = impair;
    core = std::make_unique<core_loop>(setup);
    std::ofstream{"/proc/sys/net/ipv6/conf/" + iface + "/disable_ipv6"} << "1";
    REQUIRE(test::set_address(iface, std::string{kernel_ip_text} + "/24"));
    runner = std::thread([this] { core->run(stop); });
    ready = true;
  }
  ~tcp_tap() {
    stop.store(true);
    if (runner.joinable()) runner.join();
  }
  void send(const command& c) {
    while (!commands.push(c)) std::this_thread::yield();
  }
  void send_tcp(command_kind k, std::uint32_t conn, std::uint32_t gen) {
    command c;
    c.kind = k;
    c.tcp.conn = conn;
    c.tcp.generation = gen;
    send(c);
  }
  void listen(std::uint16_t port, std::uint64_t cookie, std::uint32_t fifo_size = 256 * 1024,
              std::uint64_t group = 0, shm::fifo_segment* from = nullptr) {
    command c;
    c.kind = command_kind::tcp_listen;
    c.tcp.local_ip = stack_ip;
    c.tcp.local_port = port;
    c.tcp.cookie = cookie;
    c.tcp.group = group;
    c.tcp.fifos_from = from != nullptr ? from : &seg;
    c.tcp.rx_fifo_size = c.tcp.tx_fifo_size = fifo_size;
    send(c);
  }
  void unlisten(std::uint16_t port, std::uint64_t cookie) {
    command c;
    c.kind = command_kind::tcp_unlisten;
    c.tcp.local_ip = stack_ip;
    c.tcp.local_port = port;
    c.tcp.cookie = cookie;
    send(c);
  }
  void connect(std::uint16_t local_port, std::uint16_t remote_port, std::uint64_t cookie,
               std::uint32_t remote_ip = kernel_ip) {
    command c;
    c.kind = command_kind::tcp_connect;
    c.tcp.local_port = local_port;
    c.tcp.remote_ip = remote_ip;
    c.tcp.remote_port = remote_port;
    c.tcp.cookie = cookie;
    c.tcp.fifos_from = &seg;
    c.tcp.rx_fifo_size = c.tcp.tx_fifo_size = 256 * 1024;
    send(c);
  }
};

// The worker side of echo (server) or of a sending client: every
// established connection echoes what it reads, or (client) writes `to_send`
// and reads it back, then closes.
struct stack_app {
  struct conn {
    std::uint32_t index = 0, gen = 0;
    shm::fifo rx, tx;
    shm::fifo_segment* from = nullptr;  // where the core carved them
    std::vector<std::byte> pending;  // read, not yet written back
    std::size_t sent = 0;             // client: of to_send
    std::vector<std::byte> got;       // client: what came back
    bool peer_closed = false;
    bool closed = false;
    bool gone = false;
  };
  explicit stack_app(tcp_tap& tap) : t(tap) {}
  tcp_tap& t;
  bool echo = true;
  bool auto_close = true;            // close once done (else the test decides)
  std::vector<std::byte> to_send;    // client mode
  std::map<std::uint64_t, conn> conns;  // by (gen << 32 | index)
  std::map<std::uint64_t, errc> failed;  // connect cookie -> error
  std::map<std::uint64_t, std::uint64_t> opened;  // connect cookie -> conn key
  std::map<std::uint64_t, shm::fifo_segment*> segment_of;  // listen cookie -> its segment (else the tap's)
  std::map<std::uint64_t, int> established_by;            // listen or connect cookie -> connections
  std::set<std::uint64_t> unlistened;
  std::uint64_t established = 0, released = 0, resets = 0;
  std::vector<errc> reset_errors;
  std::vector<std::byte> buf = std::vector<std::byte>(64 * 1024);

  static std::uint64_t key(std::uint32_t index, std::uint32_t gen) { return std::uint64_t{gen} << 32 | index; }

  void step() {
    event ev;
    while (t.events.pop(ev)) on_event(ev);
    for (auto& [k, c] : conns) pump(c);
  }
  void on_event(const event& ev) {
    const std::uint64_t k = key(ev.id, ev.generation);
    switch (ev.kind) {
      case event_kind::tcp_established: {
        conn c;
        c.index = ev.id;
        c.gen = ev.generation;
        c.rx = ev.rx;
        c.tx = ev.tx;
        c.from = segment_of.contains(ev.session) ? segment_of.at(ev.session) : &t.seg;
        conns[k] = c;
        opened[ev.session] = k;
        ++established_by[ev.session];
        ++established;
        break;
      }
      case event_kind::tcp_unlistened: unlistened.insert(ev.session); break;
      case event_kind::tcp_connect_failed: failed[ev.session] = ev.error; break;
      case event_kind::tcp_peer_closed:
        if (auto it = conns.find(k); it != conns.end()) it->second.peer_closed = true;
        break;
      case event_kind::tcp_reset:
        ++resets;
        reset_errors.push_back(ev.error);
        finish(k);
        break;
      case event_kind::tcp_released:
        ++released;
        finish(k);
        break;
      default: break;
    }
  }
  void finish(std::uint64_t k) {
    auto it = conns.find(k);
    if (it == conns.end() || it->second.gone) return;
    it->second.gone = true;
    it->second.from->free_fifo(it->second.rx);
    it->second.from->free_fifo(it->second.tx);
  }
  void pump(conn& c) {
    if (c.gone || c.closed) return;
    c.rx.unset_event();
    bool read = false;
    for (;;) {
      if (echo && !c.pending.empty()) {
        auto n = c.tx.enqueue(c.pending);
        if (!n || *n == 0) break;
        c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(*n));
        t.send_tcp(command_kind::tcp_sent, c.index, c.gen);
        continue;
      }
      auto n = c.rx.dequeue(buf);
      if (!n) break;
      read = true;
      if (echo) c.pending.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
      else c.got.insert(c.got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    if (read) t.send_tcp(command_kind::tcp_read, c.index, c.gen);
    if (!echo && c.sent < to_send.size()) {
      if (auto n = c.tx.enqueue(std::span(to_send).subspan(c.sent)); n && *n > 0) {
        c.sent += *n;
        t.send_tcp(command_kind::tcp_sent, c.index, c.gen);
      }
    }
    const bool done = echo ? (c.peer_closed && c.pending.empty() && c.rx.empty())
                           : (c.got.size() >= to_send.size());
    if (done && auto_close) {
      c.closed = true;
      t.send_tcp(command_kind::tcp_close, c.index, c.gen);
    }
  }
  template <class Pred>
  bool run_until(Pred p, std::chrono::milliseconds limit = 20s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      step();
      if (p()) return true;
      std::this_thread::sleep_for(50us);
    }
    return false;
  }
};

// net_tap wakes its queues with SIGIO, so a kernel call in this process
// may return EINTR: every one here retries.
ssize_t send_all_once(int fd, const std::byte* p, std::size_t n) {
  for (;;) {
    const ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r >= 0 || errno != EINTR) return r;
  }
}
ssize_t recv_once(int fd, std::byte* p, std::size_t n) {
  for (;;) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r >= 0 || errno != EINTR) return r;
  }
}
int accept_once(int fd) {
  for (;;) {
    const int r = ::accept(fd, nullptr, nullptr);
    if (r >= 0 || errno != EINTR) return r;
  }
}

// A kernel TCP socket (RAII).
struct ksock {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ~ksock() {
    if (fd >= 0) ::close(fd);
  }
  static sockaddr_in addr(const char* ip, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
  }
  int connect_to(const char* ip, std::uint16_t port) {
    const sockaddr_in a = addr(ip, port);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return 0;
    if (errno != EINTR) return errno;
    // Interrupted: the handshake goes on; wait for its outcome.
    for (;;) {
      pollfd p{fd, POLLOUT, 0};
      const int r = ::poll(&p, 1, 10'000);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return ETIMEDOUT;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      return err;
    }
  }
  void timeouts(int seconds) {
    timeval tv{seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
};

// Sends `data` over `fd` on a thread, then shuts down its write side, and
// reads until EOF; returns what was read (or nullopt on an error).
std::optional<std::vector<std::byte>> kernel_roundtrip(int fd, const std::vector<std::byte>& data) {
  std::atomic<bool> write_ok{true};
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = send_all_once(fd, data.data() + off, data.size() - off);
      if (n <= 0) {
        write_ok = false;
        return;
      }
      off += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::vector<std::byte> got;
  std::vector<std::byte> buf(256 * 1024);
  bool ok = true;
  for (;;) {
    const ssize_t n = recv_once(fd, buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      ok = false;
      break;
    }
    got.insert(got.end(), buf.begin(), buf.begin() + n);
  }
  writer.join();
  if (!ok || !write_ok) return std::nullopt;
  return got;
}

}  // namespace

TEST_CASE("TCP kernel interop: the kernel's client echoes through the stack, sizes 0, 1, 1460, 1461, 65537 and 16 MiB + 1, byte-exact, then both close") {
  tcp_tap t;
  if (!t.ready) return;
  stack_app app{t};
  t.listen(7000, 1);
  std::uint64_t closes = 0;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{1460}, std::size_t{1461}, std::size_t{65537},
                           std::size_t{(16u << 20) + 1}}) {
    CAPTURE(size);
    const auto data = pattern(size, static_cast<std::uint32_t>(size));
    std::optional<std::vector<std::byte>> got;
    std::thread client([&] {
      ksock s;
      s.timeouts(30);
      if (s.connect_to(stack_ip_text, 7000) != 0) return;
      got = kernel_roundtrip(s.fd, data);
    });
    REQUIRE(app.run_until([&] { return app.released == closes + 1; }, 60s));
    client.join();
    ++closes;
    REQUIRE(got.has_value());
    CHECK(got->size() == size);
    CHECK(*got == data);
  }
  CHECK(app.resets == 0);
  t.stop = true;
  t.runner.join();
  CHECK(t.core->tcp().counters().passive_opens == 6);
  CHECK(t.core->tcp().counters().bad_checksum == 0);
}

TEST_CASE("TCP kernel interop: the stack's client writes 4 MiB to a kernel echo server and reads it back, then closes") {
  tcp_tap t;
  if (!t.ready) return;
  ksock listener;
  int one = 1;
  ::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in a = ksock::addr(kernel_ip_text, 6000);
  REQUIRE(::bind(listener.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(listener.fd, 16) == 0);
  std::atomic<std::size_t> echoed{0};
  std::atomic<bool> saw_eof{false};
  std::thread server([&] {
    const int fd = accept_once(listener.fd);
    if (fd < 0) return;
    std::vector<std::byte> buf(256 * 1024);
    for (;;) {
      const ssize_t n = recv_once(fd, buf.data(), buf.size());
      if (n <= 0) {
        saw_eof = n == 0;
        break;
      }
      std::size_t off = 0;
      while (off < static_cast<std::size_t>(n)) {
        const ssize_t w = send_all_once(fd, buf.data() + off, static_cast<std::size_t>(n) - off);
        if (w <= 0) break;
        off += static_cast<std::size_t>(w);
      }
      echoed += off;
    }
    ::close(fd);
  });
  stack_app app{t};
  app.echo = false;
  app.to_send = pattern(4u << 20, 9);
  t.connect(45000, 6000, 77);
  REQUIRE(app.run_until([&] { return app.released == 1; }, 60s));
  server.join();
  REQUIRE(app.conns.size() == 1);
  CHECK(app.conns.begin()->second.got == app.to_send);
  CHECK(saw_eof.load());
  CHECK(echoed.load() == app.to_send.size());
  t.stop = true;
  t.runner.join();
  CHECK(t.core->tcp().counters().active_opens == 1);
}

TEST_CASE("TCP kernel interop: a connect to a closed kernel port is refused, and the kernel's connect to a port nobody listens on gets ECONNREFUSED") {
  tcp_tap t;
  if (!t.ready) return;
  stack_app app{t};
  t.connect(45001, 6001, 5);
  REQUIRE(app.run_until([&] { return app.failed.contains(5); }, 10s));
  CHECK(app.failed.at(5) == errc::refused);
  ksock s;
  s.timeouts(5);
  CHECK(s.connect_to(stack_ip_text, 7999) == ECONNREFUSED);
  t.stop = true;
  t.runner.join();
  CHECK(t.core->tcp().counters().rst_out >= 1);
  CHECK(t.core->tcp().connections() == 0);
}

TEST_CASE("TCP kernel interop: a connect to a silent address times out within the configured SYN retries") {
  tcp::config cfg;
  cfg.rto.initial_us = 100'000;
  cfg.syn_retries = 2;
  tcp_tap t(cfg);
  if (!t.ready) return;
  stack_app app{t};
  const auto start = std::chrono::steady_clock::now();
  t.connect(45002, 6002, 9, 0x0a620063);  // 10.98.0.99: nobody answers ARP
  REQUIRE(app.run_until([&] { return app.failed.contains(9); }, 10s));
  CHECK(app.failed.at(9) == errc::timeout);
  CHECK(std::chrono::steady_clock::now() - start < 3s);  // 0.1 + 0.2 + 0.4 s and some ARP waiting
}

TEST_CASE("TCP kernel interop: 1000 sequential short connections and 100 concurrent ones all echo") {
  tcp_tap t;
  if (!t.ready) return;
  stack_app app{t};
  t.listen(7001, 1, 16 * 1024);
  std::atomic<int> good{0};
  std::atomic<bool> done{false};
  std::thread clients([&] {
    for (int i = 0; i < 1000; ++i) {
      ksock s;
      s.timeouts(10);
      if (s.connect_to(stack_ip_text, 7001) != 0) continue;
      const auto data = pattern(100, static_cast<std::uint32_t>(i));
      auto got = kernel_roundtrip(s.fd, data);
      if (got && *got == data) ++good;
    }
    std::vector<std::thread> many;
    for (int i = 0; i < 100; ++i)
      many.emplace_back([&, i] {
        ksock s;
        s.timeouts(20);
        if (s.connect_to(stack_ip_text, 7001) != 0) return;
        const auto data = pattern(20'000, static_cast<std::uint32_t>(5000 + i));
        auto got = kernel_roundtrip(s.fd, data);
        if (got && *got == data) ++good;
      });
    for (auto& th : many) th.join();
    done = true;
  });
  REQUIRE(app.run_until([&] { return done.load() && app.released + app.resets == app.established; }, 120s));
  clients.join();
  CHECK(good.load() == 1100);
  CHECK(app.established == 1100);
  CHECK(app.resets == 0);
  t.stop = true;
  t.runner.join();
  // The stack closed second each time (LAST-ACK): nothing lingers.
  CHECK(t.core->tcp().connections() == 0);
}

TEST_CASE("TCP kernel interop: two listens of one group share a port (SO_REUSEPORT across apps): the kernel's connections go to each in turn, carved from each one's segment, another group's listen is refused, the port stays until the last one leaves") {
  tcp_tap t;
  if (!t.ready) return;
  auto second = shm::fifo_segment::create("tcp-tap-2", 64u << 20);
  REQUIRE(second.has_value());
  stack_app app{t};
  app.segment_of[2] = &*second;
  constexpr std::uint64_t group = 77;
  t.listen(7003, 1, 16 * 1024, group);
  t.listen(7003, 2, 16 * 1024, group, &*second);
  t.listen(7003, 3, 16 * 1024, group + 1);  // another listener's: refused
  t.listen(7003, 4, 16 * 1024);             // none's: refused
  REQUIRE(app.run_until([&] { return app.failed.contains(3) && app.failed.contains(4); }, 10s));
  CHECK(app.failed.at(3) == errc::already_listening);
  CHECK(app.failed.at(4) == errc::already_listening);
  // The refused ones' unlistens leave the port to the group.
  t.unlisten(7003, 3);
  t.unlisten(7003, 4);
  REQUIRE(app.run_until([&] { return app.unlistened.size() == 2; }, 10s));
  auto echo_once = [&](int i) {
    ksock s;
    s.timeouts(10);
    if (s.connect_to(stack_ip_text, 7003) != 0) return false;
    const auto data = pattern(3000, static_cast<std::uint32_t>(i));
    std::optional<std::vector<std::byte>> got;
    std::atomic<bool> finished{false};
    std::thread client([&] {
      got = kernel_roundtrip(s.fd, data);
      finished = true;
    });
    const bool ran = app.run_until([&] { return finished.load(); }, 15s);
    client.join();
    app.run_until([&] { return app.released + app.resets == app.established; }, 10s);
    return ran && got && *got == data;
  };
  for (int i = 0; i < 10; ++i) CHECK(echo_once(i));
  CHECK(app.established_by[1] == 5);
  CHECK(app.established_by[2] == 5);
  // One leaves: the other takes every connection; then the port closes.
  t.unlisten(7003, 1);
  REQUIRE(app.run_until([&] { return app.unlistened.contains(1); }, 10s));
  for (int i = 10; i < 14; ++i) CHECK(echo_once(i));
  CHECK(app.established_by[1] == 5);
  CHECK(app.established_by[2] == 9);
  t.unlisten(7003, 2);
  REQUIRE(app.run_until([&] { return app.unlistened.contains(2); }, 10s));
  ksock refused;
  refused.timeouts(5);
  CHECK(refused.connect_to(stack_ip_text, 7003) == ECONNREFUSED);
  t.stop = true;
  t.runner.join();
  CHECK(t.core->tcp().connections() == 0);
  CHECK(second->fifo_count() == 0);
}

TEST_CASE("TCP kernel interop: the kernel closing with unread data makes the stack's app hear reset, and the stack's abort gives the kernel ECONNRESET") {
  tcp_tap t;
  if (!t.ready) return;
  stack_app app{t};
  app.echo = false;
  app.auto_close = false;
  t.listen(7002, 1);
  {
    ksock s;
    REQUIRE(s.connect_to(stack_ip_text, 7002) == 0);
    REQUIRE(app.run_until([&] { return app.established == 1; }));
    // The stack writes; the kernel never reads, then closes: RST (Linux
    // resets when it closes a socket with unread data).
    auto& c = app.conns.begin()->second;
    REQUIRE(c.tx.enqueue(pattern(1000, 1)));
    t.send_tcp(command_kind::tcp_sent, c.index, c.gen);
    std::this_thread::sleep_for(200ms);
    app.step();
  }
  REQUIRE(app.run_until([&] { return app.resets == 1; }));
  CHECK(app.reset_errors[0] == errc::reset);
  // Now the other way: the stack aborts; the kernel's read fails with ECONNRESET.
  ksock s2;
  REQUIRE(s2.connect_to(stack_ip_text, 7002) == 0);
  s2.timeouts(5);
  REQUIRE(app.run_until([&] { return app.established == 2; }));
  for (auto& [k, c] : app.conns)
    if (!c.gone) {
      t.send_tcp(command_kind::tcp_abort, c.index, c.gen);
    }
  REQUIRE(app.run_until([&] { return app.released >= 1; }));  // the core let go: the fifos are ours again
  std::byte b[16];
  const ssize_t n = recv_once(s2.fd, b, sizeof b);
  CHECK(n < 0);
  CHECK(errno == ECONNRESET);
}

namespace {

// The kernel's client echoes `bytes` through the stack over an impaired
// link; fails the case unless every byte comes back exactly once.
void echo_through(const char* impair_text, std::uint16_t port, std::size_t bytes, const char* kernel_sysctl = nullptr) {
  auto impair = parse_impairment(impair_text);
  REQUIRE(impair.has_value());
  tcp_tap t(tcp::config{}, *impair);
  if (!t.ready) return;
  if (kernel_sysctl != nullptr) {
    // "name=value" for this namespace's kernel (net.ipv4.tcp_* are per namespace).
    const std::string kv = kernel_sysctl;
    const auto eq = kv.find('=');
    std::ofstream{"/proc/sys/net/ipv4/" + kv.substr(0, eq)} << kv.substr(eq + 1);
    std::ifstream in{"/proc/sys/net/ipv4/" + kv.substr(0, eq)};
    std::string now;
    in >> now;
    REQUIRE(now == kv.substr(eq + 1));
  }
  stack_app app{t};
  t.listen(port, 1);
  const auto data = pattern(bytes, static_cast<std::uint32_t>(impair->seed));
  std::optional<std::vector<std::byte>> got;
  std::thread client([&] {
    ksock s;
    s.timeouts(60);
    for (int tries = 0; tries < 5; ++tries)  // a lost SYN-ACK may make the kernel's first try time out
      if (s.connect_to(stack_ip_text, port) == 0) {
        got = kernel_roundtrip(s.fd, data);
        return;
      }
  });
  const bool closed = app.run_until([&] { return app.released + app.resets >= 1; }, 120s);
  if (!closed) {
    // Say where it stood: the core's connections and the client's progress.
    t.stop = true;
    t.runner.join();
    t.core->tcp().engine().for_each([](const tcp::conn_info& i) {
      MESSAGE("stuck: " << tcp::to_string(i.state) << " snd_una " << i.snd_una << " snd_nxt " << i.snd_nxt << " snd_wnd "
                        << i.snd_wnd << " rcv_nxt " << i.rcv_nxt << " rcv_wnd " << i.rcv_wnd << " cwnd " << i.cwnd
                        << " rto_us " << i.rto_us << " fifos " << i.has_fifos);
    });
    for (auto& [k, c] : app.conns)
      MESSAGE("app conn: rx queued " << c.rx.max_dequeue() << " tx queued " << c.tx.max_dequeue() << " pending "
                                     << c.pending.size() << " peer_closed " << c.peer_closed << " closed " << c.closed);
  }
  client.join();
  CHECK(closed);
  REQUIRE(got.has_value());
  CHECK(got->size() == data.size());
  CHECK(*got == data);
  CHECK(app.resets == 0);
  t.stop = true;
  t.runner.join();
  const auto rx = t.core->impaired(true);
  const auto tx = t.core->impaired(false);
  MESSAGE(std::string{impair_text} << ": rx frames " << rx.frames << " dropped " << rx.dropped << " dup " << rx.duplicated
                      << " reordered " << rx.reordered << " corrupted " << rx.corrupted << ", tx frames " << tx.frames
                      << " dropped " << tx.dropped << "; stack retransmits fast " << t.core->tcp().counters().retransmits_fast
                      << " timeout " << t.core->tcp().counters().retransmits_timeout << ", bad checksum "
                      << t.core->tcp().counters().bad_checksum);
  if (impair->loss > 0) {
    CHECK(rx.dropped + tx.dropped > 0);
    CHECK(t.core->tcp().counters().retransmits_fast + t.core->tcp().counters().retransmits_timeout > 0);
  }
  if (impair->reorder > 0) CHECK(rx.reordered + tx.reordered > 0);
  if (impair->dup > 0) CHECK(rx.duplicated + tx.duplicated > 0);
  if (impair->corrupt > 0) CHECK(rx.corrupted + tx.corrupted > 0);
}

}  // namespace

TEST_CASE("TCP 8 kernel interop through the impairment stage: 1 % loss both ways, seed 1, 4 MiB echoed exactly") {
  echo_through("loss=1%,seed=1", 7101, 4u << 20);
}
TEST_CASE("TCP 8 kernel interop through the impairment stage: 1 % loss both ways, seed 2") {
  echo_through("loss=1%,seed=2", 7102, 4u << 20);
}
TEST_CASE("TCP 8 kernel interop through the impairment stage: 5 % loss both ways, seed 3") {
  echo_through("loss=5%,seed=3", 7103, 2u << 20);
}
TEST_CASE("TCP 8 kernel interop through the impairment stage: 5 % loss both ways, seed 4") {
  echo_through("loss=5%,seed=4", 7104, 2u << 20);
}
TEST_CASE("TCP 8 kernel interop through the impairment stage: 5 % reordering, seed 5") {
  echo_through("reorder=5%,seed=5", 7105, 4u << 20);
}
TEST_CASE("TCP 8 kernel interop through the impairment stage: 2 % duplication, seed 6") {
  echo_through("dup=2%,seed=6", 7106, 4u << 20);
}
TEST_CASE("TCP 8 kernel interop through the impairment stage: 1 % corruption, seed 7") {
  echo_through("corrupt=1%,seed=7", 7107, 4u << 20);
}
TEST_CASE("TCP 8 kernel interop through the impairment stage: everything at once with 2 ms delay, seed 8") {
  echo_through("loss=2%,dup=1%,reorder=2%,corrupt=1%,delay=2,seed=8", 7108, 2u << 20);
}

TEST_CASE("TCP 5.6 kernel interop with the kernel's SACK off (net.ipv4.tcp_sack=0), through 2 % loss") {
  echo_through("loss=2%,seed=11", 7111, 2u << 20, "tcp_sack=0");
}
TEST_CASE("TCP 5.6 kernel interop with the kernel's timestamps off (net.ipv4.tcp_timestamps=0), through 2 % loss") {
  echo_through("loss=2%,seed=12", 7112, 2u << 20, "tcp_timestamps=0");
}
TEST_CASE("TCP 5.6 kernel interop with the kernel's window scaling off (net.ipv4.tcp_window_scaling=0), through 2 % loss") {
  echo_through("loss=2%,seed=13", 7113, 2u << 20, "tcp_window_scaling=0");
}

TEST_CASE("TCP 6.4 kernel interop: a kernel receiver with a tiny SO_RCVBUF that reads slowly forces zero windows, and every byte still arrives") {
  tcp_tap t;
  if (!t.ready) return;
  ksock listener;
  int one = 1;
  ::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int tiny = 2048;  // the kernel doubles it, and keeps a minimum
  ::setsockopt(listener.fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
  const sockaddr_in a = ksock::addr(kernel_ip_text, 6003);
  REQUIRE(::bind(listener.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(listener.fd, 4) == 0);
  std::vector<std::byte> received;
  std::thread server([&] {
    const int fd = accept_once(listener.fd);
    if (fd < 0) return;
    std::vector<std::byte> buf(512);
    for (;;) {
      const ssize_t n = recv_once(fd, buf.data(), buf.size());
      if (n <= 0) break;
      received.insert(received.end(), buf.begin(), buf.begin() + n);
      // Slow at first, then a pause longer than any RTO: the window closes
      // and stays closed, so the stack must probe it.
      if (received.size() < 32 * 1024) std::this_thread::sleep_for(2ms);
      if (received.size() >= 16 * 1024 && received.size() < 16 * 1024 + 512) std::this_thread::sleep_for(1500ms);
    }
    ::close(fd);
  });
  stack_app app{t};
  app.echo = false;
  app.auto_close = false;
  app.to_send = pattern(512 * 1024, 21);
  t.connect(45003, 6003, 3);
  REQUIRE(app.run_until([&] { return !app.conns.empty() && app.conns.begin()->second.sent == app.to_send.size(); }, 60s));
  // Everything queued; close once it is all acknowledged (FIN after the data).
  auto& c = app.conns.begin()->second;
  REQUIRE(app.run_until([&] { return c.tx.max_dequeue() == 0; }, 60s));
  c.closed = true;
  t.send_tcp(command_kind::tcp_close, c.index, c.gen);
  REQUIRE(app.run_until([&] { return app.released == 1; }, 30s));
  server.join();
  CHECK(received == app.to_send);
  t.stop = true;
  t.runner.join();
  CHECK(t.core->tcp().counters().window_probes > 0);
}

namespace {

// A TCP frame from the kernel's side of the tap to the stack, built with
// the engine's own codec; `mutate` breaks it after the checksum is right.
test::frame tcp_frame(const mac_address& from, const mac_address& to, const tcp::header_fields& h,
                      const tcp::options& o = {}, std::size_t payload = 0,
                      const std::function<void(std::vector<std::byte>&)>& mutate = {}) {
  std::vector<std::byte> f(ipv4_frame_overhead + tcp::header_size + tcp::options_size(o) + payload, std::byte{0x5a});
  const std::span<std::byte> seg = std::span(f).subspan(ipv4_frame_overhead);
  tcp::write_header(seg, h, o);
  tcp::finish_checksum(seg, kernel_ip, stack_ip);
  write_ipv4_headers(f, ipv4_route{from, to, kernel_ip, stack_ip}, 6, 1, seg.size());
  if (mutate) mutate(f);
  test::frame out(f.size());
  std::memcpy(out.data(), f.data(), f.size());
  return out;
}

// A frame's ends when the kernel's side of the tap sends to the stack.
struct frame_ends {
  mac_address from{}, to{};
};
frame_ends kernel_to_stack(tcp_tap& t) {
  frame_ends e;
  e.to = t.p->mac();
  const auto kmac = test::interface_mac(t.iface);
  REQUIRE(kmac.has_value());
  std::copy(kmac->begin(), kmac->end(), e.from.begin());
  return e;
}

}  // namespace

TEST_CASE("TCP 3.1 3.2 4.2 4.3 bad input over the tap: corrupt, malformed and hostile segments are dropped and counted while an established connection beside them keeps echoing byte-exact") {
  tcp_tap t;
  if (!t.ready) return;
  stack_app app{t};
  t.listen(7004, 1);
  const auto [from, to] = kernel_to_stack(t);
  test::raw_link raw(t.iface);
  REQUIRE(raw.ok());

  // The connection beside: 8 MiB echoed while the garbage flies.
  const auto data = pattern(8u << 20, 31);
  std::optional<std::vector<std::byte>> got;
  std::atomic<std::uint16_t> client_port{0};
  std::atomic<bool> flood_started{false};
  std::thread client([&] {
    ksock s;
    s.timeouts(60);
    if (s.connect_to(stack_ip_text, 7004) != 0) return;
    sockaddr_in local{};
    socklen_t len = sizeof local;
    ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &len);
    client_port = ntohs(local.sin_port);
    while (!flood_started.load()) std::this_thread::sleep_for(1ms);  // the garbage flies while the bytes do
    got = kernel_roundtrip(s.fd, data);
  });
  REQUIRE(app.run_until([&] { return app.established == 1 && client_port.load() != 0; }));
  const std::uint16_t cp = client_port.load();

  using tcp::header_fields;
  namespace fl = tcp::flags;
  tcp::options bad_len0;  // an MSS option whose length byte we zero below
  bad_len0.has_mss = true, bad_len0.mss = 1460;
  std::vector<test::frame> garbage = {
      // bad checksum (one payload bit)
      tcp_frame(from, to, {40001, 7004, 1, 0, fl::syn, 1000}, {}, 10, [](auto& f) { f.back() ^= std::byte{1}; }),
      // data offset < 5, and past the packet (checksums fixed by hand below)
      tcp_frame(from, to, {40002, 7004, 1, 0, fl::syn, 1000}, {}, 0, [](auto& f) { f[ipv4_frame_overhead + 12] = std::byte{0x40}; }),
      tcp_frame(from, to, {40003, 7004, 1, 0, fl::syn, 1000}, {}, 0, [](auto& f) { f[ipv4_frame_overhead + 12] = std::byte{0xf0}; }),
      // option length 0, 1, and past the header
      tcp_frame(from, to, {40004, 7004, 1, 0, fl::syn, 1000}, bad_len0, 0, [](auto& f) { f[ipv4_frame_overhead + 21] = std::byte{0}; }),
      tcp_frame(from, to, {40005, 7004, 1, 0, fl::syn, 1000}, bad_len0, 0, [](auto& f) { f[ipv4_frame_overhead + 21] = std::byte{1}; }),
      tcp_frame(from, to, {40006, 7004, 1, 0, fl::syn, 1000}, bad_len0, 0, [](auto& f) { f[ipv4_frame_overhead + 21] = std::byte{9}; }),
      // SYN+FIN, SYN+RST, no flags at all
      tcp_frame(from, to, {40007, 7004, 1, 0, fl::syn | fl::fin, 1000}),
      tcp_frame(from, to, {40008, 7004, 1, 0, fl::syn | fl::rst, 1000}),
      tcp_frame(from, to, {40009, 7004, 1, 0, 0, 1000}),
  };
  // The checksum-sensitive mutations above break the checksum too; fix
  // those that are meant to fail a later rule.
  for (std::size_t i = 1; i < garbage.size(); ++i) {
    auto& f = garbage[i];
    std::span<std::byte> seg{reinterpret_cast<std::byte*>(f.data()) + ipv4_frame_overhead, f.size() - ipv4_frame_overhead};
    tcp::finish_checksum(seg, kernel_ip, stack_ip);
  }
  // Blind attacks on the live connection: RSTs and SYNs with sequence
  // numbers an off-path attacker would guess, ACKs of data never sent.
  std::mt19937 rng(5);
  for (int i = 0; i < 50; ++i) {
    garbage.push_back(tcp_frame(from, to, {cp, 7004, static_cast<std::uint32_t>(rng()), 0, fl::rst, 0}));
    garbage.push_back(tcp_frame(from, to, {cp, 7004, static_cast<std::uint32_t>(rng()), 0, fl::syn, 1000}));
    garbage.push_back(tcp_frame(from, to, {cp, 7004, static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng()), fl::ack, 1000}, {}, 100));
  }
  // Segments to closed ports: each answered by one RST.
  for (std::uint16_t p = 0; p < 5; ++p) garbage.push_back(tcp_frame(from, to, {40100, static_cast<std::uint16_t>(9000 + p), 5, 0, fl::syn, 1000}));
  std::atomic<bool> flood_done{false};
  std::thread flood([&] {
    flood_started = true;
    for (int round = 0; round < 4; ++round)
      for (const auto& f : garbage) {
        raw.send_frame(f);
        std::this_thread::sleep_for(100us);
      }
    flood_done = true;
  });
  REQUIRE(app.run_until([&] { return flood_done.load() && app.released == 1; }, 90s));
  flood.join();
  client.join();
  REQUIRE(got.has_value());
  CHECK(*got == data);
  CHECK(app.resets == 0);
  t.stop = true;
  t.runner.join();
  const auto& k = t.core->tcp().counters();
  CHECK(k.bad_checksum == 4);
  CHECK(k.malformed == 4 * 8);
  CHECK(k.rst_out >= 4 * 5);
  // Once the echo is over, a blind SYN naming its 4-tuple is simply a new
  // connection attempt: passive opens may be more than one.
  CHECK(k.passive_opens >= 1);
  CHECK(k.challenge_acks + k.unacceptable > 0);  // the blind RSTs and SYNs that met the live connection
}

TEST_CASE("TCP kernel interop: an app that moves the stack's cursor in one connection's rx fifo loses only that connection: the kernel peer gets ECONNRESET, another connection echoes 1 MiB byte-exact") {
  tcp_tap t;
  if (!t.ready) return;
  stack_app app{t};
  t.listen(7010, 1);
  std::atomic<bool> scribbled{false};
  int victim_errno = 0;
  ssize_t victim_read = 0;
  std::thread victim([&] {
    ksock s;
    s.timeouts(10);
    if (s.connect_to(stack_ip_text, 7010) != 0) return;
    while (!scribbled.load()) std::this_thread::sleep_for(1ms);
    const auto hello = pattern(100, 3);
    // The reset may come before the hello (the core can find the cursor
    // moved on its own, e.g. when it next looks at the fifo's room): then
    // the send reports it, and Linux reports a reset once — the recv after
    // it would read a plain end of stream.
    if (send_all_once(s.fd, hello.data(), hello.size()) < 0) {
      victim_errno = errno;
      victim_read = -1;
      return;
    }
    std::byte b[256];
    victim_read = recv_once(s.fd, b, sizeof b);
    victim_errno = errno;
  });
  REQUIRE(app.run_until([&] { return app.established == 1; }));
  stack_app::conn& c = app.conns.begin()->second;
  test::scribble_cursor(c.rx, test::cursor::tail, c.rx.tail_position() + 5000);  // what a hostile app can write
  scribbled = true;
  REQUIRE(app.run_until([&] { return app.resets == 1; }));
  victim.join();
  CHECK(app.reset_errors[0] == errc::bad_layout);
  CHECK(victim_read < 0);
  CHECK(victim_errno == ECONNRESET);

  const auto data = pattern(1u << 20, 4);
  std::optional<std::vector<std::byte>> got;
  std::thread bystander([&] {
    ksock s;
    s.timeouts(30);
    if (s.connect_to(stack_ip_text, 7010) != 0) return;
    got = kernel_roundtrip(s.fd, data);
  });
  REQUIRE(app.run_until([&] { return app.released == 1; }, 60s));
  bystander.join();
  REQUIRE(got.has_value());
  CHECK(*got == data);
  t.stop = true;
  t.runner.join();
  CHECK(t.core->tcp().counters().aborts[static_cast<std::size_t>(tcp::abort_reason::shm_violation)] == 1);
  CHECK(t.core->tcp().counters().rst_out >= 1);
}

namespace {

// What an on-path observer reads off one TCP frame.
struct sniffed {
  std::uint16_t sport = 0, dport = 0;
  std::uint32_t src_ip = 0, seq = 0, ack = 0, seq_len = 0;
};
std::optional<sniffed> parse_tcp(const test::frame& f) {
  if (f.size() < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00) return std::nullopt;
  const std::size_t ihl = (f[14] & 0x0f) * 4u;
  if (f[14 + 9] != 6 || f.size() < 14 + ihl + 20) return std::nullopt;
  const auto be16 = [&](std::size_t at) { return static_cast<std::uint16_t>(f[at] << 8 | f[at + 1]); };
  const auto be32 = [&](std::size_t at) {
    return std::uint32_t{f[at]} << 24 | std::uint32_t{f[at + 1]} << 16 | std::uint32_t{f[at + 2]} << 8 | f[at + 3];
  };
  const std::size_t t = 14 + ihl;
  sniffed s;
  s.src_ip = be32(14 + 12);
  s.sport = be16(t);
  s.dport = be16(t + 2);
  s.seq = be32(t + 4);
  s.ack = be32(t + 8);
  const std::size_t doff = (f[t + 12] >> 4) * 4u;
  const std::size_t ip_len = be16(14 + 2);
  s.seq_len = static_cast<std::uint32_t>(ip_len - ihl - doff) + ((f[t + 13] & 0x01) ? 1 : 0) + ((f[t + 13] & 0x02) ? 1 : 0);
  return s;
}

}  // namespace

TEST_CASE("TCP 4.2 4.3 4.4 3.3 in-window attacks built from sniffed sequence numbers: an inexact RST and a SYN draw challenge ACKs, an ACK of unsent data and one too old are dropped, data out of the window is answered, each counted, and the connection goes on byte-exact") {
  tcp_tap t;
  if (!t.ready) return;
  // Without timestamps the forged segments need no TSval to pass PAWS:
  // the attacker here needs only what it reads off the wire.
  std::ofstream{"/proc/sys/net/ipv4/tcp_timestamps"} << "0";
  stack_app app{t};
  t.listen(7006, 1);
  const auto [from, to] = kernel_to_stack(t);
  test::raw_link raw(t.iface);
  REQUIRE(raw.ok());

  // The victim: a kernel client that exchanges 100 bytes, stays idle while
  // it is attacked, then echoes 64 KiB more and closes.
  std::atomic<std::uint16_t> client_port{0};
  std::atomic<int> phase{0};  // 1: first exchange done; 2: attacks sent; 3: all done
  std::optional<std::vector<std::byte>> first, second;
  const auto hello = pattern(100, 41), more = pattern(64 * 1024, 42);
  std::thread victim([&] {
    ksock s;
    s.timeouts(60);
    if (s.connect_to(stack_ip_text, 7006) != 0) return;
    sockaddr_in local{};
    socklen_t len = sizeof local;
    ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &len);
    client_port = ntohs(local.sin_port);
    std::vector<std::byte> got(hello.size());
    if (send_all_once(s.fd, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size())) return;
    std::size_t off = 0;
    while (off < got.size()) {
      const ssize_t n = recv_once(s.fd, got.data() + off, got.size() - off);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
    first = got;
    phase = 1;
    while (phase.load() < 2) std::this_thread::sleep_for(1ms);
    second = kernel_roundtrip(s.fd, more);
    phase = 3;
  });
  REQUIRE(app.run_until([&] { return phase.load() == 1; }, 30s));
  const std::uint16_t cp = client_port.load();
  // Let delayed ACKs go out, then read the stack's last frame to the
  // victim: its ACK is the stack's RCV.NXT, its end the stack's SND.NXT.
  app.run_until([] { return false; }, 300ms);
  std::optional<sniffed> last;
  while (auto f = raw.receive(200))
    if (auto s = parse_tcp(*f); s && s->src_ip == stack_ip && s->sport == 7006 && s->dport == cp) last = s;
  REQUIRE(last.has_value());
  const std::uint32_t rcv_nxt = last->ack, snd_nxt = last->seq + last->seq_len;

  namespace fl = tcp::flags;
  const std::vector<test::frame> attacks = {
      // RFC 5961 3.2: in the window, not at RCV.NXT
      tcp_frame(from, to, {cp, 7006, rcv_nxt + 10, 0, fl::rst, 0}),
      // 4.2: a SYN inside the window of a synchronized connection
      tcp_frame(from, to, {cp, 7006, rcv_nxt + 20, 0, fl::syn, 1000}),
      // an ACK of bytes the stack never sent, carrying data
      tcp_frame(from, to, {cp, 7006, rcv_nxt, snd_nxt + 100000, fl::ack, 1000}, {}, 10),
      // an ACK far behind SND.UNA, carrying data
      tcp_frame(from, to, {cp, 7006, rcv_nxt, snd_nxt - (1u << 30), fl::ack, 1000}, {}, 10),
      // data far beyond the window
      tcp_frame(from, to, {cp, 7006, rcv_nxt + (1u << 30), snd_nxt, fl::ack, 1000}, {}, 10),
  };
  for (const auto& f : attacks) {
    REQUIRE(raw.send_frame(f));
    app.run_until([] { return false; }, 20ms);
  }
  app.run_until([] { return false; }, 200ms);
  phase = 2;
  REQUIRE(app.run_until([&] { return phase.load() == 3 && app.released == 1; }, 60s));
  victim.join();
  REQUIRE(first.has_value());
  CHECK(*first == hello);
  REQUIRE(second.has_value());
  CHECK(*second == more);  // none of the forged bytes got in, nothing was lost
  CHECK(app.resets == 0);
  t.stop = true;
  t.runner.join();
  const auto& k = t.core->tcp().counters();
  CHECK(k.challenge_acks >= 2);  // the RST and the SYN
  CHECK(k.ack_unsent == 1);
  CHECK(k.ack_too_old == 1);
  CHECK(k.unacceptable >= 1);
  CHECK(k.aborts[static_cast<std::size_t>(tcp::abort_reason::peer_reset)] == 0);
}
