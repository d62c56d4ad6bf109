#include <actorstack/endpoint.hpp>

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

result<transport_proto> parse_transport_proto(std::string_view text) {
  if (text == "ct") return transport_proto::ct;
  if (text == "udp") return transport_proto::udp;
  if (text == "tcp") return transport_proto::tcp;
  return unexpected{errc::invalid_argument,
                    intern("unknown protocol '" + std::string{text} + "' (ct, udp, tcp)")};
}

ip_address ip_address::v4(std::uint32_t host_order) noexcept {
  ip_address a;
  a.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<std::uint8_t>(host_order);
  return a;
}

result<ip_address> ip_address::parse(std::string_view text) {
  const std::string s{text};
  ip_address a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.fam = family::v6;
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return unexpected{errc::invalid_argument, intern("bad IP address '" + s + "'")};
}

bool ip_address::is_any() const noexcept {
  const std::size_t n = is_v4() ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

bool ip_address::is_loopback() const noexcept {
  if (is_v4()) return bytes[0] == 127;
  for (std::size_t i = 0; i < 15; ++i)
    if (bytes[i] != 0) return false;
  return bytes[15] == 1;
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
  auto bad = [&](const char* why) {
    return unexpected{errc::invalid_argument,
                      intern("bad URI '" + std::string{uri} + "': " + why +
                             " (expected PROTO://IP/PORT)")};
  };
  const auto sep = uri.find("://");
  if (sep == std::string_view::npos) return bad("missing '://'");
  auto proto = parse_transport_proto(uri.substr(0, sep));
  if (!proto) return bad("unknown protocol");
  std::string_view rest = uri.substr(sep + 3);
  std::string_view host;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
  } else {
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return bad("missing '/PORT'");
    host = rest.substr(0, slash);
    rest = rest.substr(slash);
  }
  if (rest.empty() || rest.front() != '/') return bad("missing '/PORT'");
  rest.remove_prefix(1);
  auto ip = ip_address::parse(host);
  if (!ip) return bad("bad IP address");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  if (rest.empty() || ec != std::errc{} || end != rest.data() + rest.size() || port > 65535)
    return bad("port must be 0..65535");
  return endpoint{*proto, *ip, static_cast<std::uint16_t>(port)};
}

}  // namespace actorstack

std::size_t std::hash<actorstack::ip_address>::operator()(
    const actorstack::ip_address& a) const noexcept {
  std::uint64_t h = static_cast<std::uint64_t>(a.fam);
  for (auto b : a.bytes) h = h * 1099511628211ull ^ b;
  return static_cast<std::size_t>(h);
}

std::size_t std::hash<actorstack::endpoint>::operator()(
    const actorstack::endpoint& e) const noexcept {
  return std::hash<actorstack::ip_address>{}(e.ip) * 31 + e.port * 7 + static_cast<unsigned>(e.proto);
}
