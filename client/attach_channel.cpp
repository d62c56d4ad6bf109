#include "client/attach_channel.hpp"

#include "actors/remote/remote_gateway.hpp"

#include <cstring>

namespace actorstack::client::detail {

result<shm::fd_channel> greet(const std::string& socket_path, std::chrono::milliseconds timeout,
                              stack_greeting& greeting) {
  auto ch = shm::fd_channel::connect(socket_path);
  if (!ch) return unexpected{ch.error()};
  auto hello = ch->receive(timeout);
  if (!hello) return unexpected{hello.error()};
  if (hello->type != static_cast<std::uint32_t>(channel_message_type::hello) ||
      hello->payload.size() != sizeof greeting.port + sizeof greeting.token)
    return unexpected{errc::bad_message, "the stack's greeting is not a hello"};
  std::memcpy(&greeting.port, hello->payload.data(), sizeof greeting.port);
  std::memcpy(&greeting.token, hello->payload.data() + sizeof greeting.port, sizeof greeting.token);
  return std::move(*ch);
}

result<app_event_queue> receive_event_queue(shm::fd_channel& channel, std::chrono::milliseconds timeout) {
  auto m = channel.receive(timeout);
  if (!m) return unexpected{m.error()};
  std::uint64_t bytes = 0;
  if (m->type != static_cast<std::uint32_t>(channel_message_type::event_queue) || m->fds.size() != 2 ||
      m->payload.size() != sizeof bytes)
    return unexpected{errc::bad_message, "the stack did not send an event queue after attach"};
  std::memcpy(&bytes, m->payload.data(), sizeof bytes);
  auto mem = shm::segment::map(m->fds[0], "events");
  if (!mem) return unexpected{mem.error()};
  if (mem->size() < bytes) return unexpected{errc::bad_message, "event queue segment smaller than announced"};
  auto q = shm::event_queue::attach(mem->base(), mem->size(), m->fds[1]);
  if (!q) return unexpected{q.error()};
  return app_event_queue{std::move(*mem), std::move(*q)};
}

}  // namespace actorstack::client::detail
