#include "preload/errno_of.hpp"

#include <cerrno>

namespace actorstack::preload {

int errno_of(errc code) noexcept {
  switch (code) {
    case errc::would_block: return EAGAIN;
    case errc::refused:
    case errc::no_listener:
    case errc::local_connect: return ECONNREFUSED;  // nobody listens there (here, or through the wire)
    case errc::reset: return ECONNRESET;
    case errc::disconnected: return EPIPE;
    case errc::timeout: return ETIMEDOUT;
    case errc::no_route: return ENETUNREACH;
    case errc::filtered: return EPERM;   // a session rule drops it, as a firewall would
    case errc::scope: return EACCES;
    case errc::already_listening: return EADDRINUSE;
    case errc::no_port: return EADDRNOTAVAIL;  // connect(2)'s word for "no free local port"
    case errc::invalid_argument: return EINVAL;
    case errc::not_supported: return EOPNOTSUPP;
    case errc::invalid_session: return ENOTCONN;
    case errc::quota: return EMFILE;
    case errc::alloc:
    case errc::segment_alloc:
    case errc::fifo_alloc:
    case errc::fifo_no_memory:
    case errc::fifo_full:
    case errc::queue_full:
    case errc::queue_contended: return ENOBUFS;
    case errc::no_such_app: return ENOTCONN;
    default: return EIO;
  }
}

int errno_of(const error& e) noexcept {
  return e.code == errc::system && e.sys_errno != 0 ? e.sys_errno : errno_of(e.code);
}

}  // namespace actorstack::preload
