#include "dataplane/core_loop.hpp"

#include <actorstack/datagram.hpp>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace actorstack::dataplane {

namespace {

// An ARP request unanswered this long is sent again; after this many tries
// the datagrams waiting for it are dropped (counted no_neighbor).
constexpr std::uint64_t arp_retry_ms = 100;
constexpr unsigned arp_max_tries = 3;
// Commands applied per pass, so a flood of them cannot starve rx.
constexpr unsigned commands_per_pass = 256;

std::span<std::byte> frame_of(rte_mbuf* m) noexcept {
  return {rte_pktmbuf_mtod(m, std::byte*), m->data_len};
}
// The whole writable room of an mbuf from its data start (for frames we build).
std::span<std::byte> room_of(rte_mbuf* m) noexcept {
  return {rte_pktmbuf_mtod(m, std::byte*), static_cast<std::size_t>(m->buf_len - m->data_off)};
}
void set_length(rte_mbuf* m, std::size_t len) noexcept {
  m->data_len = static_cast<std::uint16_t>(len);
  m->pkt_len = static_cast<std::uint32_t>(len);
}

}  // namespace

namespace {
// What the impairment stage counts, per direction, by name.
constexpr const char* impairment_fields[] = {"frames", "dropped", "duplicated", "reordered",
                                             "corrupted", "truncated", "delayed"};
std::vector<std::string> impairment_names() {
  std::vector<std::string> out;
  for (const char* dir : {"rx_", "tx_"})
    for (const char* f : impairment_fields) out.push_back(std::string{dir} + f);
  return out;
}
void append(std::vector<std::uint64_t>& out, const impairment_counters& c) {
  out.insert(out.end(), {c.frames, c.dropped, c.duplicated, c.reordered, c.corrupted, c.truncated, c.delayed});
}
}  // namespace

core_loop::core_loop(core_setup setup)
    : setup_(std::move(setup)),
      table_(setup_.index),
      tcp_published_(tcp::counter_names()),
      impair_published_(impairment_names()) {
  publish_ticks_ = rte_get_tsc_hz() / 1000;  // every millisecond
  refused_drop_ticks_ = rte_get_tsc_hz();     // a second
  pass_tsc_ = rte_get_tsc_cycles();
  us_.mac = setup_.mac;
  us_.ip = setup_.address.ip;
  posted_.assign(setup_.workers.size(), false);
  overflow_.resize(setup_.workers.size());
  handoff_overflow_.resize(setup_.to_cores.size());
  arp_retry_ticks_ = rte_get_tsc_hz() / 1000 * arp_retry_ms;
  tcp_ = std::make_unique<core_tcp>(*this, setup_.tcp);
  if (setup_.impair.enabled()) {
    rx_impair_ = std::make_unique<impairment_stage>(setup_.impair, 2 * setup_.index + 1, setup_.pool);
    tx_impair_ = std::make_unique<impairment_stage>(setup_.impair, 2 * setup_.index + 2, setup_.pool);
  }
}

impairment_counters core_loop::impaired(bool rx) const noexcept {
  const auto& stage = rx ? rx_impair_ : tx_impair_;
  return stage ? stage->counters() : impairment_counters{};
}

core_loop::~core_loop() {
  if (tx_count_ > 0) rte_pktmbuf_free_bulk(tx_batch_.data(), tx_count_);
  // Frames handed to this core that it never polled again (stopped).
  for (channel<handoff>* in : setup_.from_cores) {
    handoff h;
    while (in != nullptr && in->pop(h))
      if (h.frame != nullptr) rte_pktmbuf_free(h.frame);
  }
}

std::uint64_t core_loop::now() const noexcept { return pass_tsc_; }

void core_loop::run(const std::atomic<bool>& stop) {
  idle_backoff idle;
  while (!stop.load(std::memory_order_relaxed)) {
    if (pass()) {
      idle.worked();
      continue;
    }
    switch (idle.idle(busy_polling())) {
      case idle_backoff::step::poll:
        break;
      case idle_backoff::step::yield:
        std::this_thread::yield();
        break;
      case idle_backoff::step::sleep:
        std::this_thread::sleep_for(idle.next_sleep());
        break;
    }
  }
}

bool core_loop::pass() {
  if (poll_once()) {
    counters_.busy_polls.add();
    return true;
  }
  counters_.idle_polls.add();
  return false;
}

namespace {

// A SYN without ACK (its header was checked by the parser: at least 20
// bytes).
bool opens_connection(std::span<const std::byte> segment) noexcept {
  const auto flags = static_cast<std::uint8_t>(segment[13]);
  return (flags & 0x12) == 0x02;
}

std::uint16_t destination_port(std::span<const std::byte> segment) noexcept {
  return static_cast<std::uint16_t>((static_cast<unsigned>(segment[2]) << 8) | static_cast<unsigned>(segment[3]));
}

}  // namespace

bool core_loop::poll_once() {
  // One clock read per pass: everything in a pass happens "now" (a pass
  // takes microseconds; timers and ARP retries count milliseconds).
  pass_tsc_ = rte_get_tsc_cycles();
  // The flag goes up before this pass drains the inbox, and the thread
  // sleeps only after further passes: a notice pushed before the flag was
  // visible is drained by them (direct_tx.hpp).
  if (setup_.direct_tx != nullptr && !dozing_ && empty_passes_ >= doze_after && !busy_polling()) {
    dozing_ = true;
    setup_.direct_tx->set_dozing(true);
  }
  bool work = receive();
  work |= receive_handoffs();
  signal_rx();
  work |= apply_direct_tx();
  work |= apply_commands();
  work |= tcp_->poll();
  if (!arp_wait_.empty()) retry_arp_waiters();
  work |= drain_tx_fifos();
  release_impaired();
  work |= flush_tx();
  ring_doorbells();
  if (const std::uint64_t t = now(); t - last_publish_ >= publish_ticks_) {
    last_publish_ = t;
    publish();
  }
  if (!work) {
    ++empty_passes_;
  } else {
    empty_passes_ = 0;
    if (dozing_ && setup_.direct_tx != nullptr) {
      dozing_ = false;
      setup_.direct_tx->set_dozing(false);
    }
  }
  return work;
}

void core_loop::publish() {
  tcp_published_.publish(tcp::counter_values(tcp_->counters(), tcp_->engine().connections_per_state()));
  if (!rx_impair_) return;
  std::vector<std::uint64_t> v;
  append(v, impaired(true));
  append(v, impaired(false));
  impair_published_.publish(v);
}

// ---------------------------------------------------------------------------
// rx

// A burst's replies leave only when the pass after it runs (its app
// answered in between), and the peer waits for them: taking 32 requests
// at once makes the peer wait for all 32 answers. So a pass takes a short
// burst while the queue keeps up, and a full one after a short burst came
// back full — a backlog, where per-pass costs are what to save.
bool core_loop::receive() {
  std::array<rte_mbuf*, burst> pkts;
  const std::uint16_t n = rte_eth_rx_burst(setup_.port_id, setup_.queue, pkts.data(), rx_take_);
  rx_take_ = n == rx_take_ ? burst : short_burst;
  if (rx_impair_) {
    impaired_.clear();
    const std::uint64_t t = now();
    for (std::uint16_t i = 0; i < n; ++i) rx_impair_->process(pkts[i], t, impaired_);
    rx_impair_->release(t, impaired_);
    for (rte_mbuf* m : impaired_) handle_frame(m, true);
    return n > 0 || !impaired_.empty();
  }
  for (std::uint16_t i = 0; i < n; ++i) handle_frame(pkts[i], true);
  return n > 0;
}

void core_loop::release_impaired() {
  if (!tx_impair_ || tx_impair_->idle()) return;
  impaired_tx_.clear();
  tx_impair_->release(now(), impaired_tx_);
  for (rte_mbuf* m : impaired_tx_) push_tx_now(m);
}

bool core_loop::receive_handoffs() {
  bool work = false;
  for (channel<handoff>* in : setup_.from_cores) {
    if (in == nullptr) continue;
    handoff h;
    for (unsigned k = 0; k < burst && in->pop(h); ++k) {
      work = true;
      switch (h.kind) {
        case handoff_kind::frame: handle_frame(h.frame, false); break;
        case handoff_kind::take: take(h.binding); break;
        case handoff_kind::neighbor: neighbors_.learn(h.ip, h.mac); break;
      }
    }
  }
  flush_handoffs();
  return work;
}

void core_loop::learn(std::uint32_t ip, const mac_address& mac) {
  if (!neighbors_.learn(ip, mac)) return;
  // Where the answer to one core's ARP request lands is the port's choice:
  // every core hears the news.
  handoff h;
  h.kind = handoff_kind::neighbor;
  h.ip = ip;
  h.mac = mac;
  for (std::uint32_t c = 0; c < setup_.to_cores.size(); ++c)
    if (setup_.to_cores[c] != nullptr) (void)hand_off(c, h);
}

bool core_loop::hand_off(std::uint32_t to, const handoff& h) {
  auto& waiting = handoff_overflow_[to];
  if (waiting.empty() && setup_.to_cores[to]->push(h)) return true;
  if (h.kind == handoff_kind::frame) {
    counters_.drop(drop_reason::handoff_full);
    return false;
  }
  waiting.push_back(h);  // a move or a neighbour is never lost
  return true;
}

void core_loop::flush_handoffs() {
  for (std::uint32_t c = 0; c < handoff_overflow_.size(); ++c) {
    auto& waiting = handoff_overflow_[c];
    while (!waiting.empty() && setup_.to_cores[c]->push(waiting.front())) waiting.pop_front();
  }
}

void core_loop::handle_frame(rte_mbuf* m, bool from_wire) {
  if (from_wire) {
    counters_.rx_packets.add();
    counters_.rx_bytes.add(m->pkt_len);
  }
  // Frames we accept fit one mbuf (no jumbo frames): a chain is not ours to parse.
  if (m->nb_segs != 1) {
    counters_.drop(drop_reason::malformed);
    rte_pktmbuf_free(m);
    return;
  }
  const parsed_frame p = classify(frame_of(m), us_);
  switch (p.kind) {
    case frame_kind::drop:
      counters_.drop(p.reason);
      rte_pktmbuf_free(m);
      return;
    case frame_kind::arp_request: {
      learn(p.arp.sender_ip, p.arp.sender_mac);
      // The request's mbuf becomes the reply.
      set_length(m, write_arp(room_of(m), 2, us_.mac, us_.ip, p.arp.sender_mac, p.arp.sender_ip));
      counters_.arp_replies_sent.add();
      push_tx(m);
      return;
    }
    case frame_kind::arp_reply:
      learn(p.arp.sender_ip, p.arp.sender_mac);
      rte_pktmbuf_free(m);
      return;
    case frame_kind::icmp_echo:
      set_length(m, make_icmp_echo_reply(frame_of(m), p, us_.mac));
      counters_.icmp_echo_replies.add();
      push_tx(m);
      return;
    case frame_kind::udp:
      if (deliver_udp(p, m, from_wire)) rte_pktmbuf_free(m);
      return;
    case frame_kind::tcp: {
      // SPEC-TCP 1.2: a connection lives on the core whose queue brings its
      // segments, except an active open, which lives where it was opened:
      // its local port says which core that is (port % cores in the
      // ephemeral range). Its segments that the port brings elsewhere are
      // handed over, as UDP frames are.
      if (setup_.address.on_link(p.tcp.src_ip) && !neighbors_.find(p.tcp.src_ip)) learn(p.tcp.src_ip, p.tcp.src_mac);
      if (from_wire && setup_.to_cores.size() > 1) {
        const std::uint32_t owner = tcp_owner(frame_of(m).subspan(p.tcp.segment_offset, p.tcp.segment_length));
        if (owner != setup_.index) {
          handoff h;
          h.kind = handoff_kind::frame;
          h.frame = m;
          if (hand_off(owner, h))
            counters_.frames_forwarded.add();
          else
            rte_pktmbuf_free(m);  // counted handoff_full
          return;
        }
      }
      const auto segment = frame_of(m).subspan(p.tcp.segment_offset, p.tcp.segment_length);
      // As for a datagram (deliver_udp): a listen returns once its command
      // is queued for every core, and a peer may connect at once; a pass
      // receives before it reads commands, so a SYN that finds no listener
      // has the queued commands applied first rather than draw a reset
      // (seen: a client's SYNs reset by a server whose core had slept
      // through its listen command).
      if (opens_connection(segment) && !tcp_->engine().listening(p.tcp.dst_ip, destination_port(segment)))
        (void)apply_commands();
      tcp_->input(segment, p.tcp.src_ip, p.tcp.dst_ip);
      rte_pktmbuf_free(m);
      return;
    }
  }
}

std::uint32_t core_loop::tcp_owner(std::span<const std::byte> segment) const noexcept {
  if (segment.size() < 4) return setup_.index;  // the engine counts it malformed
  const auto dst_port = static_cast<std::uint16_t>(std::to_integer<unsigned>(segment[2]) << 8 |
                                                   std::to_integer<unsigned>(segment[3]));
  const tcp::config& c = setup_.tcp;
  if (dst_port < c.ephemeral_first || dst_port > c.ephemeral_last) return setup_.index;
  return dst_port % static_cast<std::uint32_t>(setup_.to_cores.size());
}

bool core_loop::deliver_udp(const parsed_frame& p, rte_mbuf* m, bool from_wire) {
  const udp_fields& u = p.udp;
  // The record the app will read, made before the lookups: written with
  // small stores, then copied into the fifo with wide loads, it stalled
  // the copy when made just before it (the stores had not retired: a
  // tenth of a UDP echo's profile); the lookups give them the time.
  // The addresses go straight into the header's zeroed IPv4 bytes: an
  // ip_address made apart and assigned was itself stored small and
  // reloaded whole.
  datagram_header h;
  h.length = u.payload_length;
  h.remote_port = u.src_port;
  h.local_port = u.dst_port;
  const std::uint32_t src_be = __builtin_bswap32(u.src_ip), dst_be = __builtin_bswap32(u.dst_ip);
  std::memcpy(h.remote.bytes.data(), &src_be, sizeof src_be);
  std::memcpy(h.local.bytes.data(), &dst_be, sizeof dst_be);
  udp_table::entry* e = table_.match(u.src_ip, u.src_port, u.dst_ip, u.dst_port);
  // A worker tells its app "listening" (or "connected") once the binding
  // is queued for every core, and the app's peer may send at once. A core
  // that slept wakes to both the command and the datagram, and a pass
  // receives before it reads commands: on a miss, the commands already
  // queued are applied and the lookup is made again, so a datagram sent
  // after a listen returned is never dropped for want of its binding.
  // (Safe here: no table entry is held across frames.)
  if (e == nullptr && apply_commands()) e = table_.match(u.src_ip, u.src_port, u.dst_ip, u.dst_port);
  if (e == nullptr) {
    counters_.drop(drop_reason::no_session);
    return true;
  }
  // An on-link sender is its own next hop: remembering its MAC saves an
  // ARP round trip before the first answer.
  if (setup_.address.on_link(u.src_ip) && !neighbors_.find(u.src_ip)) learn(u.src_ip, u.src_mac);
  if (!table_.owned(*e)) {
    // Another core owns the connection (its fifo has one producer): the
    // frame goes there. The first one the wire brings here tells the
    // worker, which may move the connection to where its packets arrive.
    const udp_binding& b = e->binding;
    if (from_wire && !e->hinted) {
      e->hinted = true;
      post(b.worker, {event_kind::seen, b.id, b.session, 0, setup_.index});
    }
    handoff h;
    h.kind = handoff_kind::frame;
    h.frame = m;
    if (!hand_off(b.core, h)) return true;
    counters_.frames_forwarded.add();
    return false;
  }
  const std::span<const std::byte> parts[] = {
      std::as_bytes(std::span{&h, 1}),
      frame_of(m).subspan(u.payload_offset, u.payload_length)};
  udp_binding& b = e->binding;
  shm::fifo& rx = b.rx;
  if (b.broken || !b.rx_end.check(rx)) {
    broken(b);
    return true;
  }
  // Whole or not at all: the core never waits for room (the app is slow,
  // the datagram is lost and counted — UDP's contract).
  if (!rx.enqueue_gather(parts)) {
    counters_.drop(drop_reason::fifo_full);
    return true;
  }
  b.rx_end.moved(rx);
  counters_.udp_rx_datagrams.add();
  if (!e->rx_signal_queued) {
    e->rx_signal_queued = true;
    rx_signal_.push_back({b.worker, b.id});
  }
  return true;
}

void core_loop::signal_rx() {
  // Found again by (worker, id): a command applied during the burst may
  // have removed the binding (its app is gone: nobody to tell) or moved
  // it to another core (its entry here replaced: the datagrams already in
  // the fifo are still to be told, so the flag is not asked; a second
  // signal costs nothing).
  for (const tx_ref& ref : rx_signal_) {
    udp_table::entry* e = table_.find(ref.worker, ref.id);
    if (e == nullptr) continue;
    e->rx_signal_queued = false;
    if (e->binding.rx.set_event()) post(ref.worker, {event_kind::rx, ref.id, e->binding.session, 0});
  }
  rx_signal_.clear();
}

// ---------------------------------------------------------------------------
// commands

bool core_loop::apply_direct_tx() {
  if (setup_.direct_tx == nullptr) return false;
  tx_notice n;
  unsigned k = 0;
  for (; k < commands_per_pass && setup_.direct_tx->pop(n); ++k) tcp_->apply_direct(n);
  return k > 0;
}

bool core_loop::apply_commands() {
  bool work = false;
  for (std::uint32_t w = 0; w < setup_.workers.size(); ++w) {
    channel<command>* ch = setup_.workers[w].commands;
    command c;
    for (unsigned k = 0; k < commands_per_pass && ch->pop(c); ++k) {
      work = true;
      switch (c.kind) {
        case command_kind::add:
          // Only the owner's answer counts: a forwarding entry that cannot
          // be installed means the owner refuses the connection too.
          if (!table_.add(c.binding) && c.binding.core == setup_.index)
            post(w, {event_kind::add_failed, c.binding.id, c.binding.session, 0});
          break;
        case command_kind::remove: {
          std::uint64_t session = 0;
          if (auto* e = table_.find(c.worker, c.id)) {
            session = e->binding.session;
            // The app's last datagrams (its tx kick may even come after
            // this: the close travels another way) leave before it goes.
            if (table_.owned(*e)) send_what_is_left(*e);
          }
          table_.remove(c.worker, c.id);
          // Queued tx references are looked up again before use, so a
          // removed connection's entries in tx_list_ simply fall out. The
          // core the worker knows as the owner answers, whether or not it
          // still had the entry: the answer frees the fifos.
          if (c.to_core == setup_.index) post(w, {event_kind::removed, c.id, session, 0});
          break;
        }
        case command_kind::tx:
          if (auto* e = table_.find(c.worker, c.id); e != nullptr && table_.owned(*e)) queue_tx(*e);
          break;
        case command_kind::move: move(c); break;
        case command_kind::tcp_listen:
        case command_kind::tcp_unlisten:
        case command_kind::tcp_connect:
        case command_kind::tcp_sent:
        case command_kind::tcp_read:
        case command_kind::tcp_close:
        case command_kind::tcp_shutdown:
        case command_kind::tcp_abort:
        case command_kind::tcp_info: tcp_->apply(w, c); break;
      }
    }
  }
  connections_.store(table_.size() + tcp_->connections(), std::memory_order_relaxed);
  return work;
}

void core_loop::move(const command& c) {
  udp_table::entry* e = table_.find(c.worker, c.id);
  if (e == nullptr || !table_.owned(*e) || c.to_core >= setup_.to_cores.size() ||
      setup_.to_cores[c.to_core] == nullptr)
    return;
  udp_binding b = e->binding;
  table_.remove(c.worker, c.id);  // from here on this core never touches its fifos
  b.worker = c.new_worker;
  b.id = c.new_id;
  b.session = c.new_session;
  b.core = c.to_core;
  b.settled = true;
  // Its frames from the wire now go to the new owner; the binding itself
  // travels on the same ring, ahead of every frame forwarded after it.
  (void)table_.add(b);
  handoff h;
  h.kind = handoff_kind::take;
  h.binding = b;
  (void)hand_off(c.to_core, h);
}

void core_loop::take(const udp_binding& b) {
  auto e = table_.add(b);
  if (!e) {
    // The 5-tuple is owned here by another connection: the moved one
    // cannot live on, and its new worker hears so (like a refused add).
    post(b.worker, {event_kind::add_failed, b.id, b.session, 0});
    return;
  }
  counters_.flows_taken.add();
  post(b.worker, {event_kind::taken, b.id, b.session, 0, setup_.index});
  // The app may have written while the binding travelled (its tx kick
  // went to a core that did not own it yet).
  if (!(*e)->binding.tx.empty()) queue_tx(**e);
  connections_.store(table_.size(), std::memory_order_relaxed);
}

void core_loop::queue_tx(udp_table::entry& e) {
  if (e.tx_queued) return;
  e.tx_queued = true;
  tx_list_.push_back({e.binding.worker, e.binding.id});
}

// ---------------------------------------------------------------------------
// tx

bool core_loop::drain_tx_fifos() {
  bool work = false;
  // Each fifo queued now gets one turn; one that still holds data after
  // its turn goes to the back.
  for (std::size_t n = tx_list_.size(); n > 0 && tx_count_ < burst; --n) {
    const tx_ref ref = tx_list_.front();
    tx_list_.pop_front();
    udp_table::entry* e = table_.find(ref.worker, ref.id);
    if (e == nullptr) continue;
    e->tx_queued = false;
    work = true;
    if (!drain(*e)) {
      arp_wait_.push_back(ref);
      e->tx_queued = true;  // parked: a new tx command must not requeue it
    }
  }
  return work;
}

void core_loop::send_what_is_left(udp_table::entry& e) {
  // Bounded: a fifo holds at most a few thousand datagrams, a batch takes
  // `burst` of them; a port that takes nothing ends it.
  for (int rounds = 0; rounds < 1024 && !e.binding.tx.empty(); ++rounds) {
    if (!tx_room()) return;
    const std::size_t before = e.binding.tx.max_dequeue();
    if (!drain(e)) return;  // the next hop is unresolved: nothing to wait for here
    if (e.binding.tx.max_dequeue() == before) return;
  }
}

bool core_loop::drain(udp_table::entry& e) {
  udp_binding& b = e.binding;
  shm::fifo& tx = b.tx;
  if (b.broken) return true;
  if (!b.tx_end.check(tx)) {
    broken(b);
    return true;
  }
  std::size_t sent = 0;
  bool waiting_for_arp = false;
  while (tx_count_ < tx_batch_.size()) {
    datagram_header h;
    auto got = tx.peek(0, std::as_writable_bytes(std::span{&h, 1}));
    if (!got || *got < datagram_header_size || tx.max_dequeue() < datagram_header_size + h.length) break;
    const std::size_t whole = datagram_header_size + h.length;
    const std::uint32_t dst_ip = b.connected ? b.remote_ip : h.remote.v4_host_order();
    const std::uint16_t dst_port = b.connected ? b.remote_port : h.remote_port;
    if (h.length > max_udp_payload || dst_ip == 0 || dst_port == 0 || !h.remote.is_v4()) {
      counters_.drop(drop_reason::malformed);
      sent += tx.drop(whole);
      continue;
    }
    const interface_address& a = setup_.address;
    const std::uint32_t next_hop = a.on_link(dst_ip) ? dst_ip : a.gateway;
    if (next_hop == 0) {
      counters_.drop(drop_reason::no_neighbor);
      sent += tx.drop(whole);
      continue;
    }
    auto mac = neighbors_.find(next_hop);
    if (!mac) {
      // Ask (again, once the last request is old), and wait; after the
      // last try has gone unanswered the datagram is dropped and the next
      // one starts asking anew.
      if (neighbors_.should_request(next_hop, now(), arp_retry_ticks_)) {
        if (neighbors_.tries(next_hop) > arp_max_tries) {
          neighbors_.forget_request(next_hop);
          counters_.drop(drop_reason::no_neighbor);
          sent += tx.drop(whole);
          continue;
        }
        send_arp_request(next_hop);
      }
      waiting_for_arp = true;
      break;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(setup_.pool);
    if (m == nullptr) break;  // pool empty: the data waits in the fifo
    const std::span<std::byte> room = room_of(m);
    const std::span<std::byte> payload = room.subspan(udp_frame_overhead, h.length);
    if (h.length > 0) (void)tx.peek(datagram_header_size, payload);
    udp_route r;
    r.src_mac = us_.mac;
    r.dst_mac = *mac;
    r.src_ip = b.local_ip != 0 ? b.local_ip : us_.ip;
    r.dst_ip = dst_ip;
    r.src_port = b.local_port;
    r.dst_port = dst_port;
    write_udp_headers(room, r, ip_id_++, payload);
    set_length(m, udp_frame_overhead + h.length);
    push_tx(m);
    counters_.udp_tx_datagrams.add();
    sent += tx.drop(whole);
  }
  b.tx_end.moved(tx);
  if (!waiting_for_arp) {
    // Re-arm the app's notifications first, then look again: a write that
    // raced the unset either posts its own event or is seen here.
    tx.unset_event();
    if (!tx.empty()) queue_tx(e);
  }
  if (sent > 0 && tx.needs_deq_ntf(sent))
    post(b.worker, {event_kind::tx_space, b.id, b.session, static_cast<std::uint32_t>(sent)});
  return !waiting_for_arp;
}

// The app left the binding's fifos inconsistent (shm/private_end.hpp):
// they are not touched again; the worker hears it once, resets the session
// and removes the binding. What arrives for it meanwhile is dropped.
void core_loop::broken(udp_binding& b) {
  counters_.drop(drop_reason::shm_violation);
  if (b.broken) return;
  b.broken = true;
  post(b.worker, {event_kind::violation, b.id, b.session, 0});
}

void core_loop::retry_arp_waiters() {
  // Datagrams parked on ARP try again each pass (an answer may have come;
  // a retry may be due). This is not "work": an idle core still backs off.
  std::vector<tx_ref> waiting;
  waiting.swap(arp_wait_);
  for (const tx_ref& ref : waiting) {
    udp_table::entry* e = table_.find(ref.worker, ref.id);
    if (e == nullptr) continue;
    e->tx_queued = false;
    if (tx_count_ >= tx_batch_.size() || !drain(*e)) {
      arp_wait_.push_back(ref);
      e->tx_queued = true;
    }
  }
}

void core_loop::send_arp_request(std::uint32_t ip) {
  rte_mbuf* m = rte_pktmbuf_alloc(setup_.pool);
  if (m == nullptr) return;  // the retry timer asks again
  set_length(m, write_arp(room_of(m), 1, us_.mac, us_.ip, broadcast_mac, ip));
  counters_.arp_requests_sent.add();
  push_tx(m);
}

void core_loop::push_tx(rte_mbuf* m) {
  if (!tx_impair_) {
    push_tx_now(m);
    return;
  }
  // push_tx_now never comes back here, so one scratch list serves.
  impaired_tx_.clear();
  tx_impair_->process(m, now(), impaired_tx_);
  for (rte_mbuf* f : impaired_tx_) push_tx_now(f);
}

void core_loop::push_tx_now(rte_mbuf* m) {
  if (tx_count_ == tx_batch_.size()) flush_tx();
  if (tx_count_ == tx_batch_.size()) {
    // Only replies (ARP, ICMP) get here with the port stuck; fifo data
    // stops being drained before the batch fills. Dropped, counted.
    counters_.drop(drop_reason::tx_full);
    rte_pktmbuf_free(m);
    return;
  }
  tx_batch_[tx_count_++] = m;
}

bool core_loop::tx_room() {
  if (tx_count_ == tx_batch_.size()) flush_tx();
  return tx_count_ < tx_batch_.size();
}

bool core_loop::flush_tx() {
  if (tx_count_ == 0) return false;
  const std::uint16_t sent = rte_eth_tx_burst(setup_.port_id, setup_.queue, tx_batch_.data(), tx_count_);
  for (std::uint16_t i = 0; i < sent; ++i) {
    counters_.tx_packets.add();
    counters_.tx_bytes.add(tx_batch_[i]->pkt_len);
  }
  // What the port did not take waits for the next pass, in order.
  std::copy(tx_batch_.begin() + sent, tx_batch_.begin() + tx_count_, tx_batch_.begin());
  tx_count_ = static_cast<std::uint16_t>(tx_count_ - sent);
  if (sent > 0 || tx_count_ == 0) {
    tx_refused_since_ = 0;
    return sent > 0;
  }
  // Nothing taken. A full queue drains within microseconds, but a port
  // may refuse one frame for good (the tap refuses a frame past its MTU
  // on every try) and everything behind it would wait forever: after a
  // second of refusals the head frame goes, counted, and the rest try.
  const std::uint64_t t = now();
  if (tx_refused_since_ == 0) {
    tx_refused_since_ = t;
  } else if (t - tx_refused_since_ >= refused_drop_ticks_) {
    counters_.drop(drop_reason::tx_refused);
    rte_pktmbuf_free(tx_batch_[0]);
    std::copy(tx_batch_.begin() + 1, tx_batch_.begin() + tx_count_, tx_batch_.begin());
    --tx_count_;
    tx_refused_since_ = 0;
  }
  return false;
}

// ---------------------------------------------------------------------------
// events

void core_loop::post(std::uint32_t worker, const event& ev) {
  if (worker >= setup_.workers.size()) return;
  if (!overflow_[worker].empty() || !setup_.workers[worker].events->push(ev)) {
    // The worker is far behind. An rx event's flag is cleared so the next
    // datagram posts again; the rest wait here, in order: a lost "removed"
    // would leak the connection's fifos.
    if (ev.kind == event_kind::rx) {
      counters_.events_lost.add();
      if (auto* e = table_.find(worker, ev.id)) e->binding.rx.unset_event();
    } else {
      overflow_[worker].push_back(ev);
    }
    return;
  }
  posted_[worker] = true;
}

void core_loop::ring_doorbells() {
  if (tcp_) tcp_->wake_rx_inboxes();
  for (std::size_t w = 0; w < posted_.size(); ++w) {
    auto& waiting = overflow_[w];
    while (!waiting.empty() && setup_.workers[w].events->push(waiting.front())) {
      waiting.pop_front();
      posted_[w] = true;
    }
    if (!posted_[w]) continue;
    posted_[w] = false;
    const worker_link& link = setup_.workers[w];
    if (link.events->disarm() && link.bell != nullptr) link.bell->ring();
  }
}

}  // namespace actorstack::dataplane
