#include "demo/kernel_echo.hpp"

#include "demo/echo_options.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace echo {

namespace {

using clock_type = std::chrono::steady_clock;

// Writes all of `data`; false on any error (the peer went, or we were told to stop).
bool write_all(int fd, const std::byte* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

void serve_connection(int fd, std::size_t io_size) {
  std::vector<std::byte> buf(io_size);
  for (;;) {
    const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || !write_all(fd, buf.data(), static_cast<std::size_t>(r))) break;
  }
  ::close(fd);
}

}  // namespace

kernel_echo_result run_kernel_echo(std::uint32_t clients, std::uint64_t bytes, bool verify, std::size_t io_size) {
  kernel_echo_result out;
  auto fail = [&](const char* what) {
    out.error = std::string{what} + ": " + std::strerror(errno);
    return out;
  };
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) return fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 128) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    fail("bind/listen");
    ::close(lfd);
    return out;
  }
  std::vector<std::thread> servers;
  std::thread acceptor([&] {
    for (std::uint32_t i = 0; i < clients; ++i) {
      const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      servers.emplace_back(serve_connection, fd, io_size);
    }
  });

  std::vector<int> fds;
  for (std::uint32_t c = 0; c < clients; ++c) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      fail("connect");
      if (fd >= 0) ::close(fd);
      break;
    }
    fds.push_back(fd);
  }
  const auto t0 = clock_type::now();
  std::atomic<std::uint64_t> echoed{0}, verify_errors{0};
  std::atomic<std::uint32_t> readers_done{0};
  std::vector<std::thread> threads;
  for (std::uint32_t c = 0; c < fds.size(); ++c) {
    const int fd = fds[c];
    threads.emplace_back([=] {
      std::vector<std::byte> buf(io_size);
      for (std::uint64_t sent = 0; sent < bytes;) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(io_size, bytes - sent));
        fill_pattern(c, sent, std::span{buf}.first(n));
        if (!write_all(fd, buf.data(), n)) return;
        sent += n;
      }
    });
    threads.emplace_back([=, &echoed, &verify_errors, &readers_done] {
      std::vector<std::byte> buf(io_size);
      std::uint64_t received = 0;
      while (received < bytes) {
        const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (verify && !matches_pattern(c, received, std::span{buf}.first(static_cast<std::size_t>(r))))
          verify_errors.fetch_add(1);
        received += static_cast<std::uint64_t>(r);
      }
      echoed.fetch_add(received);
      readers_done.fetch_add(1);
    });
  }
  // Wait for the readers; a stop request unblocks every socket call.
  while (readers_done.load() < fds.size()) {
    if (stop_requested()) {
      out.interrupted = true;
      for (int fd : fds) ::shutdown(fd, SHUT_RDWR);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& t : threads) t.join();
  out.duration_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  for (int fd : fds) ::close(fd);  // the server threads see end of stream
  ::shutdown(lfd, SHUT_RDWR);      // an acceptor still waiting (a failed connect) wakes
  acceptor.join();
  for (auto& t : servers) t.join();
  ::close(lfd);
  out.bytes = echoed.load();
  out.verify_errors = verify_errors.load();
  return out;
}

}  // namespace echo
