#include "actors/caf_error.hpp"
#include "actors/ct_segment_context.hpp"
#include "actors/mailbox_depth.hpp"

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
  std::uint64_t epoch = 0;  // bumped by every pair placed here: a stale reap is ignored
  bool reap_pending = false;  // one linger timer per segment at most
};

struct ct_context_state {
  static inline const char* name = "ct_segment_context";
  ct_segment_context_config cfg;
  std::vector<ct_segment> segments;  // index = the pair's `segment`
  std::uint64_t deleted = 0;
  bool retiring = false;  // an app worker of this context is gone

  bool empty() const {
    return std::none_of(segments.begin(), segments.end(), [](const ct_segment& s) { return s.seg.has_value(); });
  }

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

  segment_info info(std::size_t index) const {
    const auto& mem = segments[index].seg->memory();
    return {(std::uint64_t{cfg.id} << 32) | index, mem.name(), mem.size(), mem.fd(),
            reinterpret_cast<std::uintptr_t>(mem.base())};
  }

  // `added` names the segment this call had to add (apps must hear of it).
  result<ct::ct_fifo_pair> alloc(const ct_alloc_request& req, std::optional<segment_info>& added_info) {
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
    ++s.epoch;
    if (added) added_info = info(*index);
    return ct::ct_fifo_pair{pair->rx, pair->tx, *index, cfg.id};
  }

  // True when this release left the segment with both sides detached:
  // the caller schedules its deletion (reap) after the linger time.
  bool release(const ct::ct_fifo_pair& p, bool client_side) {
    if (p.segment >= segments.size() || !segments[p.segment].seg) return false;
    ct_segment& s = segments[p.segment];
    shm::fifo rx = p.server_rx;
    shm::fifo tx = p.server_tx;
    const std::uint64_t footprint = pair_footprint(rx.max_size(), tx.max_size());
    const bool last = s.seg->free_fifo(rx) == 0;
    s.seg->free_fifo(tx);
    if (last) s.reserved -= std::min(s.reserved, footprint);  // both sides are done with it
    std::uint32_t& count = client_side ? s.client_sessions : s.server_sessions;
    if (count > 0 && --count == 0) (client_side ? s.client_detached : s.server_detached) = true;
    return s.client_detached && s.server_detached;
  }

  // SPEC 6: both sides detached -> delete the segment. Unless a pair was
  // placed in it since (`epoch` moved on): then it lives on.
  // `again` says the segment emptied anew since the timer was set: the
  // caller sets another.
  std::optional<segment_info> reap(std::uint64_t index, std::uint64_t epoch, bool& again) {
    again = false;
    if (index >= segments.size() || !segments[index].seg) return std::nullopt;
    ct_segment& s = segments[index];
    s.reap_pending = false;
    if (!s.client_detached || !s.server_detached) return std::nullopt;  // in use again
    if (s.epoch != epoch) {
      again = true;  // used and emptied again meanwhile: give it a full linger
      s.reap_pending = true;
      return std::nullopt;
    }
    auto gone = info(index);
    gone.fd = -1;  // closed with the segment
    s.seg.reset();
    ++deleted;
    return gone;
  }

  ct_context_report report() const {
    ct_context_report out;
    out.id = cfg.id;
    out.client_app_worker = cfg.client_app_worker;
    out.server_app_worker = cfg.server_app_worker;
    out.segments_deleted = deleted;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const auto& s = segments[i];
      if (!s.seg) continue;
      segment_row row;
      row.id = info(i).id;
      row.size = s.seg->size();
      row.bytes_free = s.seg->available_bytes();
      row.bytes_used = row.size - row.bytes_free;
      row.bytes_reserved = s.reserved;
      row.fifos = s.seg->fifo_count();
      row.client_sessions = s.client_sessions;
      row.server_sessions = s.server_sessions;
      row.client_detached = s.client_detached;
      row.server_detached = s.server_detached;
      out.segments.push_back(row);
    }
    return out;
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

void release(self_pointer self, const ct::ct_fifo_pair& p, bool client_side) {
  if (!self->state.release(p, client_side)) return;
  // Deleting at once would make connection churn pay a memfd, a mapping
  // and fresh page faults per burst; a short linger lets the next pair
  // reuse the segment (docs/architecture.md).
  auto& seg = self->state.segments[p.segment];
  if (seg.reap_pending) return;
  seg.reap_pending = true;
  self->delayed_send(self, self->state.cfg.linger, ct_reap_atom_v, p.segment, seg.epoch);
}

// A retiring context with nothing left ends. A pair asked of it meanwhile
// (a connect already on its way) is served and keeps it until reaped.
void end_if_retired(self_pointer self) {
  if (self->state.retiring && self->state.empty()) self->quit();
}

void tell_apps(self_pointer self, notification kind, const segment_info& seg) {
  const auto& cfg = self->state.cfg;
  const std::pair<const app_worker_actor*, std::uint32_t> apps[] = {
      {&cfg.server_app, cfg.server_app_worker}, {&cfg.client_app, cfg.client_app_worker}};
  for (const auto& [actor, index] : apps) {
    if (!*actor) continue;
    app_notification n;
    n.kind = kind;
    n.app_worker = index;
    n.segment = seg;
    self->send(*actor, notify_atom_v, n);
  }
}

}  // namespace

ct_fifo_actor spawn_ct_segment_context(caf::actor_system& sys, ct_segment_context_config cfg) {
  auto a = sys.spawn(
      [](self_pointer self, ct_segment_context_config cfg) -> ct_segment_context_actor::behavior_type {
        self->state.cfg = cfg;
        return {
            [=](ct_alloc_atom, const ct_alloc_request& req) -> caf::result<ct::ct_fifo_pair> {
              std::optional<segment_info> added;
              auto r = self->state.alloc(req, added);
              if (!r) return to_caf(r.error());
              // Both apps hear of the segment before the reply lets the
              // worker send the accept (SPEC 9.3): in one process a send
              // enqueues at once, so causal order is mailbox order.
              if (added) tell_apps(self, notification::segment_add, *added);
              return *r;
            },
            [=](ct_release_atom, const std::vector<ct::ct_release>& batch) {
              for (const auto& r : batch) release(self, r.pair, r.client_side);
            },
            [=](ct_reap_atom, std::uint64_t index, std::uint64_t epoch) {
              bool again = false;
              if (auto gone = self->state.reap(index, epoch, again)) {
                tell_apps(self, notification::segment_del, *gone);
                end_if_retired(self);
              } else if (again)
                self->delayed_send(self, self->state.cfg.linger, ct_reap_atom_v, index,
                                   self->state.segments[index].epoch);
            },
            [=](stop_atom) {
              self->state.retiring = true;
              end_if_retired(self);
            },
            [=](stats_atom) { return self->state.stats(); },
            [=](segments_atom) {
              auto r = self->state.report();
              r.mailbox = mailbox_depth(self);
              return r;
            },
        };
      },
      cfg);
  return a;
}

}  // namespace actorstack
