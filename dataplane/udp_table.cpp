#include "dataplane/udp_table.hpp"

namespace actorstack::dataplane {

udp_table::entry* udp_table::by_connection(const udp_binding& b) noexcept {
  if (b.connected) {
    auto f = flows_.find(flow_of(b));
    return f == flows_.end() ? nullptr : f->second;
  }
  auto l = listeners_.find(listen_key_of(b));
  return l == listeners_.end() ? nullptr : l->second;
}

result<udp_table::entry*> udp_table::add(const udp_binding& b) {
  if (b.local_port == 0) return unexpected{errc::invalid_argument, "udp binding without a local port"};
  const std::uint64_t key = id_key(b.worker, b.id);
  // Forwarding entries give way to the newer binding; owned ones never.
  entry* same_id = find(b.worker, b.id);
  entry* same_connection = by_connection(b);
  if (same_connection != nullptr && same_connection != same_id && !owned(*same_connection))
    remove(same_connection->binding.worker, same_connection->binding.id);
  if (same_id != nullptr && !owned(*same_id)) remove(b.worker, b.id);
  if (by_id_.contains(key)) return unexpected{errc::invalid_argument, "udp connection id already installed"};
  auto e = std::make_unique<entry>();
  e->binding = b;
  e->hinted = b.settled || !b.connected;  // listeners stay where they are
  entry* raw = e.get();
  if (b.connected) {
    if (!flows_.emplace(flow_of(b), raw).second) return unexpected{errc::invalid_argument, "udp 5-tuple in use"};
  } else {
    if (!listeners_.emplace(listen_key_of(b), raw).second)
      return unexpected{errc::already_listening};
  }
  by_id_.emplace(key, std::move(e));
  return raw;
}

bool udp_table::remove(std::uint32_t worker, std::uint32_t id) noexcept {
  auto it = by_id_.find(id_key(worker, id));
  if (it == by_id_.end()) return false;
  const udp_binding& b = it->second->binding;
  if (b.connected)
    flows_.erase(flow_of(b));
  else
    listeners_.erase(listen_key_of(b));
  by_id_.erase(it);
  return true;
}

udp_table::entry* udp_table::find(std::uint32_t worker, std::uint32_t id) noexcept {
  auto it = by_id_.find(id_key(worker, id));
  return it == by_id_.end() ? nullptr : it->second.get();
}

udp_table::entry* udp_table::match(std::uint32_t src_ip, std::uint16_t src_port,
                                   std::uint32_t dst_ip, std::uint16_t dst_port) noexcept {
  if (!flows_.empty()) {
    auto f = flows_.find(flow_key{dst_ip, src_ip, dst_port, src_port});
    if (f != flows_.end()) return f->second;
  }
  if (auto l = listeners_.find(listen_key(dst_ip, dst_port)); l != listeners_.end()) return l->second;
  if (auto l = listeners_.find(listen_key(0, dst_port)); l != listeners_.end()) return l->second;
  return nullptr;
}

}  // namespace actorstack::dataplane
