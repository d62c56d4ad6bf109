// Randomised sequences of fifo operations (fixed seeds) checked against a
// trivial reference model: the bytes at each stream position plus a list
// of out-of-order intervals.

#include "test_support.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <vector>

using namespace actorstack;
using namespace actorstack::shm;

namespace {

constexpr std::size_t ooo_capacity = 32;

// The model counts positions from 0; the fifo starts at `origin` (which
// may sit just below 2^64 so the run crosses the wrap).
struct model {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  std::uint32_t size = 0;
  std::uint32_t max_size = 0;
  // Bytes at stream positions [head, head + window): a ring indexed by
  // position, large enough for the largest size plus any offset.
  static constexpr std::size_t window = 1u << 20;
  std::vector<std::byte> ring = std::vector<std::byte>(window);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ooo;  // sorted [lo, hi)

  std::size_t free() const { return tail - head >= size ? 0 : size - (tail - head); }

  // The interval list after adding [lo, hi), merging overlaps and touches.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> merged(std::uint64_t lo,
                                                              std::uint64_t hi) const {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (auto [a, b] : ooo) {
      if (b < lo || a > hi) {
        out.emplace_back(a, b);
      } else {
        lo = std::min(lo, a);
        hi = std::max(hi, b);
      }
    }
    out.emplace_back(lo, hi);
    std::sort(out.begin(), out.end());
    return out;
  }

  void write(std::uint64_t pos, std::span<const std::byte> d) {
    for (std::size_t i = 0; i < d.size(); ++i) ring[(pos + i) % window] = d[i];
  }

  void advance_tail(std::uint64_t new_tail) {
    while (!ooo.empty() && ooo.front().first <= new_tail) {
      new_tail = std::max(new_tail, ooo.front().second);
      ooo.erase(ooo.begin());
    }
    tail = new_tail;
  }

  std::vector<std::byte> read(std::uint64_t from, std::size_t n) const {
    std::vector<std::byte> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = ring[(from + i) % window];
    return out;
  }

  void consume(std::size_t n) { head += n; }
};

void run_sequence(std::uint32_t seed, std::uint64_t origin, std::size_t steps) {
  CAPTURE(seed);
  auto seg = fifo_segment::create("model", 64u << 20);
  REQUIRE(seg.has_value());
  std::mt19937 rng{seed};
  auto pick = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>{lo, hi}(rng);
  };
  model m;
  m.max_size = 1u << 18;
  m.size = static_cast<std::uint32_t>(pick(4096, 65536));
  auto f = seg->alloc_fifo(m.size, m.max_size);
  REQUIRE(f.has_value());
  REQUIRE(f->reset_positions(origin).has_value());
  std::vector<std::byte> buf(1u << 19);
  // Fresh content for every write (a cheap hash of a per-write salt), so a
  // byte landing at the wrong position or from the wrong write shows up.
  auto fill = [&](std::size_t len) {
    const std::uint32_t salt = static_cast<std::uint32_t>(rng());
    for (std::size_t i = 0; i < len; ++i)
      buf[i] = static_cast<std::byte>(((salt + i) * 2654435761u) >> 24);
  };

  for (std::size_t step = 0; step < steps; ++step) {
    CAPTURE(step);
    const auto op = pick(0, 99);
    if (op < 30) {  // in-order enqueue
      const std::size_t len = pick(0, m.size + m.size / 2);
      fill(len);
      auto r = f->enqueue({buf.data(), len});
      if (len == 0) {
        CHECK(*r == 0);
      } else if (m.free() == 0) {
        CHECK(r.code() == errc::fifo_full);
      } else {
        const std::size_t n = std::min(len, m.free());
        REQUIRE(r.has_value());
        CHECK(*r == n);
        m.write(m.tail, {buf.data(), n});
        m.advance_tail(m.tail + n);
      }
    } else if (op < 55) {  // out-of-order enqueue
      std::size_t off = pick(0, m.size);
      const std::size_t len = pick(0, m.size / 4);
      if (!m.ooo.empty() && pick(0, 2) == 0) {
        // Land exactly on, or right before, an existing range's edge:
        // the touching and exact-overlap cases random offsets rarely hit.
        const auto& r = m.ooo[pick(0, m.ooo.size() - 1)];
        off = pick(0, 1) ? r.second - m.tail : (r.first - m.tail >= len ? r.first - m.tail - len : 0);
      }
      fill(len);
      auto r = f->enqueue_with_offset(off, {buf.data(), len});
      if (len == 0) {
        CHECK(*r == 0);
      } else if (off + len > m.free()) {
        CHECK(r.code() == errc::fifo_full);
      } else if (off > 0 && m.merged(m.tail + off, m.tail + off + len).size() > ooo_capacity) {
        CHECK(r.code() == errc::ooo_full);
      } else {
        REQUIRE(r.has_value());
        CHECK(*r == len);
        m.write(m.tail + off, {buf.data(), len});
        if (off > 0)
          m.ooo = m.merged(m.tail + off, m.tail + off + len);
        else
          m.advance_tail(m.tail + len);
      }
    } else if (op < 75) {  // dequeue
      const std::size_t len = pick(0, m.size);
      auto r = f->dequeue({buf.data(), len});
      const std::size_t avail = m.tail - m.head;
      if (len == 0) {
        CHECK(*r == 0);
      } else if (avail == 0) {
        CHECK(r.code() == errc::fifo_empty);
      } else {
        const std::size_t n = std::min(len, avail);
        REQUIRE(r.has_value());
        REQUIRE(*r == n);
        CHECK(std::equal(buf.begin(), buf.begin() + n, m.read(m.head, n).begin()));
        m.consume(n);
      }
    } else if (op < 85) {  // peek
      const std::size_t off = pick(0, m.size);
      const std::size_t len = pick(0, m.size / 2);
      auto r = f->peek(off, {buf.data(), len});
      const std::size_t avail = m.tail - m.head;
      if (avail == 0) {
        CHECK(r.code() == errc::fifo_empty);
      } else if (off >= avail || len == 0) {
        CHECK(*r == 0);
      } else {
        const std::size_t n = std::min(len, avail - off);
        REQUIRE(r.has_value());
        REQUIRE(*r == n);
        CHECK(std::equal(buf.begin(), buf.begin() + n, m.read(m.head + off, n).begin()));
      }
    } else if (op < 92) {  // drop
      const std::size_t len = pick(0, m.size);
      const std::size_t n = std::min<std::size_t>(len, m.tail - m.head);
      CHECK(f->drop(len) == n);
      m.consume(n);
    } else if (op < 94) {
      const std::size_t n = m.tail - m.head;
      CHECK(f->drop_all() == n);
      m.consume(n);
    } else {  // resize, sometimes out of range
      const auto want = static_cast<std::uint32_t>(pick(2048, m.max_size + 4096));
      auto r = f->set_size(want);
      if (want < min_fifo_size || want > m.max_size) {
        CHECK(r.code() == errc::invalid_argument);
      } else {
        REQUIRE(r.has_value());
        m.size = want;
      }
    }
    REQUIRE(f->max_dequeue() == m.tail - m.head);
    REQUIRE(f->max_enqueue() == m.free());
    REQUIRE(f->ooo_segment_count() == m.ooo.size());
    REQUIRE(f->tail_position() == origin + m.tail);
  }
  // Everything drains and the segment gets all its memory back.
  m.consume(m.tail - m.head);
  f->drop_all();
  seg->free_fifo(*f);
  CHECK(seg->fifo_count() == 0);
}

}  // namespace

TEST_CASE("fifo model: random operation sequences match the reference model") {
  for (std::uint32_t seed = 1; seed <= 12; ++seed) run_sequence(seed, 0, 4000);
}

TEST_CASE("fifo model: random sequences across the 2^64 position wrap") {
  constexpr auto top = std::numeric_limits<std::uint64_t>::max();
  for (std::uint32_t seed = 100; seed < 106; ++seed) run_sequence(seed, top - 300000, 4000);
}
