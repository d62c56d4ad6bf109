#include "actors/remote/inspect_port_server.hpp"

#include "actors/log.hpp"
#include "actors/remote/app_protocol.hpp"
#include "actors/remote/stream_records.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <list>
#include <thread>

namespace actorstack {

namespace {

using clock_type = std::chrono::steady_clock;
using app_protocol::record;

constexpr auto idle_limit = std::chrono::seconds(60);
constexpr auto write_limit = std::chrono::seconds(1);
constexpr auto show_spacing = std::chrono::milliseconds(10);  // 100 shows a second

struct connection {
  int fd = -1;
  app_protocol::stream_reader reader;
  clock_type::time_point last_record = clock_type::now();
  clock_type::time_point next_show{};
};

// Writes all of `bytes`, waiting for room at most write_limit in all.
bool write_all(int fd, std::span<const std::byte> bytes) {
  const auto deadline = clock_type::now() + write_limit;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) return false;
  }
  return true;
}

bool send_record(int fd, record type, std::span<const std::byte> payload) {
  return write_all(fd, app_protocol::frame(static_cast<std::uint32_t>(type), payload));
}

bool send_error(int fd, const std::string& text) {
  return send_record(fd, record::error, std::as_bytes(std::span{text}));
}

}  // namespace

struct inspect_port_server::impl {
  int listen_fd = -1;
  int wake_fd = -1;
  std::uint16_t port = 0;
  show_fn show;
  std::list<connection> conns;
  std::thread thread;

  ~impl() {
    if (thread.joinable()) {
      const std::uint64_t one = 1;
      (void)!::write(wake_fd, &one, sizeof one);
      thread.join();
    }
    for (auto& c : conns) ::close(c.fd);
    if (listen_fd >= 0) ::close(listen_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void run() {
    std::vector<pollfd> fds;
    std::array<std::byte, 4096> buf{};
    for (;;) {
      fds.clear();
      fds.push_back({wake_fd, POLLIN, 0});
      fds.push_back({listen_fd, POLLIN, 0});
      for (auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
      if (fds[0].revents != 0) return;
      if (fds[1].revents & POLLIN) accept_one();
      std::size_t i = 2;
      const auto now = clock_type::now();
      for (auto it = conns.begin(); it != conns.end(); ++i) {
        // Connections accepted in this round have no pollfd yet.
        const bool readable = i < fds.size() && fds[i].fd == it->fd && fds[i].revents != 0;
        bool keep = true;
        if (readable) {
          const ssize_t n = ::recv(it->fd, buf.data(), buf.size(), MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK))
            keep = false;
          else if (n > 0)
            keep = take(*it, std::span{buf.data(), static_cast<std::size_t>(n)});
        }
        if (keep && now - it->last_record > idle_limit) keep = false;
        if (keep) {
          ++it;
        } else {
          ::close(it->fd);
          it = conns.erase(it);
        }
      }
    }
  }

  void accept_one() {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (conns.size() >= static_cast<std::size_t>(max_connections)) {
      (void)send_error(fd, "refused: too many inspect connections");
      ::close(fd);
      return;
    }
    const int on = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    conns.emplace_back().fd = fd;
  }

  // Bytes from `c`: false when the connection is to be closed.
  bool take(connection& c, std::span<const std::byte> bytes) {
    c.reader.feed(bytes);
    for (;;) {
      auto r = c.reader.next();
      if (!r) return refuse(c, std::string{r.error().message()});
      if (!r->has_value()) return true;
      c.last_record = clock_type::now();
      if (!answer(c, **r)) return false;
    }
  }

  // A record the port does not take: an error record, a log line, and the
  // connection is closed (false).
  static bool refuse(connection& c, const std::string& why) {
    log_line("inspect port: closed a connection that sent a bad record: " + why);
    (void)send_error(c.fd, "bad_message: " + why);
    return false;
  }

  bool answer(connection& c, const app_protocol::stream_record& rec) {
    if (rec.type != static_cast<std::uint32_t>(record::show)) return refuse(c, "the inspect port answers show records only");
    auto req = app_protocol::decode_show_request(rec.payload);
    if (!req) return refuse(c, std::string{req.error().message()});
    const auto now = clock_type::now();
    if (now < c.next_show) {
      // Refused, not closed: the client may slow down.
      const app_protocol::answer a{req->request, errc::quota, 0};
      return send_record(c.fd, record::answer, app_protocol::encode(a));
    }
    c.next_show = now + show_spacing;
    auto text = show(req->topic, req->options);
    if (!text) {
      const app_protocol::answer a{req->request, text.code(), 0};
      return send_record(c.fd, record::answer, app_protocol::encode(a));
    }
    for (const auto& chunk : app_protocol::shown_chunks(req->request, *text))
      if (!send_record(c.fd, record::shown, app_protocol::encode(chunk))) return false;
    return true;
  }
};

result<std::unique_ptr<inspect_port_server>> inspect_port_server::start(const std::string& address,
                                                                        std::uint16_t port, show_fn show) {
  auto p = std::make_unique<impl>();
  p->show = std::move(show);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
    return unexpected{errc::invalid_argument, "inspect port: not an IPv4 address"};
  p->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  p->wake_fd = ::eventfd(0, EFD_CLOEXEC);
  if (p->listen_fd < 0 || p->wake_fd < 0)
    return unexpected{errc::invalid_argument, "inspect port: no socket", errno};
  const int on = 1;
  (void)::setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(p->listen_fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(p->listen_fd, 16) != 0)
    return unexpected{errc::invalid_argument, "inspect port: cannot listen there (taken?)", errno};
  socklen_t len = sizeof sa;
  (void)::getsockname(p->listen_fd, reinterpret_cast<sockaddr*>(&sa), &len);
  p->port = ntohs(sa.sin_port);
  auto* raw = p.get();
  p->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<inspect_port_server>{new inspect_port_server(std::move(p))};
}

inspect_port_server::inspect_port_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
inspect_port_server::~inspect_port_server() = default;
std::uint16_t inspect_port_server::port() const noexcept { return impl_->port; }

}  // namespace actorstack
