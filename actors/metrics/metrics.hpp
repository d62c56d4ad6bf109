#pragma once
/// \file
/// Prometheus metrics from the actors' own reports. Nothing is counted
/// twice or polled in the background: at each scrape the collector asks
/// the inspector for a snapshot (the same one `show` renders) and turns it
/// into metric families. Names: `actorstack_` prefix, `_total` for
/// counters, base units (bytes).

#include "session/view/render.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <optional>
#include <vector>

namespace actorstack::metrics {

/// The metric families of one snapshot. `up` is false when the stack did
/// not answer (the families then hold only actorstack_up 0).
std::vector<prometheus::MetricFamily> families(const view::snapshot& snap, bool up = true);

/// Asks `fetch` for a snapshot at every scrape (on the exposer's thread).
class stack_collector final : public prometheus::Collectable {
 public:
  using fetch_fn = std::function<std::optional<view::snapshot>()>;
  explicit stack_collector(fetch_fn fetch) : fetch_(std::move(fetch)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  fetch_fn fetch_;
};

}  // namespace actorstack::metrics
