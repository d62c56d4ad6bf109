#pragma once
/// \file
/// How a data-plane core wakes an app worker whose rx inbox it filled
/// (tx_route.hpp, detail::rx_inbox): an rx_ready notification, sent from
/// the core's thread, to an actor named weakly — the inbox lives in that
/// actor's state, and a strong name there would keep the actor alive
/// forever. An app worker that is gone is simply not told.

#include <actorstack/app_worker.hpp>

#include <caf/all.hpp>

#include <cstdint>
#include <functional>

namespace actorstack {

inline std::function<void()> rx_wake(const caf::actor_addr& app_worker, std::uint32_t index) {
  return [app_worker, index] {
    if (auto a = caf::actor_cast<caf::actor>(app_worker)) {
      app_notification n;
      n.kind = notification::rx_ready;
      n.app_worker = index;
      caf::anon_send(a, notify_atom_v, n);
    }
  };
}

}  // namespace actorstack
