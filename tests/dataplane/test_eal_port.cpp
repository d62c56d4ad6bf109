// The EAL and ports on virtual devices, without hugepages.
//
// DPDK's EAL starts once per process (feasibility §3.7), so every case
// starts its own EAL lazily inside the case; ctest runs each case as its own
// process. Run directly, the binary's first case takes the EAL and the
// others report that they were skipped.
#include "dataplane/eal.hpp"
#include "dataplane/port.hpp"

#include <doctest/doctest.h>

// rte_eth_dev_conf_get (to check what port::open configured) is still
// marked experimental in 22.11.
#define ALLOW_EXPERIMENTAL_API 1
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace actorstack;
using namespace actorstack::dataplane;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

/// The error text of a failed result, "" for a value. doctest evaluates a
/// *_MESSAGE text even for passing checks under -s, so never call error()
/// there unguarded.
template <class T>
std::string why(const result<T>& r) {
  return r.has_value() ? std::string{} : r.error().message();
}

/// Starts the EAL for this case, or returns nullopt with a message if an
/// earlier case in the same process already did (binary run without ctest).
std::optional<eal_info> start_eal(const eal_options& o) {
  auto r = eal_init(o);
  if (r.code() == errc::already_initialized) {
    MESSAGE("EAL already started by another case in this process; run one case per process (ctest does)");
    return std::nullopt;
  }
  REQUIRE_MESSAGE(r.has_value(), why(r));
  return std::move(r).value();
}

bool eal_taken() {
  if (!eal_running()) return false;
  MESSAGE("EAL already started by another case in this process; run one case per process (ctest does)");
  return true;
}

std::vector<unsigned> affinity_of_this_thread() {
  cpu_set_t s;
  CPU_ZERO(&s);
  REQUIRE(sched_getaffinity(0, sizeof s, &s) == 0);
  std::vector<unsigned> out;
  for (unsigned c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &s)) out.push_back(c);
  return out;
}

/// Frame `i` of a test stream: locally administered MACs, an experimental
/// EtherType, the index and a pattern derived from it. `len` >= 60.
std::vector<std::uint8_t> make_frame(std::uint32_t i, std::size_t len) {
  std::vector<std::uint8_t> f(len);
  const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x01};
  const std::uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x88;  // 0x88b5: IEEE local experimental EtherType
  f[13] = 0xb5;
  std::memcpy(f.data() + 14, &i, sizeof i);
  for (std::size_t k = 18; k < len; ++k) f[k] = static_cast<std::uint8_t>(i * 31 + k * 7);
  return f;
}

std::uint32_t index_of(const std::vector<std::uint8_t>& f) {
  std::uint32_t i = 0;
  if (f.size() >= 18) std::memcpy(&i, f.data() + 14, sizeof i);
  return i;
}

rte_mbuf* to_mbuf(rte_mempool* pool, const std::vector<std::uint8_t>& bytes) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  REQUIRE(m != nullptr);
  char* p = rte_pktmbuf_append(m, static_cast<std::uint16_t>(bytes.size()));
  REQUIRE(p != nullptr);
  std::memcpy(p, bytes.data(), bytes.size());
  return m;
}

std::vector<std::uint8_t> bytes_of(const rte_mbuf* m) {
  std::vector<std::uint8_t> out(rte_pktmbuf_pkt_len(m));
  const void* p = rte_pktmbuf_read(m, 0, out.size(), out.data());
  if (p != out.data() && p != nullptr) std::memcpy(out.data(), p, out.size());
  return out;
}

/// Sends all of `ms` on queue 0, retrying for up to `limit`; frees what
/// could not be sent and returns how many went out.
std::uint16_t send_all(std::uint16_t port_id, rte_mbuf** ms, std::uint16_t n,
                       std::chrono::milliseconds limit = 2000ms) {
  std::uint16_t sent = 0;
  const auto deadline = clock_type::now() + limit;
  while (sent < n && clock_type::now() < deadline) {
    const std::uint16_t k = rte_eth_tx_burst(port_id, 0, ms + sent, static_cast<std::uint16_t>(n - sent));
    sent = static_cast<std::uint16_t>(sent + k);
    if (k == 0) std::this_thread::sleep_for(50us);
  }
  for (std::uint16_t j = sent; j < n; ++j) rte_pktmbuf_free(ms[j]);
  return sent;
}

std::string unique_suffix() { return std::to_string(::getpid() % 10000); }

}  // namespace

TEST_CASE("dataplane eal: starts once with net_ring0, keeps the caller's affinity") {
  if (eal_taken()) return;

  // Rejected before DPDK is touched: these calls do not use up the one start.
  eal_options bad;
  bad.cores = 0;
  CHECK(eal_init(bad).code() == errc::invalid_argument);
  bad.cores = 2;
  bad.lcores = "0@0,1@0";  // main + one worker only
  auto few = eal_init(bad);
  REQUIRE(few.code() == errc::invalid_argument);
  CHECK(std::string(few.error().detail).find("0@0,1@0") != std::string::npos);
  port_options po;
  po.device = "net_ring0";
  CHECK(port::open(po).code() == errc::dataplane);  // no EAL yet
  CHECK_FALSE(eal_running());

  const auto before = affinity_of_this_thread();
  eal_options o;
  o.cores = 1;
  o.vdevs = {"net_ring0"};
  auto info = start_eal(o);
  if (!info) return;
  CHECK(eal_running());
  CHECK(info->worker_lcores.size() == 1);
  CHECK(info->worker_lcores.front() != rte_get_main_lcore());
  const std::string args = [&] {
    std::string s;
    for (const auto& a : info->args) s += a + ' ';
    return s;
  }();
  MESSAGE("EAL args: " << args);
  CHECK(args.find("--no-huge --no-pci --no-shconf") != std::string::npos);
  CHECK(args.find("--vdev net_ring0") != std::string::npos);
  CHECK(args.find("--file-prefix actorstack-" + std::to_string(::getpid())) != std::string::npos);
  CHECK(affinity_of_this_thread() == before);

  auto again = eal_init(o);
  REQUIRE(again.code() == errc::already_initialized);
  CHECK(again.error().detail != nullptr);
  // Even a call that would have been rejected is now "already initialized".
  CHECK(eal_init(bad).code() == errc::already_initialized);
  CHECK(eal_running());
}

namespace {
int report_affinity(void* arg) {
  *static_cast<std::vector<unsigned>*>(arg) = affinity_of_this_thread();
  return 0;
}
}  // namespace

TEST_CASE("dataplane eal: threads started after init are not pinned, worker lcores are") {
  if (eal_taken()) return;
  const auto cpus = affinity_of_this_thread();
  eal_options o;
  o.cores = 1;
  auto info = start_eal(o);
  if (!info) return;
  REQUIRE(info->worker_lcores.size() == 1);

  std::vector<unsigned> thread_cpus;
  std::thread t{[&] { thread_cpus = affinity_of_this_thread(); }};
  t.join();
  CHECK(thread_cpus == cpus);
  if (cpus.size() >= 2)
    CHECK(thread_cpus.size() >= 2);
  else
    MESSAGE("only one CPU available: the not-pinned check is meaningless here, skipped");

  // The data-plane lcore itself stays pinned to one CPU: worker 1 -> the
  // (1 mod n)-th allowed CPU.
  std::vector<unsigned> worker_cpus;
  REQUIRE(rte_eal_remote_launch(report_affinity, &worker_cpus, info->worker_lcores[0]) == 0);
  CHECK(rte_eal_wait_lcore(info->worker_lcores[0]) == 0);
  REQUIRE(worker_cpus.size() == 1);
  CHECK(worker_cpus[0] == cpus[1 % cpus.size()]);
}

TEST_CASE("dataplane port: net_ring0 loops 32 frames from tx back to rx byte-exact") {
  if (eal_taken()) return;
  eal_options o;
  o.vdevs = {"net_ring0"};
  if (!start_eal(o)) return;

  port_options po;
  po.device = "net_ring0";
  po.mbufs = 1023;
  auto opened = port::open(po);
  REQUIRE_MESSAGE(opened.has_value(), why(opened));
  port p = std::move(opened).value();
  REQUIRE(p.valid());
  CHECK(p.queues() == 1);
  CHECK(p.device() == "net_ring0");
  CHECK(p.link_up());
  CHECK(p.pool() != nullptr);

  // A second open of the same device is refused clearly.
  auto twice = port::open(po);
  REQUIRE(twice.code() == errc::dataplane);
  CHECK(std::string(twice.error().detail).find("already open") != std::string::npos);

  constexpr std::uint16_t n = 32;
  rte_mbuf* out[n];
  for (std::uint32_t i = 0; i < n; ++i) out[i] = to_mbuf(p.pool(), make_frame(i, 64));
  REQUIRE(send_all(p.id(), out, n) == n);

  std::vector<std::vector<std::uint8_t>> got;
  const auto deadline = clock_type::now() + 2s;
  while (got.size() < n && clock_type::now() < deadline) {
    rte_mbuf* in[n];
    const std::uint16_t k = rte_eth_rx_burst(p.id(), 0, in, n);
    for (std::uint16_t j = 0; j < k; ++j) {
      got.push_back(bytes_of(in[j]));
      rte_pktmbuf_free(in[j]);
    }
    if (k == 0) std::this_thread::sleep_for(100us);
  }
  REQUIRE(got.size() == n);
  for (std::uint32_t i = 0; i < n; ++i) CHECK(got[i] == make_frame(i, 64));

  // Moving hands the device over; the moved-from port owns nothing.
  port q = std::move(p);
  CHECK_FALSE(p.valid());
  CHECK(q.valid());
  CHECK(q.link_up());
}

TEST_CASE("dataplane port: an unknown device is invalid_argument naming the known ports") {
  if (eal_taken()) return;
  eal_options o;
  o.vdevs = {"net_ring0", "net_null0"};
  if (!start_eal(o)) return;

  port_options po;
  po.device = "net_nope7";
  auto r = port::open(po);
  REQUIRE(r.code() == errc::invalid_argument);
  REQUIRE(r.error().detail != nullptr);
  const std::string detail = r.error().detail;
  MESSAGE(r.error().message());
  CHECK(detail.find("net_nope7") != std::string::npos);
  CHECK(detail.find("net_ring0") != std::string::npos);
  CHECK(detail.find("net_null0") != std::string::npos);

  po.device = "net_ring0";
  po.queues = 0;
  CHECK(port::open(po).code() == errc::invalid_argument);
}

TEST_CASE("dataplane port: two queue pairs with RSS on net_null0, a clear error above a device's maximum") {
  if (eal_taken()) return;
  eal_options o;
  o.vdevs = {"net_ring0", "net_null0"};
  if (!start_eal(o)) return;

  port_options po;
  po.device = "net_ring0";  // net_ring has at most 16 queue pairs
  po.queues = 1000;
  auto r = port::open(po);
  REQUIRE(r.code() == errc::dataplane);
  MESSAGE(r.error().message());
  CHECK(std::string(r.error().detail).find("supports at most") != std::string::npos);

  po.device = "net_null0";  // many queues, advertises RSS hash types
  po.queues = 2;
  po.mbufs = 2047;
  auto opened = port::open(po);
  REQUIRE_MESSAGE(opened.has_value(), why(opened));
  CHECK(opened->queues() == 2);
  rte_eth_conf conf{};  // what open() configured: RSS over IP and UDP
  REQUIRE(rte_eth_dev_conf_get(opened->id(), &conf) == 0);
  CHECK(conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS);
  CHECK((conf.rx_adv_conf.rss_conf.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_UDP) != 0);
  // net_ring0 is still usable after the refused open.
  po.device = "net_ring0";
  po.queues = 1;
  auto ring = port::open(po);
  REQUIRE_MESSAGE(ring.has_value(), why(ring));
  CHECK(ring->link_up());
}

TEST_CASE("dataplane port: net_tap creates its kernel interface (in a private netns)") {
  if (eal_taken()) return;
  // A network namespace of our own: the tap interface cannot clash with
  // another run or leak into the host; it vanishes with this process. EAL
  // creates the tap from this thread, so this thread's namespace counts.
  if (::unshare(CLONE_NEWNET) != 0) {
    const int e = errno;
    if (e == EPERM) {
      MESSAGE("unshare(CLONE_NEWNET) not permitted (not root?): net_tap case skipped");
      return;
    }
    FAIL("unshare(CLONE_NEWNET) failed: " << std::strerror(e));
  }
  const std::string iface = "astap" + unique_suffix();
  eal_options o;
  o.vdevs = {"net_tap0,iface=" + iface};
  if (!start_eal(o)) return;

  port_options po;
  po.device = "net_tap0";
  po.link_wait_ms = 3000;
  auto opened = port::open(po);
  REQUIRE_MESSAGE(opened.has_value(), why(opened));
  port p = std::move(opened).value();
  CHECK(p.valid());
  CHECK(::if_nametoindex(iface.c_str()) != 0);
  CHECK(p.link_up());
  const mac_address zero{};
  CHECK(p.mac() != zero);

  p = port{};  // close: the kernel side goes away with the device
  CHECK(::if_nametoindex(iface.c_str()) == 0);
}

namespace {

constexpr std::uint32_t memif_frames = 1000;

std::size_t memif_frame_len(std::uint32_t i) { return 60 + (i * 37) % 1455; }  // 60..1514

/// The memif client: waits until the parent's server listens (one byte on
/// `ready_fd`), starts its own EAL, echoes every frame back until it has
/// echoed `memif_frames` or 20 s passed, then waits for the parent to say
/// it is done (EOF on `ready_fd`) and disconnects first. Runs in a forked
/// child of a process with no EAL; never returns.
///
/// Why the child closes first: DPDK 22.11's memif driver handles a peer's
/// disconnect on its control thread and unmaps the rings there, with no
/// lock against the application's threads. A side that closes its own port
/// while its control thread is still tearing down after the peer's
/// disconnect frees the same regions twice (the child crashed ~1 run in 8
/// when the parent closed first). So exactly one side closes while the
/// other is connected and idle, and the other closes only after it has
/// seen the disconnect through (link down, the closing process gone).
[[noreturn]] void memif_echo_child(const std::string& sock, int ready_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  const auto deadline = clock_type::now() + 20s;
  // The server must listen before the client starts (feasibility §3.5).
  // memif's socket is abstract by default (socket-abstract=yes): there is
  // no file to wait for, so the parent says when.
  pollfd pfd{ready_fd, POLLIN, 0};
  char byte = 0;
  if (::poll(&pfd, 1, 20000) != 1 || ::read(ready_fd, &byte, 1) != 1) std::_Exit(2);
  eal_options o;
  o.vdevs = {"net_memif0,role=client,socket=" + sock};
  if (!eal_init(o)) std::_Exit(3);
  port_options po;
  po.device = "net_memif0";
  po.link_wait_ms = 5000;
  auto opened = port::open(po);
  if (!opened) {
    std::fprintf(stderr, "memif child: %s\n", opened.error().message().c_str());
    std::exit(4);
  }
  port p = std::move(opened).value();
  std::uint32_t echoed = 0;
  while (echoed < memif_frames && clock_type::now() < deadline) {
    rte_mbuf* in[32];
    const std::uint16_t k = rte_eth_rx_burst(p.id(), 0, in, 32);
    if (k == 0) {
      std::this_thread::sleep_for(50us);
      continue;
    }
    echoed += send_all(p.id(), in, k);
  }
  // Disconnecting now would drop the echoes still in the ring to the
  // server. Wait until the parent has read everything and stopped polling
  // (EOF on the pipe); it keeps its port open until this process is gone.
  pfd.revents = 0;
  (void)::poll(&pfd, 1, 20000);
  p = port{};
  std::exit(echoed == memif_frames ? 0 : 5);  // runs the EAL exit handler
}

}  // namespace

TEST_CASE("dataplane port: memif between two processes echoes 1000 frames byte-exact") {
  if (eal_taken()) return;
  const std::string sock = "/tmp/as-memif-" + std::to_string(::getpid()) + ".sock";
  ::unlink(sock.c_str());
  struct unlink_guard {
    std::string path;
    ~unlink_guard() { ::unlink(path.c_str()); }
  } guard{sock};

  // The child forks before this process has an EAL, so it starts a fresh
  // one of its own (another pid, hence another file prefix).
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[1]);
    memif_echo_child(sock, ready[0]);
  }
  ::close(ready[0]);
  struct fd_guard {
    int fd;
    ~fd_guard() {
      if (fd >= 0) ::close(fd);
    }
  } ready_writer{ready[1]};
  struct reaper {
    pid_t pid;
    int status = -1;
    bool wait_for(std::chrono::milliseconds limit) {
      const auto deadline = clock_type::now() + limit;
      while (clock_type::now() < deadline) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return true;
        if (r < 0) return false;
        std::this_thread::sleep_for(10ms);
      }
      return false;
    }
    ~reaper() {
      if (status == -1 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, &status, 0);
    }
  } child_proc{child};

  eal_options o;
  o.vdevs = {"net_memif0,role=server,socket=" + sock};
  if (!start_eal(o)) return;
  // The server's listener exists once the EAL probed the vdev: let the
  // client start.
  REQUIRE(::write(ready_writer.fd, "g", 1) == 1);
  port_options po;
  po.device = "net_memif0";
  // Until the child has started its EAL and connected: a bound, not a
  // timing. An ASan-built child on a loaded machine once needed more than 15 s.
  po.link_wait_ms = 60000;
  auto opened = port::open(po);
  REQUIRE_MESSAGE(opened.has_value(), why(opened));
  port p = std::move(opened).value();
  if (!p.link_up()) {  // say what the child did (exit 2: no go, 3: EAL, 4: port)
    int status = 0;
    const bool gone = ::waitpid(child, &status, WNOHANG) == child;
    if (gone) child_proc.status = status;
    FAIL_CHECK("memif link down after 60 s; child " << (!gone ? std::string{"still running"}
                                                     : WIFEXITED(status) ? "exited " + std::to_string(WEXITSTATUS(status))
                                                                         : "killed by signal " + std::to_string(WTERMSIG(status))));
  }
  REQUIRE(p.link_up());

  std::vector<bool> seen(memif_frames, false);
  std::uint32_t sent = 0, received = 0, bad = 0, dup = 0;
  const auto deadline = clock_type::now() + 20s;
  while (received < memif_frames && clock_type::now() < deadline) {
    // Keep at most 128 frames in flight: well inside the memif rings.
    if (sent < memif_frames && sent - received < 128) {
      rte_mbuf* out[32];
      std::uint16_t n = 0;
      while (n < 32 && sent + n < memif_frames && sent + n - received < 128) {
        out[n] = to_mbuf(p.pool(), make_frame(sent + n, memif_frame_len(sent + n)));
        ++n;
      }
      const std::uint16_t k = send_all(p.id(), out, n);
      REQUIRE(k == n);
      sent += k;
    }
    rte_mbuf* in[32];
    const std::uint16_t k = rte_eth_rx_burst(p.id(), 0, in, 32);
    for (std::uint16_t j = 0; j < k; ++j) {
      const auto f = bytes_of(in[j]);
      rte_pktmbuf_free(in[j]);
      const std::uint32_t i = index_of(f);
      if (i >= memif_frames || f != make_frame(i, memif_frame_len(i))) {
        ++bad;
      } else if (seen[i]) {
        ++dup;
      } else {
        seen[i] = true;
        ++received;
      }
    }
    if (k == 0) std::this_thread::sleep_for(50us);
  }
  CHECK(sent == memif_frames);
  CHECK(received == memif_frames);
  CHECK(bad == 0);
  CHECK(dup == 0);

  // Stop polling, let the child disconnect first (EOF on its pipe) and
  // exit; close our side only once our control thread has handled that:
  // the link is down and the child is gone (see memif_echo_child).
  ::close(std::exchange(ready_writer.fd, -1));
  REQUIRE(child_proc.wait_for(10s));
  for (int i = 0; i < 500 && p.link_up(); ++i) std::this_thread::sleep_for(10ms);
  CHECK(!p.link_up());
  // The driver marks the link down as its teardown starts: give the rest of
  // it (unmapping a few regions) a moment before our own close.
  std::this_thread::sleep_for(50ms);
  p = port{};
  CHECK(WIFEXITED(child_proc.status));
  CHECK(WEXITSTATUS(child_proc.status) == 0);
  // memif's socket is abstract by default: nothing was ever created in /tmp.
  CHECK(::access(sock.c_str(), F_OK) != 0);
}
