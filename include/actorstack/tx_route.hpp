#pragma once
/// \file
/// Where an in-process application's "data written" goes when the session
/// runs over a network transport on a data-plane core: straight to that
/// core, not through the session worker (docs/architecture.md, "Data
/// written, straight to the core"). Opaque to applications: the stack
/// puts it in accept / connected notifications and the app worker's
/// session control uses it.

#include <cstdint>

namespace actorstack {

/// The core that owns a connection and the connection's name there (the
/// TCP engine's index and generation: a stale route names nothing, and
/// the core ignores it).
struct tx_route {
  bool valid = false;     ///< false: tell the session worker, as always
  bool nodelay = false;   ///< the connection sends without Nagle's delay
  std::uint32_t core = 0;
  std::uint32_t conn = 0;
  std::uint32_t generation = 0;
};

namespace detail {
/// The data plane's end of tx routes (implemented by the stack's data
/// plane; shared by every in-process app worker).
class direct_tx {
 public:
  virtual ~direct_tx() = default;
  /// Queues "data written" for `r`'s core. False when it could not, or
  /// when that core may be asleep: then the session worker must be told
  /// as well (its message wakes the thread the core runs on; the core
  /// acts on the first of the two and finds nothing new in the second).
  virtual bool post(const tx_route& r) noexcept = 0;
};
}  // namespace detail

}  // namespace actorstack
