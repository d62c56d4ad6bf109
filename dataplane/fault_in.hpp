#pragma once
/// \file
/// Makes a fresh ring's memory resident before any thread uses it.
///
/// A boost spsc_queue takes its slots from the allocator untouched, so
/// their pages fault in one by one the first time a burst reaches that
/// deep: on a busy-polling core each fault costs microseconds, and the
/// process's resident memory grows with the deepest burst seen, which a
/// measurement of memory per connection would charge to connections.
/// Rings between cores and workers are few and fixed in size: they pay
/// their memory at start instead.

#include <boost/lockfree/spsc_queue.hpp>

#include <cstddef>

namespace actorstack::dataplane {

/// Writes every slot of `ring` (made with capacity `capacity`, still empty
/// and unshared) once; it is empty again afterwards. Boost keeps one slot
/// beyond the capacity (to tell full from empty): that one too.
template <class T>
void fault_in(boost::lockfree::spsc_queue<T>& ring, std::size_t capacity) {
  T x{};
  for (std::size_t i = 0; i <= capacity; ++i) {
    ring.push(x);
    ring.pop(x);
  }
}

}  // namespace actorstack::dataplane
