// libactorstack-client: an app in its own process. The app's thread owns
// everything here (socks, sessions, mapped segments) and its Unix
// connection to the stack, over which everything but bytes and io events
// travels (actors/remote/app_protocol.hpp). No thread, no actor system of
// its own.
#include <actorstack/client.hpp>

#include "actors/remote/app_protocol.hpp"
#include "client/attach_channel.hpp"
#include "client/sock_table.hpp"
#include "client/waiter.hpp"
#include "shm/fd_channel.hpp"
#include "shm/event_queue.hpp"
#include "shm/fifo_segment.hpp"
#include "shm/segment.hpp"

#include <actorstack/app_worker.hpp>
#include <actorstack/endpoint.hpp>

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>

namespace actorstack::client {

namespace {

using clock = std::chrono::steady_clock;

using detail::sock_state;
namespace proto = app_protocol;

// What the app's sessions ask of their workers, as records on the app's
// connection. One-way, like the plain sends an in-process app makes; a
// broken connection shows up at the next read of it.
class connection_control final : public actorstack::detail::session_control {
 public:
  explicit connection_control(shm::fd_channel& ch, std::chrono::milliseconds patience) noexcept
      : ch_(ch), patience_(patience) {}
  void post_tx(session_handle h) override { send(proto::session_op::tx, h); }
  void post_app_rx(session_handle h) override { send(proto::session_op::app_rx, h); }
  void close(session_handle h) override { send(proto::session_op::close, h); }
  void reset(session_handle h) override { send(proto::session_op::reset, h); }
  void shutdown(session_handle h) override { send(proto::session_op::shutdown, h); }
  void answer_accept(session_handle h, bool ok) override {
    send(ok ? proto::session_op::accept_yes : proto::session_op::accept_no, h);
  }
  void answer_connected(session_handle h, bool ok) override {
    send(ok ? proto::session_op::connected_yes : proto::session_op::connected_no, h);
  }

 private:
  void send(proto::session_op op, session_handle h) {
    const auto bytes = proto::encode(proto::session_request{op, h});
    (void)ch_.send(static_cast<std::uint32_t>(proto::record::session), bytes, {}, patience_);
  }
  shm::fd_channel& ch_;
  std::chrono::milliseconds patience_;
};

// Joining an attached app (worker add): which app, and the secret its
// attach reply carried.
struct join_ticket {
  std::uint32_t app = 0;
  std::uint64_t secret = 0;
};

class app_impl final : public app, private app_handler {
 public:
  explicit app_impl(attach_options opts, join_ticket join = {}) : opts_(std::move(opts)), join_(join) {}

  ~app_impl() override {
    (void)detach();
    table_.reset();
    segments_.clear();
  }

  // Connects, attaches, and takes what the stack sends while attaching
  // (the event queue, then the reply; anything else is kept for later).
  result<void> start() {
    auto ch = detail::greet(opts_.socket_path, opts_.timeout);
    if (!ch) return unexpected{ch.error()};
    channel_ = std::move(*ch);
    proto::attach_request req;
    req.name = opts_.name;
    req.rx_fifo_size = opts_.rx_fifo_size;
    req.tx_fifo_size = opts_.tx_fifo_size;
    req.join_app = join_.app;
    req.join_secret = join_.secret;
    const auto bytes = proto::encode(req);
    if (auto sent = channel_.send(static_cast<std::uint32_t>(proto::record::attach), bytes, {}, opts_.timeout); !sent)
      return sent;
    const auto deadline = clock::now() + opts_.timeout;
    std::optional<proto::attach_reply> reply;
    while (!reply) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) return unexpected{errc::timeout, "attach: the stack did not answer in time"};
      auto m = channel_.receive(left);
      if (!m) {
        if (m.error().code == errc::bad_message) continue;  // dropped whole; the next may be fine
        return unexpected{m.error()};
      }
      if (m->type == static_cast<std::uint32_t>(proto::record::event_queue)) {
        if (auto r = take_event_queue(*m); !r) return r;
      } else if (m->type == static_cast<std::uint32_t>(proto::record::attached)) {
        auto r = proto::decode_attach_reply(m->payload);
        if (!r) return unexpected{r.error()};
        reply = *r;
      } else if (m->type == static_cast<std::uint32_t>(proto::record::answer)) {
        auto a = proto::decode_answer(m->payload);
        if (a && a->request == 0 && a->code != errc::none) return unexpected{a->code, "attach: the stack refused"};
      } else {
        take_record(*m);
      }
    }
    if (waiter_.fd() < 0) return unexpected{errc::bad_message, "attach: the stack sent no event queue"};
    info_ = *reply;
    // Sessions reach "their worker" over this connection: the stack's
    // gateway checks each request against what this app was given.
    app_worker_context ctx;
    ctx.index = info_.app_worker;
    ctx.app = info_.app;
    ctx.session_workers.resize(info_.session_workers);
    ctx.control = control_;
    table_ = std::make_unique<app_session_table>(std::move(ctx));
    attached_ = true;
    return {};
  }

  // ---- control --------------------------------------------------------------

  using app::listen;
  result<sock> listen(std::string_view uri, listen_options opts) override {
    if (auto r = usable(); !r) return unexpected{r.error()};
    auto ep = parse_uri(uri);
    if (!ep) return unexpected{ep.error()};
    const auto id = next_request();
    auto answered = ask(proto::listen_request{id, *ep, opts.reuse_port}, id, "listen");
    if (!answered) return unexpected{answered.error()};
    const auto h = session_handle::from_value(answered->value);
    const sock l = new_sock();
    socks_[l].listener = true;
    socks_[l].handle = h;
    socks_[l].ends.local = *ep;
    socks_.bind(h, l);
    if (ep->proto != transport_proto::udp) return l;
    // A datagram listener is a session of its own (its fifos hold the
    // datagrams): usable once the stack's "listened" names it, which may
    // have come before the answer.
    socks_[l].datagram = true;
    const auto deadline = clock::now() + opts_.timeout;
    for (;;) {
      if (auto it = unclaimed_listens_.find(h.value()); it != unclaimed_listens_.end()) {
        socks_[l].s = it->second;
        unclaimed_listens_.erase(it);
      }
      if (socks_[l].s != nullptr) return l;
      if (socks_[l].gone || clock::now() >= deadline) {
        const errc why = socks_[l].gone ? errc::disconnected : errc::timeout;
        (void)close(l);
        return unexpected{why, "listen: the datagram listener never came"};
      }
      if (auto r = wait({}, deadline); !r) return unexpected{r.error()};
    }
  }

  result<sock> accept(sock listener) override {
    auto* l = find(listener);
    if (l == nullptr || !l->listener) return unexpected{errc::invalid_argument, "accept: not a listener"};
    for (;;) {
      if (auto r = take_news(); !r) return unexpected{r.error()};
      l = find(listener);
      if (l == nullptr) return unexpected{errc::invalid_argument, "accept: the listener was closed"};
      if (!l->backlog.empty()) {
        const sock s = l->backlog.front();
        l->backlog.pop_front();
        progressed();
        return s;
      }
      if (l->nonblocking) return unexpected{errc::would_block, "accept: no connection waiting"};
      if (auto r = wait_for(listener, readable, std::nullopt); !r) return unexpected{r.error()};
    }
  }

  result<sock> connect_start(std::string_view uri, std::uint16_t local_port) override {
    if (auto r = usable(); !r) return unexpected{r.error()};
    auto ep = parse_uri(uri);
    if (!ep) return unexpected{ep.error()};
    const sock c = new_sock();
    socks_[c].connecting = true;
    socks_[c].ends.remote = *ep;
    const auto id = next_request();
    auto ok = ask(proto::connect_request{id, *ep, static_cast<std::uint64_t>(c), local_port}, id, "connect");
    if (!ok) {
      release(c);
      return unexpected{ok.error()};
    }
    return c;
  }

  result<void> status(sock id) override {
    if (auto r = take_news(); !r) return r;
    auto* st = find(id);
    if (st == nullptr) return unexpected{errc::invalid_session, "status: not an open sock"};
    if (st->connecting) return unexpected{errc::would_block, "connecting"};
    if (st->connect_error) return unexpected{*st->connect_error, "connect failed"};
    if (st->peer_reset) return unexpected{errc::reset, "the peer reset the connection"};
    return {};
  }

  result<sock_info> info(sock id) override {
    auto* st = find(id);
    if (st == nullptr) return unexpected{errc::invalid_session, "info: not an open sock"};
    if (st->connecting) return unexpected{errc::would_block, "connecting"};
    sock_info i;
    i.ends = st->ends;
    i.transport = st->listener ? st->ends.local.proto : st->transport;
    i.datagram = st->datagram;
    if (st->s != nullptr && !st->s->closed()) {
      i.rx_fifo_size = st->s->fifo_size(fifo_side::rx);
      i.tx_fifo_size = st->s->fifo_size(fifo_side::tx);
      i.readable = st->s->max_read();
      i.writable = st->s->max_write();
      i.rx_arrived = st->s->rx_arrived();
      i.tx_drained = st->s->tx_drained();
    }
    return i;
  }

  result<tcp_conn_info> tcp_info(sock id) override {
    if (auto r = take_news(); !r) return unexpected{r.error()};
    auto* st = find(id);
    if (st == nullptr) return unexpected{errc::invalid_session, "tcp info: not an open sock"};
    if (st->connecting) return unexpected{errc::would_block, "connecting"};
    if (st->listener || st->transport != transport_proto::tcp || st->s == nullptr || st->s->closed())
      return unexpected{errc::invalid_session, "tcp info: not a tcp connection on the wire"};
    const std::uint64_t req = next_request();
    if (auto r = send_request(proto::tcp_info_request{req, st->s->handle()}); !r) return unexpected{r.error()};
    auto got = await_reply([&] { return tcp_infos_.count(req) > 0; }, "tcp info");
    if (!got) return unexpected{got.error()};
    const proto::tcp_info_answer a = tcp_infos_.at(req);
    tcp_infos_.erase(req);
    if (a.code != errc::none) return unexpected{a.code, "tcp info: the stack refused"};
    return a.info;
  }

  result<sock> connect(std::string_view uri, std::uint16_t local_port) override {
    auto started = connect_start(uri, local_port);
    if (!started) return started;
    const sock c = *started;
    const auto deadline = clock::now() + opts_.timeout;
    while (socks_[c].connecting) {
      if (clock::now() >= deadline) {
        socks_[c].abandoned = true;  // refused when (if) it completes; the sock stays taken until then
        return unexpected{errc::timeout, "connect: no outcome in time"};
      }
      if (auto r = wait({}, deadline); !r) return unexpected{r.error()};
    }
    if (socks_[c].connect_error) {
      const errc why = *socks_[c].connect_error;
      release(c);
      return unexpected{why, "connect failed"};
    }
    return c;
  }

  result<void> close(sock id) override {
    auto* st = find(id);
    if (st == nullptr) return unexpected{errc::invalid_session, "close: not an open sock"};
    if (st->listener) {
      for (sock pending : st->backlog) (void)close(pending);
      st->s = nullptr;  // a datagram listener's session: the stack ends it with the listener
      const auto h = st->handle;
      socks_.unbind(h);
      release(id);
      if (!attached_) return {};
      const auto req = next_request();
      auto r = ask(proto::unlisten_request{req, h}, req, "stop listening");
      if (!r) return unexpected{r.error()};
      return {};
    }
    if (st->s != nullptr && !st->s->closed()) (void)st->s->close();
    forget(id);
    return {};
  }

  result<void> shutdown(sock id) override {
    auto* st = find(id);
    if (st == nullptr || st->listener || st->s == nullptr)
      return unexpected{errc::invalid_session, "shutdown: not an open session"};
    return st->s->shutdown();
  }

  result<void> reset(sock id) override {
    auto* st = find(id);
    if (st == nullptr || st->listener) return unexpected{errc::invalid_session, "reset: not an open session"};
    if (st->s != nullptr && !st->s->closed()) (void)st->s->reset();
    forget(id);
    return {};
  }

  result<void> set_nonblocking(sock id, bool on) override {
    auto* st = find(id);
    if (st == nullptr) return unexpected{errc::invalid_session, "not an open sock"};
    st->nonblocking = on;
    return {};
  }

  // ---- data -----------------------------------------------------------------

  result<std::size_t> read(sock id, std::span<std::byte> out) override {
    if (auto* st = find(id); st != nullptr && st->datagram) {
      auto d = recv_from(id, out, false);
      if (!d) return unexpected{d.error()};
      return d->length;
    }
    for (;;) {
      auto* st = find(id);
      if (st == nullptr || st->listener) return unexpected{errc::invalid_session, "read: not an open session"};
      if (st->s != nullptr) {
        auto n = st->s->read(out);
        if (n && *n > 0) {
          progressed();
          return *n;
        }
        if (!n && n.error().code != errc::fifo_empty) return unexpected{n.error()};
      }
      if (st->peer_reset) return unexpected{errc::reset, "read: the peer reset the connection"};
      if (st->peer_closed || st->gone || out.empty()) return std::size_t{0};
      if (st->nonblocking) return unexpected{errc::would_block, "read: nothing to read"};
      if (auto r = wait_for(id, readable, std::nullopt); !r) return unexpected{r.error()};
    }
  }

  result<std::size_t> peek(sock id, std::size_t offset, std::span<std::byte> out) override {
    for (;;) {
      auto* st = find(id);
      if (st == nullptr || st->listener) return unexpected{errc::invalid_session, "peek: not an open session"};
      if (st->s != nullptr) {
        auto n = st->s->peek(offset, out);
        if (n && *n > 0) return *n;
        if (!n && n.error().code != errc::fifo_empty) return unexpected{n.error()};
      }
      if (st->peer_reset) return unexpected{errc::reset, "peek: the peer reset the connection"};
      if (st->peer_closed || st->gone || out.empty()) return std::size_t{0};
      if (st->nonblocking) return unexpected{errc::would_block, "peek: nothing to read"};
      if (auto r = wait_for(id, readable, std::nullopt); !r) return unexpected{r.error()};
    }
  }

  result<std::size_t> write(sock id, std::span<const std::byte> data) override {
    if (auto* st = find(id); st != nullptr && st->datagram) {
      if (st->listener) return unexpected{errc::invalid_argument, "write: a datagram listener has no peer (send_to)"};
      return send_to(id, endpoint{}, data);
    }
    std::size_t done = 0;
    for (;;) {
      auto* st = find(id);
      if (st == nullptr || st->listener) return unexpected{errc::invalid_session, "write: not an open session"};
      if (st->gone || st->peer_reset || st->s == nullptr)
        return done > 0 ? result<std::size_t>{done} : unexpected{errc::disconnected, "write: the peer is gone"};
      const std::size_t left = data.size() - done;
      // Blocking: no dribbles into a nearly full fifo (write_low_water).
      if (st->nonblocking || st->s->max_write() >= write_low_water(*st->s, left)) {
        auto n = st->s->write(data.subspan(done));
        if (n && *n > 0) progressed();
        if (n) done += *n;
        else if (n.error().code != errc::fifo_full) return unexpected{n.error()};
        if (done == data.size()) return done;
      }
      if (st->nonblocking) {
        if (done > 0) return done;
        st->s->notify_on_space();
        return unexpected{errc::would_block, "write: the fifo is full"};
      }
      // wait() asks for a tx notification before it sleeps (and looks
      // again); while it spins, the reader frees room without telling.
      if (auto r = wait_for(id, writable, std::nullopt, data.size() - done); !r) return unexpected{r.error()};
    }
  }

  result<std::size_t> send_to(sock id, const endpoint& remote, std::span<const std::byte> payload) override {
    if (payload.size() > max_datagram_payload)
      return unexpected{errc::invalid_argument, "send_to: longer than max_datagram_payload"};
    for (;;) {
      auto* st = find(id);
      if (st == nullptr) return unexpected{errc::invalid_session, "send_to: not an open sock"};
      if (!st->datagram) return unexpected{errc::invalid_argument, "send_to: not a datagram sock"};
      if (st->gone || st->s == nullptr) return unexpected{errc::disconnected, "send_to: the session is gone"};
      auto n = st->s->send_to(remote, payload);
      if (n) {
        progressed();
        return *n;
      }
      if (n.error().code != errc::fifo_full && n.error().code != errc::fifo_no_memory) return unexpected{n.error()};
      if (st->nonblocking) {
        st->s->notify_on_space(static_cast<std::uint32_t>(datagram_room(payload.size())));
        return unexpected{errc::would_block, "send_to: no room for the datagram"};
      }
      if (auto r = wait_for(id, writable, std::nullopt, datagram_room(payload.size())); !r) return unexpected{r.error()};
    }
  }

  result<datagram_info> recv_from(sock id, std::span<std::byte> out, bool peek) override {
    for (;;) {
      auto* st = find(id);
      if (st == nullptr) return unexpected{errc::invalid_session, "recv_from: not an open sock"};
      if (!st->datagram) return unexpected{errc::invalid_argument, "recv_from: not a datagram sock"};
      if (st->gone || st->s == nullptr) return unexpected{errc::disconnected, "recv_from: the session is gone"};
      auto d = peek ? st->s->peek_from(out) : st->s->recv_from(out);
      if (d) {
        progressed();
        return d;
      }
      if (d.error().code != errc::fifo_empty) return unexpected{d.error()};
      if (st->nonblocking) return unexpected{errc::would_block, "recv_from: no datagram queued"};
      if (auto r = wait_for(id, readable, std::nullopt); !r) return unexpected{r.error()};
    }
  }

  result<std::size_t> poll(std::span<poll_entry> entries, std::chrono::milliseconds timeout) override {
    return poll(entries, {}, timeout);
  }

  result<std::size_t> poll(std::span<poll_entry> entries, std::span<pollfd> fds,
                           std::chrono::milliseconds timeout) override {
    std::optional<clock::time_point> deadline;
    if (timeout.count() >= 0) deadline = clock::now() + timeout;
    bool prepared = false;
    for (;;) {
      if (auto r = take_news(); !r) return unexpected{r.error()};
      std::size_t ready = 0;
      for (auto& e : entries) {
        e.revents = readiness(e);
        if (e.revents != 0) ++ready;
      }
      if (!fds.empty()) {
        const int k = ::poll(fds.data(), fds.size(), 0);
        if (k < 0 && errno != EINTR) return unexpected{errc::system, "poll", errno};
        if (k > 0) ready += static_cast<std::size_t>(k);
      }
      if (ready > 0) return ready;
      if (deadline && clock::now() >= *deadline) {
        // An app that sleeps in its own loop (on event_fd) must be told;
        // and whatever got ready meanwhile counts (one more look).
        if (!prepared) {
          prepared = true;
          (void)prepare_to_sleep(entries);
          continue;
        }
        return ready;
      }
      if (auto r = wait(entries, deadline, SIZE_MAX, fds); !r) return unexpected{r.error()};
      if (opts_.interruptible && waiter_.interrupted()) return unexpected{errc::system, "poll", EINTR};
    }
  }

  int event_fd() const noexcept override { return waiter_.fd(); }

  result<void> process_events() override {
    drain_wakeups();
    return take_news();
  }

  client_counters counters() const noexcept override {
    client_counters c;
    c.sessions = socks_.open();
    c.segments_mapped = segments_.size();
    c.segment_deletions_refused = segment_deletions_refused_;
    c.notifications = notifications_;
    c.io_events = io_events_;
    c.late_wakeups = waiter_.late_wakeups();
    c.io_event_capacity = events_.io_capacity();
    return c;
  }

  result<std::unique_ptr<app>> add_worker() override {
    if (auto r = usable(); !r) return unexpected{r.error()};
    auto w = std::make_unique<app_impl>(opts_, join_ticket{info_.app, info_.secret});
    if (auto r = w->start(); !r) return unexpected{r.error()};
    return std::unique_ptr<app>{std::move(w)};
  }

  std::uint32_t worker_index() const noexcept override { return info_.app_worker; }

  result<void> detach() override {
    if (!attached_) return {};
    const auto id = next_request();
    auto r = ask(proto::detach_request{id}, id, "detach");
    lost();
    if (!r) return unexpected{r.error()};
    return {};
  }

 private:
  // ---- the stack's notifications --------------------------------------------

  void take(app_notification& n) {
    switch (n.kind) {
      case notification::segment_add: break;  // mapped when its record came (take_record)
      case notification::accept:
      case notification::connected:
      case notification::listened:
        if (n.kind == notification::connected && (n.err != errc::none || !n.handle.valid())) break;
        if (!resolve_fifos(n)) {
          // A fifo this process cannot see: say no rather than guess.
          if (n.kind == notification::accept) control_->answer_accept(n.handle, false);
          if (n.kind == notification::connected) control_->answer_connected(n.handle, false);
          return;
        }
        break;
      default: break;
    }
    current_listener_ = n.kind == notification::accept ? n.other : session_handle{};
    table_->deliver(n, *this);
    if (n.kind == notification::segment_del) forget_segment(n.segment.id);
  }

  // The stack deletes a segment only once this app has no fifo in it; a
  // deletion that says otherwise (a message forged through the
  // middleman: docs/architecture.md, Shields) must not unmap fifos in use.
  void forget_segment(std::uint64_t id) {
    auto it = segments_.find(id);
    if (it == segments_.end()) return;
    if (table_->holds_fifos_in(it->second.memory().base())) {
      ++segment_deletions_refused_;
      return;
    }
    segments_.erase(it);
  }

  // The queue the stack posts this app's io events to. One epoll fd
  // watches its eventfd and the connection: the app (or its own loop)
  // waits on that alone.
  result<void> take_event_queue(shm::channel_message& m) {
    if (waiter_.fd() >= 0) return unexpected{errc::bad_message, "attach: a second event queue"};
    auto q = detail::map_event_queue(m);
    if (!q) return unexpected{q.error()};
    events_mem_ = std::move(q->mem);
    events_ = std::move(q->queue);
    return waiter_.watch({channel_.fd(), events_.eventfd()});
  }

  // After a wake-up: the eventfd read (and the queue disarmed) before the
  // queue is looked at, so events racing the drain leave it readable. The
  // connection stays readable until take_news reads it.
  void drain_wakeups() noexcept {
    if (waiter_.fd() >= 0) events_.consume_wakeup();
    records_hint_ = true;  // the connection may be why the sleep ended
  }

  // Every record the stack has sent so far, without waiting.
  void read_records() {
    while (channel_.valid() && !connection_lost_) {
      auto m = channel_.receive(std::chrono::milliseconds(0));
      if (m) {
        take_record(*m);
        continue;
      }
      switch (m.error().code) {
        case errc::would_block:
        case errc::timeout: return;
        case errc::bad_message: ++bad_records_; continue;  // dropped whole
        default: connection_lost_ = true; return;  // the stack hung up
      }
    }
  }

  // One record from the stack. Notifications wait in order for take_news
  // (an answer may be awaited meanwhile: ask); a segment is mapped at once,
  // before the notification that names it is taken.
  void take_record(shm::channel_message& m) {
    switch (static_cast<proto::record>(m.type)) {
      case proto::record::notify: {
        auto batch = proto::decode_notify(m.payload);
        if (!batch) {
          ++bad_records_;
          return;
        }
        for (auto& n : *batch) notes_.push_back(std::move(n));
        return;
      }
      case proto::record::segment: return map_segment(m);
      case proto::record::answer: {
        auto a = proto::decode_answer(m.payload);
        if (a) answers_[a->request] = *a;
        else ++bad_records_;
        return;
      }
      case proto::record::tcp_info: {
        auto a = proto::decode_tcp_info_answer(m.payload);
        if (a) tcp_infos_[a->request] = *a;
        else ++bad_records_;
        return;
      }
      case proto::record::detached: detached_ = true; return;
      default: ++bad_records_; return;  // an error note from the stack, or nothing this side takes
    }
  }

  // Everything queued for this app: notifications from its connection, io
  // events from the shared queue. The queue costs nothing when empty; the
  // connection a syscall, so while data flows (the spinning path calls
  // this between looks at the fifos) it is read when something said it is
  // readable — a wake-up, news_waiting's look — and every 16th time
  // regardless. A sleep is never lost: the connection is in the waiter's
  // epoll set, level-triggered.
  result<void> take_news() {
    if (records_hint_ || ++news_takes_ % 16 == 0) {
      records_hint_ = false;
      read_records();
    }
    while (!notes_.empty()) {
      auto n = std::move(notes_.front());
      notes_.pop_front();
      ++notifications_;
      take(n);
    }
    if (detached_ || connection_lost_) lost();
    std::array<shm::io_event, 64> batch;
    if (waiter_.fd() >= 0)
      for (std::size_t n; (n = events_.pop_io_batch(batch)) > 0;)
        for (std::size_t i = 0; i < n; ++i) take_io(batch[i]);
    return usable();
  }

  // An io event only says "look at this session's fifos": readiness is
  // read from the fifos themselves, so an event for a session this app no
  // longer holds (or does not hold yet) is harmless.
  void take_io(const shm::io_event& ev) {
    ++notifications_;
    ++io_events_;
    app_notification n;
    n.kind = ev.type == shm::io_event_type::tx ? notification::tx : notification::rx;
    n.handle = session_handle::from_value(ev.session_handle);
    n.app_worker = info_.app_worker;
    if (table_) table_->deliver(n, *this);
  }

  // A segment's memfd, sent before the segment_add that announces it.
  void map_segment(shm::channel_message& m) {
    std::uint64_t id = 0;
    if (m.fds.size() != 1 || m.payload.size() != 16) {
      ++bad_records_;
      return;
    }
    std::memcpy(&id, m.payload.data(), 8);
    auto mapped = shm::fifo_segment::attach(m.fds[0], "segment " + std::to_string(id));
    if (mapped) segments_.insert_or_assign(id, std::move(*mapped));
  }

  bool resolve_fifos(app_notification& n) {
    auto it = segments_.find(n.fifo_segment);
    if (it == segments_.end()) return false;
    auto rx = it->second.fifo_at(static_cast<shm::offset_t>(n.rx_offset));
    auto tx = it->second.fifo_at(static_cast<shm::offset_t>(n.tx_offset));
    if (!rx || !tx) return false;
    n.rx = rx->to_ref();
    n.tx = tx->to_ref();
    return true;
  }

  // The stack detached this app or went away: nothing more will come.
  void lost() {
    attached_ = false;
    for (auto& s : socks_) {
      if (!s.used) continue;
      s.gone = true;
      s.connecting = false;
      if (!s.connect_error && s.s == nullptr && !s.listener) s.connect_error = errc::disconnected;
    }
  }

  // ---- app_handler: runs inside table_->deliver, on this thread -------------

  bool on_accept(session& s) override {
    const auto listener = socks_.sock_of(current_listener_);
    if (!listener) return false;  // the listener was closed
    const sock id = new_sock();
    socks_[id].handle = s.handle();
    socks_[id].s = &s;
    socks_[id].ends = s.endpoints();
    socks_[id].transport = s.transport();
    socks_.bind(s.handle(), id);
    socks_[*listener].backlog.push_back(id);
    return true;
  }
  bool on_connected(session& s, std::uint64_t opaque) override {
    auto* st = find(static_cast<sock>(opaque));
    if (st == nullptr || !st->connecting) return false;
    st->connecting = false;
    if (st->abandoned) {
      release(static_cast<sock>(opaque));
      return false;
    }
    st->handle = s.handle();
    st->s = &s;
    st->ends = s.endpoints();
    st->transport = s.transport();
    st->datagram = s.datagram();
    socks_.bind(s.handle(), static_cast<sock>(opaque));
    return true;
  }
  // A datagram listener's own session: for the sock that listens (or, if
  // the listen's answer is still on its way, kept until listen() claims it).
  void on_listen(session& s) override {
    if (auto* st = by(s.handle()); st != nullptr && st->listener) {
      st->s = &s;
      return;
    }
    unclaimed_listens_[s.handle().value()] = &s;
  }
  void on_connect_failed(std::uint64_t opaque, errc why) override {
    auto* st = find(static_cast<sock>(opaque));
    if (st == nullptr || !st->connecting) return;
    st->connecting = false;
    st->connect_error = why;
    if (st->abandoned) release(static_cast<sock>(opaque));
  }
  void on_close(session& s) override {
    if (auto* st = by(s.handle())) st->peer_closed = true;
  }
  void on_reset(session& s) override {
    if (auto* st = by(s.handle())) st->peer_closed = st->peer_reset = true;
  }
  void on_transport_closed(session& s) override {
    if (auto* st = by(s.handle())) st->peer_closed = true;
  }
  void on_cleanup(session_handle h, bool transport_only) override {
    if (transport_only) return;
    unclaimed_listens_.erase(h.value());
    auto* st = by(h);
    if (st == nullptr) return;
    st->s = nullptr;  // the table frees it right after this call
    st->gone = true;
  }
  void on_migrate(session& s, session_handle old_handle) override {
    const auto id = socks_.sock_of(old_handle);
    if (!id) return;
    socks_.unbind(old_handle);
    socks_.bind(s.handle(), *id);
    socks_[*id].handle = s.handle();
  }

  // ---- socks ------------------------------------------------------------------

  sock new_sock() { return socks_.add(); }
  void release(sock id) { socks_.release(id); }
  void forget(sock id) { socks_.forget(id); }
  sock_state* find(sock id) { return socks_.find(id); }
  sock_state* by(session_handle h) { return socks_.by(h); }

  std::uint32_t readiness(const poll_entry& e, std::size_t want_room = SIZE_MAX) {
    auto* st = find(e.s);
    if (st == nullptr) return failed;
    std::uint32_t r = 0;
    if (st->listener && !st->datagram) return st->backlog.empty() ? 0 : (e.events & readable);
    if (st->connecting) return 0;
    if (st->datagram) {
      // Whole datagrams: readable with one queued, writable with room for
      // the one the caller has (a largest one if it did not say).
      if (st->gone || st->s == nullptr) return failed;
      if ((e.events & readable) != 0 && st->s->max_read() > 0) r |= readable;
      if ((e.events & writable) != 0 && st->s->max_write() >= datagram_room(want_room)) r |= writable;
      return r;
    }
    // A reset (or a session gone) ends any wait; the peer's orderly close
    // only a reader's: a writer may go on writing after it (half-close),
    // so it is not woken for it — as poll(2) wakes no POLLOUT waiter for a FIN.
    if (st->gone || st->connect_error || st->peer_reset) r |= failed;
    if (st->peer_closed && (e.events & (readable | hangup)) != 0) r |= hangup;
    if ((e.events & readable) != 0 && (st->peer_closed || st->gone || (st->s != nullptr && st->s->max_read() > 0)))
      r |= readable;
    if ((e.events & writable) != 0 && st->s != nullptr && st->s->max_write() >= write_low_water(*st->s, want_room))
      r |= writable;
    return r;
  }

  // Room that makes a sock writable: all of what the caller still has to
  // write, but never more than a quarter of the fifo. Waking a writer for
  // every few bytes the reader frees (silly window) turns a stream into
  // tiny copies on both sides, and for a sleeping writer into a
  // notification per read, each crossing two middleman hops. Kernel
  // sockets wait the same way (SO_SNDLOWAT, sk_stream_min_wspace).
  static std::size_t write_low_water(const session& s, std::size_t want_room) noexcept {
    return std::clamp<std::size_t>(want_room, 1, std::max<std::size_t>(1, s.fifo_size(fifo_side::tx) / 4));
  }
  // Room a datagram of `payload` bytes takes in a fifo (a largest one when
  // the caller did not say).
  static std::size_t datagram_room(std::size_t payload) noexcept {
    return datagram_header_size + std::min(payload, max_datagram_payload);
  }

  // ---- waiting and asking -------------------------------------------------------

  result<void> usable() const {
    if (!attached_) return unexpected{errc::disconnected, "detached from the stack"};
    return {};
  }

  // Waits until something in `interest` may be ready (or news arrives),
  // then takes the news; the caller looks again either way (client/waiter.hpp).
  // `want_room`: what a writer among `interest` still has to write (its
  // sock counts as writable with that much room, or a quarter fifo).
  result<void> wait(std::span<const poll_entry> interest, std::optional<clock::time_point> deadline,
                    std::size_t want_room = SIZE_MAX, std::span<pollfd> kernel = {}) {
    if (auto r = usable(); !r) return r;
    interest_target t{*this, interest, want_room};
    waiter_.wait(t, deadline, kernel);
    return take_news();
  }
  result<void> wait_for(sock id, std::uint32_t events, std::optional<clock::time_point> deadline,
                        std::size_t want_room = SIZE_MAX) {
    const poll_entry e{.s = id, .events = events};
    return wait({&e, 1}, deadline, want_room);
  }
  void progressed() noexcept { waiter_.progressed(); }
  // The spinning path asks between looks at the fifos (every pause): the
  // queue costs a few loads; the connection a syscall, so it is looked at
  // every 16th time only — a record waits a few pauses at most, and a
  // request/response exchange that spins does not pay a syscall per look
  // (it halved the preload's 64-byte transactions/s).
  bool news_waiting() noexcept {
    if (!notes_.empty() || (waiter_.fd() >= 0 && !events_.empty())) return true;
    if (++news_looks_ % 16 != 0) return false;
    pollfd p{channel_.fd(), POLLIN, 0};
    records_hint_ = ::poll(&p, 1, 0) > 0;
    return records_hint_;
  }

  // While spinning, peers need not notify this app of new data
  // (fifo::set_consumer_polling); before sleeping they must again.
  void set_polling(bool on) {
    if (polling_ == on) return;
    polling_ = on;
    for (auto& st : socks_)
      if (st.used && st.s != nullptr && !st.s->closed()) st.s->set_rx_polling(on);
  }
  // Before blocking: peers notify again (rx), and full tx fifos the caller
  // waits on ask to hear of room. Then one more look at what the caller
  // waits for: true if it is ready already (do not sleep). Both halves are
  // one side of a Dekker pair with the peer (fifo.hpp): the peer either
  // sees the request or this look sees the peer's progress — a wake-up is
  // never lost. Only the caller's interest counts, so a sock nobody waits
  // on (unread data, room to write) never turns sleep into a busy loop.
  bool prepare_to_sleep(std::span<const poll_entry> interest, std::size_t want_room = SIZE_MAX) {
    set_polling(false);
    // The stack rings the queue's eventfd only once armed (its own Dekker
    // pair, shm/event_queue.hpp); something already queued: do not sleep.
    if (waiter_.fd() >= 0 && !events_.prepare_wait()) return true;
    for (const auto& e : interest) {
      auto* st = find(e.s);
      if (st == nullptr || (e.events & writable) == 0 || st->s == nullptr || st->s->closed()) continue;
      const std::size_t low = st->datagram ? datagram_room(want_room) : write_low_water(*st->s, want_room);
      if (st->s->max_write() < low) st->s->notify_on_space(static_cast<std::uint32_t>(low));
    }
    return any_ready(interest, want_room);
  }
  bool any_ready(std::span<const poll_entry> interest, std::size_t want_room = SIZE_MAX) {
    for (const auto& e : interest)
      if (readiness(e, want_room) != 0) return true;
    return false;
  }
  // The caller's interest as the waiter sees it.
  struct interest_target final : detail::wait_target {
    interest_target(app_impl& app, std::span<const poll_entry> interest, std::size_t want_room)
        : app(app), interest(interest), want_room(want_room) {}
    bool news_waiting() override { return app.news_waiting(); }
    bool any_ready() override { return app.any_ready(interest, want_room); }
    void set_polling(bool on) override { app.set_polling(on); }
    bool prepare_to_sleep() override { return app.prepare_to_sleep(interest, want_room); }
    void drain_wakeups() override { app.drain_wakeups(); }
    app_impl& app;
    std::span<const poll_entry> interest;
    std::size_t want_room;
  };

  std::uint64_t next_request() noexcept { return ++last_request_; }

  result<void> send_request(const proto::app_request& req) {
    if (auto r = usable(); !r) return r;
    const auto bytes = proto::encode(req);
    if (auto sent = channel_.send(static_cast<std::uint32_t>(proto::record_of(req)), bytes, {}, opts_.timeout); !sent)
      return unexpected{sent.error()};
    return {};
  }

  // Reads the stack's records until `arrived` says the awaited one came
  // (bounded by the attach timeout); notifications that come meanwhile
  // wait for take_news.
  template <class Arrived>
  result<void> await_reply(Arrived arrived, const char* what) {
    const auto deadline = clock::now() + opts_.timeout;
    for (;;) {
      read_records();
      if (arrived()) return {};
      if (connection_lost_ || detached_) return unexpected{errc::disconnected, "the stack is gone"};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0) return no_answer(what);
      pollfd p{channel_.fd(), POLLIN, 0};
      (void)::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    }
  }
  static unexpected no_answer(const char* what) {
    std::string text = what;
    text += ": no answer from the stack in time";
    return unexpected{errc::timeout, intern(text)};
  }

  // Sends a request and waits for its answer.
  result<proto::answer> ask(const proto::app_request& req, std::uint64_t id, const char* what) {
    if (auto r = send_request(req); !r) return unexpected{r.error()};
    if (auto r = await_reply([&] { return answers_.count(id) > 0; }, what); !r) return unexpected{r.error()};
    const auto a = answers_.at(id);
    answers_.erase(id);
    if (a.code != errc::none) return unexpected{a.code, intern(std::string{what} + ": the stack refused")};
    return a;
  }

  attach_options opts_;
  detail::waiter waiter_{opts_.spin};  // sleeps on the connection and the event queue's eventfd
  shm::fd_channel channel_;
  std::shared_ptr<connection_control> control_ = std::make_shared<connection_control>(channel_, opts_.timeout);
  join_ticket join_;
  proto::attach_reply info_;
  std::unique_ptr<app_session_table> table_;
  shm::segment events_mem_;  // before the queue that lives in it
  shm::event_queue events_;
  std::unordered_map<std::uint64_t, shm::fifo_segment> segments_;
  std::uint64_t segment_deletions_refused_ = 0;  // by forget_segment
  detail::sock_table socks_;
  session_handle current_listener_;
  std::unordered_map<std::uint64_t, session*> unclaimed_listens_;  // on_listen before listen() knew the handle
  std::deque<app_notification> notes_;                   // read from the connection, not yet taken
  std::unordered_map<std::uint64_t, proto::answer> answers_;  // by request number, until asked for
  std::unordered_map<std::uint64_t, proto::tcp_info_answer> tcp_infos_;  // likewise
  std::uint64_t last_request_ = 0;
  std::uint64_t notifications_ = 0;
  std::uint64_t io_events_ = 0;
  std::uint64_t bad_records_ = 0;  // malformed or unexpected records from the stack, dropped
  std::uint32_t news_looks_ = 0;   // news_waiting's, to look at the connection now and then
  std::uint32_t news_takes_ = 0;   // take_news's, likewise
  bool records_hint_ = true;       // the connection is likely readable: read it at the next take_news
  bool detached_ = false;          // the stack said so (taken after the notifications before it)
  bool connection_lost_ = false;   // the stack hung up
  bool polling_ = false;
  bool attached_ = false;
};

}  // namespace

result<std::unique_ptr<app>> app::attach(const attach_options& opts) {
  auto impl = std::make_unique<app_impl>(opts);
  if (auto r = impl->start(); !r) return unexpected{r.error()};
  return std::unique_ptr<app>{std::move(impl)};
}

}  // namespace actorstack::client
