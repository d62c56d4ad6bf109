#pragma once
/// \file
/// `detail::packed_endpoint_pair`: a session's two endpoints in 14 bytes
/// instead of 40. A `session` keeps one per connection (getsockname /
/// getpeername), and idle connections are counted in bytes: every tcp and
/// udp pair (and cut-through over IPv4) is two IPv4 addresses, two ports
/// and one protocol. Anything else — IPv6, or two protocols — goes to the
/// heap, which is rare and pays for itself there.

#include <actorstack/endpoint.hpp>

#include <cstddef>
#include <utility>

namespace actorstack::detail {

class packed_endpoint_pair {
 public:
  packed_endpoint_pair() noexcept = default;
  ~packed_endpoint_pair() { release(); }
  packed_endpoint_pair(const packed_endpoint_pair& other) { *this = other; }
  packed_endpoint_pair(packed_endpoint_pair&& other) noexcept { *this = std::move(other); }
  packed_endpoint_pair& operator=(const packed_endpoint_pair& other);
  packed_endpoint_pair& operator=(packed_endpoint_pair&& other) noexcept;

  /// Stores `ends` (allocates only for a pair that does not pack).
  void assign(const endpoint_pair& ends);
  /// What was stored; two default endpoints before any assign.
  endpoint_pair get() const noexcept;

 private:
  void release() noexcept;
  /// Packed: local IPv4, remote IPv4 (network order), local port, remote
  /// port (host order). Else the address of a heap endpoint_pair.
  std::byte raw_[12]{};
  transport_proto proto_ = transport_proto::ct;
  bool on_heap_ = false;
};

}  // namespace actorstack::detail
