// TCP against the Linux kernel (issue: TCP, kernel interop): one data-plane
// core on a DPDK net_tap port in a network namespace of the test's own,
// driven through its command and event rings exactly as a session worker
// drives it, and kernel TCP sockets on the other side. Every byte is
// checked. Each case is its own process under ctest (one EAL per process).

#include "dataplane/core_loop.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/port.hpp"
#include "shm/fifo_segment.hpp"
#include "tests/dataplane/kernel_side.hpp"

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
#include <map>
#include <optional>
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
  void listen(std::uint16_t port, std::uint64_t cookie, std::uint32_t fifo_size = 256 * 1024) {
    command c;
    c.kind = command_kind::tcp_listen;
    c.tcp.local_ip = stack_ip;
    c.tcp.local_port = port;
    c.tcp.cookie = cookie;
    c.tcp.fifos_from = &seg;
    c.tcp.rx_fifo_size = c.tcp.tx_fifo_size = fifo_size;
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
        conns[k] = c;
        opened[ev.session] = k;
        ++established;
        break;
      }
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
    if (it == conns.end()) return;
    it->second.gone = true;
    t.seg.free_fifo(it->second.rx);
    t.seg.free_fifo(it->second.tx);
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
      c.gone = true;  // the core lets go at once: the fifos are ours again
      t.seg.free_fifo(c.rx);
      t.seg.free_fifo(c.tx);
    }
  std::byte b[16];
  const ssize_t n = recv_once(s2.fd, b, sizeof b);
  CHECK(n < 0);
  CHECK(errno == ECONNRESET);
}

namespace {

// The kernel's client echoes `bytes` through the stack over an impaired
// link; fails the case unless every byte comes back exactly once.
void echo_through(const char* impair_text, std::uint16_t port, std::size_t bytes) {
  auto impair = parse_impairment(impair_text);
  REQUIRE(impair.has_value());
  tcp_tap t(tcp::config{}, *impair);
  if (!t.ready) return;
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
