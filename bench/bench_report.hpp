#pragma once
// Benchmark output: one JSON object per line, the baseline measured in the
// same run, medians of several repetitions (the machines are noisy).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace actorstack::bench {

/// Median of the samples (the mean of the middle two for an even count).
inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/// Runs `fn` `reps` times; fn returns one sample; the median is reported.
template <class Fn>
double median_of(int reps, Fn&& fn) {
  std::vector<double> samples;
  for (int i = 0; i < reps; ++i) samples.push_back(fn());
  return median(std::move(samples));
}

/// Medians of several sides of one case — the stack's first, then its
/// baselines — run alternately (stack, baseline, other baseline, stack,
/// ...): on a shared, noisy machine a quiet or busy spell then touches
/// every side alike instead of one. An empty side is skipped (its median
/// is 0: profiling runs only the stack). With ACTORSTACK_BENCH_SAMPLES
/// set, each round goes to stderr as it is taken.
inline std::vector<double> alternated_medians(int reps, const std::vector<std::function<double()>>& sides) {
  std::vector<std::vector<double>> samples(sides.size());
  const bool show = std::getenv("ACTORSTACK_BENCH_SAMPLES") != nullptr;
  for (int i = 0; i < reps; ++i) {
    for (std::size_t k = 0; k < sides.size(); ++k) samples[k].push_back(sides[k] ? sides[k]() : 0.0);
    if (show) {
      std::fprintf(stderr, "sample %d:", i);
      for (const auto& v : samples) std::fprintf(stderr, " %.4f", v.back());
      std::fprintf(stderr, "\n");
    }
  }
  std::vector<double> medians;
  for (auto& v : samples) medians.push_back(median(std::move(v)));
  return medians;
}

/// alternated_medians of the stack's case and one baseline.
template <class Fn, class Base>
std::pair<double, double> paired_medians(int reps, Fn&& fn, Base&& base, bool with_baseline = true) {
  std::function<double()> baseline;
  if (with_baseline) baseline = std::forward<Base>(base);
  const auto m = alternated_medians(reps, {std::forward<Fn>(fn), baseline});
  return {m[0], m[1]};
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Prints {"bench","case","value","unit","baseline","baseline_name","ratio"}.
inline void report(const std::string& bench, const std::string& case_name, double value,
                   const std::string& unit, double baseline, const std::string& baseline_name) {
  std::printf(
      "{\"bench\":\"%s\",\"case\":\"%s\",\"value\":%.4f,\"unit\":\"%s\",\"baseline\":%.4f,"
      "\"baseline_name\":\"%s\",\"ratio\":%.4f}\n",
      bench.c_str(), case_name.c_str(), value, unit.c_str(), baseline, baseline_name.c_str(),
      baseline > 0 ? value / baseline : 0.0);
  std::fflush(stdout);
}

}  // namespace actorstack::bench
