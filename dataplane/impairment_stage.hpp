#pragma once
/// \file
/// The impairment policy applied to mbufs, one stage per direction per
/// core (dataplane/impairment.hpp says what it does and why).

#include "dataplane/impairment.hpp"

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

struct rte_mbuf;
struct rte_mempool;

namespace actorstack::dataplane {

class impairment_stage {
 public:
  /// `pool` provides the copies of duplicated frames.
  impairment_stage(const impairment_config& cfg, std::uint64_t salt, rte_mempool* pool);
  ~impairment_stage();
  impairment_stage(const impairment_stage&) = delete;
  impairment_stage& operator=(const impairment_stage&) = delete;

  /// Passes `m` through: what leaves now is appended to `out` (none when
  /// dropped, held or delayed; two with a duplicate; a held frame leaves
  /// right after the next one).
  void process(rte_mbuf* m, std::uint64_t now_tsc, std::vector<rte_mbuf*>& out);
  /// Frames whose delay is over, and a held frame nothing followed for a
  /// millisecond (a quiet link must not keep it forever).
  void release(std::uint64_t now_tsc, std::vector<rte_mbuf*>& out);
  bool idle() const noexcept { return held_ == nullptr && delayed_.empty(); }
  const impairment_counters& counters() const noexcept { return policy_.counters(); }

 private:
  void emit(rte_mbuf* m, std::uint64_t now_tsc, std::vector<rte_mbuf*>& out);

  impairment_policy policy_;
  rte_mempool* pool_;
  std::uint64_t delay_ticks_ = 0;
  std::uint64_t hold_limit_ticks_ = 0;
  rte_mbuf* held_ = nullptr;
  std::uint64_t held_since_ = 0;
  std::deque<std::pair<std::uint64_t, rte_mbuf*>> delayed_;  // (due, frame), in order
};

}  // namespace actorstack::dataplane
