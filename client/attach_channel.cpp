#include "client/attach_channel.hpp"

#include "actors/remote/app_protocol.hpp"

#include <cstring>

namespace actorstack::client::detail {

result<shm::fd_channel> greet(const std::string& socket_path, std::chrono::milliseconds timeout) {
  auto ch = shm::fd_channel::connect(socket_path);
  if (!ch) return unexpected{ch.error()};
  auto hello = ch->receive(timeout);
  if (!hello) return unexpected{hello.error()};
  if (hello->type != static_cast<std::uint32_t>(app_protocol::record::hello))
    return unexpected{errc::bad_message, "the stack's greeting is not a hello"};
  auto version = app_protocol::decode_hello(hello->payload);
  if (!version) return unexpected{version.error()};
  if (*version != app_protocol::version)
    return unexpected{errc::bad_message, "the stack speaks another version of the attach protocol"};
  return std::move(*ch);
}

result<app_event_queue> map_event_queue(shm::channel_message& m) {
  std::uint64_t bytes = 0;
  if (m.fds.size() != 2 || m.payload.size() != sizeof bytes)
    return unexpected{errc::bad_message, "the stack's event queue record has another layout"};
  std::memcpy(&bytes, m.payload.data(), sizeof bytes);
  auto mem = shm::segment::map(m.fds[0], "events");
  if (!mem) return unexpected{mem.error()};
  if (mem->size() < bytes) return unexpected{errc::bad_message, "event queue segment smaller than announced"};
  auto q = shm::event_queue::attach(mem->base(), mem->size(), m.fds[1]);
  if (!q) return unexpected{q.error()};
  return app_event_queue{std::move(*mem), std::move(*q)};
}

}  // namespace actorstack::client::detail
