#pragma once
/// \file
/// "Bytes arrived" from the data-plane cores straight to an app worker in
/// this process, the mirror of direct_tx.hpp: one bounded multi-producer
/// ring per app worker, filled by every core that holds one of its routed
/// connections, and a wake-up armed by the app worker. A request/response
/// turn then costs no session-worker job on its way in either
/// (docs/architecture.md §6, "Bytes arrived, straight to the app worker").
///
/// The wake-up follows the event channels' rule (boundary.hpp): the app
/// worker arms after it found the ring empty; a core that pushes and then
/// disarms it calls `wake` once, after its pass. Nothing is lost and a
/// burst of pushes costs one message.
///
/// Lifetime: the app worker's actor holds the inbox, and so does every
/// core connection routed to it (an intrusive count, since a core's
/// connection record and the lock-free ring that carries the route hold a
/// plain pointer). An app worker that is gone leaves its inbox to the
/// cores until their connections end; `wake` then sends to nobody.

#include <actorstack/tx_route.hpp>

#include <boost/lockfree/queue.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>

namespace actorstack::dataplane {

class rx_inbox final : public actorstack::detail::rx_inbox {
 public:
  static constexpr std::size_t capacity = 4096;

  /// With one reference, the maker's.
  explicit rx_inbox(std::function<void()> wake) : wake_(std::move(wake)), ring_(capacity) {}

  void acquire() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// A core. False when the ring is full (the core tells the session
  /// worker instead).
  bool push(session_handle h) noexcept { return ring_.bounded_push(h.value()); }
  /// A core, after its pushes: true when this core must call wake().
  bool disarm() noexcept { return armed_.exchange(false, std::memory_order_seq_cst); }
  /// A core, after its pass.
  void wake() const { wake_(); }

  // ---- the app worker -------------------------------------------------------
  void take(std::vector<session_handle>& out) override {
    std::uint64_t v = 0;
    for (;;) {
      while (ring_.pop(v)) out.push_back(session_handle::from_value(v));
      // An exchange, not a store: it reads a core's disarm, so that core's
      // push is seen by the pop below.
      armed_.exchange(true, std::memory_order_seq_cst);
      if (!ring_.pop(v)) return;  // empty while armed: the next push wakes us
      // A push landed between the last pop and the arm, its core found the
      // wake-up disarmed: take it now, disarmed again while we drain.
      out.push_back(session_handle::from_value(v));
      armed_.exchange(false, std::memory_order_seq_cst);
    }
  }
  bool waiting() const noexcept override { return !ring_.empty(); }

 private:
  ~rx_inbox() override = default;  // release() deletes

  std::function<void()> wake_;
  boost::lockfree::queue<std::uint64_t, boost::lockfree::fixed_sized<true>> ring_;
  alignas(64) std::atomic<bool> armed_{true};
  std::atomic<std::uint32_t> refs_{1};
};

}  // namespace actorstack::dataplane
