// The TCP engine's table of connections and listeners, its control calls
// and its timers. Segment arrival is in input.cpp, sending in output.cpp.

#include "dataplane/tcp/engine.hpp"

#include "dataplane/tcp/tcb.hpp"

#include <algorithm>

namespace actorstack::tcp {

namespace {
std::uint64_t listener_key(std::uint32_t ip, std::uint16_t port) noexcept {
  return (std::uint64_t{ip} << 16) | port;
}
}  // namespace

std::uint64_t engine::tuple_hash(const four_tuple& t) const noexcept {
  // The addresses and the ports folded into one word under the seed, then
  // mixed (hashed_index::mix).
  const std::uint64_t h = (std::uint64_t{t.remote_ip} << 32 | t.local_ip) ^ tuple_seed_;
  return hashed_index::mix(h * 0x9e3779b97f4a7c15ULL + (std::uint64_t{t.remote_port} << 16 | t.local_port));
}

engine::engine(const config& cfg, app_side& app, wire& out, isn_generator isn, std::uint64_t now_us)
    : cfg_(cfg), app_(app), wire_(out), isn_(isn), wheel_(1000, 4096, now_us),
      tuple_seed_(isn_.derive(0x7475706c65 /* "tuple" */)), port_seed_(isn_.derive(0x706f727473 /* "ports" */)),
      now_us_(now_us) {
  if (cfg_.mss < 64) cfg_.mss = 64;
}

engine::~engine() = default;

// ---- the table ----------------------------------------------------------------

engine::tcb* engine::find(conn_id c) {
  if (c.index >= conns_.size()) return nullptr;
  tcb& t = conns_[c.index];
  return t.in_use && t.generation == c.generation ? &t : nullptr;
}

engine::tcb* engine::find(const four_tuple& t) {
  const std::uint32_t index = by_tuple_.find(tuple_hash(t), [&](std::uint32_t i) { return conns_[i].tuple == t; });
  return index == hashed_index::none ? nullptr : &conns_[index];
}

const engine::tcb* engine::find(conn_id c) const {
  return const_cast<engine*>(this)->find(c);
}

shm::fifo* engine::fifo_of(conn_id c, bool rx) {
  tcb* t = find(c);
  if (t == nullptr || !t->has_fifos) return nullptr;
  return rx ? &t->rx : &t->tx;
}

engine::tcb& engine::alloc_conn(const four_tuple& t, tcp::state s) {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(conns_.size());
    conns_.emplace_back();
    wheel_.reserve(conns_.size());
  }
  tcb& c = conns_[index];
  const std::uint32_t gen = c.generation + 1 == 0 ? 1 : c.generation + 1;  // 0 names no connection (core_tcp)
  c = tcb{};
  c.index = index;
  c.generation = gen;
  c.in_use = true;
  c.state = s;
  ++per_state_[static_cast<std::size_t>(s)];
  c.tuple = t;
  c.rtt = rtt_estimator(cfg_.rto);
  c.nodelay = !cfg_.nagle;
  by_tuple_.insert(tuple_hash(t), index);
  ++live_;
  return c;
}

void engine::free_conn(tcb& c) {
  wheel_.cancel(c.index);  // a delayed ACK it owed goes stale with the generation
  if (c.passive && c.state == state::syn_received) {
    if (auto it = listeners_.find(c.owner); it != listeners_.end() && it->second.half_open > 0)
      --it->second.half_open;
  }
  by_tuple_.erase(tuple_hash(c.tuple), c.index);
  if (c.named) sacks_.give_back(c.rec.sack_board);
  --per_state_[static_cast<std::size_t>(c.state)];
  const std::uint32_t gen = c.generation;
  const std::uint32_t index = c.index;
  c = tcb{};
  c.index = index;
  c.generation = gen;  // a stale conn_id or timer finds the slot free or reused
  free_.push_back(index);
  --live_;
}

std::span<const sack_block> engine::sacked(const tcb& c) const noexcept {
  if (!c.named || c.rec.sack_board == sack_scoreboards::none) return {};  // none before ESTABLISHED
  return {sacks_[c.rec.sack_board].data(), c.sacked_count};
}

void engine::set_sacked(tcb& c, const sack_block* blocks, std::size_t n) {
  if (!c.named) return;  // a scoreboard is an established connection's (the word is `owner` before)
  if (n == 0) {
    sacks_.give_back(c.rec.sack_board);
    c.rec.sack_board = sack_scoreboards::none;
    c.sacked_count = 0;
    return;
  }
  if (c.rec.sack_board == sack_scoreboards::none) c.rec.sack_board = sacks_.take();
  auto& board = sacks_[c.rec.sack_board];
  n = std::min(n, board.size());
  std::copy_n(blocks, n, board.begin());
  c.sacked_count = static_cast<std::uint8_t>(n);
}

engine::listener* engine::find_listener(std::uint32_t ip, std::uint16_t port) {
  if (auto it = listeners_.find(listener_key(ip, port)); it != listeners_.end()) return &it->second;
  if (auto it = listeners_.find(listener_key(0, port)); it != listeners_.end()) return &it->second;
  return nullptr;
}

bool engine::listening(std::uint32_t ip, std::uint16_t port) const noexcept {
  return listeners_.count(listener_key(ip, port)) > 0 || listeners_.count(listener_key(0, port)) > 0;
}

// ---- control ----------------------------------------------------------------------

result<void> engine::listen(std::uint32_t ip, std::uint16_t port, std::uint64_t cookie, std::uint32_t rx_window) {
  if (port == 0) return unexpected{errc::invalid_argument, "port 0"};
  const std::uint64_t key = listener_key(ip, port);
  auto [it, fresh] = listeners_.try_emplace(key, listener{key, cookie, rx_window, 0});
  if (!fresh) return unexpected{errc::already_listening};
  return {};
}

void engine::unlisten(std::uint32_t ip, std::uint16_t port) {
  const std::uint64_t key = listener_key(ip, port);
  if (listeners_.erase(key) == 0) return;
  for (tcb& c : conns_)
    if (c.in_use && c.passive && c.state == state::syn_received && c.owner == key) {
      send_rst(c);
      free_conn(c);
    }
}

void engine::own_ephemeral_ports(std::uint32_t cores, std::uint32_t core) noexcept {
  port_stride_ = std::max<std::uint32_t>(1, cores);
  port_residue_ = core % port_stride_;
}

std::uint16_t engine::choose_port(const four_tuple& t) noexcept {
  // The owned ports of the range are first, first + stride, ... (n of them).
  const std::uint32_t lo = cfg_.ephemeral_first;
  const std::uint32_t hi = cfg_.ephemeral_last;
  const std::uint32_t first = lo + (port_residue_ + port_stride_ - lo % port_stride_) % port_stride_;
  if (hi < lo || first > hi) return 0;
  const std::uint32_t n = (hi - first) / port_stride_ + 1;
  // RFC 6056 algorithm 3: where a destination's search starts is secret
  // (a blind attacker cannot guess the next port), and the counter spreads
  // successive connects to one destination over the range.
  const std::uint64_t offset =
      hashed_index::mix((std::uint64_t{t.remote_ip} << 32 | t.local_ip) ^ port_seed_) + t.remote_port + port_counter_;
  four_tuple probe = t;
  for (std::uint32_t i = 0; i < n; ++i) {
    probe.local_port = static_cast<std::uint16_t>(first + (offset + i) % n * port_stride_);
    if (find(probe) == nullptr) {
      port_counter_ += i + 1;
      return probe.local_port;
    }
  }
  return 0;
}

result<conn_id> engine::connect(const four_tuple& wanted, std::uint64_t cookie, std::uint32_t rx_window,
                                std::uint64_t now_us) {
  now_us_ = now_us;
  if (wanted.remote_port == 0) return unexpected{errc::invalid_argument, "remote port 0"};
  four_tuple t = wanted;
  if (t.local_port == 0) {
    t.local_port = choose_port(t);
    if (t.local_port == 0) return unexpected{errc::no_port, "every ephemeral port toward this destination is in use"};
  } else if (find(t) != nullptr) {
    return unexpected{errc::already_listening, "4-tuple in use"};
  }
  tcb& c = alloc_conn(t, state::syn_sent);
  c.owner = cookie;
  c.rx_window = rx_window;
  c.iss = isn_.next(t, now_us);
  c.snd_una = c.iss;
  c.snd_nxt = c.iss;
  c.snd_max = c.iss;
  c.tx_base = c.iss + 1;
  ++stats_.active_opens;
  send_syn(c, now_us);
  return conn_id{c.index, c.generation};
}

void engine::app_sent(conn_id id, std::uint64_t now_us) {
  now_us_ = now_us;
  if (tcb* c = find(id); c != nullptr && c->has_fifos) mark_pending(*c);
}

void engine::app_read(conn_id id, std::uint64_t now_us) {
  now_us_ = now_us;
  tcb* c = find(id);
  if (c == nullptr || !c->has_fifos) return;
  // Receiver silly-window avoidance (SPEC-TCP 6.3): announce the window
  // only once it opened by min(MSS, half the fifo) beyond what the peer
  // was last told.
  const std::uint32_t now_wnd = receive_window(*c);
  const std::uint32_t told = seq_diff(c->rcv_adv, c->rcv_nxt);
  const std::uint32_t step = std::min<std::uint32_t>(cfg_.mss, c->rx.size() / 2);
  if (now_wnd >= told + step) {
    c->ack_now = true;
    mark_pending(*c);
  }
}

void engine::app_close(conn_id id, std::uint64_t now_us) {
  now_us_ = now_us;
  tcb* c = find(id);
  if (c == nullptr || c->app_closed) return;
  c->app_closed = true;
  if (c->has_fifos && c->rx.max_dequeue() > 0) {
    // Unread data: reset, as Linux does on close() (SPEC-TCP 2.5); the
    // session hears released() and may go.
    abort(*c, abort_reason::app_reset, errc::none, true, now_us);
    return;
  }
  switch (c->state) {
    case state::syn_sent:
      free_conn(*c);
      return;
    case state::established: enter(*c, state::fin_wait_1); break;
    case state::close_wait: enter(*c, state::last_ack); break;
    case state::fin_wait_2:
      // Shut down earlier, our FIN acknowledged, the app now gone too:
      // as if it had closed in the first place (below, input.cpp).
      release_fifos(*c);
      arm(*c, timer::wait, now_us + cfg_.fin_wait_2_us);
      return;
    default: break;
  }
  mark_pending(*c);
}

void engine::app_shutdown(conn_id id, std::uint64_t now_us) {
  now_us_ = now_us;
  tcb* c = find(id);
  if (c == nullptr || c->sending_done()) return;
  switch (c->state) {
    case state::established: enter(*c, state::fin_wait_1); break;
    case state::close_wait: enter(*c, state::last_ack); break;
    default: return;  // not open for sending (a SYN in flight, or closing already)
  }
  c->tx_shut = true;
  mark_pending(*c);
}

void engine::app_abort(conn_id id, std::uint64_t now_us) {
  now_us_ = now_us;
  tcb* c = find(id);
  if (c == nullptr) return;
  c->has_fifos = false;  // the caller frees them on return: no event
  abort(*c, abort_reason::app_reset, errc::none, true, now_us);
}

void engine::set_nodelay(conn_id id, bool on) {
  if (tcb* c = find(id)) c->nodelay = on;
}

// Ends a connection that did not close in order. The app hears `app_error`
// unless it asked for this itself (errc::none).
void engine::abort(tcb& c, abort_reason why, errc app_error, bool send_reset, std::uint64_t) {
  ++stats_.aborts[static_cast<std::size_t>(why)];
  if (send_reset && c.state != state::syn_sent && c.state != state::time_wait) send_rst(c);
  const bool had_session = c.has_fifos;
  const conn_id id{c.index, c.generation};
  const std::uint64_t cookie = c.named ? 0 : c.owner;  // an active open's, until established
  const bool active_open = c.state == state::syn_sent || (c.state == state::syn_received && !c.passive);
  const bool app_closed = c.app_closed;
  free_conn(c);
  if (had_session && app_closed) app_.released(id);  // it waits for nothing else
  else if (app_error == errc::none) return;
  else if (had_session) app_.reset(id, app_error);
  else if (active_open) app_.connect_failed(cookie, app_error);
}

// The app shares the fifos' memory. Before the engine relies on their
// cursors again they must be where it left them and where the app could
// have moved them (shm/private_end.hpp); an app that wrote them otherwise
// loses this connection — a reset to the peer, bad_layout to its session —
// and nobody else notices.
bool engine::fifos_sound(tcb& c) {
  if (!c.has_fifos || (c.rx_end.check(c.rx) && c.tx_end.check(c.tx))) return true;
  abort(c, abort_reason::shm_violation, errc::bad_layout, true, now_us_);
  return false;
}

void engine::release_fifos(tcb& c) {
  if (!c.has_fifos) return;
  c.has_fifos = false;
  c.rx = {};
  c.tx = {};
  app_.released({c.index, c.generation});
}

void engine::set_state(tcb& c, tcp::state s) {
  --per_state_[static_cast<std::size_t>(c.state)];
  ++per_state_[static_cast<std::size_t>(s)];
  c.state = s;
}

void engine::enter(tcb& c, tcp::state s) {
  set_state(c, s);
  if (c.has_fifos) app_.state_changed({c.index, c.generation}, s);
}

void engine::enter_time_wait(tcb& c, std::uint64_t now_us) {
  enter(c, state::time_wait);
  cancel(c, timer::retransmit);
  cancel(c, timer::delayed_ack);
  // TIME-WAIT holds no fifos and no session (SPEC-TCP 2.6): every byte we
  // sent was acknowledged (our FIN was), the peer sends nothing new.
  release_fifos(c);
  arm(c, timer::wait, now_us + cfg_.time_wait_us);
}

void engine::mark_pending(tcb& c) {
  if (c.pending) return;
  c.pending = true;
  pending_.push_back(c.index);
}

void engine::flush(std::uint64_t now_us) {
  now_us_ = now_us;
  for (const std::uint32_t i : blocked_)
    if (conns_[i].in_use) mark_pending(conns_[i]);
  blocked_.clear();
  // output() may end a connection and free its slot; a slot reused in the
  // same flush is pending again only if marked anew.
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    tcb& c = conns_[pending_[i]];
    if (!c.in_use || !c.pending) continue;
    c.pending = false;
    output(c, now_us);
  }
  pending_.clear();
}

// ---- timers ---------------------------------------------------------------------------

void engine::arm(tcb& c, timer t, std::uint64_t when_us) {
  if (t == timer::delayed_ack) {
    const std::uint64_t tick = wheel_.tick_us();
    const std::uint64_t due = (when_us + tick - 1) / tick;  // the first tick at or after it, as the wheel
    c.delayed_ack_due = static_cast<std::uint16_t>(due);
    if (!c.delayed_ack_queued) {
      c.delayed_ack_queued = true;
      delayed_acks_.push({c.index, c.generation, due});
    }
    return;
  }
  wheel_.arm(c.index, when_us);
}

bool engine::armed(const tcb& c, timer t) const {
  if (t == timer::delayed_ack) return c.ack_delayed;
  return wheel_.armed(c.index);
}

void engine::cancel(tcb& c, timer t) {
  if (t == timer::delayed_ack) {
    c.ack_delayed = false;  // its entry, if any, finds nothing owed
    return;
  }
  wheel_.cancel(c.index);
}

void engine::advance(std::uint64_t now_us) {
  now_us_ = now_us;
  expired_.clear();
  wheel_.advance(now_us, expired_);
  for (const auto id : expired_) on_timer(id, now_us);
  run_delayed_acks(now_us);
  flush(now_us);
}

void engine::run_delayed_acks(std::uint64_t now_us) {
  const std::uint64_t now_tick = now_us / wheel_.tick_us();
  const std::uint64_t most_ahead = cfg_.delayed_ack_us / wheel_.tick_us() + 1;  // one delay
  while (!delayed_acks_.empty() && delayed_acks_.top().due_tick <= now_tick) {
    const delayed_ack d = delayed_acks_.top();
    delayed_acks_.pop();
    tcb& c = conns_[d.index];
    if (!c.in_use || c.generation != d.generation) continue;  // freed since
    c.delayed_ack_queued = false;
    if (!c.ack_delayed) continue;  // sent since
    // Owed since this entry was filed, maybe anew: when is it due now? At
    // most one delay ahead; anything else (a core that did not run for
    // half a minute, the 16 bits wrapped) is overdue.
    const auto ahead = static_cast<std::int16_t>(c.delayed_ack_due - static_cast<std::uint16_t>(now_tick));
    if (ahead > 0 && static_cast<std::uint64_t>(ahead) <= most_ahead) {
      c.delayed_ack_queued = true;
      delayed_acks_.push({c.index, c.generation, now_tick + static_cast<std::uint64_t>(ahead)});
      continue;
    }
    c.ack_now = true;
    mark_pending(c);
  }
}

void engine::on_timer(std::uint32_t id, std::uint64_t now_us) {
  tcb& c = conns_[id];
  if (!c.in_use) return;  // freed since (its timers were cancelled; belt and braces)
  if (c.state == state::fin_wait_2 || c.state == state::time_wait) {
    // The wait ran out (SPEC-TCP 2.6): nothing of ours is unacknowledged
    // in these states, so this node was the wait timer's.
    if (c.state == state::fin_wait_2) release_fifos(c);
    free_conn(c);
    return;
  }
  if (!fifos_sound(c)) return;
  if (c.persisting) on_persist_timer(c, now_us);
  else on_retransmit_timer(c, now_us);
}

void engine::on_retransmit_timer(tcb& c, std::uint64_t now_us) {
  const bool opening = c.state == state::syn_sent || c.state == state::syn_received;
  const std::uint32_t limit = opening ? cfg_.syn_retries : cfg_.data_retries;
  if (c.retries >= limit) {
    // SPEC-TCP 2.2 / 2.7: out of retries. A passive half-open just goes.
    abort(c, abort_reason::timeout, c.passive && opening ? errc::none : errc::timeout,
          !opening, now_us);
    return;
  }
  ++c.retries;
  ++stats_.retransmits_timeout;
  c.rtt.backoff(cfg_.rto);
  c.rtt_timing = false;  // Karn: never time a retransmitted segment
  if (opening) {
    send_syn(c, now_us);
    return;
  }
  // Go back to the first unacknowledged byte with a loss window (RFC 5681
  // §3.1, RFC 6298 5.4-5.6); what the peer SACKed is forgotten (RFC 2018 §8).
  c.cc.on_timeout(c.flight());
  c.in_recovery = false;
  c.dupacks = 0;
  c.rec.recover = c.snd_max;
  set_sacked(c, nullptr, 0);
  c.snd_nxt = c.snd_una;
  retransmit_first(c, now_us);
  arm(c, timer::retransmit, now_us + c.rtt.rto_us());
}

void engine::on_persist_timer(tcb& c, std::uint64_t now_us) {
  // A peer that keeps answering probes is never given up on (SPEC-TCP 6.4).
  send_probe(c, now_us);
  if (!c.persisting) return;  // the window allowed data: back to retransmission
  c.persist_backoff = static_cast<std::uint8_t>(std::min(c.persist_backoff + 1, 16));
  const std::uint64_t wait = std::min<std::uint64_t>(std::uint64_t{c.rtt.rto_us()} << c.persist_backoff, cfg_.rto.max_us);
  arm(c, timer::retransmit, now_us + wait);
}

// ---- inspection -----------------------------------------------------------------------

conn_info engine::snapshot(const tcb& c) const {
  conn_info i;
  i.id = conn_id{c.index, c.generation};
  i.tuple = c.tuple;
  i.state = c.state;
  i.snd_una = c.snd_una;
  i.snd_nxt = c.snd_nxt;
  i.snd_wnd = c.snd_wnd;
  i.rcv_nxt = c.rcv_nxt;
  i.rcv_wnd = seq_diff(c.rcv_adv, c.rcv_nxt);
  i.cwnd = c.cc.cwnd();
  i.ssthresh = c.cc.ssthresh();
  i.rto_us = c.rtt.rto_us();
  i.srtt_us = c.rtt.srtt_us();
  i.rttvar_us = c.rtt.rttvar_us();
  i.mss = effective_mss(c);
  i.peer_mss = c.peer_mss;
  i.retries = c.retries;
  i.backoffs = c.rtt.backoffs();
  i.total_retrans = c.total_retrans;
  i.snd_shift = c.snd_shift;
  i.rcv_shift = c.rcv_shift;
  i.timestamps = c.ts_on;
  i.sack = c.sack_on;
  i.has_fifos = c.has_fifos;
  return i;
}

tcp_conn_info to_tcp_info(const conn_info& i) noexcept {
  // Linux's numbering (include/net/tcp_states.h), which TCP_INFO reports.
  static constexpr std::uint8_t linux_state[state_count] = {
      7 /* closed: TCP_CLOSE */, 10 /* listen */,    2 /* syn_sent */,   3 /* syn_received: TCP_SYN_RECV */,
      1 /* established */,       4 /* fin_wait_1 */, 5 /* fin_wait_2 */, 8 /* close_wait */,
      11 /* closing */,          9 /* last_ack */,   6 /* time_wait */};
  auto narrow = [](std::uint32_t v) { return static_cast<std::uint8_t>(std::min<std::uint32_t>(v, 255)); };
  tcp_conn_info t;
  t.state = linux_state[static_cast<std::size_t>(i.state)];
  t.retransmits = narrow(i.retries);
  t.backoff = narrow(i.backoffs);
  t.timestamps = i.timestamps;
  t.sack = i.sack;
  t.window_scaling = i.snd_shift != 0 || i.rcv_shift != 0;
  t.snd_wscale = i.snd_shift;
  t.rcv_wscale = i.rcv_shift;
  t.rto_us = i.rto_us;
  t.rtt_us = i.srtt_us;
  t.rttvar_us = i.rttvar_us;
  t.snd_mss = i.mss;
  t.rcv_mss = i.peer_mss;
  t.unacked_bytes = i.snd_nxt - i.snd_una;
  t.cwnd_bytes = i.cwnd;
  t.ssthresh_bytes = i.ssthresh;
  t.snd_wnd = i.snd_wnd;
  t.rcv_wnd = i.rcv_wnd;
  t.total_retrans = i.total_retrans;
  return t;
}

std::optional<conn_info> engine::info(conn_id id) const {
  if (const tcb* c = find(id)) return snapshot(*c);
  return std::nullopt;
}

void engine::for_each(const std::function<void(const conn_info&)>& f) const {
  for (const tcb& c : conns_)
    if (c.in_use) f(snapshot(c));
}

}  // namespace actorstack::tcp
