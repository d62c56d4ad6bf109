#pragma once
// Event queue cases of actorstack-bench-fifo: events/s between a producer
// and a consumer thread, single and batched, against a Boost SPSC queue.

#include <cstddef>
#include <functional>
#include <string>

namespace actorstack::bench {

using event_report = std::function<void(const std::string& case_name, double value,
                                        const std::string& unit, double baseline,
                                        const std::string& baseline_name)>;

/// Runs `events_single` and `events_batch32` (`events` events each, median
/// of `repetitions`) and reports each with its baseline.
void run_event_cases(std::size_t events, int repetitions, const event_report& report);

}  // namespace actorstack::bench
