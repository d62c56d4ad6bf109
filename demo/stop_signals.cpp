// SIGINT/SIGTERM for every echo mode: a flag the runs poll (at least every
// 100 ms), so Ctrl-C ends a transfer early with a summary instead of being
// ignored until it completes.
#include "demo/echo_options.hpp"

#include <atomic>
#include <csignal>

namespace echo {

namespace {
std::atomic<bool> stop_flag{false};
extern "C" void on_stop_signal(int) { stop_flag.store(true); }
}  // namespace

bool stop_requested() { return stop_flag.load(std::memory_order_relaxed); }

void watch_stop_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

}  // namespace echo
