#pragma once
/// \file
/// The plain (loopback, no TLS) inspect port: a TCP listener of its own
/// that answers `show` records with `shown` chunks (app_protocol.hpp, in
/// stream records: stream_records.hpp) — what actorstack-ctl --port asks.
/// Not CAF's middleman: its BASP decoder can be made to throw or to
/// allocate gigabytes by one crafted frame, and it lets a peer address
/// actors. Here every byte is read by code of this project, and the port
/// can do nothing but show. With TLS the inspector is published through
/// CAF's OpenSSL module instead (stack.cpp), reachable only with a
/// certificate the stack trusts.
///
/// One thread: accepts, reads, answers, one request at a time. Bounded:
/// at most max_connections at once, a record at most max_stream_payload,
/// at most 100 shows a second per connection, a connection that sends no
/// whole record for a minute or does not take its answer within a second
/// is closed.

#include <actorstack/result.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace actorstack {

class inspect_port_server {
 public:
  /// A show's text, or why not (the caller's inspector; blocking, bounded).
  using show_fn = std::function<result<std::string>(const std::string& topic, const std::string& options)>;
  static constexpr int max_connections = 16;

  /// Listens on `address`:`port` (0: any free port) and starts the thread.
  /// Errors: invalid_argument (not an IPv4 address; the port is taken).
  static result<std::unique_ptr<inspect_port_server>> start(const std::string& address, std::uint16_t port,
                                                            show_fn show);
  ~inspect_port_server();
  inspect_port_server(const inspect_port_server&) = delete;
  inspect_port_server& operator=(const inspect_port_server&) = delete;

  std::uint16_t port() const noexcept;

 private:
  struct impl;
  explicit inspect_port_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace actorstack
