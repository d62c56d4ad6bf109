#pragma once
// Datagram sockets (AF_INET, SOCK_DGRAM) on the stack: udp:// sessions on
// its data plane. bind() makes a udp:// listener of the client library,
// which sends to anyone and receives from anyone; connect() makes a
// connected udp:// session (one peer), from the bound port after a bind —
// the listener gives way, so another socket may bind that port for
// everyone else, as on Linux; AF_UNSPEC turns it back into a listener.
// sendto() on an unbound socket binds it to a free port first, as Linux
// does.
//
// What the stack does not carry goes to the kernel: loopback addresses,
// and everything when the stack has no data plane (it refuses udp:// with
// no_route). The socket is then swapped for a kernel socket under the same
// fd number (dup3 over the placeholder), with the options set so far, and
// is the kernel's from then on.

#include "preload/socket_ops.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <span>

namespace actorstack::preload {

/// bind() of a datagram socket, its lock held.
int datagram_bind(held_socket& call, int fd, const sockaddr* addr, socklen_t len);
/// connect() of a datagram socket, its lock held (AF_UNSPEC forgets the peer).
int datagram_connect(held_socket& call, int fd, const sockaddr* addr, socklen_t len);
/// recv/recvfrom/recvmsg/read (the socket held by the caller): one datagram into `iov`; `from` as
/// recvfrom's; `msg_flags` (if given) gets MSG_TRUNC for a datagram longer
/// than `iov`. MSG_PEEK leaves it queued; MSG_TRUNC returns its whole length.
ssize_t datagram_recv(held_socket& call, int fd, std::span<const iovec> iov, int flags, sockaddr* from,
                      socklen_t* from_len, int* msg_flags);
/// send/sendto/sendmsg/write: `iov` as one datagram to `to` (or the
/// connected peer when `to` is null).
ssize_t datagram_send(held_socket& call, int fd, std::span<const iovec> iov, int flags, const sockaddr* to,
                      socklen_t to_len);
/// FIONREAD: the next datagram's payload length (0 when none is queued).
int datagram_next_length(stack_socket& s);

}  // namespace actorstack::preload
