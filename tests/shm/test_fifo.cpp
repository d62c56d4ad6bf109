// Unit tests of shm::fifo: every operation and its edges.

#include "test_support.hpp"

#include <algorithm>
#include <array>
#include <limits>

using namespace actorstack;
using namespace actorstack::shm;
using actorstack::test::bytes;
using actorstack::test::drain;

namespace {

struct fixture {
  fifo_segment seg = *fifo_segment::create("test-fifo", 16u << 20);
  fifo make(std::uint32_t size = 64 * 1024, std::uint32_t max = 0) {
    auto f = seg.alloc_fifo(size, max);
    REQUIRE(f.has_value());
    return *f;
  }
};

std::string pattern(std::size_t n, char seed = 'a') {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 23);
  return s;
}

}  // namespace

TEST_CASE("fifo: enqueue then dequeue returns the same bytes") {
  fixture fx;
  auto f = fx.make();
  CHECK(f.empty());
  CHECK(f.max_enqueue() == 64 * 1024);
  auto n = f.enqueue(bytes("hello world"));
  REQUIRE(n.has_value());
  CHECK(*n == 11);
  CHECK(f.max_dequeue() == 11);
  CHECK(f.max_enqueue() == 64 * 1024 - 11);
  CHECK(drain(f) == "hello world");
  CHECK(f.empty());
}

TEST_CASE("fifo: zero-length operations are no-ops, not errors") {
  fixture fx;
  auto f = fx.make();
  CHECK(*f.enqueue({}) == 0);
  CHECK(*f.enqueue_with_offset(10, {}) == 0);
  std::array<std::byte, 4> buf{};
  REQUIRE(f.enqueue(bytes("x")).has_value());
  CHECK(*f.dequeue(std::span<std::byte>{}) == 0);
  CHECK(*f.peek(0, std::span<std::byte>{}) == 0);
  CHECK(f.drop(0) == 0);
  CHECK(f.max_dequeue() == 1);
  CHECK(*f.dequeue(buf) == 1);
}

TEST_CASE("fifo: dequeue and peek on an empty fifo report fifo_empty") {
  fixture fx;
  auto f = fx.make();
  std::array<std::byte, 8> buf{};
  CHECK(f.dequeue(buf).code() == errc::fifo_empty);
  CHECK(f.peek(0, buf).code() == errc::fifo_empty);
  CHECK(f.drop(5) == 0);
  CHECK(f.drop_all() == 0);
}

TEST_CASE("fifo: a full fifo takes a partial write, then reports fifo_full") {
  fixture fx;
  auto f = fx.make(4096);
  const auto data = pattern(5000);
  auto n = f.enqueue(bytes(data));
  REQUIRE(n.has_value());
  CHECK(*n == 4096);
  CHECK(f.full());
  CHECK(f.enqueue(bytes("x")).code() == errc::fifo_full);
  CHECK(drain(f) == data.substr(0, 4096));
  CHECK(*f.enqueue(bytes("y")) == 1);
}

TEST_CASE("fifo: data crosses chunk boundaries and wraps through recycled chunks") {
  fixture fx;
  auto f = fx.make(64 * 1024);
  std::string expect;
  std::string got;
  std::size_t produced = 0;
  // Many passes of odd sizes so every offset inside a chunk is hit and
  // chunks are released and re-taken many times over.
  for (int round = 0; round < 2000; ++round) {
    const std::size_t w = 1 + (round * 7919) % 20000;
    auto data = pattern(w, static_cast<char>('A' + round % 40));
    auto n = f.enqueue(bytes(data));
    if (n) {
      expect += data.substr(0, *n);
      produced += *n;
    }
    std::string out(1 + (round * 104729) % 30000, '\0');
    auto r = f.dequeue(std::as_writable_bytes(std::span{out.data(), out.size()}));
    if (r) got += out.substr(0, *r);
  }
  got += drain(f);
  CHECK(produced > 4 * 64 * 1024);
  CHECK(got == expect);
  // Drained: only the last chunk remains.
  CHECK(f.allocated_bytes() <= 256 * 1024);
}

TEST_CASE("fifo: a fifo that holds little grows by small chunks, a busy one by chunks as large as itself") {
  fixture fx;
  auto f = fx.make(1u << 20, 1u << 20);
  // Request/response: one 64-byte message in, one out. The storage stays
  // at a 4 KiB chunk or two (recycled through the segment while still in
  // cache) instead of a 1 MiB chunk swept a line per message.
  const auto msg = pattern(64);
  std::array<char, 64> out{};
  std::size_t most = 0;
  for (int i = 0; i < 20000; ++i) {
    REQUIRE(f.enqueue(bytes(msg)).value() == 64);
    most = std::max(most, f.allocated_bytes());
    REQUIRE(f.dequeue(std::as_writable_bytes(std::span{out})).value() == 64);
    REQUIRE(std::string(out.data(), out.size()) == msg);
  }
  CHECK(most <= 2 * 4096);
  // A backlog: the next chunk is as large as the fifo (bulk transfers
  // cross few chunk boundaries).
  const auto big = pattern(600 * 1024);
  REQUIRE(f.enqueue(bytes(big)).value() == big.size());
  CHECK(f.allocated_bytes() >= (1u << 20));
  CHECK(drain(f) == big);
}

TEST_CASE("fifo: byte positions wrap around 2^64 without losing data") {
  fixture fx;
  auto f = fx.make(16 * 1024);
  const std::uint64_t near_end = std::numeric_limits<std::uint64_t>::max() - 5000;
  REQUIRE(f.reset_positions(near_end).has_value());
  CHECK(f.head_position() == near_end);
  std::string expect;
  std::string got;
  for (int i = 0; i < 50; ++i) {
    auto d = pattern(3000 + i * 17, static_cast<char>('a' + i));
    auto n = f.enqueue(bytes(d));
    REQUIRE(n.has_value());
    expect += d.substr(0, *n);
    got += drain(f);
  }
  CHECK(f.head_position() < near_end);  // it wrapped
  CHECK(got == expect);
  // Out-of-order insertion straddling the wrap point as well.
  REQUIRE(f.reset_positions(std::numeric_limits<std::uint64_t>::max() - 10).has_value());
  REQUIRE(f.enqueue_with_offset(8, bytes("WORLD")).has_value());
  REQUIRE(f.enqueue(bytes("HELLO, ")).has_value());
  CHECK(f.max_dequeue() == 7);
  REQUIRE(f.enqueue(bytes("!")).has_value());
  CHECK(drain(f) == "HELLO, !WORLD");
}

TEST_CASE("fifo: reset_positions refuses a fifo holding data") {
  fixture fx;
  auto f = fx.make();
  REQUIRE(f.enqueue(bytes("abc")).has_value());
  CHECK(f.reset_positions(7).code() == errc::invalid_argument);
}

TEST_CASE("fifo: peek at offsets does not consume") {
  fixture fx;
  auto f = fx.make();
  REQUIRE(f.enqueue(bytes("0123456789")).has_value());
  std::array<std::byte, 4> buf{};
  CHECK(*f.peek(0, buf) == 4);
  CHECK(test::to_string(buf) == "0123");
  CHECK(*f.peek(8, buf) == 2);
  CHECK(test::to_string(std::span{buf}.first(2)) == "89");
  CHECK(*f.peek(10, buf) == 0);
  CHECK(*f.peek(1000, buf) == 0);
  CHECK(f.max_dequeue() == 10);
}

TEST_CASE("fifo: peek across chunk boundaries") {
  fixture fx;
  auto f = fx.make(256 * 1024);
  auto d = pattern(200000);
  REQUIRE(*f.enqueue(bytes(d)) == d.size());
  std::string out(50000, '\0');
  for (std::size_t off : {0ul, 4000ul, 4032ul, 100000ul, 150000ul}) {
    auto n = f.peek(off, std::as_writable_bytes(std::span{out.data(), out.size()}));
    REQUIRE(n.has_value());
    CHECK(*n == 50000);
    CHECK(out == d.substr(off, 50000));
  }
}

TEST_CASE("fifo: drop n and drop all") {
  fixture fx;
  auto f = fx.make();
  REQUIRE(f.enqueue(bytes("abcdefgh")).has_value());
  CHECK(f.drop(3) == 3);
  CHECK(f.max_dequeue() == 5);
  CHECK(f.drop(100) == 5);
  CHECK(f.empty());
  auto big = pattern(60000);
  REQUIRE(f.enqueue(bytes(big)).has_value());
  const auto held = f.allocated_bytes();
  CHECK(f.drop_all() == 60000);
  CHECK(f.empty());
  CHECK(f.allocated_bytes() < held);  // drained chunks went back
  REQUIRE(f.enqueue(bytes("z")).has_value());
  CHECK(drain(f) == "z");
}

// ---- out of order ----------------------------------------------------------

TEST_CASE("fifo: out-of-order data becomes readable when the gap fills") {
  fixture fx;
  auto f = fx.make();
  REQUIRE(*f.enqueue_with_offset(5, bytes("world")) == 5);
  CHECK(f.max_dequeue() == 0);
  CHECK(f.ooo_segment_count() == 1);
  auto n = f.enqueue(bytes("hello"));
  REQUIRE(n.has_value());
  CHECK(*n == 5);  // bytes taken from the caller
  CHECK(f.max_dequeue() == 10);  // plus the collected range
  CHECK(f.ooo_segment_count() == 0);
  CHECK(drain(f) == "helloworld");
}

TEST_CASE("fifo: out-of-order insert before, after, between existing ranges") {
  fixture fx;
  auto f = fx.make();
  REQUIRE(f.enqueue_with_offset(20, bytes("KLMNO")).has_value());  // [20,25)
  REQUIRE(f.enqueue_with_offset(40, bytes("UVWXY")).has_value());  // after
  REQUIRE(f.enqueue_with_offset(5, bytes("FGHIJ")).has_value());   // before
  REQUIRE(f.enqueue_with_offset(30, bytes("PQRST")).has_value());  // between
  CHECK(f.ooo_segment_count() == 4);
  REQUIRE(f.enqueue(bytes("ABCDE")).has_value());
  CHECK(f.max_dequeue() == 10);  // [0,10), gap at 10
  CHECK(f.ooo_segment_count() == 3);
  REQUIRE(f.enqueue(bytes("abcdefghij")).has_value());  // fills [10,20)
  CHECK(f.max_dequeue() == 25);
  CHECK(drain(f) == "ABCDEFGHIJabcdefghijKLMNO");
  CHECK(f.ooo_segment_count() == 2);
}

TEST_CASE("fifo: overlapping and touching out-of-order ranges merge") {
  fixture fx;
  auto f = fx.make();
  REQUIRE(f.enqueue_with_offset(10, bytes("cccc")).has_value());  // [10,14)
  REQUIRE(f.enqueue_with_offset(12, bytes("DDDD")).has_value());  // overlap -> [10,16)
  CHECK(f.ooo_segment_count() == 1);
  REQUIRE(f.enqueue_with_offset(16, bytes("ee")).has_value());  // touching -> [10,18)
  CHECK(f.ooo_segment_count() == 1);
  REQUIRE(f.enqueue_with_offset(20, bytes("gg")).has_value());  // gap of 2 -> separate
  CHECK(f.ooo_segment_count() == 2);
  REQUIRE(f.enqueue_with_offset(8, bytes("bbbbbbbbbbbbbb")).has_value());  // spans both
  CHECK(f.ooo_segment_count() == 1);
  REQUIRE(f.enqueue(bytes("aaaaaaaa")).has_value());
  CHECK(drain(f) == "aaaaaaaabbbbbbbbbbbbbb");
}

TEST_CASE("fifo: duplicate out-of-order data is idempotent") {
  fixture fx;
  auto f = fx.make();
  REQUIRE(f.enqueue_with_offset(4, bytes("wxyz")).has_value());
  REQUIRE(f.enqueue_with_offset(4, bytes("wxyz")).has_value());
  REQUIRE(f.enqueue_with_offset(5, bytes("xy")).has_value());
  CHECK(f.ooo_segment_count() == 1);
  REQUIRE(f.enqueue(bytes("abcd")).has_value());
  CHECK(drain(f) == "abcdwxyz");
}

TEST_CASE("fifo: in-order data overlapping an out-of-order range supersedes it") {
  fixture fx;
  auto f = fx.make();
  REQUIRE(f.enqueue_with_offset(3, bytes("345678")).has_value());  // [3,9)
  REQUIRE(f.enqueue(bytes("012345")).has_value());  // [0,6) overlaps
  CHECK(f.max_dequeue() == 9);
  CHECK(drain(f) == "012345678");
}

TEST_CASE("fifo: enqueue at offset 0 is in order and collects ranges behind it") {
  fixture fx;
  auto f = fx.make();
  REQUIRE(f.enqueue_with_offset(3, bytes("def")).has_value());
  REQUIRE(*f.enqueue_with_offset(0, bytes("abc")) == 3);
  CHECK(f.max_dequeue() == 6);
  CHECK(drain(f) == "abcdef");
}

TEST_CASE("fifo: out-of-order beyond free space is fifo_full, all or nothing") {
  fixture fx;
  auto f = fx.make(4096);
  const auto d = pattern(100);
  CHECK(f.enqueue_with_offset(4000, bytes(d)).code() == errc::fifo_full);  // 4100 > 4096
  CHECK(f.enqueue_with_offset(5000, bytes("x")).code() == errc::fifo_full);
  CHECK(f.ooo_segment_count() == 0);
  CHECK(*f.enqueue_with_offset(3996, bytes(d)) == 100);  // ends exactly at the size
  CHECK(f.ooo_segment_count() == 1);
  CHECK(f.max_dequeue() == 0);
}

TEST_CASE("fifo: too many disjoint out-of-order ranges is ooo_full") {
  fixture fx;
  auto f = fx.make(64 * 1024);
  for (std::size_t i = 0; i < 32; ++i)
    REQUIRE(f.enqueue_with_offset(10 + i * 10, bytes("ab")).has_value());
  CHECK(f.ooo_segment_count() == 32);
  CHECK(f.enqueue_with_offset(1000, bytes("zz")).code() == errc::ooo_full);
  // Extending an existing range needs no new slot and still works.
  CHECK(f.enqueue_with_offset(12, bytes("cd")).has_value());
  CHECK(f.ooo_segment_count() == 32);
  // Filling the gaps collects everything.
  std::string stream(330, '.');
  for (std::size_t i = 0; i < 32; ++i) {
    stream[10 + i * 10] = 'a';
    stream[11 + i * 10] = 'b';
  }
  stream[12] = 'c';
  stream[13] = 'd';
  REQUIRE(f.enqueue(bytes(std::string(10, '.'))).has_value());
  for (std::size_t i = 0; i < 32; ++i) {
    const std::size_t gap_start = (i == 0) ? 14 : 12 + i * 10;
    const std::size_t gap_end = 20 + i * 10;
    REQUIRE(f.enqueue_with_offset(gap_start - f.tail_position(),
                                  bytes(std::string(gap_end - gap_start, '.')))
                .has_value());
  }
  CHECK(f.ooo_segment_count() == 0);
  CHECK(drain(f) == stream);
}

// ---- size: grow and shrink ---------------------------------------------------

TEST_CASE("fifo: set_size enforces [4 KiB, max size]") {
  fixture fx;
  auto f = fx.make(8192, 65536);
  CHECK(f.set_size(4095).code() == errc::invalid_argument);
  CHECK(f.set_size(65537).code() == errc::invalid_argument);
  CHECK(f.set_size(4096).has_value());
  CHECK(f.size() == 4096);
  CHECK(f.set_size(65536).has_value());
  CHECK(f.max_size() == 65536);
}

TEST_CASE("fifo: growing while holding data keeps it and adds room") {
  fixture fx;
  auto f = fx.make(4096, 1u << 20);
  const auto first = pattern(4096, 'a');
  REQUIRE(*f.enqueue(bytes(first)) == 4096);
  CHECK(f.full());
  REQUIRE(f.set_size(1u << 20).has_value());
  CHECK(f.max_enqueue() == (1u << 20) - 4096);
  const auto second = pattern(500000, 'k');
  REQUIRE(*f.enqueue(bytes(second)) == second.size());
  CHECK(drain(f) == first + second);
}

TEST_CASE("fifo: shrinking below the queued bytes loses nothing") {
  fixture fx;
  auto f = fx.make(256 * 1024);
  const auto data = pattern(200000, 'q');
  REQUIRE(*f.enqueue(bytes(data)) == data.size());
  const auto held = f.allocated_bytes();
  REQUIRE(f.set_size(4096).has_value());
  CHECK(f.max_enqueue() == 0);
  CHECK(f.enqueue(bytes("x")).code() == errc::fifo_full);
  CHECK(f.max_dequeue() == data.size());
  // Drain half: chunks are released as they drain, data intact.
  std::string got(100000, '\0');
  REQUIRE(*f.dequeue(std::as_writable_bytes(std::span{got.data(), got.size()})) == 100000);
  CHECK(f.allocated_bytes() < held);
  CHECK(f.max_enqueue() == 0);  // still above the new size
  got += drain(f);
  CHECK(got == data);
  CHECK(f.max_enqueue() == 4096);
  CHECK(f.allocated_bytes() <= 256 * 1024);
}

// ---- flags, notifications, subscribers, ownership ----------------------------

TEST_CASE("fifo: event flag reports only the first set") {
  fixture fx;
  auto f = fx.make();
  CHECK_FALSE(f.has_event());
  CHECK(f.set_event());
  CHECK_FALSE(f.set_event());
  CHECK(f.has_event());
  f.unset_event();
  CHECK_FALSE(f.has_event());
  CHECK(f.set_event());
}

TEST_CASE("fifo: dequeue notification mode none never asks") {
  fixture fx;
  auto f = fx.make(4096);
  REQUIRE(f.enqueue(bytes(pattern(4096))).has_value());
  CHECK(f.drop(100) == 100);
  CHECK_FALSE(f.needs_deq_ntf(100));
}

TEST_CASE("fifo: dequeue notification on every dequeue is one-shot and honours the threshold") {
  fixture fx;
  auto f = fx.make(4096);
  f.add_want_deq_ntf(deq_ntf::on_every_dequeue);
  REQUIRE(f.enqueue(bytes(pattern(4000))).has_value());
  f.set_deq_thresh(1000);
  f.drop(500);  // 596 free < 1000
  CHECK_FALSE(f.needs_deq_ntf(500));
  f.drop(500);  // 1096 free
  CHECK(f.needs_deq_ntf(500));
  f.clear_deq_ntf();
  CHECK(f.want_deq_ntf() == 0);
  f.drop(100);
  CHECK_FALSE(f.needs_deq_ntf(100));
}

TEST_CASE("fifo: the tuning mode is persistent and never asks for a tx event itself") {
  fixture fx;
  auto f = fx.make(4096);
  f.add_want_deq_ntf(deq_ntf::tuning);
  REQUIRE(f.enqueue(bytes(pattern(4000))).has_value());
  f.drop(100);
  CHECK(f.want_deq_ntf() != 0);  // the consumer reports the dequeue...
  CHECK_FALSE(f.needs_deq_ntf(100));  // ...but only the tuning callback hears it
  f.add_want_deq_ntf(deq_ntf::on_every_dequeue);
  CHECK(f.needs_deq_ntf(100));
  f.clear_deq_ntf();
  CHECK(f.want_deq_ntf() == static_cast<std::uint32_t>(deq_ntf::tuning));
}

TEST_CASE("fifo: dequeue notification if full fires on leaving full, once until reset") {
  fixture fx;
  auto f = fx.make(4096);
  f.add_want_deq_ntf(deq_ntf::if_full);
  REQUIRE(f.enqueue(bytes(pattern(4000))).has_value());
  f.drop(10);  // was not full before this dequeue
  CHECK_FALSE(f.needs_deq_ntf(10));
  REQUIRE(f.enqueue(bytes(pattern(106))).has_value());
  CHECK(f.full());
  f.drop(20);
  CHECK(f.needs_deq_ntf(20));
  f.clear_deq_ntf();
  CHECK(f.want_deq_ntf() == static_cast<std::uint32_t>(deq_ntf::if_full));  // mode stays
  REQUIRE(f.enqueue(bytes(pattern(20))).has_value());
  f.drop(20);
  CHECK_FALSE(f.needs_deq_ntf(20));  // latched
  f.reset_has_deq_ntf();
  REQUIRE(f.enqueue(bytes(pattern(20))).has_value());
  f.drop(20);
  CHECK(f.needs_deq_ntf(20));
}

TEST_CASE("fifo: dequeue notification if empty fires when drained") {
  fixture fx;
  auto f = fx.make(4096);
  f.add_want_deq_ntf(deq_ntf::if_empty);
  REQUIRE(f.enqueue(bytes(pattern(100))).has_value());
  f.drop(50);
  CHECK_FALSE(f.needs_deq_ntf(50));
  f.drop(50);
  CHECK(f.needs_deq_ntf(50));
  f.clear_deq_ntf();
  CHECK_FALSE(f.needs_deq_ntf(0));
  f.del_want_deq_ntf(deq_ntf::if_empty);
  f.reset_has_deq_ntf();
  CHECK_FALSE(f.needs_deq_ntf(0));
}

TEST_CASE("fifo: subscriber list is bounded at seven") {
  fixture fx;
  auto f = fx.make();
  for (std::uint32_t w = 10; w < 17; ++w) REQUIRE(f.add_subscriber(w).has_value());
  CHECK(f.subscriber_count() == 7);
  CHECK(f.add_subscriber(99).code() == errc::subscribers_full);
  CHECK(f.add_subscriber(12).has_value());  // already there
  f.del_subscriber(12);
  CHECK(f.subscriber_count() == 6);
  for (std::size_t i = 0; i < f.subscriber_count(); ++i) CHECK(f.subscriber(i) != 12);
  CHECK(f.add_subscriber(99).has_value());
  f.del_subscriber(12345);  // absent: no change
  CHECK(f.subscriber_count() == 7);
}

TEST_CASE("fifo: owner back-reference and reference count") {
  fixture fx;
  auto f = fx.make();
  f.set_owner({.session_index = 42, .worker_index = 3});
  CHECK(f.owner() == fifo_owner{42, 3});
  CHECK(f.refcount() == 1);
  f.add_ref();
  auto copy = f;
  CHECK(fx.seg.fifo_count() == 1);
  CHECK(fx.seg.free_fifo(copy) == 1);
  CHECK(fx.seg.fifo_count() == 1);  // still referenced
  CHECK(fx.seg.free_fifo(f) == 0);
  CHECK(fx.seg.fifo_count() == 0);
}

TEST_CASE("fifo: enqueue_gather publishes all parts at once, or nothing") {
  fixture fx;
  auto f = fx.make(4096);
  const auto head = pattern(16, 'A');
  const auto body = pattern(3000, 'a');
  const std::span<const std::byte> parts[] = {bytes(head), {}, bytes(body)};
  auto n = f.enqueue_gather(parts);
  REQUIRE(n.has_value());
  CHECK(*n == 3016);
  // Not room for both again: refused whole, the fifo unchanged.
  CHECK(f.enqueue_gather(parts).code() == errc::fifo_full);
  CHECK(f.max_dequeue() == 3016);
  CHECK(drain(f) == head + body);
  // Across chunk boundaries, many times over (the fifo recycles chunks).
  for (int round = 0; round < 50; ++round) {
    REQUIRE(f.enqueue_gather(parts).has_value());
    CHECK(drain(f) == head + body);
  }
  CHECK(*f.enqueue_gather(std::span<const std::span<const std::byte>>{}) == 0);
}
