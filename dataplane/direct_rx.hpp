#pragma once
/// \file
/// "Bytes arrived" from the data-plane cores straight to an app worker in
/// this process, the mirror of direct_tx.hpp: per app worker one bounded
/// single-producer ring for each core (a core fills only its own: no
/// compare-and-swap on the way, which a shared multi-producer ring cost
/// at every push and pop), and a wake-up armed by the app worker. A
/// request/response turn then costs no session-worker job on its way in
/// either (docs/architecture.md §6, "Bytes arrived, straight to the app
/// worker").
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

#include "dataplane/fault_in.hpp"

#include <boost/lockfree/spsc_queue.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace actorstack::dataplane {

class rx_inbox final : public actorstack::detail::rx_inbox {
 public:
  static constexpr std::size_t capacity = 4096;

  /// With one reference, the maker's; a ring for each of `cores`.
  rx_inbox(std::function<void()> wake, unsigned cores) : wake_(std::move(wake)) {
    for (unsigned c = 0; c < cores; ++c) {
      rings_.push_back(std::make_unique<ring>(capacity));
      fault_in(*rings_.back(), capacity);
    }
  }

  void acquire() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Core `core`, into its own ring. False when that ring is full (the
  /// core tells the session worker instead) or the core is not one of
  /// this inbox's.
  bool push(unsigned core, session_handle h) noexcept {
    return core < rings_.size() && rings_[core]->push(h.value());
  }
  /// A core, after its pushes: true when this core must call wake().
  bool disarm() noexcept { return armed_.exchange(false, std::memory_order_seq_cst); }
  /// A core, after its pass.
  void wake() const { wake_(); }

  // ---- the app worker -------------------------------------------------------
  void take(std::vector<session_handle>& out) override {
    for (;;) {
      drain(out);
      // An exchange, not a store: it reads a core's disarm, so that core's
      // push is seen by the look below.
      armed_.exchange(true, std::memory_order_seq_cst);
      if (!waiting()) return;  // empty while armed: the next push wakes us
      // A push landed between the drain and the arm, its core found the
      // wake-up disarmed: take it now, disarmed again while we drain.
      armed_.exchange(false, std::memory_order_seq_cst);
    }
  }
  bool waiting() const noexcept override {
    for (const auto& r : rings_)
      if (r->read_available() > 0) return true;
    return false;
  }

 private:
  using ring = boost::lockfree::spsc_queue<std::uint64_t>;
  ~rx_inbox() override = default;  // release() deletes

  void drain(std::vector<session_handle>& out) {
    std::uint64_t v = 0;
    for (auto& r : rings_)
      while (r->pop(v)) out.push_back(session_handle::from_value(v));
  }

  std::function<void()> wake_;
  std::vector<std::unique_ptr<ring>> rings_;  // by core
  alignas(64) std::atomic<bool> armed_{true};
  std::atomic<std::uint32_t> refs_{1};
};

}  // namespace actorstack::dataplane
