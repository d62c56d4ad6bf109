#pragma once
/// \file
/// A control channel between the stack daemon and application processes:
/// small typed messages that may carry file descriptors (memfd segments,
/// eventfds) with SCM_RIGHTS over a Unix socket.
///
/// SOCK_SEQPACKET rather than SOCK_STREAM: the kernel keeps message
/// boundaries (one sendmsg is one message), and the fds stay attached to
/// the message they were sent with, so a reader never has to reassemble a
/// stream or guess which bytes an fd belongs to. A message is a 12-byte
/// header {u32 magic "ASTC", u32 type, u32 payload length} in host byte
/// order (both ends share one kernel) followed by the payload.
///
/// Every fd this file creates is close-on-exec: a daemon that spawns a
/// helper must not leak application segments into it.

#include <actorstack/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace actorstack::shm {

inline constexpr std::size_t max_channel_payload = 4096;  ///< bytes after the header
inline constexpr std::size_t max_channel_fds = 8;         ///< fds per message

/// A received message. Owns its fds: those not taken with release_fd()
/// are closed when the message is destroyed, so an ignored or rejected
/// message never leaks a descriptor.
struct channel_message {
  std::uint32_t type = 0;
  std::vector<std::byte> payload;
  std::vector<int> fds;  ///< owned; -1 marks one already released

  channel_message() = default;
  channel_message(channel_message&& other) noexcept;
  channel_message& operator=(channel_message&& other) noexcept;
  channel_message(const channel_message&) = delete;
  channel_message& operator=(const channel_message&) = delete;
  ~channel_message();

  /// Hands fd `i` to the caller (who must close it) and leaves -1 in its
  /// place. Returns -1 if `i` is out of range or already released.
  int release_fd(std::size_t i) noexcept;
};

/// One end of a connected SOCK_SEQPACKET Unix socket. Move-only; closes
/// its fd. Not thread-safe: one sender and one receiver at a time.
class fd_channel {
 public:
  fd_channel() noexcept = default;
  /// Adopts an already connected SOCK_SEQPACKET socket.
  explicit fd_channel(int fd) noexcept : fd_(fd) {}
  fd_channel(fd_channel&& other) noexcept;
  fd_channel& operator=(fd_channel&& other) noexcept;
  fd_channel(const fd_channel&) = delete;
  fd_channel& operator=(const fd_channel&) = delete;
  ~fd_channel();

  /// Connects to a listener at `path`. Errors: invalid_argument (path
  /// empty or too long for sun_path), system (with errno: ENOENT,
  /// ECONNREFUSED, ...).
  static result<fd_channel> connect(const std::string& path);
  /// A connected pair (socketpair), for tests and for handing one end to
  /// a forked child. Errors: system.
  static result<std::pair<fd_channel, fd_channel>> pair();

  int fd() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  /// Gives up the fd without closing it; the channel becomes invalid.
  int release() noexcept;

  /// Sends one message with `fds` attached. The kernel duplicates the fds
  /// into the message, so the caller keeps (and still must close) its own.
  /// Waits at most `timeout` for room in the socket buffer (negative:
  /// forever), then fails with timeout. Errors: invalid_argument (payload
  /// > max_channel_payload, more than max_channel_fds fds, channel not
  /// open; nothing is sent), disconnected (EPIPE/ECONNRESET), timeout,
  /// system (other errno, e.g. EBADF for a bad fd in `fds`).
  result<void> send(std::uint32_t type, std::span<const std::byte> payload,
                    std::span<const int> fds = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Receives one message, waiting at most `timeout` (negative: forever;
  /// zero: don't wait, would_block if none is queued). Errors: timeout,
  /// would_block, disconnected (the peer closed or reset), bad_message
  /// (short or bad-magic header, length field disagreeing with the bytes
  /// received, message or control data truncated, too many fds),
  /// invalid_argument (channel not open), system. A bad_message consumes
  /// exactly the offending message and closes any fds it carried; the
  /// channel stays usable.
  result<channel_message> receive(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

/// A listening SOCK_SEQPACKET Unix socket bound to a filesystem path.
/// Move-only; on destruction closes the socket and unlinks the path it
/// created (only if the path still names that socket).
class fd_listener {
 public:
  /// Who may connect, as the socket file's owner, group and mode say.
  struct file_access {
    std::uint32_t mode = 0660;  ///< permission bits of the socket file
    std::int64_t group = -1;    ///< its group (a gid), -1: the process's
  };

  /// Errors: invalid_argument (path empty or too long for sun_path, mode
  /// beyond 0777), system (with errno: EADDRINUSE if a live listener, a
  /// non-socket file or another user's socket file holds the path,
  /// EACCES, EPERM from chown, ...). A stale socket file of this process's
  /// user at `path` (connect() gives ECONNREFUSED: its listener died
  /// without unlinking) is removed and the bind retried once. The file gets
  /// `access` before the socket listens, so no connection is accepted
  /// under looser permissions.
  static result<fd_listener> bind(const std::string& path, file_access access);
  static result<fd_listener> bind(const std::string& path) { return bind(path, file_access{}); }

  fd_listener(fd_listener&& other) noexcept;
  fd_listener& operator=(fd_listener&& other) noexcept;
  fd_listener(const fd_listener&) = delete;
  fd_listener& operator=(const fd_listener&) = delete;
  ~fd_listener();

  /// Pollable: readable when a connection waits to be accepted.
  int fd() const noexcept { return fd_; }
  /// Accepts one connection without blocking. Errors: would_block (none
  /// waits), system.
  result<fd_channel> accept();
  const std::string& path() const noexcept { return path_; }

 private:
  fd_listener(int fd, std::string path, std::uint64_t dev, std::uint64_t ino) noexcept
      : fd_(fd), path_(std::move(path)), dev_(dev), ino_(ino) {}
  void close_and_unlink() noexcept;

  int fd_ = -1;
  std::string path_;
  // Identity of the socket file we bound, so the destructor never unlinks
  // a file someone else put at the same path after ours was removed.
  std::uint64_t dev_ = 0;
  std::uint64_t ino_ = 0;
};

/// pid and uid of the process at the other end (SO_PEERCRED), as of when
/// the connection (or pair) was made. Errors: system.
result<std::pair<int, unsigned>> peer_credentials(const fd_channel& ch);

}  // namespace actorstack::shm
