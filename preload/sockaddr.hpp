#pragma once
// AF_INET socket addresses and the stack's endpoints, both ways.

#include <actorstack/endpoint.hpp>

#include <sys/socket.h>

namespace actorstack::preload {

/// The endpoint `addr` names as a tcp:// endpoint. Errors (as errno):
/// EAFNOSUPPORT (not AF_INET), EINVAL (too short).
int endpoint_of(const sockaddr* addr, socklen_t len, endpoint& out) noexcept;
/// Writes `ep` to `addr` as a sockaddr_in, truncated to *len as the
/// kernel does; *len becomes the full size.
void write_sockaddr(const endpoint& ep, sockaddr* addr, socklen_t* len) noexcept;

}  // namespace actorstack::preload
