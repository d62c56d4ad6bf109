#pragma once
/// \file
/// The ct_segment_context actor (SPEC 6 "Segments"): one per (server app,
/// client app worker, server app worker). It owns that context's memfd
/// segments, the per-segment client and server session counts and detach
/// flags. A new pair goes to the segment with the most free bytes that
/// still fits rx + tx + 16 KiB; if none does, a segment of max(configured
/// size, 128 MiB) is added (memfd memory is only committed when touched).
/// When both sides of a segment have detached, the segment is deleted. No
/// locks: the actor serialises every change.
///
/// Once one of its two app workers is gone (deleted, detached, dead) no
/// new pair will be asked of it: the root tells it to retire, and it ends
/// (normally) when its last segment is deleted — a daemon serving one
/// short-lived client process after another keeps no context per client.

#include "session/view/inspection.hpp"
#include "actors/session_worker.hpp"

#include <chrono>

namespace actorstack {

struct ct_context_stats {
  std::uint64_t segments = 0;
  std::uint64_t fifos = 0;
  std::uint64_t bytes_used = 0;
  std::uint64_t bytes_free = 0;
  std::uint64_t segments_deleted = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ct_context_stats& x) {
  return f(caf::meta::type_name("ct_context_stats"), x.segments, x.fifos, x.bytes_used,
           x.bytes_free, x.segments_deleted);
}

struct ct_segment_context_config {
  std::uint32_t id = 0;                            ///< stamped into every pair it hands out
  std::uint64_t segment_size = 128ull << 20;       ///< configured session.segment-size
  std::uint64_t min_segment_size = 128ull << 20;   ///< SPEC 6 floor (tests lower it)
  /// How long a segment both sides detached from waits before it is
  /// deleted; a pair placed in it meanwhile keeps it.
  std::chrono::milliseconds linger{50};
  /// Told about every segment added and deleted (SPEC 6, 9.3).
  app_worker_actor client_app;
  app_worker_actor server_app;
  std::uint32_t client_app_worker = 0;
  std::uint32_t server_app_worker = 0;
};

using ct_segment_context_actor =
    ct_fifo_actor::extend<caf::replies_to<stats_atom>::with<ct_context_stats>,
                          caf::replies_to<segments_atom>::with<ct_context_report>,
                          caf::reacts_to<ct_reap_atom, std::uint64_t, std::uint64_t>,
                          caf::reacts_to<stop_atom>>;  // retire: end once no segment is left

ct_fifo_actor spawn_ct_segment_context(caf::actor_system& sys, ct_segment_context_config cfg);

}  // namespace actorstack
