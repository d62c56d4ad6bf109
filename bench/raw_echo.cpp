#include "bench/raw_echo.hpp"

#include "bench/child_process.hpp"
#include "bench/placement.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/packet/packet.hpp"
#include "dataplane/port.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_mbuf.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace actorstack::bench {

namespace {

constexpr std::uint16_t burst = 32;
constexpr std::size_t ipv4_header_at = dataplane::eth_header_size;
constexpr std::size_t l4_header_at = dataplane::ipv4_frame_overhead;

// Set once the echo side's SIGTERM came (the bench ends it so).
std::atomic<bool> g_stop{false};

struct side {
  std::uint16_t port = 0;
  rte_mempool* pool = nullptr;
  raw_echo_case c;
  std::vector<std::byte> frame;  // the generator's request
  double rate = 0;               // the generator's result
  std::uint64_t lost = 0;
};

void swap_bytes(std::uint8_t* a, std::uint8_t* b, std::size_t n) {
  std::uint8_t t[6];
  std::memcpy(t, a, n);
  std::memcpy(a, b, n);
  std::memcpy(b, t, n);
}

// The echo's whole work per frame: the frame goes back to where it came
// from. Swapping keeps both checksums valid (a sum does not depend on
// the order of its terms). The generator's frames have no IP options.
void swap_addresses(rte_mbuf* m) {
  if (m->data_len < l4_header_at + 4) return;
  auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
  swap_bytes(p, p + 6, 6);                                // MAC
  swap_bytes(p + ipv4_header_at + 12, p + ipv4_header_at + 16, 4);  // IPv4
  swap_bytes(p + l4_header_at, p + l4_header_at + 2, 2);  // ports
}

int echo_loop(void* arg) {
  auto& s = *static_cast<side*>(arg);
  rte_mbuf* pkts[burst];
  while (!g_stop.load(std::memory_order_relaxed)) {
    const std::uint16_t n = rte_eth_rx_burst(s.port, 0, pkts, burst);
    for (std::uint16_t i = 0; i < n; ++i) {
      swap_addresses(pkts[i]);
      if (s.c.reply > 0 && pkts[i]->data_len > s.c.reply)
        (void)rte_pktmbuf_trim(pkts[i], static_cast<std::uint16_t>(pkts[i]->data_len - s.c.reply));
    }
    std::uint16_t sent = 0;
    // The generator drains its side every turn, so this ends; nothing is
    // dropped while it does.
    while (sent < n && !g_stop.load(std::memory_order_relaxed))
      sent = static_cast<std::uint16_t>(sent + rte_eth_tx_burst(s.port, 0, pkts + sent, n - sent));
    if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
  }
  return 0;
}

void put16(std::vector<std::byte>& f, std::size_t at, std::uint16_t v) {
  f[at] = std::byte(v >> 8);
  f[at + 1] = std::byte(v & 0xff);
}

// One request: Ethernet, IPv4 (10.78.0.2 → 10.78.0.1), then a UDP header or
// a TCP header of the size the stacks send, then the payload.
std::vector<std::byte> request_frame(const raw_echo_case& c, const dataplane::mac_address& mac) {
  std::vector<std::byte> f(c.header + c.payload, std::byte{0x5a});
  const std::size_t l4 = c.header - dataplane::ipv4_frame_overhead;
  const bool udp = l4 == dataplane::udp_header_size;
  dataplane::ipv4_route r;
  r.src_mac = mac;
  r.dst_mac = {0x02, 0, 0, 0, 0, 0x01};
  r.src_ip = 0x0a4e0002;
  r.dst_ip = 0x0a4e0001;
  dataplane::write_ipv4_headers(f, r, udp ? 17 : 6, 0, l4 + c.payload);
  put16(f, l4_header_at, 40000);
  put16(f, l4_header_at + 2, 9000);
  if (udp) {
    put16(f, l4_header_at + 4, static_cast<std::uint16_t>(l4 + c.payload));
    put16(f, l4_header_at + 6, 0);  // no checksum
  } else {
    std::fill(f.begin() + static_cast<std::ptrdiff_t>(l4_header_at + 4),
              f.begin() + static_cast<std::ptrdiff_t>(c.header), std::byte{0});
    f[l4_header_at + 12] = std::byte(static_cast<std::uint8_t>((l4 / 4) << 4));
    f[l4_header_at + 13] = std::byte{0x18};  // PSH, ACK
    put16(f, l4_header_at + 14, 0xffff);
  }
  return f;
}

// Keeps c.window frames in flight; counts the ones that come back after
// the warm-up. A frame not back within 100 ms of the last arrival is
// counted lost and its slot reused (memif does not lose frames between
// two busy sides, so `lost` says something went wrong).
int generator_loop(void* arg) {
  auto& s = *static_cast<side*>(arg);
  const std::uint64_t hz = rte_get_tsc_hz();
  const std::uint64_t start = rte_rdtsc();
  const std::uint64_t measure_from = start + hz * 3 / 10;
  const std::uint64_t until = measure_from + static_cast<std::uint64_t>(s.c.seconds * double(hz));
  rte_mbuf* pkts[burst];
  unsigned in_flight = 0;
  std::uint64_t counted = 0, last_arrival = start;
  for (;;) {
    const std::uint64_t now = rte_rdtsc();
    if (now >= until) break;
    const std::uint16_t n = rte_eth_rx_burst(s.port, 0, pkts, burst);
    if (n > 0) {
      in_flight -= std::min<unsigned>(n, in_flight);
      if (now >= measure_from) counted += n;
      rte_pktmbuf_free_bulk(pkts, n);
      last_arrival = now;
    } else if (in_flight > 0 && now - last_arrival > hz / 10) {
      s.lost += in_flight;
      in_flight = 0;
      last_arrival = now;
    }
    const unsigned want = std::min<unsigned>(burst, s.c.window - in_flight);
    if (want == 0 || rte_pktmbuf_alloc_bulk(s.pool, pkts, want) != 0) continue;
    for (unsigned i = 0; i < want; ++i) {
      auto* d = rte_pktmbuf_append(pkts[i], static_cast<std::uint16_t>(s.frame.size()));
      std::memcpy(d, s.frame.data(), s.frame.size());
    }
    const std::uint16_t sent = rte_eth_tx_burst(s.port, 0, pkts, static_cast<std::uint16_t>(want));
    if (sent < want) rte_pktmbuf_free_bulk(pkts + sent, want - sent);
    in_flight += sent;
  }
  s.rate = static_cast<double>(counted) * static_cast<double>(hz) / static_cast<double>(until - measure_from);
  return 0;
}

// Both sides end on SIGTERM, taken by sigwait on the main thread (blocked
// before the EAL starts, so no DPDK thread takes it). The order matters:
// DPDK 22.11's memif unmaps a departed peer's rings under a burst in
// flight (docs/architecture.md §6), so the generator, done measuring,
// stays connected and idle until the echo side has stopped polling and
// gone; only then does the bench end the generator.
int run_side(bool server, const std::string& sock, const raw_echo_case& c) {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);
  dataplane::eal_options eo;
  eo.lcores = dataplane_lcores(1, server);  // the CPUs of a stack's one core
  eo.vdevs = {"net_memif0,role=" + std::string{server ? "server" : "client"} + ",socket-abstract=no,socket=" + sock};
  auto eal = dataplane::eal_init(eo);
  if (!eal) return std::fprintf(stderr, "raw echo: %s\n", eal.error().message().c_str()), 1;
  dataplane::port_options po;
  po.device = "net_memif0";
  po.link_wait_ms = server ? 0 : 10'000;
  auto p = dataplane::port::open(po);
  if (!p) return std::fprintf(stderr, "raw echo: %s\n", p.error().message().c_str()), 1;
  if (!server && !p->link_up()) return std::fprintf(stderr, "raw echo: the memif link never came up\n"), 1;
  side s;
  s.port = p->id();
  s.pool = p->pool();
  s.c = c;
  if (!server) s.frame = request_frame(c, p->mac());
  const unsigned lcore = eal->worker_lcores.front();
  if (rte_eal_remote_launch(server ? echo_loop : generator_loop, &s, lcore) != 0)
    return std::fprintf(stderr, "raw echo: lcore %u would not start\n", lcore), 1;
  int sig = 0;
  if (server) {
    std::fprintf(stderr, "raw echo ready\n");
    std::fflush(stderr);
    sigwait(&term, &sig);
    g_stop.store(true);
    rte_eal_wait_lcore(lcore);
  } else {
    rte_eal_wait_lcore(lcore);
    std::printf("%.4f %llu\n", s.rate, static_cast<unsigned long long>(s.lost));
    std::fflush(stdout);
    sigwait(&term, &sig);
  }
  return 0;
}

// Waits up to `bound` for `pid`, then kills it.
bool reaped_ok(pid_t pid, std::chrono::milliseconds bound) {
  const auto until = std::chrono::steady_clock::now() + bound;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= until) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int raw_echo_role(int argc, char** argv) {
  if (argc != 9 || std::string{argv[1]} != "--raw-echo") return -1;
  const std::string role = argv[2];
  raw_echo_case c;
  c.header = std::stoul(argv[4]);
  c.payload = std::stoul(argv[5]);
  c.window = static_cast<unsigned>(std::stoul(argv[6]));
  c.reply = std::stoul(argv[7]);
  c.seconds = std::stod(argv[8]);
  if ((role != "server" && role != "client") || c.window == 0 || c.header < dataplane::udp_frame_overhead ||
      c.header + c.payload > dataplane::eth_header_size + 1500 || (c.reply > 0 && c.reply < dataplane::udp_frame_overhead))
    return 2;
  return run_side(role == "server", argv[3], c);
}

double raw_echo_round_trips(const std::string& self, const raw_echo_case& c) {
  static int runs = 0;
  const std::string tag = "/tmp/asbench-raw-" + std::to_string(getpid()) + "-" + std::to_string(runs++);
  const std::string sock = tag + ".sock", out = tag + ".out", server_err = tag + ".server.err",
                    client_err = tag + ".client.err";
  auto side_args = [&](const char* role) {
    return std::vector<std::string>{self, "--raw-echo", role, sock, std::to_string(c.header),
                                    std::to_string(c.payload), std::to_string(c.window), std::to_string(c.reply),
                                    std::to_string(c.seconds)};
  };
  const pid_t server = spawn(side_args("server"), "/dev/null", server_err);
  double rate = 0;
  pid_t client = -1;
  if (wait_for_text(server_err, "raw echo ready", std::chrono::seconds(20))) {
    client = spawn(side_args("client"), out, client_err);
    const auto bound = std::chrono::milliseconds(static_cast<long>(c.seconds * 1000) + 30'000);
    double measured = 0;
    unsigned long long lost = 0;
    if (!wait_for_text(out, "\n", bound) || std::sscanf(read_file(out).c_str(), "%lf %llu", &measured, &lost) != 2)
      std::fprintf(stderr, "raw echo: the generator failed: %s\n", read_file(client_err).c_str());
    else
      rate = measured;
    if (lost > 0)
      std::fprintf(stderr, "raw echo: %llu frames lost (header %zu, payload %zu, window %u)\n", lost, c.header,
                   c.payload, c.window);
  } else {
    std::fprintf(stderr, "raw echo: the echo side never started: %s\n", read_file(server_err).c_str());
  }
  // The echo side first (see run_side).
  kill(server, SIGTERM);
  if (!reaped_ok(server, std::chrono::seconds(5))) {
    std::fprintf(stderr, "raw echo: the echo side did not end cleanly: %s\n", read_file(server_err).c_str());
    rate = 0;
  }
  if (client > 0) {
    kill(client, SIGTERM);
    if (!reaped_ok(client, std::chrono::seconds(5))) rate = 0;
  }
  for (const auto& f : {sock, out, server_err, client_err}) std::remove(f.c_str());
  return rate;
}

}  // namespace actorstack::bench
