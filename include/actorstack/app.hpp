#pragma once
/// \file
/// Applications: attach options, the handler an app worker calls, and the
/// `application` handle for listen / connect / detach.
///
/// Every handler callback runs on the app worker's own actor, one at a
/// time, in the order the stack said things (an accept before a close that
/// raced it). A handler never blocks the session layer: its answers (accept
/// or refuse, keep or reject a connected session) are returned values.

#include <actorstack/endpoint.hpp>
#include <actorstack/result.hpp>
#include <actorstack/session.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace actorstack {

struct app_options {
  std::string name = "app";
  std::uint32_t workers = 1;       ///< app workers (each its own actor and handler)
  std::uint32_t rx_fifo_size = 0;  ///< 0: the stack's session.rx-fifo-size
  std::uint32_t tx_fifo_size = 0;  ///< 0: the stack's session.tx-fifo-size
  bool local_scope = true;         ///< may reach apps on this stack (cut-through)
  bool global_scope = true;        ///< may reach the network (and global listeners)
  std::uint32_t ns = 0;            ///< application namespace (local table)
};

/// What an app worker is told. Defaults accept everything and close when
/// the peer closes or resets.
class app_handler {
 public:
  virtual ~app_handler() = default;
  /// A new incoming session; return false to refuse it.
  virtual bool on_accept(session& s) { return (void)s, true; }
  /// An active open completed; return false to reject the session.
  virtual bool on_connected(session& s, std::uint64_t opaque) { return (void)s, (void)opaque, true; }
  virtual void on_connect_failed(std::uint64_t opaque, errc why) { (void)opaque, (void)why; }
  virtual void on_rx(session& s) { (void)s; }
  virtual void on_tx(session& s) { (void)s; }
  /// The peer is closing (it will send no more).
  virtual void on_close(session& s) { (void)s.close(); }
  virtual void on_reset(session& s) { (void)s.close(); }
  virtual void on_transport_closed(session& s) { (void)s; }
  /// The session is gone for good (transport_only: only its transport is).
  virtual void on_cleanup(session_handle h, bool transport_only) { (void)h, (void)transport_only; }
};

/// Makes the handler for app worker `worker_index`.
using handler_factory = std::function<std::unique_ptr<app_handler>(std::uint32_t worker_index)>;

class stack;

class application {
 public:
  virtual ~application() = default;
  virtual std::uint32_t index() const noexcept = 0;
  /// Global index of this app's worker `i` (what notifications name).
  virtual std::uint32_t worker_index(std::uint32_t i = 0) const noexcept = 0;
  /// Listens on `local` (ct:// listeners are local scope: only apps on
  /// this stack reach them). Errors: already_listening, not_supported,
  /// scope, invalid_argument.
  virtual result<session_handle> listen(const endpoint& local) = 0;
  virtual result<void> stop_listen(session_handle listener) = 0;
  /// Connects app worker `worker` to `remote`; the outcome arrives as
  /// on_connected / on_connect_failed with `opaque`. Errors now: filtered,
  /// no_route, scope, local_connect (no cut-through peer and no transport).
  virtual result<void> connect(const endpoint& remote, std::uint64_t opaque,
                               std::uint32_t worker = 0) = 0;
  /// Like connect, without waiting: every outcome, errors included,
  /// arrives as on_connected / on_connect_failed. Safe inside handlers.
  virtual result<void> connect_async(const endpoint& remote, std::uint64_t opaque,
                                     std::uint32_t worker = 0) = 0;
  /// Detaches: listeners removed, every session reset towards its peer,
  /// app workers stopped; the stack reclaims the rest. Idempotent.
  virtual result<void> detach() = 0;
};

}  // namespace actorstack
