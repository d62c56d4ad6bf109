#include "bench/event_cases.hpp"

#include "bench/bench_report.hpp"
#include "shm/event_queue.hpp"

#include <boost/lockfree/spsc_queue.hpp>

#include <array>
#include <atomic>
#include <cstdlib>
#include <thread>

namespace actorstack::bench {

namespace {

constexpr std::size_t capacity = 2048;  // the SPEC's default io queue length

inline void backoff() {
  for (int i = 0; i < 64; ++i) __builtin_ia32_pause();
}

shm::io_event make_event(std::uint64_t i) {
  shm::io_event e;
  e.session_handle = i;
  return e;
}

// Mevents/s through an event queue in process memory; `batch` 1 = single
// post/pop, otherwise post_io_batch / pop_io_batch of that size.
double queue_mevents(std::size_t events, std::size_t batch) {
  const shm::event_queue_config cfg{capacity, 16};
  const std::size_t bytes = shm::event_queue::required_bytes(cfg);
  void* mem = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  auto q = shm::event_queue::create(mem, bytes, cfg);
  if (!q) std::abort();
  std::atomic<bool> go{false};
  std::thread producer([&] {
    while (!go.load(std::memory_order_acquire)) backoff();
    std::array<shm::io_event, 64> buf{};
    std::uint64_t i = 0;
    while (i < events) {
      if (batch == 1) {
        if (q->post_io(make_event(i)))
          ++i;
        else
          backoff();
        continue;
      }
      const std::size_t n = std::min<std::size_t>(batch, events - i);
      for (std::size_t k = 0; k < n; ++k) buf[k] = make_event(i + k);
      const std::size_t posted = q->post_io_batch({buf.data(), n});
      if (posted == 0) backoff();
      i += posted;
    }
  });
  std::array<shm::io_event, 64> out{};
  std::uint64_t got = 0;
  std::uint64_t checksum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  while (got < events) {
    const std::size_t n = batch == 1 ? (q->try_pop_io(out[0]) ? 1 : 0)
                                     : q->pop_io_batch({out.data(), batch});
    if (n == 0) {
      backoff();
      continue;
    }
    for (std::size_t k = 0; k < n; ++k) checksum += out[k].session_handle;
    got += n;
  }
  const double s = seconds_since(t0);
  producer.join();
  q = shm::event_queue{};
  std::free(mem);
  if (checksum != events * (events - 1) / 2) std::abort();  // every event, once
  return static_cast<double>(events) / s / 1e6;
}

// The same events one at a time through boost::lockfree::spsc_queue.
double spsc_mevents(std::size_t events) {
  boost::lockfree::spsc_queue<shm::io_event> q(capacity);
  std::atomic<bool> go{false};
  std::thread producer([&] {
    while (!go.load(std::memory_order_acquire)) backoff();
    for (std::uint64_t i = 0; i < events;)
      if (q.push(make_event(i)))
        ++i;
      else
        backoff();
  });
  std::uint64_t got = 0;
  std::uint64_t checksum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  shm::io_event e;
  while (got < events) {
    if (q.pop(e)) {
      checksum += e.session_handle;
      ++got;
    } else {
      backoff();
    }
  }
  const double s = seconds_since(t0);
  producer.join();
  if (checksum != events * (events - 1) / 2) std::abort();
  return static_cast<double>(events) / s / 1e6;
}

}  // namespace

void run_event_cases(std::size_t events, int repetitions, const event_report& report) {
  const double baseline = median_of(repetitions, [&] { return spsc_mevents(events); });
  report("events_single", median_of(repetitions, [&] { return queue_mevents(events, 1); }),
         "Mevents/s", baseline, "boost_spsc_queue");
  report("events_batch32", median_of(repetitions, [&] { return queue_mevents(events, 32); }),
         "Mevents/s", baseline, "boost_spsc_queue");
}

}  // namespace actorstack::bench
