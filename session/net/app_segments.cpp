#include "session/net/app_segments.hpp"

#include <string>

namespace actorstack::net {

namespace {
// Segment ids share one space with cut-through's (context << 32 | index):
// the top bit marks a network transport's per-app segment.
constexpr std::uint64_t network_segment_bit = std::uint64_t{1} << 63;
}  // namespace

app_segments::app_segments(session_layer::app_notifier& apps, app_segments_config cfg) : apps_(apps), cfg_(cfg) {}

result<shm::fifo_segment*> app_segments::segment_of(std::uint32_t app_worker) {
  auto it = segments_.find(app_worker);
  if (it != segments_.end()) return &it->second.seg;
  const std::string name = "as-net-w" + std::to_string(cfg_.worker) + "-a" + std::to_string(app_worker);
  auto seg = shm::fifo_segment::create(name, cfg_.segment_size);
  if (!seg) return unexpected{errc::segment_alloc, seg.error().detail};
  entry e;
  e.seg = std::move(*seg);
  e.id = network_segment_bit | (std::uint64_t{cfg_.worker} << 32) | app_worker;
  it = segments_.emplace(app_worker, std::move(e)).first;
  // Before the notification that names one of its fifos (SPEC 9.3).
  const shm::fifo_segment& s = it->second.seg;
  apps_.segment_added(app_worker, {it->second.id, s.name(), s.size(), s.fd(),
                                   reinterpret_cast<std::uintptr_t>(s.memory().base())});
  return &it->second.seg;
}

session_layer::fifo_sizes app_segments::sizes_of(std::uint32_t app_worker) const {
  const session_layer::fifo_sizes wanted = apps_.fifo_sizes_of(app_worker);
  return {wanted.rx != 0 ? wanted.rx : cfg_.rx_fifo_size, wanted.tx != 0 ? wanted.tx : cfg_.tx_fifo_size};
}

result<shm::fifo_pair> app_segments::alloc_pair(std::uint32_t app_worker) {
  auto seg = segment_of(app_worker);
  if (!seg) return unexpected{seg.error()};
  const session_layer::fifo_sizes sizes = sizes_of(app_worker);
  auto pair = (*seg)->alloc_fifo_pair(sizes.rx, sizes.tx, cfg_.max_fifo_size);
  if (!pair) return unexpected{errc::fifo_alloc, pair.error().detail};
  return *pair;
}

void app_segments::release(std::uint32_t app_worker, shm::fifo& rx, shm::fifo& tx) {
  auto it = segments_.find(app_worker);
  if (it == segments_.end()) return;
  if (rx.valid()) it->second.seg.free_fifo(rx);
  if (tx.valid()) it->second.seg.free_fifo(tx);
  rx = {};
  tx = {};
  maybe_drop(app_worker);
}

void app_segments::hold(std::uint32_t app_worker) {
  if (auto it = segments_.find(app_worker); it != segments_.end()) ++it->second.holds;
}

void app_segments::unhold(std::uint32_t app_worker) {
  auto it = segments_.find(app_worker);
  if (it == segments_.end() || it->second.holds == 0) return;
  --it->second.holds;
  maybe_drop(app_worker);
}

void app_segments::app_worker_gone(std::uint32_t app_worker) {
  auto it = segments_.find(app_worker);
  if (it == segments_.end()) return;
  it->second.app_gone = true;
  maybe_drop(app_worker);
}

void app_segments::maybe_drop(std::uint32_t app_worker) {
  auto it = segments_.find(app_worker);
  if (it == segments_.end()) return;
  const entry& e = it->second;
  // Kept for the app's next sessions, for fifos still out, or for a core
  // that may still carve from it.
  if (!e.app_gone || e.seg.fifo_count() > 0 || e.holds > 0) return;
  segments_.erase(it);
}

}  // namespace actorstack::net
