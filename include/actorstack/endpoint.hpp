#pragma once
/// \file
/// Endpoints: a transport protocol, an IP address and a port, written as
/// URIs `PROTO://IP/PORT` (IPv6 in brackets: `udp://[::1]/53`). `ct` is
/// the cut-through "protocol": a local-scope listener that only
/// applications on the same stack reach (SPEC §6).
///
/// Plain values without CAF: each type has a generic `inspect()` so CAF (or
/// any inspector with the same call shape) can serialise it in messages.

#include <actorstack/result.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace actorstack {

/// The transport behind a session. Values are stable (they cross process
/// boundaries in control messages); append, never renumber.
enum class transport_proto : std::uint8_t { ct, udp, tcp };

/// "ct", "udp" or "tcp".
std::string_view to_string(transport_proto p) noexcept;

/// Parses "ct", "udp" or "tcp" (lower case, as URIs write them).
/// Errors: invalid_argument naming the unknown text.
result<transport_proto> parse_transport_proto(std::string_view text);

/// An IPv4 or IPv6 address. Stored as a family plus 16 bytes in network
/// order; an IPv4 address uses the first four and keeps the rest zero, so
/// the defaulted comparisons and the hash see one representation per
/// address. The members are public so `inspect()` can serialise them.
class ip_address {
 public:
  /// Address family; the values are the IP version numbers.
  enum class family : std::uint8_t { v4 = 4, v6 = 6 };

  /// 0.0.0.0
  ip_address() noexcept = default;

  /// An IPv4 address from a host-order integer (0x7f000001 = 127.0.0.1).
  /// Inline: the data plane makes one per datagram, and an out-of-line
  /// call's byte stores read back as one wide load stalled the receive
  /// path.
  static constexpr ip_address v4(std::uint32_t host_order) noexcept {
    ip_address a;
    a.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
    a.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
    a.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
    a.bytes[3] = static_cast<std::uint8_t>(host_order);
    return a;
  }

  /// An IPv6 address from its 16 bytes in network order.
  static ip_address v6(const std::array<std::uint8_t, 16>& bytes) noexcept;

  /// The wildcard address of a family: 0.0.0.0 or ::.
  static ip_address any(family f) noexcept;

  /// Parses dotted IPv4 or textual IPv6 (no brackets, no zone id).
  /// Errors: invalid_argument naming the text.
  static result<ip_address> parse(std::string_view text);

  /// True for IPv4.
  bool is_v4() const noexcept { return fam == family::v4; }

  /// True for the wildcard address of its family: 0.0.0.0 or ::.
  bool is_any() const noexcept;

  /// True for 127.0.0.0/8, ::1 and the IPv4-mapped ::ffff:127.0.0.0/104
  /// (a dual-stack socket reaches loopback through the latter too).
  bool is_loopback() const noexcept;

  /// Address length in bits: 32 or 128 (the largest valid prefix length).
  unsigned bit_length() const noexcept { return is_v4() ? 32 : 128; }

  /// This address with every bit past the first `prefix_len` cleared.
  /// A length beyond `bit_length()` keeps the whole address.
  ip_address masked(unsigned prefix_len) const noexcept;

  /// IPv4 in host byte order (0 for IPv6).
  std::uint32_t v4_host_order() const noexcept;

  /// "10.0.0.1" or "::1" (no brackets).
  std::string to_string() const;

  /// Orders by family, then bytes: all IPv4 before all IPv6.
  friend auto operator<=>(const ip_address&, const ip_address&) = default;

  family fam = family::v4;               ///< which of v4 / v6
  std::array<std::uint8_t, 16> bytes{};  ///< network order; v4 uses the first four

  /// Serialised as the family and the 16 bytes.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, ip_address& x) {
    return f(x.fam, x.bytes);
  }
};

/// A transport endpoint: protocol, address and port.
struct endpoint {
  transport_proto proto = transport_proto::ct;  ///< which transport
  ip_address ip;                                ///< address (any = wildcard)
  std::uint16_t port = 0;                       ///< host order

  /// "ct://127.0.0.1/1234", "udp://[::1]/53"; `parse_uri` reads it back.
  std::string to_string() const;

  /// Orders by protocol, then address, then port (for sorted listings).
  friend auto operator<=>(const endpoint&, const endpoint&) = default;

  /// Serialised as protocol, address, port.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, endpoint& x) {
    return f(x.proto, x.ip, x.port);
  }
};

/// Both ends of a connection, as seen from this side: `local` is what
/// getsockname says, `remote` what getpeername says.
struct endpoint_pair {
  endpoint local;
  endpoint remote;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, endpoint_pair& x) {
    return f(x.local, x.remote);
  }
};

/// Parses `PROTO://IP/PORT`; IPv6 may be bracketed (`udp://[::1]/53`).
/// Errors: invalid_argument, with a detail naming the URI and the bad part
/// (missing "://", unknown protocol, missing or bad address, unclosed
/// bracket, missing, non-numeric or out-of-range port, trailing junk).
result<endpoint> parse_uri(std::string_view uri);

}  // namespace actorstack

/// Hash of an address (family and bytes), for unordered containers.
template <>
struct std::hash<actorstack::ip_address> {
  /// Mixes the family and all 16 bytes.
  std::size_t operator()(const actorstack::ip_address& a) const noexcept;
};

/// Hash of an endpoint (protocol, address, port), for lookup tables.
template <>
struct std::hash<actorstack::endpoint> {
  /// Mixes the address hash with protocol and port.
  std::size_t operator()(const actorstack::endpoint& e) const noexcept;
};
