#pragma once
/// \file
/// "Data written" from app workers in this process straight to the core
/// that owns the connection (include/actorstack/tx_route.hpp): one bounded
/// multi-producer ring per core, drained at every pass before the command
/// rings. A request/response turn then costs no session-worker message on
/// its way out (docs/performance.md, "Data written, straight to the core").
///
/// A core whose thread may go to sleep says so first (its `dozing` flag,
/// raised after a run of empty passes, before its thread could sleep): a
/// producer that sees it up tells the session worker as well, whose
/// message wakes that thread. The flag and the ring are a Dekker pair —
/// the core raises the flag, then drains; a producer pushes, then reads
/// the flag — so a notice is either seen by a pass or also sent the old
/// way; it is never left waiting for a sleep to end.

#include "dataplane/direct_rx.hpp"

#include <actorstack/tx_route.hpp>

#include <boost/lockfree/queue.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace actorstack::dataplane {

/// A connection named as the core's TCP engine names it (as tcp_sent),
/// and what the app worker says of it: data written, or (`rx_to` set)
/// "name `handle` in this inbox when bytes arrive" (direct_rx.hpp; the
/// notice carries one reference to the inbox, which the core keeps or
/// releases).
struct tx_notice {
  std::uint32_t conn = 0;
  std::uint32_t generation = 0;
  bool nodelay = false;
  rx_inbox* rx_to = nullptr;
  std::uint64_t handle = 0;
};

/// One core's ring of tx notices and its dozing flag.
class tx_inbox {
 public:
  static constexpr std::size_t capacity = 4096;

  tx_inbox() : ring_(capacity) {}
  /// Any thread. False when the ring is full.
  bool push(const tx_notice& n) noexcept { return ring_.bounded_push(n); }
  /// The core.
  bool pop(tx_notice& n) noexcept { return ring_.pop(n); }
  /// The core: its thread may sleep after this pass (true), or it is
  /// polling again (false). Raised before the pass drains the ring.
  void set_dozing(bool on) noexcept { dozing_.store(on, std::memory_order_seq_cst); }
  /// A producer, after its push.
  bool dozing() const noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return dozing_.load(std::memory_order_seq_cst);
  }

 private:
  boost::lockfree::queue<tx_notice, boost::lockfree::fixed_sized<true>> ring_;
  // Up until the core's first busy pass: nothing is lost before it runs.
  alignas(64) std::atomic<bool> dozing_{true};
};

/// Every core's inbox, as app workers post to them (shared with them: it
/// outlives the data plane if an app worker does), and the app workers'
/// rx inboxes the cores fill.
class direct_tx_inboxes final : public actorstack::detail::direct_tx {
 public:
  explicit direct_tx_inboxes(unsigned cores) {
    for (unsigned c = 0; c < cores; ++c) inboxes_.push_back(std::make_unique<tx_inbox>());
  }
  ~direct_tx_inboxes() override {
    // Routes no core took: their references go with them.
    tx_notice n;
    for (auto& in : inboxes_)
      while (in->pop(n))
        if (n.rx_to != nullptr) n.rx_to->release();
  }
  tx_inbox& core(unsigned c) { return *inboxes_.at(c); }
  bool post(const tx_route& r) noexcept override {
    if (!r.valid || r.core >= inboxes_.size()) return false;
    tx_inbox& in = *inboxes_[r.core];
    return in.push({r.conn, r.generation, r.nodelay}) && !in.dozing();
  }
  std::shared_ptr<actorstack::detail::rx_inbox> make_rx_inbox(std::function<void()> wake) override {
    auto* in = new rx_inbox(std::move(wake), static_cast<unsigned>(inboxes_.size()));
    return {in, [](actorstack::detail::rx_inbox* p) { static_cast<rx_inbox*>(p)->release(); }};
  }
  // No wake-up needed: until the core applies it, the session worker tells.
  bool route_rx(const tx_route& r, actorstack::detail::rx_inbox& in, session_handle h) noexcept override {
    if (!r.valid || !r.rx || r.core >= inboxes_.size()) return false;
    auto& ours = static_cast<rx_inbox&>(in);
    ours.acquire();
    tx_notice n{r.conn, r.generation, r.nodelay, &ours, h.value()};
    if (inboxes_[r.core]->push(n)) return true;
    ours.release();
    return false;
  }

 private:
  std::vector<std::unique_ptr<tx_inbox>> inboxes_;
};

}  // namespace actorstack::dataplane
