// The stack on a DPDK net_tap port, the Linux kernel as its peer: each case
// runs in a network namespace of its own (created here, gone with the
// process), gives the kernel side of the tap an address, and talks to the
// stack with kernel sockets and raw frames. Each case is its own process
// under ctest (one EAL per process).

#include "tests/dataplane/kernel_side.hpp"

#include <actorstack/stack.hpp>

#include <doctest/doctest.h>
#include <rte_ethdev.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <thread>

using namespace actorstack;
using namespace std::chrono_literals;

namespace {

constexpr const char* stack_ip = "10.99.0.2";
constexpr const char* kernel_ip = "10.99.0.1";
constexpr std::uint16_t echo_port = 7777;

// Echoes every datagram to its sender (keeps one in hand when tx is full).
class udp_echo final : public app_handler {
 public:
  void on_listen(session&) override { listening.store(true); }
  void on_rx(session& s) override { pump(s); }
  void on_tx(session& s) override { pump(s); }
  std::atomic<bool> listening{false};
  std::atomic<std::uint64_t> echoed{0};

 private:
  void pump(session& s) {
    for (;;) {
      if (!held_) {
        auto d = s.recv_from(buf_);
        if (!d) return;
        held_ = *d;
      }
      if (!s.send_to(held_->remote, {buf_.data(), held_->length})) {
        s.notify_on_space();
        if (s.max_write() < held_->length + datagram_header_size) return;
        continue;
      }
      held_.reset();
      echoed.fetch_add(1);
    }
  }
  std::optional<datagram_info> held_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(max_datagram_payload);
};

// How the stack meets the kernel: a tap (the kernel end is the tap
// interface itself) or af_packet on one end of a veth pair (the kernel
// side is the other end).
enum class link_kind { tap, af_packet };

// A stack on a fresh link in a fresh namespace, with a udp echo listening.
struct tap_stack {
  std::string iface = "astap" + std::to_string(::getpid() % 100000);  // the kernel's end
  bool ready = false;
  udp_echo* echo = nullptr;
  std::unique_ptr<stack> st;
  std::unique_ptr<application> app;

  explicit tap_stack(link_kind kind = link_kind::tap, std::uint32_t cores = 1,
                     std::string poll_mode = "adaptive", std::string impair = {}, std::string threads = "shared") {
    std::string why;
    if (!test::enter_fresh_netns(&why)) {
      MESSAGE("skipped: no network namespace (" << why << ")");
      return;
    }
    stack_config cfg;
    cfg.workers = 2;
    cfg.dataplane_cores = cores;
    cfg.dataplane_poll_mode = std::move(poll_mode);
    cfg.dataplane_threads = std::move(threads);
    cfg.dataplane_port = "net_tap0,iface=" + iface;
    if (kind == link_kind::af_packet) {
      const std::string dpdk_end = "asvd" + std::to_string(::getpid() % 100000);
      REQUIRE(test::run_command("ip link add " + dpdk_end + " type veth peer name " + iface, nullptr));
      REQUIRE(test::run_command("ip link set " + dpdk_end + " up", nullptr));
      cfg.dataplane_port = "net_af_packet0,iface=" + dpdk_end;
    }
    cfg.dataplane_ip = std::string{stack_ip} + "/24";
    cfg.dataplane_impair = std::move(impair);
    auto s = stack::create(cfg);
    REQUIRE_MESSAGE(s.has_value(), s.error().message());
    st = std::move(*s);
    // No IPv6 chatter (router solicitations, MLD) on the wire we count.
    std::ofstream{"/proc/sys/net/ipv6/conf/" + iface + "/disable_ipv6"} << "1";
    REQUIRE(test::set_address(iface, std::string{kernel_ip} + "/24"));
    auto a = st->attach({.name = "udp-echo"}, [this](std::uint32_t) {
      auto h = std::make_unique<udp_echo>();
      echo = h.get();
      return h;
    });
    REQUIRE(a.has_value());
    app = std::move(*a);
    auto l = app->listen(*parse_uri("udp://" + std::string{stack_ip} + "/" + std::to_string(echo_port)));
    REQUIRE_MESSAGE(l.has_value(), l.error().message());
    for (int i = 0; i < 200 && !echo->listening.load(); ++i) std::this_thread::sleep_for(5ms);
    REQUIRE(echo->listening.load());
    ready = true;
  }
  ~tap_stack() {
    if (st) (void)st->stop();
  }
  dataplane_core_stats stats() const {
    auto v = st->dataplane_stats();
    REQUIRE(v.size() == 1);
    return v[0];
  }
  std::vector<dataplane_core_stats> all_stats() const { return st->dataplane_stats(); }
};

// Sends one datagram of random size and bytes from `sock` to the echo
// listener; true if exactly it came back. Fails the case if nothing did.
bool echoes_random(test::udp_socket& sock, std::mt19937& rng, std::vector<std::byte>& out,
                   std::vector<std::byte>& in) {
  const std::size_t n = 1 + rng() % max_datagram_payload;
  for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<std::byte>(rng());
  REQUIRE(sock.send_to(stack_ip, echo_port, {out.data(), n}));
  auto got = sock.recv(in, 2s);
  REQUIRE_MESSAGE(got.has_value(), "a datagram of " << n << " bytes was not echoed");
  return got->first == n && std::memcmp(in.data(), out.data(), n) == 0;
}

// How many of `n` random datagrams (sizes and bytes from `seed`) came back
// exactly from the echo listener.
std::size_t echoed_exactly(test::udp_socket& sock, unsigned seed, int n) {
  std::mt19937 rng{seed};
  std::vector<std::byte> out(max_datagram_payload), in(2048);
  std::size_t ok = 0;
  for (int i = 0; i < n; ++i)
    if (echoes_random(sock, rng, out, in)) ++ok;
  return ok;
}

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return p();
}

}  // namespace

TEST_CASE("dataplane tap: the kernel pings the stack and gets every reply") {
  tap_stack t;
  if (!t.ready) return;
  auto r = test::ping(stack_ip, 5, 1s);
  CHECK(r.sent == 5);
  CHECK(r.received == 5);
  CHECK(t.stats().icmp_echo_replies >= 5);
  CHECK(t.stats().arp_replies >= 1);  // the kernel asked who has 10.99.0.2
  // What actorstack-ctl shows of the same core.
  auto shown = t.st->show("dataplane");
  REQUIRE(shown.has_value());
  CHECK(shown->find("core 0 on net_tap0") != std::string::npos);
  CHECK(shown->find("10.99.0.2/24") != std::string::npos);
  auto json = t.st->show("dataplane", {"--json"});
  REQUIRE(json.has_value());
  CHECK(json->find("\"icmp_echo_replies\":5") != std::string::npos);
}

TEST_CASE("dataplane tap: 10000 datagrams of random sizes 1..1472 come back byte-exact") {
  tap_stack t;
  if (!t.ready) return;
  test::udp_socket sock;
  REQUIRE(sock.bind(kernel_ip, 0));
  std::mt19937 rng{12345};
  std::uniform_int_distribution<std::size_t> size_of(1, max_datagram_payload);
  std::vector<std::byte> out(max_datagram_payload), in(2048);
  std::size_t ok = 0, mismatched = 0, lost = 0;
  // Lock-step keeps it deterministic: the stack's rx fifo never overflows.
  for (int i = 0; i < 10000; ++i) {
    const std::size_t n = size_of(rng);
    for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<std::byte>(rng());
    REQUIRE(sock.send_to(stack_ip, echo_port, {out.data(), n}));
    auto got = sock.recv(in, 2s);
    if (!got) {
      ++lost;
      continue;
    }
    if (got->first == n && std::memcmp(in.data(), out.data(), n) == 0)
      ++ok;
    else
      ++mismatched;
  }
  CHECK(ok == 10000);
  CHECK(mismatched == 0);
  CHECK(lost == 0);
  // A zero-length datagram is legal: delivered and echoed empty.
  REQUIRE(sock.send_to(stack_ip, echo_port, {}));
  auto empty = sock.recv(in, 2s);
  REQUIRE(empty.has_value());
  CHECK(empty->first == 0);
  const auto s = t.stats();
  CHECK(s.udp_rx_datagrams >= 10001);
  CHECK(s.udp_tx_datagrams >= 10001);
  CHECK(s.dropped("fifo_full") == 0);
}

TEST_CASE("dataplane tap: bad input is dropped under its reason and the stack keeps serving") {
  tap_stack t;
  if (!t.ready) return;
  test::udp_socket sock;
  REQUIRE(sock.bind(kernel_ip, 0));
  // First a good round trip: ARP is resolved both ways, the MACs are known.
  std::vector<std::byte> in(2048);
  const std::byte hello[] = {std::byte{'h'}, std::byte{'i'}};
  REQUIRE(sock.send_to(stack_ip, echo_port, hello));
  REQUIRE(sock.recv(in, 2s).has_value());

  auto mac = test::interface_mac(t.iface);
  REQUIRE(mac.has_value());
  test::raw_link link{t.iface};
  REQUIRE(link.ok());
  const auto before = t.stats();
  auto base = [&] {
    test::frame_builder b;
    b.src_mac = *mac;
    b.dst_mac = *mac;  // the tap's kernel side and the DPDK port share the MAC
    b.src_ip = kernel_ip;
    b.dst_ip = stack_ip;
    b.src_port = 40000;
    b.dst_port = echo_port;
    b.payload = std::vector<std::uint8_t>(32, 0x5a);
    return b;
  };
  std::map<std::string, std::uint64_t> expected;
  auto send = [&](const std::vector<std::uint8_t>& frame, const std::string& reason) {
    REQUIRE(link.send_frame(frame));
    ++expected[reason];
  };
  // (A frame shorter than an Ethernet header cannot be sent through
  // AF_PACKET at all; the packet unit tests cover that one.)
  send(test::truncate(base().udp(), 14 + 12), "truncated");            // IPv4
  send(test::truncate(test::set_ip_total_length(base().udp(), 24), 14 + 24), "truncated");  // UDP
  send(test::set_ip_total_length(base().udp(), 2000), "bad_length");
  send(test::set_udp_length(base().udp(), 12), "bad_length");
  send(test::corrupt_ip_checksum(base().udp()), "bad_checksum");
  send(test::corrupt_udp_checksum(base().udp()), "bad_checksum");
  send(test::set_fragment(base().udp(), true, 0), "fragment");
  send(test::set_fragment(base().udp(), false, 64), "fragment");
  send(test::add_ip_options(base().udp()), "ip_options");
  send(test::set_protocol(base().udp(), 132), "unknown_protocol");  // SCTP
  {
    auto b = base();
    b.dst_port = 9;  // nobody listens there
    send(b.udp(), "no_session");
  }
  {
    auto b = base();
    b.dst_ip = "10.99.0.77";  // another host
    send(b.udp(), "not_for_us");
  }
  send(base().arp_request("10.99.0.77"), "not_for_us");
  send(base().unknown_ethertype(0x88b5), "unknown_ethertype");
  // Random garbage: whatever it is, it is dropped and counted somewhere.
  std::mt19937 rng{7};
  std::uint64_t garbage = 0;
  for (int i = 0; i < 50; ++i) {
    auto g = test::random_garbage(rng, 14 + static_cast<std::size_t>(rng() % 200));
    REQUIRE(link.send_frame(g));
    ++garbage;
  }
  std::uint64_t total_expected = garbage;
  for (const auto& [r, n] : expected) total_expected += n;
  REQUIRE(eventually([&] { return t.stats().rx_packets - before.rx_packets >= total_expected; }));
  const auto after = t.stats();
  std::uint64_t drops_delta = 0;
  for (const auto& [r, n] : after.drops) drops_delta += n - before.dropped(r);
  for (const auto& [reason, n] : expected) {
    INFO("reason " << reason);
    CHECK(after.dropped(reason) - before.dropped(reason) >= n);
  }
  // Every injected frame was dropped (the kernel's own traffic may add more).
  CHECK(drops_delta >= total_expected);
  // And the stack still serves.
  REQUIRE(sock.send_to(stack_ip, echo_port, hello));
  auto again = sock.recv(in, 2s);
  REQUIRE(again.has_value());
  CHECK(again->first == 2);
}

TEST_CASE("dataplane tap: a datagram that does not fit the rx fifo is dropped and counted, never split") {
  tap_stack t;
  if (!t.ready) return;
  // An app that listens but never reads: its 64 KiB rx fifo fills up.
  struct sink : app_handler {
    std::atomic<session*> listener{nullptr};
    void on_listen(session& s) override { listener.store(&s); }
  };
  sink* k = nullptr;
  auto app = t.st->attach({.name = "sink"}, [&](std::uint32_t) {
    auto h = std::make_unique<sink>();
    k = h.get();
    return h;
  });
  REQUIRE(app.has_value());
  const auto sink_ep = parse_uri("udp://10.99.0.2/9999");
  REQUIRE(sink_ep.has_value());
  REQUIRE((*app)->listen(*sink_ep).has_value());
  REQUIRE(eventually([&] { return k->listener.load() != nullptr; }));
  test::udp_socket sock;
  REQUIRE(sock.bind(kernel_ip, 0));
  // One echo first: the kernel resolves the stack's MAC, so the burst
  // below is not cut short by the kernel's own queue for unresolved hosts.
  std::vector<std::byte> in(64);
  const std::byte hi[] = {std::byte{'h'}, std::byte{'i'}};
  REQUIRE(sock.send_to(stack_ip, echo_port, hi));
  REQUIRE(sock.recv(in, 2s).has_value());
  std::vector<std::byte> out(1400, std::byte{0x33});
  const auto before = t.stats();
  for (int i = 0; i < 200; ++i) REQUIRE(sock.send_to(stack_ip, 9999, out));
  REQUIRE(eventually([&] { return t.stats().rx_packets - before.rx_packets >= 200; }));
  const auto after = t.stats();
  const auto delivered = after.udp_rx_datagrams - before.udp_rx_datagrams;
  const auto dropped = after.dropped("fifo_full") - before.dropped("fifo_full");
  CHECK(delivered + dropped == 200);
  CHECK(dropped > 100);
  // What was delivered is whole: exactly `delivered` datagrams of 1400 bytes.
  session& l = *k->listener.load();
  CHECK(l.max_read() == delivered * (1400 + datagram_header_size));
  // The echo listener next door still serves.
  REQUIRE(sock.send_to(stack_ip, echo_port, hi));
  auto got = sock.recv(in, 2s);
  REQUIRE(got.has_value());
  CHECK(got->first == 2);
}

TEST_CASE("dataplane tap: a connected udp session from the stack reaches a kernel socket") {
  tap_stack t;
  if (!t.ready) return;
  test::udp_socket peer;
  REQUIRE(peer.bind(kernel_ip, 6000));
  struct client : app_handler {
    std::atomic<bool> connected{false};
    std::atomic<std::size_t> got{0};
    session* s = nullptr;
    bool on_connected(session& x, std::uint64_t) override {
      s = &x;
      const std::byte msg[] = {std::byte{1}, std::byte{2}, std::byte{3}};
      (void)x.write(msg);
      connected.store(true);
      return true;
    }
    void on_rx(session& x) override {
      std::array<std::byte, 64> buf;
      while (auto n = x.read(buf)) got.fetch_add(*n);
    }
  };
  client* c = nullptr;
  auto app = t.st->attach({.name = "udp-client"}, [&](std::uint32_t) {
    auto h = std::make_unique<client>();
    c = h.get();
    return h;
  });
  REQUIRE(app.has_value());
  const auto peer_ep = parse_uri("udp://10.99.0.1/6000");
  REQUIRE(peer_ep.has_value());
  REQUIRE((*app)->connect(*peer_ep, 1).has_value());
  REQUIRE(eventually([&] { return c->connected.load(); }));
  // The stack resolved the kernel's MAC (ARP) and sent the datagram.
  std::vector<std::byte> in(64);
  auto got = peer.recv(in, 3s);
  REQUIRE(got.has_value());
  CHECK(got->first == 3);
  // The kernel answers to the session's ephemeral port: the 5-tuple finds it.
  REQUIRE(peer.send_to(stack_ip, got->second.port, {in.data(), 3}));
  CHECK(eventually([&] { return c->got.load() == 3; }));
  CHECK(t.stats().arp_requests >= 1);
}

TEST_CASE("dataplane af_packet: over a veth pair, 2000 datagrams come back byte-exact") {
  tap_stack t{link_kind::af_packet};
  if (!t.ready) return;
  test::udp_socket sock;
  REQUIRE(sock.bind(kernel_ip, 0));
  // First as the kernel sends by default: the UDP checksum is left to an
  // offload the veth never performs, so the stack sees it wrong and drops
  // the datagram — counted, not delivered.
  {
    const auto before = t.stats();
    const std::byte x[] = {std::byte{1}};
    REQUIRE(sock.send_to(stack_ip, echo_port, x));
    REQUIRE(eventually([&] { return t.stats().rx_packets > before.rx_packets + 0; }));
    std::vector<std::byte> none(16);
    if (!sock.recv(none, 200ms)) CHECK(t.stats().dropped("bad_checksum") > before.dropped("bad_checksum"));
  }
  REQUIRE(sock.no_checksum());
  CHECK(echoed_exactly(sock, 99, 2000) == 2000);
  CHECK(test::ping(stack_ip, 3, 1s).received == 3);
}

TEST_CASE("dataplane tap: a second data plane in one process is a clear error") {
  tap_stack t;
  if (!t.ready) return;
  stack_config cfg;
  cfg.workers = 1;
  cfg.dataplane_port = "net_tap1,iface=" + t.iface + "b";
  cfg.dataplane_ip = "10.98.0.2/24";
  auto second = stack::create(cfg);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == errc::already_initialized);
}

TEST_CASE("dataplane tap: two cores, one queue each: datagrams from 16 kernel sockets reach the listener's core and come back byte-exact") {
  tap_stack t{link_kind::tap, 2};
  if (!t.ready) return;
  REQUIRE(t.all_stats().size() == 2);
  // Sixteen flows: the kernel spreads them over the tap's two queues by
  // its flow hash; the listener's fifo has one producer, its owner core,
  // and the other core hands its frames over.
  std::vector<test::udp_socket> socks(16);
  for (auto& s : socks) REQUIRE(s.bind(kernel_ip, 0));
  std::mt19937 rng{7};
  std::vector<std::byte> out(max_datagram_payload), in(2048);
  std::size_t ok = 0;
  constexpr int rounds = 250;
  for (int i = 0; i < rounds; ++i)
    for (auto& sock : socks)
      if (echoes_random(sock, rng, out, in)) ++ok;
  CHECK(ok == rounds * socks.size());
  const auto cores = t.all_stats();
  std::uint64_t rx = 0, forwarded = 0, delivered = 0;
  for (const auto& c : cores) {
    rx += c.rx_packets;
    forwarded += c.frames_forwarded;
    delivered += c.udp_rx_datagrams;
    CHECK(c.dropped("handoff_full") == 0);
  }
  MESSAGE("frames per core: " << cores[0].rx_packets << " / " << cores[1].rx_packets << ", forwarded "
                              << forwarded);
  // Only the owner core puts datagrams into the listener's fifo.
  CHECK(cores[1].udp_rx_datagrams == 0);
  CHECK(delivered == rounds * socks.size());
  CHECK(forwarded == cores[1].frames_forwarded);
  CHECK(cores[1].frames_forwarded <= cores[1].rx_packets);
  CHECK(test::ping(stack_ip, 3, 1s).received == 3);
}

namespace {
// Two workers, two cores, placed by dataplane.threads (one data plane per
// process: one placement per test case).
void serves_with_threads(const std::string& threads) {
  tap_stack t{link_kind::tap, 2, "adaptive", {}, threads};
  if (!t.ready) return;
  test::udp_socket sock;
  REQUIRE(sock.bind(kernel_ip, 0));
  CHECK(echoed_exactly(sock, 11, 500) == 500);
  CHECK(test::ping(stack_ip, 3, 1s).received == 3);
  const auto cores = t.all_stats();
  REQUIRE(cores.size() == 2);
  if (threads == "own") {
    CHECK(cores[0].thread == "lcore 1");
    CHECK(cores[1].thread == "lcore 2");
    return;
  }
  // Core i on worker i's scheduler thread, which has run it by now and is
  // registered with DPDK under an lcore id of its own (its mbuf cache):
  // not the EAL's main lcore 0 nor the unused worker lcores 1 and 2, and
  // not the other core's.
  std::vector<unsigned> ids;
  for (unsigned c = 0; c < 2; ++c) {
    const std::string prefix = "worker " + std::to_string(c) + " (lcore ";
    INFO(cores[c].thread);
    REQUIRE(cores[c].thread.starts_with(prefix));
    ids.push_back(static_cast<unsigned>(std::stoul(cores[c].thread.substr(prefix.size()))));
    CHECK(ids.back() > 2);
  }
  CHECK(ids[0] != ids[1]);
}
}  // namespace

TEST_CASE("dataplane tap: by default the cores run on the session workers' threads and serve byte-exact") {
  serves_with_threads("shared");
}

TEST_CASE("dataplane tap: with dataplane.threads = own the cores run on lcores of their own and serve byte-exact") {
  serves_with_threads("own");
}

TEST_CASE("dataplane tap: busy polling serves like adaptive and never sleeps while idle") {
  tap_stack t{link_kind::tap, 1, "busy"};
  if (!t.ready) return;
  test::udp_socket sock;
  REQUIRE(sock.bind(kernel_ip, 0));
  CHECK(echoed_exactly(sock, 99, 1000) == 1000);
  CHECK(test::ping(stack_ip, 3, 1s).received == 3);
  // Idle for half a second. The adaptive mode would spin 256 passes, then
  // sleep 1 us doubling to 200 us: at most ~2 800 passes in that time. A
  // busy core keeps polling (one pass is a read on the tap: about a
  // microsecond, even sharing its CPU it makes tens of thousands).
  const std::uint64_t idle0 = t.stats().idle_polls;
  std::this_thread::sleep_for(500ms);
  const std::uint64_t idle = t.stats().idle_polls - idle0;
  MESSAGE("idle passes in 500 ms: " << idle);
  CHECK(idle > 10000);
}

TEST_CASE("dataplane: dataplane.impair reaches the cores: with loss=100% on every frame (ARP included) the kernel gets no echo where it otherwise would") {
  {
    tap_stack t(link_kind::tap, 1, "adaptive", "loss=100%,seed=1");
    if (!t.ready) return;
    test::udp_socket sock;
    std::vector<std::byte> out(64, std::byte{1}), in(2048);
    for (int i = 0; i < 5; ++i) {
      REQUIRE(sock.send_to(stack_ip, echo_port, out));
      CHECK_FALSE(sock.recv(in, 200ms).has_value());
    }
    CHECK(t.stats().udp_rx_datagrams == 0);  // the stage dropped every frame before the stack saw it
    CHECK(t.stats().rx_packets == 0);
  }
}

TEST_CASE("dataplane tap: a frame the port refuses for good is dropped after a second, counted, and what waited behind it goes out") {
  tap_stack t;
  if (!t.ready) return;
  test::udp_socket sock;
  REQUIRE(sock.bind(kernel_ip, 0));
  CHECK(echoed_exactly(sock, 3, 20) == 20);
  // The tap PMD refuses, on every try, a frame longer than its MTU allows
  // (rte_eth_dev_set_mtu lowers what it checks against); the kernel's end
  // keeps 1500, so it sends the big datagram whole.
  REQUIRE(rte_eth_dev_set_mtu(0, 1000) == 0);
  REQUIRE(test::run_command("ip link set dev " + t.iface + " mtu 1500", nullptr));
  const std::vector<std::byte> big(1400, std::byte{0x42});
  REQUIRE(sock.send_to(stack_ip, echo_port, big));
  // Small datagrams queue behind the refused echo; once it is dropped they
  // come back (the first within the drop's second plus slack).
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::byte> in(2048);
  const std::vector<std::byte> small(64, std::byte{0x17});
  bool small_back = false, big_back = false;
  while (!small_back && std::chrono::steady_clock::now() - t0 < 10s) {
    REQUIRE(sock.send_to(stack_ip, echo_port, small));
    while (auto got = sock.recv(in, 100ms)) {
      if (got->first == big.size()) big_back = true;
      if (got->first == small.size()) small_back = true;
    }
  }
  CHECK(small_back);
  CHECK_FALSE(big_back);
  CHECK(std::chrono::steady_clock::now() - t0 >= 900ms);  // not dropped before its second
  CHECK(t.stats().dropped("tx_refused") == 1);
  CHECK(t.stats().dropped("tx_full") == 0);
}
