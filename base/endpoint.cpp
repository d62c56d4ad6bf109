#include <actorstack/endpoint.hpp>

#include "base/quote.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace actorstack {

std::string_view to_string(transport_proto p) noexcept {
  switch (p) {
    case transport_proto::ct: return "ct";
    case transport_proto::udp: return "udp";
    case transport_proto::tcp: return "tcp";
  }
  return "unknown";
}

namespace {

}  // namespace

result<transport_proto> parse_transport_proto(std::string_view text) {
  if (text == "ct") return transport_proto::ct;
  if (text == "udp") return transport_proto::udp;
  if (text == "tcp") return transport_proto::tcp;
  return unexpected{errc::invalid_argument,
                    intern("unknown protocol " + quoted(text) + " (expected ct, udp or tcp)")};
}

ip_address ip_address::v6(const std::array<std::uint8_t, 16>& bytes) noexcept {
  ip_address a;
  a.fam = family::v6;
  a.bytes = bytes;
  return a;
}

ip_address ip_address::any(family f) noexcept {
  ip_address a;
  a.fam = f;
  return a;
}

result<ip_address> ip_address::parse(std::string_view text) {
  // inet_pton reads a C string: an embedded NUL would make it accept
  // "1.2.3.4\0junk", so such text is rejected before it gets there.
  if (!text.empty() && text.find('\0') == std::string_view::npos) {
    const std::string s{text};
    ip_address a;  // fresh and zeroed per family, so unused bytes stay 0
    if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
    ip_address b;
    b.fam = family::v6;
    if (::inet_pton(AF_INET6, s.c_str(), b.bytes.data()) == 1) return b;
  }
  return unexpected{errc::invalid_argument, intern("bad IP address " + quoted(text))};
}

bool ip_address::is_any() const noexcept {
  const std::size_t n = is_v4() ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

bool ip_address::is_loopback() const noexcept {
  if (is_v4()) return bytes[0] == 127;
  for (std::size_t i = 0; i < 10; ++i)
    if (bytes[i] != 0) return false;
  if (bytes[10] == 0xff && bytes[11] == 0xff) return bytes[12] == 127;  // ::ffff:127.x.y.z
  for (std::size_t i = 10; i < 15; ++i)
    if (bytes[i] != 0) return false;
  return bytes[15] == 1;  // ::1
}

ip_address ip_address::masked(unsigned prefix_len) const noexcept {
  ip_address out = *this;
  const unsigned bits = bit_length();
  if (prefix_len >= bits) return out;
  const unsigned full = prefix_len / 8;  // bytes kept whole
  const unsigned rem = prefix_len % 8;   // leading bits kept of the next one
  if (rem != 0)
    out.bytes[full] = static_cast<std::uint8_t>(out.bytes[full] & (0xffu << (8 - rem)));
  for (unsigned i = full + (rem != 0 ? 1 : 0); i < bits / 8; ++i) out.bytes[i] = 0;
  return out;
}

std::uint32_t ip_address::v4_host_order() const noexcept {
  if (!is_v4()) return 0;
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | bytes[3];
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string endpoint::to_string() const {
  std::string out{actorstack::to_string(proto)};
  out += "://";
  out += ip.is_v4() ? ip.to_string() : "[" + ip.to_string() + "]";
  out += '/';
  out += std::to_string(port);
  return out;
}

result<endpoint> parse_uri(std::string_view uri) {
  auto bad = [&](const std::string& why) {
    return unexpected{errc::invalid_argument,
                      intern("bad URI " + quoted(uri) + ": " + why + " (expected PROTO://IP/PORT)")};
  };

  // PROTO://
  const auto sep = uri.find("://");
  if (sep == std::string_view::npos) return bad("missing '://'");
  if (sep == 0) return bad("missing protocol");
  const std::string_view proto_text = uri.substr(0, sep);
  auto proto = parse_transport_proto(proto_text);
  if (!proto) return bad("unknown protocol " + quoted(proto_text) + " (ct, udp or tcp)");
  std::string_view rest = uri.substr(sep + 3);

  // IP, bracketed or not; `rest` is left at the '/' before the port.
  std::string_view host;
  bool bracketed = false;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    bracketed = true;
  } else {
    const auto slash = rest.find('/');
    host = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  }
  if (host.empty()) return bad("missing IP address");
  auto ip = ip_address::parse(host);
  if (!ip) return bad("bad IP address " + quoted(host));
  // Brackets exist to separate an IPv6 address's colons from the rest;
  // around IPv4 they are a typo, not an alternative spelling.
  if (bracketed && ip->is_v4()) return bad("brackets are only for IPv6 addresses");

  // /PORT, and nothing after it.
  if (rest.empty()) return bad("missing '/PORT'");
  if (rest.front() != '/') return bad("expected '/' after the address, found " + quoted(rest));
  rest.remove_prefix(1);
  if (rest.empty()) return bad("missing port");
  unsigned port = 0;
  const char* const first = rest.data();
  const char* const last = rest.data() + rest.size();
  const auto [end, ec] = std::from_chars(first, last, port);
  if (ec == std::errc::invalid_argument) return bad("port " + quoted(rest) + " is not a number");
  if (ec == std::errc::result_out_of_range || port > 65535)
    return bad("port out of range 0..65535");
  if (end != last) return bad("trailing characters " + quoted({end, std::size_t(last - end)}) +
                              " after the port");
  return endpoint{*proto, *ip, static_cast<std::uint16_t>(port)};
}

}  // namespace actorstack

std::size_t std::hash<actorstack::ip_address>::operator()(
    const actorstack::ip_address& a) const noexcept {
  // FNV-1a over the family and the bytes: cheap, and every byte counts, so
  // addresses differing only in their low bits spread well.
  std::uint64_t h = 14695981039346656037ull;
  h = (h ^ static_cast<std::uint8_t>(a.fam)) * 1099511628211ull;
  for (auto b : a.bytes) h = (h ^ b) * 1099511628211ull;
  return static_cast<std::size_t>(h);
}

std::size_t std::hash<actorstack::endpoint>::operator()(
    const actorstack::endpoint& e) const noexcept {
  std::uint64_t h = std::hash<actorstack::ip_address>{}(e.ip);
  h = (h ^ e.port) * 1099511628211ull;
  h = (h ^ static_cast<std::uint8_t>(e.proto)) * 1099511628211ull;
  return static_cast<std::size_t>(h);
}
