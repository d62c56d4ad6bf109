// One data-plane core driven pass by pass (core_loop::poll_once) on a
// net_ring port, whose transmit side loops straight back to its receive
// side: what a pass does with what is waiting when it starts, without
// threads or timing.
//
// DPDK's EAL starts once per process; ctest runs each case as its own
// process (see test_eal_port.cpp).
#include "dataplane/core_loop.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/packet/packet.hpp"
#include "dataplane/port.hpp"
#include "dataplane/tcp/segment.hpp"
#include "shm/fifo_segment.hpp"
#include "tests/fifo_scribble.hpp"

#include <actorstack/datagram.hpp>

#include <doctest/doctest.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace actorstack;
using namespace actorstack::dataplane;

namespace {

constexpr std::uint32_t stack_ip = 0x0a4d0002;  // 10.77.0.2
constexpr std::uint32_t peer_ip = 0x0a4d0001;   // 10.77.0.1
constexpr mac_address stack_mac{0x02, 0, 0, 0, 0x4d, 0x02};
constexpr mac_address peer_mac{0x02, 0, 0, 0, 0x4d, 0x01};

struct counting_doorbell final : doorbell {
  int rings = 0;
  void ring() noexcept override { ++rings; }
};

// A UDP datagram from the peer to the stack, as the wire would bring it.
std::vector<std::byte> udp_frame(std::uint16_t dst_port, const std::string& payload) {
  std::vector<std::byte> f(udp_frame_overhead + payload.size());
  std::memcpy(f.data() + udp_frame_overhead, payload.data(), payload.size());
  udp_route r;
  r.src_mac = peer_mac;
  r.dst_mac = stack_mac;
  r.src_ip = peer_ip;
  r.dst_ip = stack_ip;
  r.src_port = 40000;
  r.dst_port = dst_port;
  write_udp_headers(f, r, 1, std::span{f}.subspan(udp_frame_overhead));
  return f;
}

// Puts `frame` on the port's receive side (net_ring: tx lands in rx).
void arrive(const port& p, const std::vector<std::byte>& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(p.pool());
  REQUIRE(m != nullptr);
  char* d = rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame.size()));
  REQUIRE(d != nullptr);
  std::memcpy(d, frame.data(), frame.size());
  REQUIRE(rte_eth_tx_burst(p.id(), 0, &m, 1) == 1);
}

// A TCP segment without options from the peer to the stack's `dst_port`.
std::vector<std::byte> tcp_frame(std::uint16_t dst_port, std::uint8_t flags) {
  std::vector<std::byte> f(ipv4_frame_overhead + 20);
  tcp::header_fields h;
  h.src_port = 40000;
  h.dst_port = dst_port;
  h.seq = 1;
  h.flags = flags;
  h.window = 65535;
  const std::span<std::byte> seg = std::span{f}.subspan(ipv4_frame_overhead);
  tcp::write_header(seg, h, {});
  tcp::finish_checksum(seg, peer_ip, stack_ip);
  ipv4_route r;
  r.src_mac = peer_mac;
  r.dst_mac = stack_mac;
  r.src_ip = peer_ip;
  r.dst_ip = stack_ip;
  write_ipv4_headers(f, r, 6, 1, 20);
  return f;
}

// A TCP RST from the peer to the stack's `dst_port` (an RST to no
// connection: the engine counts it and answers nothing).
std::vector<std::byte> tcp_rst_frame(std::uint16_t dst_port) { return tcp_frame(dst_port, tcp::flags::rst); }

// One core on port `p` and the one worker it serves: the worker's command
// and event channels and doorbell, the test drives both sides.
struct one_worker {
  channel<command> commands{64};
  channel<event> events{64};
  counting_doorbell bell;
  core_loop core;
  explicit one_worker(const port& p) : core{setup_for(p)} {}

 private:
  core_setup setup_for(const port& p) {
    core_setup setup;
    setup.port_id = p.id();
    setup.pool = p.pool();
    setup.mac = stack_mac;
    setup.address.ip = stack_ip;
    setup.address.prefix_len = 24;
    setup.workers.push_back({&commands, &events, &bell});
    return setup;
  }
};

// A listener's binding on `port_no` as a worker installs it: its fifos,
// carved from `seg`, and the add command.
struct listener_binding {
  shm::fifo rx, tx;
  command add;
};
listener_binding listener_on(shm::fifo_segment& seg, std::uint32_t id, std::uint64_t session, std::uint16_t port_no) {
  auto rx = seg.alloc_fifo(64 * 1024);
  auto tx = seg.alloc_fifo(64 * 1024);
  REQUIRE(rx.has_value());
  REQUIRE(tx.has_value());
  listener_binding b{*rx, *tx, {}};
  b.add.kind = command_kind::add;
  b.add.id = id;
  b.add.binding.id = id;
  b.add.binding.session = session;
  b.add.binding.rx = *rx;
  b.add.binding.tx = *tx;
  b.add.binding.rx_end = shm::private_end{*rx, shm::private_end::side::producer};
  b.add.binding.tx_end = shm::private_end{*tx, shm::private_end::side::consumer};
  b.add.binding.local_port = port_no;
  return b;
}

bool start_eal_with_ring(std::optional<port>& out) {
  if (eal_running()) {
    MESSAGE("EAL already started by another case in this process; run one case per process (ctest does)");
    return false;
  }
  eal_options o;
  o.vdevs = {"net_ring0"};
  auto eal = eal_init(o);
  REQUIRE_MESSAGE(eal.has_value(), eal.error().message());
  port_options po;
  po.device = "net_ring0";
  po.mbufs = 1023;
  auto opened = port::open(po);
  REQUIRE_MESSAGE(opened.has_value(), opened.error().message());
  out.emplace(std::move(opened).value());
  return true;
}

}  // namespace

TEST_CASE("TCP 1.2 dataplane cores: a segment to an ephemeral port goes to the core that port names, others stay") {
  std::optional<port> p;
  if (!start_eal_with_ring(p)) return;
  // Two cores on one queue (net_ring has one), driven pass by pass: what
  // core 0 receives, and what it hands core 1.
  channel<handoff> zero_to_one{64}, one_to_zero{64};
  auto setup_of = [&](std::uint32_t index) {
    core_setup s;
    s.index = index;
    s.port_id = p->id();
    s.pool = p->pool();
    s.mac = stack_mac;
    s.address.ip = stack_ip;
    s.address.prefix_len = 24;
    s.to_cores = index == 0 ? std::vector<channel<handoff>*>{nullptr, &zero_to_one}
                            : std::vector<channel<handoff>*>{&one_to_zero, nullptr};
    s.from_cores = index == 0 ? std::vector<channel<handoff>*>{nullptr, &one_to_zero}
                              : std::vector<channel<handoff>*>{&zero_to_one, nullptr};
    return s;
  };
  core_loop core0{setup_of(0)};
  core_loop core1{setup_of(1)};
  const auto tcp_in = [](const core_loop& c) { return c.tcp().counters().segments_in; };

  arrive(*p, tcp_rst_frame(49153));  // odd: core 1 opened it
  arrive(*p, tcp_rst_frame(49152));  // even: core 0's
  arrive(*p, tcp_rst_frame(80));     // not ephemeral: whoever receives it
  core0.poll_once();
  CHECK(core0.counters().frames_forwarded.get() == 1);
  CHECK(tcp_in(core0) == 2);
  core1.poll_once();
  CHECK(tcp_in(core1) == 1);
  CHECK(core1.counters().frames_forwarded.get() == 0);  // handed over frames are not handed on
  CHECK(core0.counters().dropped(drop_reason::handoff_full) == 0);
}

TEST_CASE("dataplane core: a datagram that comes after its listener's add was queued is delivered in the pass that meets both") {
  std::optional<port> ring;
  if (!start_eal_with_ring(ring)) return;
  const port& p = *ring;

  auto seg = shm::fifo_segment::create("core-loop-test", 1u << 20);
  REQUIRE(seg.has_value());
  one_worker w{p};
  auto& [commands, events, bell, core] = w;

  // The worker queues the listener's binding and tells its app, whose
  // peer sends at once: when the core's next pass starts, the command and
  // the datagram both wait. A pass receives before it reads commands.
  auto b = listener_on(*seg, 7, 42, 9000);
  shm::fifo* rx = &b.rx;
  REQUIRE(commands.push(b.add));
  arrive(p, udp_frame(9000, "first datagram"));

  CHECK(core.poll_once());
  CHECK(core.counters().dropped(drop_reason::no_session) == 0);
  CHECK(core.counters().udp_rx_datagrams.get() == 1);
  CHECK(core.connections() == 1);
  REQUIRE(rx->max_dequeue() == datagram_header_size + 14);
  datagram_header h;
  REQUIRE(rx->dequeue(std::as_writable_bytes(std::span{&h, 1})).value_or(0) == sizeof h);
  CHECK(h.length == 14);
  CHECK(h.local_port == 9000);
  CHECK(h.remote_port == 40000);
  std::string payload(14, '\0');
  REQUIRE(rx->dequeue(std::as_writable_bytes(std::span{payload})).value_or(0) == 14);
  CHECK(payload == "first datagram");
  // The worker hears of it: one rx event, and its doorbell.
  event ev;
  REQUIRE(events.pop(ev));
  CHECK(ev.kind == event_kind::rx);
  CHECK(ev.session == 42);
  CHECK(bell.rings == 1);

  // A datagram for a port nobody listens on is still a counted drop.
  arrive(p, udp_frame(9001, "nobody"));
  CHECK(core.poll_once());
  CHECK(core.counters().dropped(drop_reason::no_session) == 1);
  CHECK(core.counters().udp_rx_datagrams.get() == 1);
}

TEST_CASE("TCP 1.1 dataplane core: a SYN that comes after its listener's command was queued is answered with a SYN-ACK in the pass that meets both, never a reset") {
  std::optional<port> ring;
  if (!start_eal_with_ring(ring)) return;
  const port& p = *ring;
  auto seg = shm::fifo_segment::create("core-loop-syn", 1u << 20);
  REQUIRE(seg.has_value());
  one_worker w{p};
  auto& [commands, events, bell, core] = w;

  // The listen returned once its command was queued; the peer's SYN is
  // already waiting when the core's next pass starts (it receives first).
  command listen;
  listen.kind = command_kind::tcp_listen;
  listen.tcp.local_ip = stack_ip;
  listen.tcp.local_port = 7000;
  listen.tcp.cookie = 5;
  listen.tcp.fifos_from = &*seg;
  listen.tcp.rx_fifo_size = listen.tcp.tx_fifo_size = 64 * 1024;
  REQUIRE(commands.push(listen));
  arrive(p, tcp_frame(7000, tcp::flags::syn));
  CHECK(core.poll_once());
  const auto& c = core.tcp().counters();
  CHECK(c.rst_out == 0);
  CHECK(core.tcp().engine().connections_per_state()[static_cast<std::size_t>(tcp::state::syn_received)] == 1);

  // A SYN for a port nobody listens on is still refused.
  arrive(p, tcp_frame(7001, tcp::flags::syn));
  CHECK(core.poll_once());
  CHECK(core.tcp().counters().rst_out == 1);
}

TEST_CASE("dataplane core: a udp binding removed with datagrams still in its tx fifo sends them first, as a closed kernel socket's queued datagrams still leave") {
  std::optional<port> ring;
  if (!start_eal_with_ring(ring)) return;
  const port& p = *ring;
  auto seg = shm::fifo_segment::create("core-loop-close", 1u << 20);
  REQUIRE(seg.has_value());
  one_worker w{p};
  auto& [commands, events, bell, core] = w;
  auto b = listener_on(*seg, 3, 77, 9000);
  shm::fifo* tx = &b.tx;
  REQUIRE(commands.push(b.add));
  arrive(p, udp_frame(9000, "hello"));  // the peer's MAC is learnt from it
  CHECK(core.poll_once());
  REQUIRE(core.counters().udp_rx_datagrams.get() == 1);
  // The app answers three times and closes at once: its tx kick and the
  // close reach the core in one pass (here: the close alone, before it).
  for (const std::string answer : {"one", "two", "three"}) {
    datagram_header h;
    h.length = static_cast<std::uint32_t>(answer.size());
    h.remote = ip_address::v4(peer_ip);
    h.remote_port = 40000;
    const std::span<const std::byte> parts[] = {std::as_bytes(std::span{&h, 1}), std::as_bytes(std::span{answer})};
    REQUIRE(tx->enqueue_gather(parts).has_value());
  }
  command remove;
  remove.kind = command_kind::remove;
  remove.id = 3;
  remove.to_core = 0;
  REQUIRE(commands.push(remove));
  CHECK(core.poll_once());
  CHECK(core.counters().udp_tx_datagrams.get() == 3);
  CHECK(tx->empty());
  CHECK(core.connections() == 0);
  event ev;
  bool removed = false;
  while (events.pop(ev)) removed = removed || (ev.kind == event_kind::removed && ev.session == 77);
  CHECK(removed);
}

TEST_CASE("dataplane core: a udp binding whose app moved the core's fifo cursors is dropped from, the worker told once") {
  std::optional<port> ring;
  if (!start_eal_with_ring(ring)) return;
  const port& p = *ring;

  auto seg = shm::fifo_segment::create("core-loop-violation", 1u << 20);
  REQUIRE(seg.has_value());
  one_worker w{p};
  auto& [commands, events, bell, core] = w;

  std::vector<shm::fifo> fifos;
  auto bind = [&](std::uint32_t id, std::uint16_t port_no) {
    auto b = listener_on(*seg, id, 100 + id, port_no);
    REQUIRE(commands.push(b.add));
    fifos.push_back(b.rx);
    fifos.push_back(b.tx);
  };
  bind(1, 9000);  // the app that scribbles its rx fifo
  bind(2, 9001);  // the app that scribbles its tx fifo
  bind(3, 9002);  // a bystander
  auto violations = [&] {
    int n = 0;
    event ev;
    while (events.pop(ev)) n += ev.kind == event_kind::violation ? 1 : 0;
    return n;
  };

  arrive(p, udp_frame(9000, "fine"));
  CHECK(core.poll_once());
  REQUIRE(fifos[0].max_dequeue() == datagram_header_size + 4);
  CHECK(violations() == 0);

  using actorstack::test::cursor;
  actorstack::test::scribble_cursor(fifos[0], cursor::tail, fifos[0].tail_position() - 4);  // rx: the core's tail
  actorstack::test::scribble_cursor(fifos[3], cursor::head, 64);                            // tx: the core's head
  arrive(p, udp_frame(9000, "after the scribble"));
  arrive(p, udp_frame(9000, "and again"));
  arrive(p, udp_frame(9002, "bystander"));
  command tx;
  tx.kind = command_kind::tx;
  tx.id = 2;
  REQUIRE(commands.push(tx));
  core.poll_once();
  core.poll_once();
  CHECK(core.counters().dropped(drop_reason::shm_violation) == 3);  // two datagrams in, one drain
  CHECK(violations() == 2);                                          // once per binding
  CHECK(fifos[0].tail_position() == datagram_header_size);           // nothing more written there
  CHECK(fifos[4].max_dequeue() == datagram_header_size + 9);         // the bystander got its datagram
  // A later datagram for the broken binding is dropped without a new event.
  arrive(p, udp_frame(9000, "still broken"));
  core.poll_once();
  CHECK(core.counters().dropped(drop_reason::shm_violation) == 4);
  CHECK(violations() == 0);
}

TEST_CASE("dataplane core: a pass takes a short burst while the queue keeps up, a full one after a short burst came back full") {
  std::optional<port> ring;
  if (!start_eal_with_ring(ring)) return;
  const port& p = *ring;
  auto seg = shm::fifo_segment::create("core-loop-burst", 1u << 20);
  REQUIRE(seg.has_value());
  one_worker w{p};
  auto b = listener_on(*seg, 7, 42, 9000);
  REQUIRE(w.commands.push(b.add));
  const auto delivered = [&] { return w.core.counters().udp_rx_datagrams.get(); };
  constexpr std::uint64_t short_burst = core_loop::short_burst, full = core_loop::burst;
  static_assert(short_burst < full);

  // Requests that came together (a peer's 30 connections sent at once):
  // the first pass answers a few, so the peer hears back early.
  for (int i = 0; i < 30; ++i) arrive(p, udp_frame(9000, "request " + std::to_string(i)));
  CHECK(w.core.poll_once());
  CHECK(delivered() == short_burst);
  // That burst came back full: a backlog. The next pass takes up to a full
  // one (here the 22 left).
  CHECK(w.core.poll_once());
  CHECK(delivered() == 30);
  // It was not full: short again.
  for (int i = 0; i < 20; ++i) arrive(p, udp_frame(9000, "more"));
  CHECK(w.core.poll_once());
  CHECK(delivered() == 30 + short_burst);
  CHECK(w.core.poll_once());
  CHECK(delivered() == 50);
  CHECK(w.core.counters().dropped(drop_reason::fifo_full) == 0);
}
