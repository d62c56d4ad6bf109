#pragma once
/// \file
/// What leaves a session_worker actor for other owners besides
/// notifications: cut-through fifo pairs released to their segment
/// contexts and half-open indices to the first worker (ct::ct_sink), and
/// udp sessions moving between workers (udp::udp_migration_port).

#include "actors/session_worker.hpp"

#include <unordered_map>
#include <vector>

namespace actorstack {

using worker_self = session_worker_actor::pointer;

// What leaves the cut-through part of this worker.
class actor_ct_sink final : public ct::ct_sink {
 public:
  actor_ct_sink(worker_self self, ct_fifo_actor fifos, caf::actor first_worker)
      : self_(self), fifos_(std::move(fifos)), first_worker_(std::move(first_worker)) {}
  // Gathered per context and sent once per run (flush_releases): under
  // connection churn a run closes many sessions, each releasing two sides.
  void release_fifos(const ct::ct_fifo_pair& pair, bool client_side) override {
    releases_[pair.context].push_back({pair, client_side});
  }
  bool has_releases() const noexcept { return !releases_.empty(); }
  void flush_releases() {
    for (auto& [id, batch] : releases_) self_->send(context(id), ct_release_atom_v, std::move(batch));
    releases_.clear();
  }
  // The segment context the root announced for `id`; until it has, the
  // root itself (which forwards). Going direct saves a hop per alloc and
  // per release on the connect path.
  ct_fifo_actor context(std::uint32_t id) const {
    auto it = contexts.find(id);
    return it != contexts.end() ? it->second : fifos_;
  }
  // An invalid handle: the context ended (retired).
  void add_context(std::uint32_t id, ct_fifo_actor ctx) {
    if (ctx)
      contexts[id] = std::move(ctx);
    else
      contexts.erase(id);
  }
  std::unordered_map<std::uint32_t, ct_fifo_actor> contexts;
  void half_open_reusable(std::uint32_t index) override {
    if (first_worker_)
      self_->send(caf::actor_cast<session_worker_actor>(first_worker_), half_open_atom_v, index);
    else
      reusable_here.push_back(index);  // this is the first worker
  }
  std::vector<std::uint32_t> reusable_here;

 private:
  std::unordered_map<std::uint32_t, std::vector<ct::ct_release>> releases_;  // by context, this run's
  worker_self self_;
  ct_fifo_actor fifos_;
  caf::actor first_worker_;
};

// Moves udp sessions between workers with typed messages (SPEC §5). The
// workers' handles arrive after spawn (the vector message).
class actor_udp_migration final : public udp::udp_migration_port {
 public:
  actor_udp_migration(worker_self self, const std::vector<caf::actor>& workers)
      : self_(self), workers_(workers) {}
  void offer(std::uint32_t worker, const udp::udp_migrant& m) override {
    if (worker < workers_.size()) self_->send(target(worker), migrate_atom_v, m);
  }
  void departed(std::uint32_t origin_worker, session_handle origin, std::uint32_t app_worker, shm::fifo rx,
                shm::fifo tx) override {
    if (origin_worker < workers_.size())
      self_->send(target(origin_worker), migrate_atom_v, origin, app_worker, rx, tx);
  }

 private:
  session_worker_actor target(std::uint32_t w) const {
    return caf::actor_cast<session_worker_actor>(workers_[w]);
  }
  worker_self self_;
  const std::vector<caf::actor>& workers_;
};

}  // namespace actorstack
