#pragma once
/// \file
/// What one attached app holds, as its gateways count it against its quotas
/// (`quota.sessions`, `quota.pending-connects`, `quota.segment-bytes`).
///
/// An app may have several gateways (one per app worker, worker add); they
/// run on any scheduler thread, so the counts are atomics they share — one
/// record per app, nothing else in it. Only gateways take and give back,
/// each for what it took; a gateway that ends gives back all it held.

#include <atomic>
#include <cstdint>

namespace actorstack {

struct app_quotas {
  std::uint32_t sessions = 0;
  std::uint32_t pending_connects = 0;
  std::uint64_t segment_bytes = 0;
};

struct app_usage {
  app_usage(std::uint32_t app_index, app_quotas limits_) : app(app_index), limits(limits_) {}

  const std::uint32_t app;
  const app_quotas limits;
  std::atomic<std::uint32_t> sessions{0};
  std::atomic<std::uint32_t> pending_connects{0};
  /// Bytes of the segments the app was given (mapped in its process).
  std::atomic<std::uint64_t> segment_bytes{0};

  /// `count` more, if that stays at or below `limit`; false (and nothing
  /// taken) otherwise.
  template <class T>
  static bool take(std::atomic<T>& n, T limit, T count = 1) noexcept {
    T now = n.load(std::memory_order_relaxed);
    while (now <= limit && count <= limit - now)
      if (n.compare_exchange_weak(now, now + count, std::memory_order_relaxed)) return true;
    return false;
  }
  template <class T>
  static void give_back(std::atomic<T>& n, T count = 1) noexcept {
    n.fetch_sub(count, std::memory_order_relaxed);
  }
};

}  // namespace actorstack
