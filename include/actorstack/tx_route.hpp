#pragma once
/// \file
/// Where an in-process application's "data written" goes when the session
/// runs over a network transport on a data-plane core: straight to that
/// core, not through the session worker (docs/architecture.md, "Data
/// written, straight to the core"); and how that core's "bytes arrived"
/// comes back to the app worker the same way ("Bytes arrived, straight to
/// the app worker"). Opaque to applications: the stack puts the route in
/// accept / connected notifications and the app worker's session table
/// uses it.

#include <actorstack/session_handle.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace actorstack {

/// The core that owns a connection and the connection's name there (the
/// TCP engine's index and generation: a stale route names nothing, and
/// the core ignores it).
struct tx_route {
  bool valid = false;     ///< false: tell the session worker, as always
  bool nodelay = false;   ///< the connection sends without Nagle's delay
  /// The core may tell the app worker of arriving bytes itself (false
  /// when the session worker must see them: a fifo-tuning callback).
  bool rx = false;
  std::uint32_t core = 0;
  std::uint32_t conn = 0;
  std::uint32_t generation = 0;
};

namespace detail {
/// One app worker's inbox of "bytes arrived", filled by the data-plane
/// cores for the sessions it routed there (direct_tx::route_rx). Made by
/// direct_tx::make_rx_inbox; belongs to that app worker's actor.
class rx_inbox {
 public:
  virtual ~rx_inbox() = default;
  /// Appends the sessions named since the last call to `out` (a session
  /// may be named twice) and, once the inbox is empty, asks for the wake
  /// call again. Only the app worker calls it.
  virtual void take(std::vector<session_handle>& out) = 0;
  /// Whether a core named a session since the last take (a hint: the
  /// app worker looks before it delivers other news, so that bytes that
  /// arrived before a close are read before it).
  virtual bool waiting() const noexcept = 0;
};

/// The data plane's end of tx routes (implemented by the stack's data
/// plane; shared by every in-process app worker).
class direct_tx {
 public:
  virtual ~direct_tx() = default;
  /// An inbox for one app worker. `wake` runs on a core's thread, once
  /// after the inbox went non-empty (until take() found it empty again):
  /// it must not block (it sends the app worker an rx_ready
  /// notification). Null: this data plane routes no rx.
  virtual std::shared_ptr<rx_inbox> make_rx_inbox(std::function<void()> wake) {
    (void)wake;
    return nullptr;
  }
  /// Asks `r`'s core to name `h` in `in` whenever bytes arrive on the
  /// connection from now on, instead of telling the session worker.
  /// False when it could not be asked (the session worker goes on
  /// telling). `in` must come from this make_rx_inbox.
  virtual bool route_rx(const tx_route& r, rx_inbox& in, session_handle h) noexcept {
    (void)r, (void)in, (void)h;
    return false;
  }
  /// Queues "data written" for `r`'s core. False when it could not, or
  /// when that core may be asleep: then the session worker must be told
  /// as well (its message wakes the thread the core runs on; the core
  /// acts on the first of the two and finds nothing new in the second).
  virtual bool post(const tx_route& r) noexcept = 0;
};
}  // namespace detail

}  // namespace actorstack
