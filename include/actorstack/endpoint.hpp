#pragma once
/// \file
/// Endpoints: a transport protocol, an IP address and a port, written as
/// URIs `PROTO://IP/PORT` (IPv6 in brackets: `udp://[::1]/53`). `ct` is
/// the cut-through "protocol": a local-scope listener that only
/// applications on the same stack reach.

#include <actorstack/result.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace actorstack {

enum class transport_proto : std::uint8_t { ct, udp, tcp };

std::string_view to_string(transport_proto p) noexcept;
/// "ct", "udp" or "tcp". Errors: invalid_argument.
result<transport_proto> parse_transport_proto(std::string_view text);

/// An IPv4 or IPv6 address.
class ip_address {
 public:
  enum class family : std::uint8_t { v4 = 4, v6 = 6 };

  /// 0.0.0.0
  ip_address() noexcept = default;
  static ip_address v4(std::uint32_t host_order) noexcept;
  /// Errors: invalid_argument.
  static result<ip_address> parse(std::string_view text);

  bool is_v4() const noexcept { return fam == family::v4; }
  /// 0.0.0.0 or ::
  bool is_any() const noexcept;
  /// 127.0.0.0/8 or ::1
  bool is_loopback() const noexcept;
  /// IPv4 in host byte order (0 for IPv6).
  std::uint32_t v4_host_order() const noexcept;
  std::string to_string() const;

  friend auto operator<=>(const ip_address&, const ip_address&) = default;

  family fam = family::v4;
  std::array<std::uint8_t, 16> bytes{};  ///< v4 uses the first four, network order

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, ip_address& x) {
    return f(x.fam, x.bytes);
  }
};

struct endpoint {
  transport_proto proto = transport_proto::ct;
  ip_address ip;
  std::uint16_t port = 0;

  /// "ct://127.0.0.1/1234", "udp://[::1]/53"
  std::string to_string() const;
  friend auto operator<=>(const endpoint&, const endpoint&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, endpoint& x) {
    return f(x.proto, x.ip, x.port);
  }
};

/// Parses `PROTO://IP/PORT`. Errors: invalid_argument naming the bad part.
result<endpoint> parse_uri(std::string_view uri);

}  // namespace actorstack

template <>
struct std::hash<actorstack::ip_address> {
  std::size_t operator()(const actorstack::ip_address& a) const noexcept;
};
template <>
struct std::hash<actorstack::endpoint> {
  std::size_t operator()(const actorstack::endpoint& e) const noexcept;
};
