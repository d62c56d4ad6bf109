#pragma once
/// \file
/// What a polling loop does after a pass that found nothing: the one idle
/// policy of a data-plane core, whether it runs on its own lcore or on a
/// session worker's scheduler thread (actors/core_hosting_scheduler.hpp).

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace actorstack::dataplane {

class idle_backoff {
 public:
  enum class step {
    poll,   ///< poll again at once
    yield,  ///< give the CPU to whoever waits for it, then poll
    sleep,  ///< sleep next_sleep(), then poll
  };

  /// A pass did work (or a job ran): the next empty pass starts over.
  /// Reads no clock: it runs after every busy pass and every actor job.
  void worked() noexcept {
    idle_ = 0;
    sleep_us_ = 1;
  }

  /// A pass found nothing. `busy`: never yield or sleep.
  step idle(bool busy) noexcept {
    if (busy) return step::poll;
    if (idle_ < spin_before_sleep) {
      if (++idle_ < spin_before_sleep) return step::poll;
      window_start_ = clock::now();
    }
    // For a while after the spinning the loop keeps polling but yields
    // between empty passes instead of sleeping: a sleep of up to 200 us
    // sat in every request/response turn, and a yield lets a thread that
    // shares the CPU run at once (docs/performance.md, "Idle polling").
    if (clock::now() - window_start_ < yield_window) return step::yield;
    return step::sleep;
  }

  /// The sleeps have grown to their longest.
  bool sleeps_longest() const noexcept { return sleep_us_ == max_sleep_us; }

  /// How long to sleep now; each sleep in a row doubles the next, up to
  /// 200 us (an idle stack costs next to nothing).
  std::chrono::microseconds next_sleep() noexcept {
    const unsigned us = sleep_us_;
    sleep_us_ = std::min(sleep_us_ * 2, max_sleep_us);
    return std::chrono::microseconds{us};
  }

 private:
  using clock = std::chrono::steady_clock;
  // Adaptive polling: spin this many empty passes before yielding or sleeping.
  static constexpr unsigned spin_before_sleep = 256;
  static constexpr unsigned max_sleep_us = 200;
  static constexpr std::chrono::microseconds yield_window{2000};

  unsigned idle_ = 0;
  unsigned sleep_us_ = 1;
  clock::time_point window_start_{};
};

}  // namespace actorstack::dataplane
