#pragma once
/// \file
/// A session worker's channels to the data-plane cores, shared by its
/// network transports (udp, tcp): one command ring and one event ring per
/// core (dataplane/boundary.hpp). Commands a full ring cannot take wait
/// here, in order; events are drained on the worker's doorbell and handed
/// to whichever transport they belong to.

#include "dataplane/boundary.hpp"

#include <cstdint>
#include <deque>
#include <vector>

namespace actorstack::net {

/// This worker's channels to one data-plane core.
struct core_link {
  dataplane::channel<dataplane::command>* commands = nullptr;
  dataplane::channel<dataplane::event>* events = nullptr;
};

/// Commands to the cores, in order per core: once one waits for room, the
/// rest queue behind it (an add must not overtake its remove, a connect its
/// close).
class command_queue {
 public:
  explicit command_queue(const std::vector<core_link>& cores) : cores_(cores), waiting_(cores.size()) {}

  void send(std::uint32_t core, const dataplane::command& c) {
    auto& w = waiting_[core];
    if (w.empty() && cores_[core].commands->push(c)) return;
    ++deferred_;
    w.push_back(c);
  }
  /// Retries what waits; true if some still does.
  bool flush() {
    bool left = false;
    for (std::size_t core = 0; core < waiting_.size(); ++core) {
      auto& w = waiting_[core];
      while (!w.empty() && cores_[core].commands->push(w.front())) w.pop_front();
      left |= !w.empty();
    }
    return left;
  }
  bool has_deferred() const noexcept {
    for (const auto& w : waiting_)
      if (!w.empty()) return true;
    return false;
  }
  /// Commands that found their ring full (each retried later).
  std::uint64_t deferred() const noexcept { return deferred_; }

 private:
  const std::vector<core_link>& cores_;
  std::vector<std::deque<dataplane::command>> waiting_;
  std::uint64_t deferred_ = 0;
};

/// Drains every core's event ring into `on_event(core, ev)`, at most
/// `budget` events per core; true if it should be called again (it stopped
/// at the budget). The doorbell is re-armed on each empty ring, then the
/// ring is looked at once more: an event pushed before the arm rang nobody.
template <class OnEvent>
bool drain_core_events(const std::vector<core_link>& cores, std::size_t budget, OnEvent&& on_event) {
  bool more = false;
  for (std::uint32_t core = 0; core < cores.size(); ++core) {
    auto& events = *cores[core].events;
    dataplane::event ev;
    for (std::size_t n = 0;; ++n) {
      if (n == budget) {
        more = true;
        break;
      }
      if (!events.pop(ev)) {
        events.arm();
        if (events.empty() || !events.disarm()) break;
        continue;
      }
      on_event(core, ev);
    }
  }
  return more;
}

/// Whether an event belongs to the tcp transport (else udp).
inline bool is_tcp_event(dataplane::event_kind k) noexcept {
  using dataplane::event_kind;
  switch (k) {
    case event_kind::tcp_established:
    case event_kind::tcp_connect_failed:
    case event_kind::tcp_rx:
    case event_kind::tcp_tx_space:
    case event_kind::tcp_peer_closed:
    case event_kind::tcp_reset:
    case event_kind::tcp_released:
    case event_kind::tcp_unlistened:
    case event_kind::tcp_state:
    case event_kind::tcp_info: return true;
    case event_kind::rx:
    case event_kind::tx_space:
    case event_kind::removed:
    case event_kind::add_failed:
    case event_kind::seen:
    case event_kind::taken:
    case event_kind::violation: return false;
  }
  return false;
}

}  // namespace actorstack::net
