#include "shm/fd_channel.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace actorstack::shm {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::uint32_t wire_magic = 0x41535443;  // "ASTC"

struct wire_header {
  std::uint32_t magic;
  std::uint32_t type;
  std::uint32_t length;
};
static_assert(sizeof(wire_header) == 12, "the header is 12 bytes on the wire");

// Room for exactly max_channel_fds fds: a peer that sends more makes the
// kernel set MSG_CTRUNC (and close the excess itself) instead of installing
// an unbounded number of descriptors in this process.
constexpr std::size_t control_bytes = CMSG_SPACE(sizeof(int) * max_channel_fds);
union control_buffer {
  cmsghdr align;  // cmsg data must be aligned for cmsghdr
  char bytes[control_bytes];
};

/// Closes the fd it holds; keeps error paths in this file leak-free.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

void close_all(std::vector<int>& fds) noexcept {
  for (int& fd : fds) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  fds.clear();
}

/// An absolute deadline, or none (wait forever). A timeout too large to
/// add to now() also means forever rather than overflowing.
std::optional<clock::time_point> deadline_after(milliseconds timeout) {
  if (timeout < milliseconds::zero()) return std::nullopt;
  const auto now = clock::now();
  if (timeout >= std::chrono::duration_cast<milliseconds>(clock::time_point::max() - now))
    return std::nullopt;
  return now + timeout;
}

/// Waits until `fd` reports `events` (or an error/hang-up, which the next
/// socket call turns into a proper error) or the deadline passes. poll()
/// is restarted after EINTR with the time that is left, so a signal never
/// shortens nor lengthens the caller's wait.
result<void> wait_for(int fd, short events, std::optional<clock::time_point> deadline) {
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      const auto left = *deadline - clock::now();
      if (left <= clock::duration::zero()) return errc::timeout;
      // Round up: rounding down would poll(0) in the last millisecond and
      // spin, or report a timeout before the full time has passed.
      const auto ms = std::chrono::ceil<milliseconds>(left).count();
      wait_ms = static_cast<int>(std::min<decltype(ms)>(ms, INT_MAX));
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, wait_ms);
    if (n > 0) return {};
    if (n < 0 && errno != EINTR) return unexpected{errc::system, "fd_channel: poll", errno};
    // n == 0 (expired) or EINTR: the deadline check at the top decides.
  }
}

/// Fills `addr` with `path`. Abstract (leading NUL) names are not
/// supported: the listener's cleanup relies on a filesystem entry.
result<void> make_address(const std::string& path, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty()) return unexpected{errc::invalid_argument, "fd_channel: empty socket path"};
  // sun_path must hold the terminating NUL too.
  if (path.size() >= sizeof(addr.sun_path))
    return unexpected{errc::invalid_argument, "fd_channel: socket path too long"};
  std::memcpy(addr.sun_path, path.data(), path.size());
  return {};
}

const sockaddr* as_sockaddr(const sockaddr_un& a) { return reinterpret_cast<const sockaddr*>(&a); }

result<unique_fd> new_socket(int extra_flags = 0) {
  unique_fd s{::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | extra_flags, 0)};
  if (!s) return unexpected{errc::system, "fd_channel: socket", errno};
  return s;
}

/// connect() on a Unix socket may be interrupted while it waits for room
/// in the listener's backlog; the attempt can simply be repeated.
int connect_retrying(int fd, const sockaddr_un& addr) {
  int rc = 0;
  do {
    rc = ::connect(fd, as_sockaddr(addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  return rc;
}

/// True if `path` is a socket file of this user that nobody listens on: a
/// previous listener died without unlinking it. A regular file also refuses
/// connections, so check the file type first, and the owner — never delete
/// something that is not ours.
bool is_stale_socket(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != ::geteuid()) return false;
  auto probe = new_socket();
  if (!probe) return false;
  return connect_retrying(probe->get(), addr) != 0 && errno == ECONNREFUSED;
}

}  // namespace

// ---- channel_message --------------------------------------------------------

channel_message::channel_message(channel_message&& other) noexcept
    : type(other.type),
      payload(std::move(other.payload)),
      fds(std::exchange(other.fds, {})) {}

channel_message& channel_message::operator=(channel_message&& other) noexcept {
  if (this != &other) {
    close_all(fds);
    type = other.type;
    payload = std::move(other.payload);
    fds = std::exchange(other.fds, {});
  }
  return *this;
}

channel_message::~channel_message() { close_all(fds); }

int channel_message::release_fd(std::size_t i) noexcept {
  if (i >= fds.size()) return -1;
  return std::exchange(fds[i], -1);
}

// ---- fd_channel ---------------------------------------------------------------

fd_channel::fd_channel(fd_channel&& other) noexcept : fd_(other.release()) {}

fd_channel& fd_channel::operator=(fd_channel&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

fd_channel::~fd_channel() {
  if (fd_ >= 0) ::close(fd_);
}

int fd_channel::release() noexcept { return std::exchange(fd_, -1); }

result<fd_channel> fd_channel::connect(const std::string& path) {
  sockaddr_un addr;
  if (auto ok = make_address(path, addr); !ok) return unexpected{ok.error()};
  auto s = new_socket();
  if (!s) return unexpected{s.error()};
  if (connect_retrying(s->get(), addr) != 0)
    return unexpected{errc::system, "fd_channel: connect", errno};
  return fd_channel{s->release()};
}

result<std::pair<fd_channel, fd_channel>> fd_channel::pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return unexpected{errc::system, "fd_channel: socketpair", errno};
  return std::pair{fd_channel{sv[0]}, fd_channel{sv[1]}};
}

result<void> fd_channel::send(std::uint32_t type, std::span<const std::byte> payload,
                              std::span<const int> fds, milliseconds timeout) {
  if (!valid()) return unexpected{errc::invalid_argument, "fd_channel: send on a closed channel"};
  if (payload.size() > max_channel_payload)
    return unexpected{errc::invalid_argument, "fd_channel: payload too large"};
  if (fds.size() > max_channel_fds)
    return unexpected{errc::invalid_argument, "fd_channel: too many fds"};

  const wire_header hdr{wire_magic, type, static_cast<std::uint32_t>(payload.size())};
  // iovec is not const-correct; sendmsg only reads through it.
  iovec iov[2] = {
      {const_cast<wire_header*>(&hdr), sizeof(hdr)},
      {const_cast<std::byte*>(payload.data()), payload.size()},
  };
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;

  control_buffer control{};
  if (!fds.empty()) {
    const std::size_t data_bytes = fds.size() * sizeof(int);
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(data_bytes);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(data_bytes);
    std::memcpy(CMSG_DATA(c), fds.data(), data_bytes);
  }

  const auto deadline = deadline_after(timeout);
  for (;;) {
    // MSG_DONTWAIT even on a blocking socket: the wait is ours (bounded by
    // poll), never the kernel's. MSG_NOSIGNAL: a dead peer is an error
    // value, not a SIGPIPE that kills the daemon.
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      // SOCK_SEQPACKET sends atomically: all or an error, never a part.
      if (static_cast<std::size_t>(n) != sizeof(hdr) + payload.size())
        return unexpected{errc::system, "fd_channel: short sendmsg", EMSGSIZE};
      return {};
    }
    const int e = errno;
    if (e == EINTR) continue;
    if (e == EPIPE || e == ECONNRESET) return unexpected{errc::disconnected, "fd_channel: sendmsg", e};
    if (e != EAGAIN && e != EWOULDBLOCK) return unexpected{errc::system, "fd_channel: sendmsg", e};
    if (auto ready = wait_for(fd_, POLLOUT, deadline); !ready) return unexpected{ready.error()};
  }
}

result<channel_message> fd_channel::receive(milliseconds timeout) {
  if (!valid()) return unexpected{errc::invalid_argument, "fd_channel: receive on a closed channel"};

  // One byte-exact buffer for the largest valid message: anything longer
  // is cut by the kernel and flagged MSG_TRUNC (and its rest discarded, so
  // the next receive starts at the next message).
  wire_header hdr{};
  std::byte body[max_channel_payload];
  iovec iov[2] = {{&hdr, sizeof(hdr)}, {body, sizeof(body)}};
  control_buffer control{};
  msghdr msg{};
  ssize_t n = -1;
  const auto deadline = deadline_after(timeout);
  for (;;) {
    msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof(control.bytes);
    n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n >= 0) break;
    const int e = errno;
    if (e == EINTR) continue;
    if (e == ECONNRESET) return unexpected{errc::disconnected, "fd_channel: recvmsg", e};
    if (e != EAGAIN && e != EWOULDBLOCK) return unexpected{errc::system, "fd_channel: recvmsg", e};
    if (timeout == milliseconds::zero()) return errc::would_block;
    if (auto ready = wait_for(fd_, POLLIN, deadline); !ready) return unexpected{ready.error()};
  }

  // Take ownership of every fd that arrived before validating anything:
  // from here on, any return closes them (channel_message's destructor).
  channel_message out;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const auto* data = CMSG_DATA(c);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, data + i * sizeof(int), sizeof(int));
      out.fds.push_back(fd);
    }
  }

  const auto got = static_cast<std::size_t>(n);
  if (got == 0 && out.fds.empty()) {
    // recvmsg returns 0 both at end-of-file and for an empty datagram a
    // peer may send on purpose; only a shut-down peer means end-of-file.
    pollfd p{fd_, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP)) != 0)
      return unexpected{errc::disconnected, "fd_channel: peer closed"};
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0)
    return unexpected{errc::bad_message, "fd_channel: control data truncated (too many fds)"};
  if ((msg.msg_flags & MSG_TRUNC) != 0)
    return unexpected{errc::bad_message, "fd_channel: message too long"};
  if (got < sizeof(hdr)) return unexpected{errc::bad_message, "fd_channel: short header"};
  if (hdr.magic != wire_magic) return unexpected{errc::bad_message, "fd_channel: bad magic"};
  if (hdr.length != got - sizeof(hdr))
    return unexpected{errc::bad_message, "fd_channel: length field does not match message"};
  if (out.fds.size() > max_channel_fds)
    return unexpected{errc::bad_message, "fd_channel: too many fds"};

  out.type = hdr.type;
  out.payload.assign(body, body + hdr.length);
  return out;
}

result<std::pair<int, unsigned>> peer_credentials(const fd_channel& ch) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(ch.fd(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return unexpected{errc::system, "fd_channel: getsockopt(SO_PEERCRED)", errno};
  return std::pair<int, unsigned>{cred.pid, cred.uid};
}

// ---- fd_listener --------------------------------------------------------------

result<fd_listener> fd_listener::bind(const std::string& path, file_access access) {
  sockaddr_un addr;
  if (auto ok = make_address(path, addr); !ok) return unexpected{ok.error()};
  if (access.mode > 0777) return unexpected{errc::invalid_argument, "fd_listener: socket mode beyond 0777"};
  // Non-blocking, so accept() can report would_block; accepted channels
  // are blocking sockets (fd_channel never relies on the kernel to wait).
  auto s = new_socket(SOCK_NONBLOCK);
  if (!s) return unexpected{s.error()};

  int rc = ::bind(s->get(), as_sockaddr(addr), sizeof(addr));
  int bind_errno = rc != 0 ? errno : 0;  // the stale probe below clobbers errno
  if (bind_errno == EADDRINUSE && is_stale_socket(path, addr)) {
    // Racy against another process doing the same recovery, but the loser
    // of that race only gets EADDRINUSE, never a stolen live socket.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return unexpected{errc::system, "fd_listener: unlink stale socket", errno};
    rc = ::bind(s->get(), as_sockaddr(addr), sizeof(addr));
    bind_errno = rc != 0 ? errno : 0;
  }
  if (rc != 0) return unexpected{errc::system, "fd_listener: bind", bind_errno};

  // Nobody can connect before listen(): set who may, then listen.
  const char* failed = nullptr;
  if (access.group >= 0 && ::lchown(path.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(access.group)) != 0)
    failed = "fd_listener: chown (socket group)";
  else if (::chmod(path.c_str(), static_cast<mode_t>(access.mode)) != 0)
    failed = "fd_listener: chmod (socket mode)";
  if (failed != nullptr) {
    const int e = errno;
    ::unlink(path.c_str());
    return unexpected{errc::system, failed, e};
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return unexpected{errc::system, "fd_listener: lstat", e};
  }
  if (::listen(s->get(), SOMAXCONN) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return unexpected{errc::system, "fd_listener: listen", e};
  }
  return fd_listener{s->release(), path, static_cast<std::uint64_t>(st.st_dev),
                     static_cast<std::uint64_t>(st.st_ino)};
}

fd_listener::fd_listener(fd_listener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::exchange(other.path_, {})),
      dev_(other.dev_),
      ino_(other.ino_) {}

fd_listener& fd_listener::operator=(fd_listener&& other) noexcept {
  if (this != &other) {
    close_and_unlink();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::exchange(other.path_, {});
    dev_ = other.dev_;
    ino_ = other.ino_;
  }
  return *this;
}

fd_listener::~fd_listener() { close_and_unlink(); }

void fd_listener::close_and_unlink() noexcept {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_dev) == dev_ &&
      static_cast<std::uint64_t>(st.st_ino) == ino_)
    ::unlink(path_.c_str());
  path_.clear();
}

result<fd_channel> fd_listener::accept() {
  for (;;) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) return fd_channel{fd};
    const int e = errno;
    // ECONNABORTED: that client gave up while queued; look for the next.
    if (e == EINTR || e == ECONNABORTED) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) return errc::would_block;
    return unexpected{errc::system, "fd_listener: accept", e};
  }
}

}  // namespace actorstack::shm
