#include "actors/remote/app_event_queue.hpp"

#include "actors/remote/app_protocol.hpp"

#include <array>
#include <cstring>

namespace actorstack {

result<std::shared_ptr<app_event_queue>> app_event_queue::create(const std::string& name,
                                                                 const shm::event_queue_config& cfg) {
  auto mem = shm::segment::create(name, shm::event_queue::required_bytes(cfg));
  if (!mem) return unexpected{mem.error()};
  auto q = shm::event_queue::create(mem->base(), mem->size(), cfg);
  if (!q) return unexpected{q.error()};
  return std::shared_ptr<app_event_queue>(new app_event_queue(std::move(*mem), std::move(*q)));
}

result<void> app_event_queue::send_to(shm::fd_channel& channel) const {
  std::array<std::byte, 8> payload{};
  const std::uint64_t bytes = mem_.size();
  std::memcpy(payload.data(), &bytes, sizeof bytes);
  const int fds[] = {mem_.fd(), queue_.eventfd()};
  return channel.send(static_cast<std::uint32_t>(app_protocol::record::event_queue), payload, fds);
}

}  // namespace actorstack
