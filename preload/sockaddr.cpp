#include "preload/sockaddr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace actorstack::preload {

int endpoint_of(const sockaddr* addr, socklen_t len, endpoint& out) noexcept {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return EINVAL;
  if (addr->sa_family != AF_INET) return EAFNOSUPPORT;
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return EINVAL;
  sockaddr_in in{};
  std::memcpy(&in, addr, sizeof in);
  out.proto = transport_proto::tcp;
  out.ip = ip_address::v4(ntohl(in.sin_addr.s_addr));
  out.port = ntohs(in.sin_port);
  return 0;
}

void write_sockaddr(const endpoint& ep, sockaddr* addr, socklen_t* len) noexcept {
  if (addr == nullptr || len == nullptr) return;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(ep.port);
  in.sin_addr.s_addr = htonl(ep.ip.v4_host_order());
  std::memcpy(addr, &in, std::min<std::size_t>(*len, sizeof in));
  *len = sizeof in;
}

}  // namespace actorstack::preload
