#pragma once
/// \file
/// The segments a session worker carves its network sessions' fifos from
/// (udp and tcp alike): one per app worker, made on first use and
/// announced to that app worker before anything names a fifo in it
/// (SPEC 9.3). A segment stays while its app worker lives (for its next
/// sessions), and after that until its last fifo is freed and no core may
/// carve from it any more (a tcp listener or a pending connect `hold`s it).
///
/// Threading: the worker owns this. A data-plane core may allocate fifos
/// from a held segment at the same time: the segment's allocator is
/// lock-free.

#include "session/app_notifier.hpp"

#include "shm/fifo_segment.hpp"

#include <cstdint>
#include <unordered_map>

namespace actorstack::net {

struct app_segments_config {
  std::uint32_t worker = 0;
  std::uint32_t rx_fifo_size = 64 * 1024;   ///< when the app asked for none
  std::uint32_t tx_fifo_size = 64 * 1024;
  std::uint32_t max_fifo_size = 4 * 1024 * 1024;
  std::uint64_t segment_size = 128ull << 20;
};

class app_segments {
 public:
  app_segments(session_layer::app_notifier& apps, app_segments_config cfg);

  /// The app worker's segment, made and announced on first use.
  /// Errors: segment_alloc.
  result<shm::fifo_segment*> segment_of(std::uint32_t app_worker);
  /// The fifo sizes the app worker's sessions get (its app's, else ours).
  session_layer::fifo_sizes sizes_of(std::uint32_t app_worker) const;
  std::uint32_t max_fifo_size() const noexcept { return cfg_.max_fifo_size; }
  /// A pair in the app worker's segment at its sizes. Errors:
  /// segment_alloc, fifo_alloc.
  result<shm::fifo_pair> alloc_pair(std::uint32_t app_worker);
  /// Frees fifos of the app worker's segment (invalid ones are skipped).
  void release(std::uint32_t app_worker, shm::fifo& rx, shm::fifo& tx);

  /// A core may carve fifos from the app worker's segment until unhold().
  void hold(std::uint32_t app_worker);
  void unhold(std::uint32_t app_worker);
  /// The app worker is gone: its segment goes once nothing needs it.
  void app_worker_gone(std::uint32_t app_worker);

  /// Segments mapped now.
  std::uint64_t count() const noexcept { return segments_.size(); }

 private:
  struct entry {
    shm::fifo_segment seg;
    std::uint64_t id = 0;
    std::uint32_t holds = 0;
    bool app_gone = false;
  };
  void maybe_drop(std::uint32_t app_worker);

  session_layer::app_notifier& apps_;
  app_segments_config cfg_;
  std::unordered_map<std::uint32_t, entry> segments_;
};

}  // namespace actorstack::net
