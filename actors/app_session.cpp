// The application's end of a session: fifo reads and writes in the app's
// thread, notifications to the worker only when the peer needs them.
#include <actorstack/session.hpp>

#include "actors/handler_scope.hpp"
#include "shm/fifo.hpp"

#include <algorithm>
#include <vector>

namespace actorstack {

namespace {
// The session's fifos as the shared-memory layer handles them (a copy of
// the same handle: the public header keeps them opaque).
inline shm::fifo fifo(const fifo_ref& r) noexcept { return shm::fifo::from_ref(r); }

// Sessions written to inside the app handler callback running on this
// thread whose "data written" notice is still owed. Empty between
// callbacks: the outermost one pays them all as it ends, on this thread,
// and a session that dies first takes itself off.
thread_local std::vector<session*> owed_tx_notices;
}  // namespace

void detail::pay_owed_tx_notices() noexcept {
  // One call per control (app worker) for all its sessions, which may
  // then tell each session worker once: a request/response handler that
  // answered 32 connections in one turn sent 32 messages here.
  thread_local std::vector<std::pair<session_control*, session_handle>> due;
  thread_local std::vector<session_handle> batch;
  for (session* s : owed_tx_notices) {
    s->tx_notice_owed_ = false;
    if (s->tx_notice_needed() && s->control_ != nullptr) due.emplace_back(s->control_, s->handle_);
  }
  owed_tx_notices.clear();
  std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < due.size();) {
    session_control* c = due[i].first;
    batch.clear();
    for (; i < due.size() && due[i].first == c; ++i) batch.push_back(due[i].second);
    c->post_tx_batch(batch);
  }
  due.clear();
}

session::~session() { forget_owed_notice(); }

void session::forget_owed_notice() noexcept {
  if (!tx_notice_owed_) return;
  tx_notice_owed_ = false;
  std::erase(owed_tx_notices, this);
}

void session::written() noexcept {
  if (!inside_app_handler()) {
    tell_written();
    return;
  }
  if (tx_notice_owed_) return;
  tx_notice_owed_ = true;
  owed_tx_notices.push_back(this);
}

// Coalescing: only the write that sets the fifo's event flag posts — and
// not even that one while the reader says it polls the fifo (an app in
// another process that spins): the flag is dropped again so the first
// write after the reader stops polling posts.
void session::tell_written() noexcept {
  tx_notice_owed_ = false;
  if (tx_notice_needed() && control_ != nullptr) control_->post_tx(handle_);
}

bool session::tx_notice_needed() noexcept {
  if (!fifo(tx_).set_event()) return false;
  if (!fifo(tx_).consumer_polling()) return true;
  fifo(tx_).unset_event();
  return false;
}

// Before a close, shutdown or reset reaches the worker: it must hear of
// the last bytes first.
void session::pay_owed_notice() noexcept {
  if (!tx_notice_owed_) return;
  forget_owed_notice();
  tell_written();
}

std::size_t session::max_read() const noexcept { return closed_ ? 0 : fifo(rx_).max_dequeue(); }
std::size_t session::max_write() const noexcept { return closed_ ? 0 : fifo(tx_).max_enqueue(); }
std::uint64_t session::rx_arrived() const noexcept { return closed_ ? 0 : fifo(rx_).tail_position(); }
std::uint64_t session::tx_drained() const noexcept { return closed_ ? 0 : fifo(tx_).head_position(); }

// Once the app closed a session, the session layer may free its fifos at
// any moment: from then on the app's end never touches them again.
result<std::size_t> session::read(std::span<std::byte> out) noexcept {
  if (closed_) return unexpected{errc::invalid_session, "session closed by the app"};
  if (datagram_) {
    auto d = recv_from(out);
    if (!d) return unexpected{d.error()};
    return d->length;
  }
  auto n = fifo(rx_).dequeue(out);
  // The peer asked to hear when room frees up (its dequeue notification):
  // only then does a read cost a message.
  if (n && *n > 0 && fifo(rx_).want_deq_ntf() != 0 && control_ != nullptr) control_->post_app_rx(handle_);
  return n;
}

result<std::size_t> session::peek(std::size_t offset, std::span<std::byte> out) const noexcept {
  if (closed_) return unexpected{errc::invalid_session, "session closed by the app"};
  return fifo(rx_).peek(offset, out);
}

std::size_t session::drop(std::size_t n) noexcept {
  if (closed_) return 0;
  const std::size_t k = fifo(rx_).drop(n);
  if (k > 0 && fifo(rx_).want_deq_ntf() != 0 && control_ != nullptr) control_->post_app_rx(handle_);
  return k;
}

result<std::size_t> session::write(std::span<const std::byte> data) noexcept {
  if (closed_) return unexpected{errc::invalid_session, "session closed by the app"};
  if (write_shut_) return unexpected{errc::invalid_session, "the app shut down writing"};
  if (datagram_) return send_to(endpoint{}, data);
  auto n = fifo(tx_).enqueue(data);
  if (n && *n > 0) written();
  return n;
}

void session::set_rx_polling(bool on) noexcept {
  if (!closed_ && !datagram_) fifo(rx_).set_consumer_polling(on);
}

result<std::size_t> session::send_to(const endpoint& remote,
                                     std::span<const std::byte> payload) noexcept {
  if (closed_) return unexpected{errc::invalid_session, "session closed by the app"};
  if (!datagram_) return unexpected{errc::invalid_argument, "not a datagram session"};
  if (payload.size() > max_datagram_payload)
    return unexpected{errc::invalid_argument, "datagram larger than max_datagram_payload"};
  datagram_header h;
  h.length = static_cast<std::uint32_t>(payload.size());
  h.remote = remote.ip;
  h.remote_port = remote.port;
  const std::span<const std::byte> parts[] = {std::as_bytes(std::span{&h, 1}), payload};
  auto n = fifo(tx_).enqueue_gather(parts);
  if (!n) return unexpected{n.error()};
  written();
  return payload.size();
}

result<datagram_info> session::peek_from(std::span<std::byte> out) const noexcept {
  // One result, filled in place and returned on every path, so that it is
  // the caller's object (NRVO): a datagram_info built apart was stored
  // field by field and then copied whole, and the copy's wide loads
  // stalled on those stores (most of this function's time in a UDP echo).
  result<datagram_info> r{datagram_info{}};
  if (closed_) {
    r = unexpected{errc::invalid_session, "session closed by the app"};
    return r;
  }
  if (!datagram_) {
    r = unexpected{errc::invalid_argument, "not a datagram session"};
    return r;
  }
  datagram_header h;
  auto got = fifo(rx_).peek(0, std::as_writable_bytes(std::span{&h, 1}));
  if (!got) {
    r = unexpected{got.error()};
    return r;
  }
  // The producer publishes header and payload together; anything less is
  // not a datagram yet.
  if (*got < datagram_header_size || fifo(rx_).max_dequeue() < datagram_header_size + h.length) {
    r = unexpected{errc::fifo_empty, "no complete datagram"};
    return r;
  }
  datagram_info& info = *r;
  info.remote.proto = info.local.proto = transport_proto::udp;
  info.remote.ip = h.remote;
  info.remote.port = h.remote_port;
  info.local.ip = h.local;
  info.local.port = h.local_port;
  info.length = std::min<std::size_t>(h.length, out.size());
  info.truncated = info.length < h.length;
  info.whole = h.length;
  if (info.length > 0) (void)fifo(rx_).peek(datagram_header_size, out.first(info.length));
  return r;
}

result<datagram_info> session::recv_from(std::span<std::byte> out) noexcept {
  auto info = peek_from(out);
  if (!info) return info;
  const std::size_t n = fifo(rx_).drop(datagram_header_size + info->whole);
  if (n > 0 && fifo(rx_).want_deq_ntf() != 0 && control_ != nullptr) control_->post_app_rx(handle_);
  return info;
}

void session::notify_on_space(std::uint32_t min_room) noexcept {
  if (closed_) return;
  fifo(tx_).set_deq_thresh(min_room);  // before the request: the consumer reads both
  fifo(tx_).add_want_deq_ntf(shm::deq_ntf::on_every_dequeue);
}

std::uint32_t session::fifo_size(fifo_side s) const noexcept { return fifo(side(s)).size(); }
std::uint32_t session::fifo_max_size(fifo_side s) const noexcept { return fifo(side(s)).max_size(); }

result<void> session::resize(fifo_side s, std::uint32_t bytes) noexcept {
  if (closed_) return unexpected{errc::invalid_session, "session closed by the app"};
  // The size is one atomic word both ends read: safe from the app's side
  // whichever end produces (shm/fifo.hpp).
  shm::fifo f = fifo(side(s));
  return f.set_size(bytes);
}

result<void> session::close() noexcept {
  if (control_ == nullptr) return unexpected{errc::invalid_session};
  if (closed_) return {};  // idempotent: the worker heard it once
  pay_owed_notice();
  closed_ = true;
  control_->close(handle_);
  return {};
}

result<void> session::shutdown() noexcept {
  if (control_ == nullptr || closed_) return unexpected{errc::invalid_session};
  if (datagram_) return unexpected{errc::invalid_argument, "a datagram session has no stream to end"};
  if (write_shut_) return {};
  pay_owed_notice();
  write_shut_ = true;
  control_->shutdown(handle_);
  return {};
}

result<void> session::reset() noexcept {
  if (control_ == nullptr) return unexpected{errc::invalid_session};
  if (closed_) return {};
  closed_ = true;
  control_->reset(handle_);
  forget_owed_notice();  // unsent data is dropped: no notice is owed any more
  return {};
}

}  // namespace actorstack
