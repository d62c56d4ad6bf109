#pragma once
/// \file
/// `session`: an application's end of a connection. Reads and writes go
/// straight to the shared fifos — no copy beyond the fifo's own, no actor
/// on the data path; only a notification ("I wrote", "I read") is posted,
/// and only when the peer needs it. Valid from the accept/connected
/// callback until the cleanup callback, on the app worker's thread.

#include <actorstack/datagram.hpp>
#include <actorstack/endpoint.hpp>
#include <actorstack/fifo_ref.hpp>
#include <actorstack/fifo_side.hpp>
#include <actorstack/packed_endpoints.hpp>
#include <actorstack/result.hpp>
#include <actorstack/session_handle.hpp>
#include <actorstack/tx_route.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace actorstack {

namespace detail {
struct session_access;
/// Tells the workers of every session written to inside the app handler
/// callback that just ended on this thread (the app worker calls it).
void pay_owed_tx_notices() noexcept;
/// How a session reaches its worker (implemented by the app worker).
class session_control {
 public:
  virtual ~session_control() = default;
  virtual void post_tx(session_handle h) = 0;      ///< data written: tell the peer
  /// Data written on each of `hs` (what one handler callback's writes
  /// owed): an implementation may tell each worker once for all of them.
  virtual void post_tx_batch(std::span<const session_handle> hs) {
    for (session_handle h : hs) post_tx(h);
  }
  virtual void post_app_rx(session_handle h) = 0;  ///< data read: the peer may write
  virtual void close(session_handle h) = 0;
  virtual void reset(session_handle h) = 0;
  virtual void shutdown(session_handle h) = 0;    ///< half-close
  /// The app's answer to an accept / connected notification.
  virtual void answer_accept(session_handle h, bool ok) = 0;
  virtual void answer_connected(session_handle h, bool ok) = 0;
};
}  // namespace detail

class session {
 public:
  /// Made by the stack's app worker from an accept or connected
  /// notification (its `rx` and `tx`).
  session(session_handle h, fifo_ref rx, fifo_ref tx, detail::session_control* control,
          bool datagram = false) noexcept
      : handle_(h), rx_(rx), tx_(tx), control_(control), datagram_(datagram) {}
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  session_handle handle() const noexcept { return handle_; }
  /// Bytes ready to read / room to write right now.
  std::size_t max_read() const noexcept;
  std::size_t max_write() const noexcept;
  /// Bytes that ever arrived in the rx fifo, and that the peer (or the
  /// transport) ever took from the tx fifo: counters that move on each
  /// arrival and each drain (an edge-triggered wait's "something new").
  /// 0 once closed.
  std::uint64_t rx_arrived() const noexcept;
  std::uint64_t tx_drained() const noexcept;
  /// True once the app called close() or reset(): every data call then
  /// fails with invalid_session, because the stack may free the fifos.
  bool closed() const noexcept { return closed_; }

  /// True for datagram sessions (udp): their fifos hold whole datagrams
  /// (include/actorstack/datagram.hpp), and read/write move one datagram.
  bool datagram() const noexcept { return datagram_; }

  /// Reads up to out.size() bytes. Errors: fifo_empty, invalid_session.
  /// A datagram session returns the next datagram's payload (a longer one
  /// is truncated to `out`, the rest dropped — use recv_from to know).
  result<std::size_t> read(std::span<std::byte> out) noexcept;
  /// Copies without consuming, starting `offset` bytes in.
  result<std::size_t> peek(std::size_t offset, std::span<std::byte> out) const noexcept;
  /// Drops up to n readable bytes; returns how many.
  std::size_t drop(std::size_t n) noexcept;
  /// Writes up to data.size() bytes; returns how many were taken.
  /// Errors: fifo_full, fifo_no_memory. A datagram session sends `data`
  /// as one datagram to its connected peer, whole or not at all.
  result<std::size_t> write(std::span<const std::byte> data) noexcept;

  /// Datagram sessions: queues one datagram for `remote` (a listener's
  /// session answers anyone this way; a connected session ignores
  /// `remote`). Whole or nothing. Errors: fifo_full, invalid_argument
  /// (payload over max_datagram_payload, or not a datagram session),
  /// invalid_session.
  result<std::size_t> send_to(const endpoint& remote, std::span<const std::byte> payload) noexcept;
  /// Datagram sessions: takes the next datagram, copying up to out.size()
  /// payload bytes. Errors: fifo_empty (no complete datagram queued),
  /// invalid_argument (not a datagram session), invalid_session.
  result<datagram_info> recv_from(std::span<std::byte> out) noexcept;
  /// As recv_from, but the datagram stays queued (recv's MSG_PEEK).
  result<datagram_info> peek_from(std::span<std::byte> out) const noexcept;
  /// A fifo's logical size (the most bytes it holds) and its ceiling.
  std::uint32_t fifo_size(fifo_side side) const noexcept;
  std::uint32_t fifo_max_size(fifo_side side) const noexcept;
  /// Grows or shrinks a fifo at run time (SPEC 4). Shrinking below what is
  /// queued only stops new writes until the data drains: no byte is lost.
  /// Errors: invalid_argument outside [4 KiB, fifo_max_size], invalid_session.
  result<void> resize(fifo_side side, std::uint32_t bytes) noexcept;
  /// Asks for an on_tx callback once the peer frees room (after a short
  /// write): as soon as any room is free, or only once `min_room` bytes are
  /// (a writer with much to write avoids being woken for a few bytes).
  void notify_on_space(std::uint32_t min_room = 0) noexcept;
  /// The app polls this session's rx fifo (it spins on it): the peer may
  /// skip telling it about new data until it says false again — which it
  /// must before it sleeps, then look once more. For apps that busy-poll
  /// (libactorstack-client); no effect on datagram sessions.
  void set_rx_polling(bool on) noexcept;
  /// Orderly close (SPEC 2.4); idempotent. Errors: invalid_session.
  /// After it the session only hears its cleanup.
  result<void> close() noexcept;
  /// Half-close (a socket's shutdown(SHUT_WR)): this side writes no more
  /// — writes fail with invalid_session from now on — and the peer reads
  /// what was written, then end of stream. Reads go on until the peer
  /// closes; close() (or reset()) still ends the session. Idempotent.
  /// Errors: invalid_session (closed).
  result<void> shutdown() noexcept;
  /// True once shutdown() was called.
  bool write_shut() const noexcept { return write_shut_; }
  /// Abortive close (SPEC 2.5): unsent data is dropped.
  result<void> reset() noexcept;

  /// Where this session runs: its local and remote endpoints, as the
  /// transport named them at accept or connect (getsockname /
  /// getpeername). Empty for a datagram listener.
  endpoint_pair endpoints() const noexcept { return ends_.get(); }
  /// The transport that carries it: ct (cut-through, another app on this
  /// stack, whatever the uri said), tcp (the wire) or udp.
  transport_proto transport() const noexcept { return transport_; }

 private:
  friend struct detail::session_access;  // the app worker re-keys a migrated session, sets its endpoints
  friend void detail::pay_owed_tx_notices() noexcept;
  const fifo_ref& side(fifo_side s) const noexcept { return s == fifo_side::rx ? rx_ : tx_; }
  /// Bytes were written: the peer hears it now, or — inside an app
  /// handler's callback — once when the callback ends, however many
  /// writes it made (each notice costs an atomic exchange).
  void written() noexcept;
  void tell_written() noexcept;
  /// Whether the peer must hear of the bytes written (the fifo's flag was
  /// down and its reader does not poll); raises the flag.
  bool tx_notice_needed() noexcept;
  void pay_owed_notice() noexcept;
  void forget_owed_notice() noexcept;
  // 88 bytes, one per connection an app holds: words first, then the
  // packed endpoints and the flags in what is left of the last word.
  session_handle handle_;
  fifo_ref rx_;
  fifo_ref tx_;
  detail::session_control* control_;
  tx_route route_;  ///< where "data written" may go without the worker (set by the app worker)

 public:
  /// Application context, untouched by the stack.
  std::uint64_t user_data = 0;

 private:
  detail::packed_endpoint_pair ends_;
  transport_proto transport_ = transport_proto::ct;
  bool datagram_ : 1 = false;
  bool closed_ : 1 = false;
  bool write_shut_ : 1 = false;
  bool tx_notice_owed_ : 1 = false;
};

}  // namespace actorstack
