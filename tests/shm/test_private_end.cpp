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

TEST_CASE("private end: an end made before its fifo takes it at the first check, on its own side, and from then on notices a scribbled cursor") {
  pair_fixture fx;
  (void)fx.p.rx.enqueue(std::span{fx.buf.data(), 1000});  // already 1000 bytes queued when taken
  private_end producer{private_end::side::producer};
  private_end consumer{private_end::side::consumer};
  REQUIRE(producer.check(fx.p.rx));  // takes: tail 1000, head 0
  REQUIRE(consumer.check(fx.p.rx));  // takes the other end of the same fifo: head 0
  CHECK(producer.own() == 1000);
  CHECK(consumer.own() == 0);
  // The app drains 600: the producer sees its peer move forward, the
  // consumer end (the stack's, here) sees its own cursor moved by someone else.
  (void)fx.p.rx.drop(600);
  CHECK(producer.check(fx.p.rx));
  CHECK_FALSE(consumer.check(fx.p.rx));
  // The head put back before where the producer last saw it: backwards.
  scribble_cursor(fx.p.rx, cursor::head, 100);
  CHECK_FALSE(producer.check(fx.p.rx));
}

TEST_CASE("private end: the stack's own move past what its last check saw of the other side (it read that cursor afresh) is no violation") {
  pair_fixture fx;  // 16 KiB fifos
  // Consumer: checked with 1000 bytes queued, the app adds 2000 more, the
  // stack drains all 3000 (it read the tail afresh): its cursor passed the
  // tail its check saw.
  private_end consumer{fx.p.tx, private_end::side::consumer};
  (void)fx.p.tx.enqueue(std::span{fx.buf.data(), 1000});
  REQUIRE(consumer.check(fx.p.tx));
  (void)fx.p.tx.enqueue(std::span{fx.buf.data(), 2000});
  CHECK(fx.p.tx.drop(3000) == 3000);
  consumer.moved(fx.p.tx);
  CHECK(consumer.check(fx.p.tx));
  // Producer: checked with 16000 bytes queued, the app drains them all,
  // the stack fills 16000 again (it read the head afresh): its cursor is
  // more than a fifo's size ahead of the head its check saw.
  private_end producer{fx.p.rx, private_end::side::producer};
  for (int i = 0; i < 2; ++i) {
    REQUIRE(producer.check(fx.p.rx));
    (void)fx.p.rx.enqueue(std::span{fx.buf.data(), 2000});
    producer.moved(fx.p.rx);
  }
  REQUIRE(producer.check(fx.p.rx));
  CHECK(fx.p.rx.drop(4000) == 4000);
  for (int i = 0; i < 8; ++i) {
    (void)fx.p.rx.enqueue(std::span{fx.buf.data(), 2000});
    producer.moved(fx.p.rx);
  }
  CHECK(producer.check(fx.p.rx));
  // ... and a head moved back behind what the stack's own moves imply still is one.
  scribble_cursor(fx.p.rx, cursor::head, 0);
  CHECK_FALSE(producer.check(fx.p.rx));
}
