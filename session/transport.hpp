#pragma once
/// \file
/// What a transport (cut-through, udp, later tcp) offers the session layer
/// (SPEC §1). A transport owns its connections; the session layer names
/// them by (index, worker). Calls arrive on the worker that owns the
/// connection's session.

#include <actorstack/endpoint.hpp>
#include <actorstack/result.hpp>
#include <actorstack/session_handle.hpp>
#include <actorstack/tx_route.hpp>

#include <cstdint>
#include <string>

namespace actorstack::session_layer {

struct session;

/// How a transport carries data: a byte stream or datagrams.
enum class service_type : std::uint8_t { stream, datagram };

/// Arguments of an active open.
struct connect_args {
  endpoint remote;
  std::uint32_t app_worker = 0;   ///< who asked (global app worker index)
  std::uint64_t opaque = 0;       ///< returned in the connected notification
  /// 0: the transport picks the local port; else the connect leaves from
  /// this one (a bind before connect), or fails with already_listening
  /// when that 4-tuple is taken.
  std::uint16_t local_port = 0;
};

class transport {
 public:
  virtual ~transport() = default;

  virtual transport_proto proto() const noexcept = 0;
  virtual service_type service() const noexcept = 0;

  /// Starts listening for `listener`; returns the listener index.
  virtual result<std::uint32_t> start_listen(session_handle listener, const endpoint& local) = 0;
  virtual result<void> stop_listen(std::uint32_t listener_index) = 0;
  /// A shared listener changed owner (SPEC §6: its app left, another that
  /// shares it takes it): connections made from now on are the new app
  /// worker's. Returns the listener index from now on (it may change).
  virtual result<std::uint32_t> listener_moved(std::uint32_t listener_index, std::uint32_t app_worker) {
    (void)app_worker;
    return listener_index;
  }
  /// Starts an active open; returns the half-open index. Completion (or
  /// failure) arrives later as a connect notification on some worker.
  virtual result<std::uint32_t> connect(const connect_args& args) = 0;
  /// Orderly close / abortive reset of a connection the app closed.
  virtual void close(std::uint32_t connection, std::uint32_t worker) = 0;
  virtual void reset(std::uint32_t connection, std::uint32_t worker) { close(connection, worker); }
  /// Half-close of a connection whose app shut down its sending side: the
  /// peer gets end of stream after the bytes already written; what the
  /// peer sends still arrives. Datagram transports have nothing to do.
  virtual void shutdown(std::uint32_t connection, std::uint32_t worker) { (void)connection, (void)worker; }
  /// Frees the connection without further notifications.
  virtual void cleanup(std::uint32_t connection, std::uint32_t worker) = 0;
  /// The app accepted the session `s` this transport created (cut-through:
  /// now create the client's session).
  virtual void accepted(session&) {}
  /// The app posted tx on a session whose transport wants custom tx
  /// handling (cut-through: tell the peer it has rx data).
  virtual void custom_tx(session&) {}
  /// The app read rx data (cut-through: tell the peer it may send again).
  virtual void app_rx_evt(session&) {}
  /// Where an app in this process may post "data written" on `s` without
  /// this worker (tcp: the connection's core; tx_route.hpp). Invalid: the
  /// worker hears it (custom_tx), as for every other transport.
  virtual tx_route direct_tx_route(const session&) const { return {}; }
  /// Drops the bytes the app wrote to `s` and nobody sent (a reset, SPEC
  /// 2.5 / 2.7 - 2.9). Dropping is the consumer's act, and a fifo has one
  /// consumer: the default suits a transport that reads tx on this worker.
  /// One whose tx reader is another thread or process overrides it —
  /// dropping under a running reader would hand its chunks back twice.
  virtual void discard_tx(session& s) {
    if (s.tx.valid()) s.tx.drop_all();
  }
  /// One-line description of a connection for "show session".
  virtual std::string format(std::uint32_t connection, std::uint32_t worker) const = 0;
};

}  // namespace actorstack::session_layer
