#include "actors/remote/channel_outbox.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace actorstack {

channel_outbox::~channel_outbox() {
  for (auto& r : waiting_)
    if (r.fd >= 0) ::close(r.fd);
}

// One record with its fd, if any (-1: none).
result<void> channel_outbox::send(app_protocol::record type, std::span<const std::byte> payload, int fd,
                                  std::chrono::milliseconds patience) {
  const int fds[] = {fd};
  return channel_->send(static_cast<std::uint32_t>(type), payload,
                        fd >= 0 ? std::span<const int>{fds} : std::span<const int>{}, patience);
}

result<void> channel_outbox::push(app_protocol::record type, std::span<const std::byte> payload, int fd) {
  if (waiting_.empty()) {
    auto sent = send(type, payload, fd, std::chrono::milliseconds{0});
    if (sent) return {};
    if (sent.error().code != errc::timeout) return sent;
  }
  if (waiting_bytes_ + payload.size() > limit_)
    return unexpected{errc::quota, "the app has not read its connection: its outbox is full"};
  waiting_record r{type, {payload.begin(), payload.end()}, -1};
  if (fd >= 0) {
    r.fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (r.fd < 0) return unexpected{errc::system, "outbox: dup of a segment fd", errno};
  }
  waiting_bytes_ += r.payload.size();
  waiting_.push_back(std::move(r));
  return {};
}

result<bool> channel_outbox::flush(std::chrono::milliseconds patience) {
  while (!waiting_.empty()) {
    auto& r = waiting_.front();
    auto sent = send(r.type, r.payload, r.fd, patience);
    if (!sent) {
      if (sent.error().code == errc::timeout) return false;
      return unexpected{sent.error()};
    }
    waiting_bytes_ -= r.payload.size();
    if (r.fd >= 0) ::close(r.fd);
    waiting_.pop_front();
  }
  return true;
}

}  // namespace actorstack
