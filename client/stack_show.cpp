// client::show and client::show_at: an inspection (what actorstack-ctl
// prints) over the stack's Unix socket, or over its plain inspect port
// (TCP, stream records). Neither attaches: one `show` record, the `shown`
// chunks back.
#include <actorstack/client.hpp>

#include "actors/remote/app_protocol.hpp"
#include "actors/remote/stream_records.hpp"
#include "client/attach_channel.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>

namespace actorstack::client {

namespace {

namespace proto = app_protocol;
using clock_type = std::chrono::steady_clock;

std::chrono::milliseconds left_until(clock_type::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
}

// One record of the answer to request `id`, added to `text`: the whole
// text once the last chunk came, an error, or nothing yet.
std::optional<result<std::string>> take(std::uint32_t type, std::span<const std::byte> payload, std::uint64_t id,
                                        std::string& text) {
  if (type == static_cast<std::uint32_t>(proto::record::answer)) {
    auto a = proto::decode_answer(payload);
    if (!a) return result<std::string>{unexpected{a.error()}};
    if (a->request == id) return result<std::string>{unexpected{a->code, "show: the stack refused"}};
    return std::nullopt;
  }
  if (type == static_cast<std::uint32_t>(proto::record::error))
    return result<std::string>{unexpected{errc::bad_message, "show: the stack did not take the request"}};
  if (type != static_cast<std::uint32_t>(proto::record::shown)) return std::nullopt;
  auto c = proto::decode_shown(payload);
  if (!c) return result<std::string>{unexpected{c.error()}};
  if (c->request != id) return std::nullopt;
  text += c->text;
  if (c->last) return result<std::string>{std::move(text)};
  return std::nullopt;
}

// A TCP connection that closes itself.
struct tcp_fd {
  int fd = -1;
  ~tcp_fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Waits until `fd` is ready for `events`, at most until `deadline`.
bool wait_ready(int fd, short events, clock_type::time_point deadline) {
  for (;;) {
    const auto left = left_until(deadline);
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace

result<std::string> show(const std::string& socket_path, std::string_view topic, std::string_view options,
                         std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  auto ch = detail::greet(socket_path, timeout);
  if (!ch) return unexpected{ch.error()};
  const proto::show_request req{1, std::string{topic}, std::string{options}};
  if (auto sent = ch->send(static_cast<std::uint32_t>(proto::record::show), proto::encode(req), {}, timeout); !sent)
    return unexpected{sent.error()};
  std::string text;
  for (;;) {
    const auto left = left_until(deadline);
    if (left.count() <= 0) return unexpected{errc::timeout, "show: no answer from the stack in time"};
    auto m = ch->receive(left);
    if (!m) return unexpected{m.error()};
    if (auto done = take(m->type, m->payload, req.request, text)) return std::move(*done);
  }
}

result<std::string> show_at(const std::string& host, std::uint16_t port, std::string_view topic,
                            std::string_view options, std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1)
    return unexpected{errc::invalid_argument, "show: the host is not an IPv4 address"};
  tcp_fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (s.fd < 0) return unexpected{errc::system, "show: no socket", errno};
  const char* nobody = intern("show: no stack inspector at " + host + ":" + std::to_string(port));
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    if (errno != EINPROGRESS) return unexpected{errc::refused, nobody, errno};
    if (!wait_ready(s.fd, POLLOUT, deadline)) return unexpected{errc::timeout, "show: no connection in time"};
    int err = 0;
    socklen_t len = sizeof err;
    (void)::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return unexpected{errc::refused, nobody, err};
  }
  const proto::show_request req{1, std::string{topic}, std::string{options}};
  const auto out = proto::frame(static_cast<std::uint32_t>(proto::record::show), proto::encode(req));
  for (std::size_t at = 0; at < out.size();) {
    const ssize_t n = ::send(s.fd, out.data() + at, out.size() - at, MSG_NOSIGNAL);
    if (n > 0) {
      at += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return unexpected{errc::disconnected, "show: the stack hung up", errno};
    } else if (!wait_ready(s.fd, POLLOUT, deadline)) {
      return unexpected{errc::timeout, "show: no answer from the stack in time"};
    }
  }
  proto::stream_reader reader;
  std::array<std::byte, 8192> buf{};
  std::string text;
  for (;;) {
    auto r = reader.next();
    if (!r) return unexpected{r.error()};
    if (r->has_value()) {
      if (auto done = take((*r)->type, (*r)->payload, req.request, text)) return std::move(*done);
      continue;
    }
    if (!wait_ready(s.fd, POLLIN, deadline)) return unexpected{errc::timeout, "show: no answer from the stack in time"};
    const ssize_t n = ::recv(s.fd, buf.data(), buf.size(), 0);
    if (n == 0) return unexpected{errc::disconnected, "show: the stack hung up"};
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return unexpected{errc::disconnected, "show: the stack hung up", errno};
    if (n > 0) reader.feed(std::span{buf.data(), static_cast<std::size_t>(n)});
  }
}

}  // namespace actorstack::client
