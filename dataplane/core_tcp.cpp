// The TCP engine inside a data-plane core (see core_tcp.hpp).

#include "dataplane/core_tcp.hpp"

#include "dataplane/core_loop.hpp"
#include "shm/fifo_segment.hpp"

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <algorithm>

namespace actorstack::dataplane {

namespace {

// A segment waits this long for its next hop's MAC, then it is dropped
// (counted no_neighbor; TCP sends it again). At most this many wait.
constexpr std::uint64_t arp_hold_us = 1'000'000;
constexpr std::size_t max_held = 256;
constexpr std::uint8_t proto_tcp = 6;

std::uint64_t pack(tcp::conn_id id) noexcept { return std::uint64_t{id.generation} << 32 | id.index; }
tcp::conn_id unpack(std::uint64_t v) noexcept {
  return {static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(v >> 32)};
}
std::uint64_t listener_key(std::uint32_t ip, std::uint16_t port) noexcept {
  return std::uint64_t{ip} << 16 | port;
}

}  // namespace

core_tcp::core_tcp(core_loop& core, const tcp::config& cfg)
    : core_(core), engine_(cfg, *this, *this, tcp::isn_generator(), 0) {
  tsc_per_us_ = rte_get_tsc_hz() / 1'000'000;
  if (tsc_per_us_ == 0) tsc_per_us_ = 1;
  // Its connects take ports whose segments the other cores hand to it.
  engine_.own_ephemeral_ports(static_cast<std::uint32_t>(core.setup_.to_cores.size()), core.setup_.index);
}

core_tcp::~core_tcp() {
  wake_rx_inboxes();
  for (std::size_t i = 0; i < conns_.size(); ++i) forget(conns_[i]);
  for (const held_frame& h : held_) rte_pktmbuf_free(h.m);
  if (building_ != nullptr) rte_pktmbuf_free(building_);
}

std::uint64_t core_tcp::now_us() const noexcept { return core_.now() / tsc_per_us_; }

// ---- commands ---------------------------------------------------------------------

void core_tcp::apply(std::uint32_t worker, const command& c) {
  const tcp_request& r = c.tcp;
  const std::uint64_t now = now_us();
  const tcp::conn_id id{r.conn, r.generation};
  switch (c.kind) {
    case command_kind::tcp_listen: {
      const std::uint64_t key = listener_key(r.local_ip, r.local_port);
      auto g = groups_.find(key);
      if (g == groups_.end()) {
        if (!engine_.listen(r.local_ip, r.local_port, key, r.rx_fifo_size)) {
          post_failed(worker, r.cookie, errc::already_listening);  // the listen's answer: refused
          return;
        }
        g = groups_.emplace(key, listen_group{r.group, {}, 0}).first;
      } else if (r.group == 0 || g->second.group != r.group) {
        post_failed(worker, r.cookie, errc::already_listening);  // another listener's address
        return;
      }
      g->second.cookies.push_back(r.cookie);
      listeners_[r.cookie] = origin{worker, r.fifos_from, r.rx_fifo_size, r.tx_fifo_size};
      return;
    }
    case command_kind::tcp_unlisten: {
      const std::uint64_t key = listener_key(r.local_ip, r.local_port);
      // Only this listen's part: a refused listen's unlisten, or one of a
      // group that others still share, leaves the address listening.
      if (auto g = groups_.find(key); g != groups_.end()) {
        auto& cookies = g->second.cookies;
        if (auto at = std::find(cookies.begin(), cookies.end(), r.cookie); at != cookies.end()) {
          cookies.erase(at);
          if (cookies.empty()) {
            engine_.unlisten(r.local_ip, r.local_port);
            groups_.erase(g);
          }
        }
      }
      listeners_.erase(r.cookie);
      // From here on nothing is carved from the listener's segment: the
      // worker may let it go.
      event ev{event_kind::tcp_unlistened};
      ev.session = r.cookie;
      core_.post(worker, ev);
      return;
    }
    case command_kind::tcp_connect: {
      const tcp::four_tuple t{r.local_ip != 0 ? r.local_ip : core_.us_.ip, r.remote_ip, r.local_port, r.remote_port};
      connects_[r.cookie] = origin{worker, r.fifos_from, r.rx_fifo_size, r.tx_fifo_size};
      auto opened = engine_.connect(t, r.cookie, r.rx_fifo_size, now);
      if (!opened) {
        connects_.erase(r.cookie);
        post_failed(worker, r.cookie, opened.error().code);
      }
      return;
    }
    case command_kind::tcp_sent: app_sent(id, r.nodelay, now); return;
    case command_kind::tcp_read: {
      shm::fifo* rx = fifo_of(pack(id), true);
      if (rx == nullptr) return;
      rx->del_want_deq_ntf(shm::deq_ntf::on_every_dequeue);  // one read, one message
      engine_.app_read(id, now);
      watch_window(pack(id));
      return;
    }
    case command_kind::tcp_info: {
      // A stale name (the connection ended, its index taken again) is
      // nobody's: the engine's generation check says so.
      event ev{event_kind::tcp_info};
      ev.session = r.cookie;
      const auto info = engine_.info(id);
      if (info && r.info_out != nullptr) *r.info_out = tcp::to_tcp_info(*info);
      else ev.error = errc::invalid_session;
      core_.post(worker, ev);
      return;
    }
    case command_kind::tcp_close: engine_.app_close(id, now); return;
    case command_kind::tcp_shutdown: engine_.app_shutdown(id, now); return;
    case command_kind::tcp_abort:
      if (conn_of(pack(id)) == nullptr) return;  // ended meanwhile: its reset or release is on its way
      engine_.app_abort(id, now);
      // The fifos are the worker's again (SPEC-TCP 2.5).
      released(id);
      return;
    default: return;
  }
}

// From the worker's tcp_sent or straight from the app (direct_tx.hpp):
// the same notice, and a stale one (the connection ended, its index taken
// again) names nothing.
void core_tcp::app_sent(tcp::conn_id id, bool nodelay, std::uint64_t now) {
  shm::fifo* tx = fifo_of(pack(id), false);
  if (tx == nullptr) return;
  // Re-arm the app's tx notification before the engine looks at the
  // fifo: a write racing this either posts again or is seen now.
  tx->unset_event();
  if (nodelay) engine_.set_nodelay(id, true);
  engine_.app_sent(id, now);
}

void core_tcp::apply_direct(const tx_notice& n) {
  if (n.rx_to == nullptr) return app_sent({n.conn, n.generation}, n.nodelay, now_us());
  conn* c = conn_of(pack({n.conn, n.generation}));
  if (c == nullptr) {  // ended meanwhile
    n.rx_to->release();
    return;
  }
  drop_inbox(c->inbox);
  c->inbox = take_inbox(n.rx_to);
  c->rx_handle = n.handle;
}

std::uint16_t core_tcp::take_inbox(rx_inbox* in) noexcept {
  std::size_t free_slot = inboxes_.size();
  for (std::size_t i = 0; i < inboxes_.size(); ++i) {
    if (inboxes_[i].in == in) {
      ++inboxes_[i].users;
      in->release();  // the table holds one already
      return static_cast<std::uint16_t>(i + 1);
    }
    if (inboxes_[i].in == nullptr && free_slot == inboxes_.size()) free_slot = i;
  }
  if (free_slot == inboxes_.size()) {
    if (inboxes_.size() >= 0xffff) {
      in->release();
      return 0;
    }
    inboxes_.emplace_back();  // never more than the app workers routed here
  }
  inboxes_[free_slot] = {in, 1};
  return static_cast<std::uint16_t>(free_slot + 1);
}

void core_tcp::drop_inbox(std::uint16_t number) noexcept {
  if (number == 0) return;
  inbox_slot& s = inboxes_[number - 1u];
  if (--s.users > 0) return;
  s.in->release();
  s = {};
}

void core_tcp::forget(conn& c) noexcept {
  drop_inbox(c.inbox);
  c = conn{};
}

// A subscriber (SPEC 3) hears rx only from the session worker, which
// keeps the list: a fifo that has one goes that way. A full inbox too.
bool core_tcp::told_app(conn& c, const shm::fifo& rx) {
  if (c.inbox == 0) return false;
  rx_inbox* in = inboxes_[c.inbox - 1u].in;
  if (rx.subscriber_count() != 0 || !in->push(core_.index(), session_handle::from_value(c.rx_handle))) return false;
  core_.counters_.rx_to_apps.add();
  if (in->disarm()) {
    in->acquire();  // the connection may end before the pass does
    to_wake_.push_back(in);
  }
  return true;
}

void core_tcp::wake_rx_inboxes() {
  for (rx_inbox* in : to_wake_) {
    in->wake();
    in->release();
  }
  to_wake_.clear();
}

void core_tcp::input(std::span<const std::byte> segment, std::uint32_t src_ip, std::uint32_t dst_ip) {
  engine_.input(segment, src_ip, dst_ip, now_us());
}

// The receive window runs low: from now on the app's reads tell the core
// (each read posts app-rx while the rx fifo asks for it), so the window
// reopens without waiting for the peer's probe. Set before the check in
// poll(): an app that drained everything before it saw the flag is caught
// there.
void core_tcp::watch_window(std::uint64_t session) {
  shm::fifo* rx = fifo_of(session, true);
  if (rx == nullptr || rx->max_enqueue() >= rx->size() / 2) return;
  rx->add_want_deq_ntf(shm::deq_ntf::on_every_dequeue);
  window_checks_.push_back(session);
}

bool core_tcp::poll() {
  const std::uint64_t before = engine_.stats().segments_out;
  const std::uint64_t now = now_us();
  if (!window_checks_.empty()) {
    // The flag is up now; an app that read everything before it saw it
    // posts nothing, so look once.
    checking_.swap(window_checks_);
    for (std::uint64_t session : checking_)
      if (shm::fifo* rx = fifo_of(session, true); rx != nullptr && rx->max_enqueue() >= rx->size() / 2) {
        rx->del_want_deq_ntf(shm::deq_ntf::on_every_dequeue);
        engine_.app_read(unpack(session), now);
      }
    checking_.clear();
  }
  engine_.advance(now);  // fires timers, then flushes the burst's output
  const bool sent_held = !held_.empty() && send_held();
  return engine_.stats().segments_out != before || sent_held;
}

// ---- the wire: segments into mbufs ------------------------------------------------------

std::span<std::byte> core_tcp::begin_segment(std::size_t tcp_bytes) {
  if (building_ != nullptr) rte_pktmbuf_free(building_);  // abandoned (the engine had nothing to put in it)
  building_ = nullptr;
  if (!core_.tx_room()) return {};  // the port's queue is full: the engine retries next pass
  building_ = rte_pktmbuf_alloc(core_.setup_.pool);
  if (building_ == nullptr) return {};
  const std::size_t room = static_cast<std::size_t>(building_->buf_len - building_->data_off);
  if (ipv4_frame_overhead + tcp_bytes > room) {
    rte_pktmbuf_free(building_);
    building_ = nullptr;
    return {};
  }
  return {rte_pktmbuf_mtod(building_, std::byte*) + ipv4_frame_overhead, tcp_bytes};
}

void core_tcp::end_segment(std::uint32_t src_ip, std::uint32_t dst_ip, std::size_t tcp_bytes) {
  rte_mbuf* m = building_;
  building_ = nullptr;
  if (m == nullptr) return;
  const std::size_t len = ipv4_frame_overhead + tcp_bytes;
  m->data_len = static_cast<std::uint16_t>(len);
  m->pkt_len = static_cast<std::uint32_t>(len);
  const interface_address& a = core_.setup_.address;
  const std::uint32_t next_hop = a.on_link(dst_ip) ? dst_ip : a.gateway;
  if (next_hop == 0) {
    core_.counters_.drop(drop_reason::no_neighbor);
    rte_pktmbuf_free(m);
    return;
  }
  ipv4_route r;
  r.src_mac = core_.us_.mac;
  r.src_ip = src_ip;
  r.dst_ip = dst_ip;
  const std::span<std::byte> frame{rte_pktmbuf_mtod(m, std::byte*), len};
  if (auto mac = core_.neighbors_.find(next_hop)) {
    r.dst_mac = *mac;
    write_ipv4_headers(frame, r, proto_tcp, core_.ip_id_++, tcp_bytes);
    core_.push_tx(m);
    return;
  }
  // The MAC comes with the ARP answer: the frame waits for it (or for a
  // second), so a first SYN to a new neighbour does not cost an RTO.
  write_ipv4_headers(frame, r, proto_tcp, core_.ip_id_++, tcp_bytes);
  if (held_.size() >= max_held) {
    core_.counters_.drop(drop_reason::no_neighbor);
    rte_pktmbuf_free(m);
    return;
  }
  if (core_.neighbors_.should_request(next_hop, core_.now(), core_.arp_retry_ticks_)) core_.send_arp_request(next_hop);
  held_.push_back({m, next_hop, now_us()});
}

bool core_tcp::send_held() {
  bool sent = false;
  const std::uint64_t now = now_us();
  for (std::size_t n = held_.size(); n > 0; --n) {
    held_frame h = held_.front();
    held_.pop_front();
    if (auto mac = core_.neighbors_.find(h.next_hop)) {
      std::memcpy(rte_pktmbuf_mtod(h.m, std::byte*), mac->data(), mac->size());  // Ethernet destination
      core_.push_tx(h.m);
      sent = true;
    } else if (now - h.since_us > arp_hold_us) {
      core_.counters_.drop(drop_reason::no_neighbor);
      rte_pktmbuf_free(h.m);
    } else {
      if (core_.neighbors_.should_request(h.next_hop, core_.now(), core_.arp_retry_ticks_))
        core_.send_arp_request(h.next_hop);
      held_.push_back(h);
    }
  }
  return sent;
}

// ---- the app side: what happened, as events --------------------------------------------------

void core_tcp::post_failed(std::uint32_t worker, std::uint64_t cookie, errc why) {
  event ev{event_kind::tcp_connect_failed};
  ev.session = cookie;
  ev.error = why;
  core_.post(worker, ev);
}

core_tcp::conn* core_tcp::conn_of(std::uint64_t session) {
  const tcp::conn_id id = unpack(session);
  if (id.index >= conns_.size()) return nullptr;
  conn& c = conns_[id.index];
  return c.generation != 0 && c.generation == id.generation ? &c : nullptr;
}

shm::fifo* core_tcp::fifo_of(std::uint64_t session, bool rx) {
  return conn_of(session) != nullptr ? engine_.fifo_of(unpack(session), rx) : nullptr;
}

void core_tcp::post_conn(std::uint64_t session, event ev) {
  conn* c = conn_of(session);
  if (c == nullptr) return;
  const tcp::conn_id id = unpack(session);
  ev.id = id.index;
  ev.generation = id.generation;
  core_.post(c->worker, ev);
}

std::optional<tcp::session_fifos> core_tcp::established(const tcp::established_info& info) {
  // Whose: the next listen of the address's group, or the connect's.
  std::uint64_t cookie = info.cookie;
  if (info.passive) {
    auto g = groups_.find(info.cookie);
    if (g == groups_.end() || g->second.cookies.empty()) return std::nullopt;  // its listener went
    listen_group& group = g->second;
    cookie = group.cookies[group.next++ % group.cookies.size()];
  }
  auto& table = info.passive ? listeners_ : connects_;
  auto it = table.find(cookie);
  if (it == table.end() || it->second.seg == nullptr) return std::nullopt;  // its listener or connect went
  const origin o = it->second;
  if (!info.passive) connects_.erase(it);
  // Fifos only now, never for a half-open (SPEC-TCP 2.1), from the app
  // worker's segment (its allocator is lock-free: the worker may allocate
  // there at the same time).
  auto pair = o.seg->alloc_fifo_pair(o.rx_size, o.tx_size);
  if (!pair) {
    if (!info.passive) post_failed(o.worker, info.cookie, errc::alloc);
    return std::nullopt;
  }
  conns_.grow_to(info.id.index + 1);
  forget(conns_[info.id.index]);
  conn& c = conns_[info.id.index];
  c.generation = info.id.generation;
  c.worker = static_cast<std::uint16_t>(o.worker);
  event ev;
  ev.kind = event_kind::tcp_established;
  ev.id = info.id.index;
  ev.generation = info.id.generation;
  ev.session = cookie;
  ev.rx = pair->rx;
  ev.tx = pair->tx;
  ev.local_ip = info.tuple.local_ip;
  ev.remote_ip = info.tuple.remote_ip;
  ev.local_port = info.tuple.local_port;
  ev.remote_port = info.tuple.remote_port;
  core_.post(o.worker, ev);
  return tcp::session_fifos{pair->rx, pair->tx};
}

void core_tcp::connect_failed(std::uint64_t cookie, errc why) {
  auto it = connects_.find(cookie);
  if (it == connects_.end()) return;
  post_failed(it->second.worker, cookie, why);
  connects_.erase(it);
}

void core_tcp::readable(tcp::conn_id id) {
  const std::uint64_t session = pack(id);
  // fifo_of, with the connection kept for told_app.
  conn* c = conn_of(session);
  shm::fifo* rx = c != nullptr ? engine_.fifo_of(unpack(session), true) : nullptr;
  // One event until the worker re-arms the flag (as UDP's rx).
  if (rx == nullptr) return;
  if (rx->set_event() && !told_app(*c, *rx)) post_conn(session, event{event_kind::tcp_rx});
  watch_window(session);
}

void core_tcp::writable(tcp::conn_id id, std::uint32_t bytes) {
  const std::uint64_t session = pack(id);
  shm::fifo* tx = fifo_of(session, false);
  if (tx == nullptr || !tx->needs_deq_ntf(bytes)) return;
  event ev{event_kind::tcp_tx_space};
  ev.bytes = bytes;
  post_conn(session, ev);
}

void core_tcp::peer_closed(tcp::conn_id id) { post_conn(pack(id), event{event_kind::tcp_peer_closed}); }

void core_tcp::reset(tcp::conn_id id, errc why) {
  const std::uint64_t session = pack(id);
  event ev{event_kind::tcp_reset};
  ev.error = why;
  post_conn(session, ev);
  if (conn* c = conn_of(session)) forget(*c);
}

void core_tcp::state_changed(tcp::conn_id id, tcp::state now) {
  const std::uint64_t session = pack(id);
  event ev{event_kind::tcp_state};
  ev.bytes = static_cast<std::uint32_t>(now);
  post_conn(session, ev);
}

void core_tcp::released(tcp::conn_id id) {
  const std::uint64_t session = pack(id);
  post_conn(session, event{event_kind::tcp_released});
  if (conn* c = conn_of(session)) forget(*c);
}

}  // namespace actorstack::dataplane
