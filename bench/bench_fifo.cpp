// actorstack-bench-fifo: throughput of one shm fifo between a producer and a
// consumer thread, against single-thread memcpy of the same block size; and
// events/s through an event queue, against a Boost SPSC queue.
//
//   actorstack-bench-fifo [--bytes N] [--reps R] [--events N] [--only fifo|events]

#include "tools/cli/cli.hpp"
#include "bench/bench_report.hpp"
#include "bench/event_cases.hpp"
#include "shm/fifo_segment.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;
using namespace actorstack::bench;

namespace {

// Waiting side backs off: on 2 vCPUs that may be SMT siblings, a tight
// pause loop steals the very execution slots the other side needs (measured
// here: 2 GiB/s with a tight loop vs 8-12 with this back-off).
inline void cpu_relax() {
  for (int i = 0; i < 64; ++i) __builtin_ia32_pause();
}

// GiB/s of a producer thread enqueueing `write`-byte blocks and a consumer
// thread dequeueing them, `total` bytes in all.
double fifo_gibps(std::uint32_t fifo_size, std::size_t write, std::uint64_t total) {
  auto seg = shm::fifo_segment::create("bench-fifo", std::size_t{fifo_size} * 4 + (16u << 20));
  if (!seg) {
    std::fprintf(stderr, "segment: %s\n", seg.error().message().c_str());
    std::exit(1);
  }
  auto f = seg->alloc_fifo(fifo_size);
  if (!f) {
    std::fprintf(stderr, "fifo: %s\n", f.error().message().c_str());
    std::exit(1);
  }
  std::vector<std::byte> src(write, std::byte{0x5a});
  std::atomic<bool> go{false};
  std::thread producer([&, fifo = *f]() mutable {
    while (!go.load(std::memory_order_acquire)) cpu_relax();
    std::uint64_t sent = 0;
    while (sent < total) {
      const std::size_t n = std::min<std::uint64_t>(write, total - sent);
      auto r = fifo.enqueue({src.data(), n});
      if (r)
        sent += *r;
      else
        cpu_relax();
    }
  });
  std::vector<std::byte> dst(write);
  const auto t0 = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  std::uint64_t got = 0;
  while (got < total) {
    auto r = f->dequeue(dst);
    if (r)
      got += *r;
    else
      cpu_relax();
  }
  const double s = seconds_since(t0);
  producer.join();
  return static_cast<double>(total) / s / double(1u << 30);
}

// GiB/s of one thread copying `write`-byte blocks through a buffer of the
// fifo's size, the same bytes in all: the copy a fifo must do, without a
// second thread or any synchronisation.
double memcpy_gibps(std::uint32_t fifo_size, std::size_t write, std::uint64_t total) {
  std::vector<std::byte> src(fifo_size, std::byte{0x5a});
  std::vector<std::byte> dst(fifo_size);
  const std::size_t slots = std::max<std::size_t>(1, fifo_size / write);
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t done = 0;
  for (std::size_t i = 0; done < total; ++i) {
    const std::size_t at = (i % slots) * write;
    const std::size_t n = std::min<std::uint64_t>(write, total - done);
    std::memcpy(dst.data() + at, src.data() + at, n);
    done += n;
    asm volatile("" : : "r"(dst.data()) : "memory");  // keep the copy
  }
  return static_cast<double>(total) / seconds_since(t0) / double(1u << 30);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t bytes = 4ull << 30;
  std::size_t events = 20'000'000;
  int reps = 3;
  std::string only;
  CLI::App app{"The shared-memory fifo and event queue alone (no CAF, no stack) against memcpy and Boost's\n"
               "lock-free SPSC queue in the same run. One JSON line per case (medians of --reps).",
               "actorstack-bench-fifo"};
  app.option_defaults()->always_capture_default();
  cli::add_size(app, "--bytes", bytes, "Bytes per fifo run", 1);
  app.add_option("--reps", reps, "Repetitions of each side; the medians are printed")->check(CLI::PositiveNumber);
  app.add_option("--events", events, "Events per event-queue run")->check(CLI::PositiveNumber);
  app.add_option("--only", only, "Run one group")->check(CLI::IsMember({"fifo", "events"}));
  actorstack::cli::add_standard(app, "  0  every case ran (one JSON object per case on stdout)\n"
                         "  1  a case could not run\n"
                         "  2  bad command line\n");
  if (const int rc = actorstack::cli::parse(app, argc, argv); rc >= 0) return rc;
  if (reps < 1 || bytes == 0 || events == 0) {
    std::fprintf(stderr, "--bytes, --events and --reps must be positive\n");
    return 2;
  }
  if (only.empty() || only == "fifo") {
    for (std::uint32_t fifo_size : {64u << 10, 1u << 20, 4u << 20}) {
      for (std::size_t write : {4096ul, 16384ul, 65536ul}) {
        const double v = median_of(reps, [&] { return fifo_gibps(fifo_size, write, bytes); });
        const double b = median_of(reps, [&] { return memcpy_gibps(fifo_size, write, bytes); });
        report("fifo", "write=" + std::to_string(write) + ",fifo=" + std::to_string(fifo_size), v,
               "GiB/s", b, "memcpy");
      }
    }
  }
  if (only.empty() || only == "events") {
    run_event_cases(events, reps,
                    [](const std::string& c, double v, const std::string& unit, double b,
                       const std::string& bn) { report("fifo", c, v, unit, b, bn); });
  }
  return 0;
}
