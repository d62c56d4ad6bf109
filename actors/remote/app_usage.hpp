#pragma once
/// \file
/// What one attached app holds, as its gateways count it against its quotas
/// (`quota.sessions`, `quota.pending-connects`).
///
/// An app may have several gateways (one per app worker, worker add); they
/// run on any scheduler thread, so the counts are atomics they share — one
/// record per app, nothing else in it. Only gateways take and give back,
/// each for what it took; a gateway that ends gives back all it held.

#include <atomic>
#include <cstdint>

namespace actorstack {

struct app_usage {
  app_usage(std::uint32_t app_index, std::uint32_t max_sessions_, std::uint32_t max_pending_)
      : app(app_index), max_sessions(max_sessions_), max_pending_connects(max_pending_) {}

  const std::uint32_t app;
  const std::uint32_t max_sessions;
  const std::uint32_t max_pending_connects;
  std::atomic<std::uint32_t> sessions{0};
  std::atomic<std::uint32_t> pending_connects{0};

  /// One more, if below `limit`; false (and nothing taken) at it.
  static bool take(std::atomic<std::uint32_t>& n, std::uint32_t limit) noexcept {
    std::uint32_t now = n.load(std::memory_order_relaxed);
    while (now < limit)
      if (n.compare_exchange_weak(now, now + 1, std::memory_order_relaxed)) return true;
    return false;
  }
  static void give_back(std::atomic<std::uint32_t>& n, std::uint32_t count = 1) noexcept {
    n.fetch_sub(count, std::memory_order_relaxed);
  }
};

}  // namespace actorstack
