// A producer and a consumer thread stream more than 1 GiB through one fifo,
// with out-of-order writes and resizes mixed in; every byte is verified.

#include "test_support.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

using namespace actorstack;
using namespace actorstack::shm;

namespace {

struct stream_result {
  std::uint64_t bytes = 0;
  std::uint64_t mismatches = 0;
};

stream_result stream(fifo f, std::uint64_t total, std::uint32_t seed, bool mixed) {
  static const test::stream_pattern pattern;
  std::atomic<bool> producer_failed{false};
  std::thread producer([&] {
    std::mt19937 rng{seed};
    std::uint64_t pos = 0;
    while (pos < total) {
      const std::size_t want =
          std::min<std::uint64_t>(total - pos, 1 + rng() % (mixed ? 70000 : 65536));
      if (mixed && rng() % 64 == 0) {  // resize under load
        const std::uint32_t sz = 4096u << (rng() % 9);
        if (!f.set_size(sz)) producer_failed = true;
      }
      if (mixed && want > 2 && rng() % 4 == 0) {
        // Second half first, at an offset; then the first half fills the gap.
        const std::size_t half = want / 2;
        if (f.max_enqueue() < want) {
          std::this_thread::yield();
          continue;
        }
        auto b = f.enqueue_with_offset(half, pattern.at(pos + half, want - half));
        if (!b) {
          producer_failed = true;
          return;
        }
        auto a = f.enqueue(pattern.at(pos, half));
        if (!a || *a != half) {
          producer_failed = true;
          return;
        }
        pos += want;
        continue;
      }
      auto n = f.enqueue(pattern.at(pos, want));
      if (n) {
        pos += *n;
      } else if (n.code() == errc::fifo_full) {
        std::this_thread::yield();
      } else {
        producer_failed = true;
        return;
      }
    }
  });
  stream_result out;
  std::vector<std::byte> buf(1u << 17);
  std::mt19937 rng{seed * 7 + 1};
  while (out.bytes < total && !producer_failed) {
    const std::size_t want = 1 + rng() % buf.size();
    std::size_t got = 0;
    if (mixed && rng() % 8 == 0) {  // peek then drop, like a transport's tx path
      auto p = f.peek(0, {buf.data(), want});
      if (p && *p > 0) got = f.drop(*p);
    } else {
      auto n = f.dequeue({buf.data(), want});
      if (n) got = *n;
    }
    if (got == 0) {
      std::this_thread::yield();
      continue;
    }
    if (std::memcmp(buf.data(), pattern.at(out.bytes, got).data(), got) != 0) ++out.mismatches;
    out.bytes += got;
  }
  producer.join();
  CHECK_FALSE(producer_failed.load());
  return out;
}

}  // namespace

TEST_CASE("fifo threads: 1 GiB streamed between two threads, every byte verified") {
  auto seg = fifo_segment::create("stream", 64u << 20);
  REQUIRE(seg.has_value());
  auto f = seg->alloc_fifo(1u << 20);
  REQUIRE(f.has_value());
  const auto r = stream(*f, 1ull << 30, 7, false);
  CHECK(r.bytes == 1ull << 30);
  CHECK(r.mismatches == 0);
  CHECK(f->empty());
}

TEST_CASE("fifo threads: 256 MiB with out-of-order writes, resizes, peek+drop") {
  auto seg = fifo_segment::create("stream-mixed", 64u << 20);
  REQUIRE(seg.has_value());
  auto f = seg->alloc_fifo(64u << 10, 1u << 20);
  REQUIRE(f.has_value());
  const auto r = stream(*f, 256ull << 20, 11, true);
  CHECK(r.bytes == 256ull << 20);
  CHECK(r.mismatches == 0);
  // Drained and resized: chunks went back, nothing leaked.
  f->drop_all();
  seg->free_fifo(*f);
  CHECK(seg->fifo_count() == 0);
}
