#pragma once
/// \file
/// Counters a core keeps as plain integers in its own structures (the TCP
/// engine's, the impairment stage's), copied now and then into atomics that
/// any thread may read (the inspector, metrics). The core is the only
/// writer; a reader sees values at most one publication old, never torn.

#include "dataplane/core_counters.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace actorstack::dataplane {

class published_counters {
 public:
  explicit published_counters(std::vector<std::string> names)
      : names_(std::move(names)), values_(std::make_unique<counter[]>(names_.size())) {}

  /// The core: `values` in the order of the names (extra ones ignored).
  void publish(std::span<const std::uint64_t> values) noexcept {
    const std::size_t n = std::min(values.size(), names_.size());
    for (std::size_t i = 0; i < n; ++i) values_[i].set(values[i]);
  }
  /// Any thread: (name, value) in the order of the names.
  std::vector<std::pair<std::string, std::uint64_t>> read() const {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    out.reserve(names_.size());
    for (std::size_t i = 0; i < names_.size(); ++i) out.emplace_back(names_[i], values_[i].get());
    return out;
  }

 private:
  std::vector<std::string> names_;
  std::unique_ptr<counter[]> values_;
};

}  // namespace actorstack::dataplane
