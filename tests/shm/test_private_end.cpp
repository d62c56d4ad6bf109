// shm::private_end: the stack's own record of its end of a fifo another
// process shares notices every cursor write that end did not make and every
// move of the other side's cursor that a well-behaved peer cannot make.

#include "shm/fifo_segment.hpp"
#include "shm/private_end.hpp"
#include "tests/fifo_scribble.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace actorstack;
using namespace actorstack::shm;
using actorstack::test::cursor;
using actorstack::test::scribble_cursor;

namespace {

struct pair_fixture {
  fifo_segment seg = fifo_segment::create("private-end", 1u << 20).value();
  fifo_pair p = seg.alloc_fifo_pair(16384, 16384).value();
  std::array<std::byte, 3000> buf{};
};

}  // namespace

TEST_CASE("private end: a producer and a consumer that keep the contract are never taken for a violation") {
  pair_fixture fx;
  private_end producer{fx.p.rx, private_end::side::producer};  // the stack fills rx
  private_end consumer{fx.p.tx, private_end::side::consumer};  // the stack drains tx
  for (int round = 0; round < 200; ++round) {
    // Stack: enqueue into rx. App: read some of it, write into tx. Stack: drain tx.
    REQUIRE(producer.check(fx.p.rx));
    (void)fx.p.rx.enqueue(std::span{fx.buf.data(), static_cast<std::size_t>(round * 37 % 3000)});
    producer.moved(fx.p.rx);
    (void)fx.p.rx.dequeue(std::span{fx.buf.data(), static_cast<std::size_t>(round * 53 % 2500)});
    (void)fx.p.tx.enqueue(std::span{fx.buf.data(), static_cast<std::size_t>(round * 29 % 3000)});
    REQUIRE(consumer.check(fx.p.tx));
    (void)fx.p.tx.drop(round * 41 % 2000);
    consumer.moved(fx.p.tx);
  }
  CHECK(producer.check(fx.p.rx));
  CHECK(consumer.check(fx.p.tx));
  CHECK(producer.own() == fx.p.rx.tail_position());
}

TEST_CASE("private end: positions across 2^64 are fine") {
  pair_fixture fx;
  REQUIRE(fx.p.rx.reset_positions(~std::uint64_t{0} - 100));
  private_end producer{fx.p.rx, private_end::side::producer};
  REQUIRE(fx.p.rx.enqueue(std::span{fx.buf.data(), 1000}));
  producer.moved(fx.p.rx);
  REQUIRE(fx.p.rx.dequeue(std::span{fx.buf.data(), 700}));
  CHECK(producer.check(fx.p.rx));
  CHECK(fx.p.rx.tail_position() < 1000);  // wrapped
}

TEST_CASE("private end: the other side writing this end's cursor is a violation, forwards or backwards") {
  for (const std::int64_t by : {1, -1, 4096, -4096}) {
    CAPTURE(by);
    pair_fixture fx;
    private_end producer{fx.p.rx, private_end::side::producer};
    REQUIRE(fx.p.rx.enqueue(std::span{fx.buf.data(), 2000}));
    producer.moved(fx.p.rx);
    scribble_cursor(fx.p.rx, cursor::tail, fx.p.rx.tail_position() + static_cast<std::uint64_t>(by));
    CHECK_FALSE(producer.check(fx.p.rx));

    private_end consumer{fx.p.tx, private_end::side::consumer};
    REQUIRE(fx.p.tx.enqueue(std::span{fx.buf.data(), 2000}));
    scribble_cursor(fx.p.tx, cursor::head, fx.p.tx.head_position() + static_cast<std::uint64_t>(by));
    CHECK_FALSE(consumer.check(fx.p.tx));
  }
}

TEST_CASE("private end: the other side's cursor going backwards is a violation") {
  pair_fixture fx;
  private_end producer{fx.p.rx, private_end::side::producer};
  REQUIRE(fx.p.rx.enqueue(std::span{fx.buf.data(), 2000}));
  producer.moved(fx.p.rx);
  REQUIRE(fx.p.rx.dequeue(std::span{fx.buf.data(), 1500}));
  REQUIRE(producer.check(fx.p.rx));                           // seen at 1500
  scribble_cursor(fx.p.rx, cursor::head, fx.p.rx.head_position() - 1000);  // "unread" 1000 bytes
  CHECK_FALSE(producer.check(fx.p.rx));

  private_end consumer{fx.p.tx, private_end::side::consumer};
  REQUIRE(fx.p.tx.enqueue(std::span{fx.buf.data(), 2000}));
  REQUIRE(consumer.check(fx.p.tx));  // seen: 2000 queued
  scribble_cursor(fx.p.tx, cursor::tail, fx.p.tx.tail_position() - 500);  // takes back bytes the stack may have sent
  CHECK_FALSE(consumer.check(fx.p.tx));
}

TEST_CASE("private end: the other side's cursor past this end, or further ahead than the fifo can hold, is a violation") {
  pair_fixture fx;
  private_end producer{fx.p.rx, private_end::side::producer};
  REQUIRE(fx.p.rx.enqueue(std::span{fx.buf.data(), 2000}));
  producer.moved(fx.p.rx);
  scribble_cursor(fx.p.rx, cursor::head, fx.p.rx.tail_position() + 1);  // read bytes never written
  CHECK_FALSE(producer.check(fx.p.rx));

  private_end consumer{fx.p.tx, private_end::side::consumer};
  scribble_cursor(fx.p.tx, cursor::tail, fx.p.tx.head_position() + fx.p.tx.max_size() + 1);  // more than fits
  CHECK_FALSE(consumer.check(fx.p.tx));
}
