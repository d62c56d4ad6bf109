// libFuzzer: the fd channel's receive on any datagram a peer process may
// send on the stack's Unix socket (SOCK_SEQPACKET), with or without fds
// attached. Never a crash, never an fd left open by a refused message,
// and the channel goes on working afterwards.
#include "shm/fd_channel.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>

namespace {

int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

// Sends `bytes` as one datagram with `fd_count` eventfds attached.
bool send_raw(int sock, const std::uint8_t* bytes, std::size_t size, int fd_count) {
  iovec iov{const_cast<std::uint8_t*>(bytes), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  int fds[4];
  if (fd_count > 0) {
    for (int i = 0; i < fd_count; ++i) fds[i] = ::eventfd(0, EFD_CLOEXEC);
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fd_count);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * fd_count);
  }
  const bool ok = ::sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(size);
  for (int i = 0; i < fd_count; ++i) ::close(fds[i]);
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 4096) return 0;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  const int before = open_fds();
  {
    actorstack::shm::fd_channel ours{sv[0]};
    const int fd_count = data[0] % 5;  // the first byte: how many fds ride along
    if (send_raw(sv[1], data + 1, size - 1, fd_count)) {
      auto m = ours.receive(std::chrono::milliseconds(0));
      // A message it accepted owns its fds (closed with it); a refused one
      // closed them already.
      (void)m;
    }
    // The channel still works: a well-formed message goes through.
    actorstack::shm::fd_channel theirs{::dup(sv[1])};
    const std::byte ping[] = {std::byte{'o'}, std::byte{'k'}};
    if (!theirs.send(7, ping)) std::abort();
    auto m = ours.receive(std::chrono::milliseconds(1000));
    if (!m || m->type != 7 || m->payload.size() != 2) std::abort();
  }
  ::close(sv[1]);
  if (open_fds() != before - 2) std::abort();  // both ends closed, nothing else left
  return 0;
}
