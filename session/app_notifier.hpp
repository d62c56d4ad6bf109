#pragma once
/// \file
/// How a session worker tells applications what happened. The session
/// worker actor implements it with typed messages to app_worker actors;
/// the unit tests record the calls. Answers that need the app's decision
/// (accept, connected) come back later as session_worker_state's
/// on_accept_reply / on_connected_reply: an app never runs inside the
/// worker's turn.

#include <actorstack/endpoint.hpp>
#include <actorstack/result.hpp>
#include <actorstack/segment_info.hpp>
#include <actorstack/session_handle.hpp>

#include "shm/fifo.hpp"

#include <cstddef>
#include <cstdint>

namespace actorstack::session_layer {

struct session;

/// What a cleanup notification says goes away (SPEC §2.9, §2.12).
enum class cleanup_kind : std::uint8_t { transport, session };
/// Why the fifo-tuning callback runs (SPEC §4).
enum class tuning_action : std::uint8_t { enqueued, dequeued };

/// An app's fifo sizes for new sessions (0: the transport's default).
struct fifo_sizes {
  std::uint32_t rx = 0;
  std::uint32_t tx = 0;
};

class app_notifier {
 public:
  virtual ~app_notifier() = default;

  /// A new incoming session of `listener`, between `ends` (the app's
  /// getsockname / getpeername; the session keeps no copy, its transport
  /// names them in `show sessions`); the app answers through
  /// on_accept_reply.
  virtual void accept(const session& s, session_handle listener, const endpoint_pair& ends) = 0;
  /// An active open completed (s != nullptr, err none, between `ends`) or
  /// failed (s == nullptr, err says why); the app answers through
  /// on_connected_reply.
  virtual void connected(std::uint32_t app_worker, std::uint64_t opaque, const session* s, errc err,
                         const endpoint_pair& ends) = 0;
  virtual void close(const session& s) = 0;             ///< the peer is closing
  virtual void reset(const session& s) = 0;             ///< the peer reset
  virtual void transport_closed(const session& s) = 0;  ///< no more data either way
  virtual void cleanup(const session& s, cleanup_kind kind) = 0;
  virtual void migrate(const session& s, session_handle new_handle) = 0;
  /// Io events to the session's app worker (and, via the fifo's list, its
  /// subscribers). False when the app's event queue is full.
  virtual bool rx(std::uint32_t app_worker, const session& s) = 0;
  virtual bool tx(std::uint32_t app_worker, const session& s) = 0;
  /// The app's fifo-tuning callback (only for flag_custom_fifo_tuning).
  virtual void tune_fifo(const session& s, shm::fifo& f, tuning_action act, std::size_t len) = 0;
  /// The app left this session's shared fifos inconsistent (cursors moved
  /// where only the stack may move them, shm/private_end.hpp): the session
  /// is reset right after. For the stack's bookkeeping (shm_violations) and
  /// a log line; the app hears the reset.
  virtual void shm_violation(const session& s) { (void)s; }
  /// A datagram listener is ready: its fifos carry every peer's datagrams.
  virtual void listened(const session& s) { (void)s; }
  /// A network transport made a segment for the app worker's fifos; told
  /// before anything names a fifo in it (SPEC 9.3).
  virtual void segment_added(std::uint32_t app_worker, const segment_info& seg) {
    (void)app_worker, (void)seg;
  }
  /// Whether sessions of this app worker get flag_custom_fifo_tuning.
  virtual bool wants_fifo_tuning(std::uint32_t app_worker) const { return (void)app_worker, false; }
  /// The fifo sizes the app worker's app asked for (0: the transport's own).
  virtual fifo_sizes fifo_sizes_of(std::uint32_t app_worker) const { return (void)app_worker, fifo_sizes{}; }
};

/// Where a session's fifos come from: the app worker's segment manager for
/// network transports, a cut-through segment for ct.
class fifo_provider {
 public:
  virtual ~fifo_provider() = default;
  /// Gives `s` an rx and a tx fifo. Errors: alloc / fifo_alloc /
  /// segment_alloc.
  virtual result<void> alloc_fifos(session& s) = 0;
  /// Drops the session's references to its fifos.
  virtual void free_fifos(session& s) = 0;
};

}  // namespace actorstack::session_layer
