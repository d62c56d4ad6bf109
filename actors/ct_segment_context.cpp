#include "actors/ct_segment_context.hpp"

#include "shm/fifo_segment.hpp"

#include <algorithm>
#include <optional>

namespace actorstack {

namespace {

constexpr std::uint64_t pair_margin = 16 * 1024;  // SPEC 6: pair bytes = rx + tx + 16 KiB

// What a pair may come to occupy. Fifos take chunks lazily, so the
// segment's free bytes at accept time say nothing about what its sessions
// will use: the context reserves each pair's worst case instead — both
// fifos at their max size, doubled because a fifo may hold a draining
// chunk and a filling one at once (shm/fifo.cpp), plus the SPEC's margin.
std::uint64_t pair_footprint(std::uint64_t rx_max, std::uint64_t tx_max) {
  return 2 * (rx_max + tx_max) + pair_margin;
}

struct ct_segment {
  std::optional<shm::fifo_segment> seg;  // empty once deleted
  std::uint64_t capacity = 0;            // carvable bytes when created
  std::uint64_t reserved = 0;            // footprints of its live pairs
  std::uint32_t client_sessions = 0;
  std::uint32_t server_sessions = 0;
  bool client_detached = false;
  bool server_detached = false;
};

struct ct_context_state {
  static inline const char* name = "ct_segment_context";
  ct_segment_context_config cfg;
  std::vector<ct_segment> segments;  // index = the pair's `segment`
  std::uint64_t deleted = 0;

  static std::uint64_t unreserved(const ct_segment& s) {
    return s.capacity > s.reserved ? s.capacity - s.reserved : 0;
  }

  // The live segment with the most free (unreserved) bytes that fits `need`.
  std::optional<std::size_t> pick(std::uint64_t need) const {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (!segments[i].seg) continue;
      const auto free = unreserved(segments[i]);
      if (free < need) continue;
      if (!best || free > unreserved(segments[*best])) best = i;
    }
    return best;
  }

  result<ct::ct_fifo_pair> alloc(const ct_alloc_request& req) {
    const std::uint64_t need = pair_footprint(req.rx_size, req.tx_size);
    auto index = pick(need);
    bool added = false;
    if (!index) {
      const std::uint64_t size = std::max(cfg.segment_size, cfg.min_segment_size);
      auto seg = shm::fifo_segment::create(
          "ct-" + std::to_string(cfg.id) + "-" + std::to_string(segments.size()), size);
      if (!seg) return unexpected{errc::segment_alloc, "cannot create a cut-through segment"};
      const std::uint64_t capacity = seg->available_bytes();
      // Even a fresh segment cannot hold this pair: no segment ever will.
      if (capacity < need) return unexpected{errc::alloc, "cut-through fifo pair larger than a segment"};
      segments.push_back({std::move(*seg), capacity, 0, 0, 0, false, false});
      index = segments.size() - 1;
      added = true;
    }
    ct_segment& s = segments[*index];
    auto pair = s.seg->alloc_fifo_pair(req.rx_size, req.tx_size);
    if (!pair) {
      if (added) {  // undo: a segment this call added and nobody uses
        segments.pop_back();
      }
      return unexpected{errc::alloc, "cut-through fifo pair does not fit"};
    }
    // One reference per side: the client shares the pair crossed.
    pair->rx.add_ref();
    pair->tx.add_ref();
    s.reserved += need;
    ++s.client_sessions;
    ++s.server_sessions;
    s.client_detached = s.server_detached = false;
    return ct::ct_fifo_pair{pair->rx, pair->tx, *index, cfg.id};
  }

  void release(const ct::ct_fifo_pair& p, bool client_side) {
    if (p.segment >= segments.size() || !segments[p.segment].seg) return;
    ct_segment& s = segments[p.segment];
    shm::fifo rx = p.server_rx;
    shm::fifo tx = p.server_tx;
    const std::uint64_t footprint = pair_footprint(rx.max_size(), tx.max_size());
    const bool last = s.seg->free_fifo(rx) == 0;
    s.seg->free_fifo(tx);
    if (last) s.reserved -= std::min(s.reserved, footprint);  // both sides are done with it
    std::uint32_t& count = client_side ? s.client_sessions : s.server_sessions;
    if (count > 0 && --count == 0) (client_side ? s.client_detached : s.server_detached) = true;
    if (s.client_detached && s.server_detached) {
      s.seg.reset();  // SPEC 6: both sides detached -> delete the segment
      ++deleted;
    }
  }

  ct_context_stats stats() const {
    ct_context_stats out;
    for (const auto& s : segments) {
      if (!s.seg) continue;
      ++out.segments;
      out.fifos += s.seg->fifo_count();
      out.bytes_free += s.seg->available_bytes();
      out.bytes_used += s.seg->size() - s.seg->available_bytes();
    }
    out.segments_deleted = deleted;
    return out;
  }
};

using self_pointer = ct_segment_context_actor::stateful_pointer<ct_context_state>;

}  // namespace

ct_fifo_actor spawn_ct_segment_context(caf::actor_system& sys, ct_segment_context_config cfg) {
  auto a = sys.spawn(
      [](self_pointer self, ct_segment_context_config cfg) -> ct_segment_context_actor::behavior_type {
        self->state.cfg = cfg;
        return {
            [=](ct_alloc_atom, const ct_alloc_request& req) -> caf::result<ct::ct_fifo_pair> {
              auto r = self->state.alloc(req);
              if (!r) return caf::make_error(caf::sec::runtime_error, r.error().message());
              return *r;
            },
            [=](ct_release_atom, const ct::ct_fifo_pair& p, bool client_side) {
              self->state.release(p, client_side);
            },
            [=](stats_atom) { return self->state.stats(); },
        };
      },
      cfg);
  return a;
}

}  // namespace actorstack
