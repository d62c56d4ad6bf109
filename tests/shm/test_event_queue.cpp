// shm::event_ring and shm::event_queue: order, full, wrap, batches,
// control payloads, the doorbell rule, waiting, many producers.

#include "shm/event_queue.hpp"
#include "test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

using namespace actorstack;
using namespace actorstack::shm;
using namespace std::chrono_literals;

namespace {

// 64-byte aligned process memory for a queue.
struct region {
  explicit region(std::size_t bytes) : size(bytes), mem(std::aligned_alloc(64, (bytes + 63) / 64 * 64)) {}
  ~region() { std::free(mem); }
  std::size_t size;
  void* mem;
};

io_event ev(std::uint64_t handle, std::uint32_t aux = 0) {
  io_event e;
  e.type = io_event_type::rx;
  e.aux = aux;
  e.session_handle = handle;
  return e;
}

struct small_queue {
  event_queue_config cfg{8, 4};
  region mem{event_queue::required_bytes(cfg)};
  event_queue q = *event_queue::create(mem.mem, mem.size, cfg);
};

}  // namespace

TEST_CASE("event ring: invalid capacity, size, alignment and layout are typed errors") {
  region r{4096};
  CHECK(event_ring<io_event>::create(r.mem, r.size, 3).code() == errc::invalid_argument);
  CHECK(event_ring<io_event>::create(r.mem, r.size, 1).code() == errc::invalid_argument);
  CHECK(event_ring<io_event>::create(r.mem, 64, 8).code() == errc::invalid_argument);
  CHECK(event_ring<io_event>::create(static_cast<char*>(r.mem) + 8, r.size - 8, 8).code() ==
        errc::invalid_argument);
  std::memset(r.mem, 0xab, r.size);
  CHECK(event_ring<io_event>::attach(r.mem, r.size).code() == errc::bad_layout);
  REQUIRE(event_ring<io_event>::create(r.mem, r.size, 8).has_value());
  CHECK(event_ring<io_event>::attach(r.mem, r.size).has_value());
  CHECK(event_ring<ctrl_event>::attach(r.mem, r.size).code() == errc::bad_layout);  // element type
  CHECK(event_queue::attach(r.mem, r.size, -1).code() == errc::bad_layout);
}

TEST_CASE("event ring: a producer keeps its own capacity when the other side scribbles the header") {
  // The stack produces into rings an app process can write: whatever that
  // app puts in the shared header, the stack's pushes stay in the ring.
  const std::size_t bytes = event_ring<io_event>::required_bytes(8);
  region r{bytes + 64};
  std::memset(static_cast<std::byte*>(r.mem) + bytes, 0x5c, 64);  // canary after the ring
  auto producer = event_ring<io_event>::create(r.mem, bytes, 8);
  REQUIRE(producer.has_value());
  const std::uint64_t huge = std::uint64_t{1} << 40;
  std::memcpy(static_cast<std::byte*>(r.mem) + 8, &huge, sizeof huge);  // header: magic, elem size, capacity
  CHECK(producer->capacity() == 8);
  std::size_t pushed = 0;
  for (int i = 0; i < 64; ++i) pushed += producer->push(ev(static_cast<std::uint64_t>(i))).has_value() ? 1 : 0;
  CHECK(pushed == 8);  // full at its real capacity
  for (std::size_t i = 0; i < 64; ++i)
    CHECK(static_cast<std::byte*>(r.mem)[bytes + i] == std::byte{0x5c});
  // An attacher validates what it reads: the scribbled ring is refused.
  CHECK(event_ring<io_event>::attach(r.mem, bytes).code() == errc::bad_layout);
}

TEST_CASE("event queue: an attach refuses ring offsets and lengths whose sums wrap, and a ring capacity whose size wraps (found by fuzz_shm)") {
  small_queue s;
  auto* words = static_cast<std::uint64_t*>(s.mem.mem);  // magic+version, io offset, io bytes, ctrl offset, ctrl bytes
  const std::uint64_t saved[4] = {words[1], words[2], words[3], words[4]};
  REQUIRE(event_queue::attach(s.mem.mem, s.mem.size, s.q.eventfd()).has_value());
  words[4] = ~std::uint64_t{0} - 8;  // ctrl bytes: offset + bytes wraps below the memory's size
  CHECK(event_queue::attach(s.mem.mem, s.mem.size, s.q.eventfd()).code() == errc::bad_layout);
  words[4] = saved[3];
  words[2] = ~std::uint64_t{0};  // io bytes
  CHECK(event_queue::attach(s.mem.mem, s.mem.size, s.q.eventfd()).code() == errc::bad_layout);
  words[2] = saved[1];
  words[1] = 0;  // io ring over the queue's own header
  CHECK(event_queue::attach(s.mem.mem, s.mem.size, s.q.eventfd()).code() == errc::bad_layout);
  words[1] = saved[0];
  REQUIRE(event_queue::attach(s.mem.mem, s.mem.size, s.q.eventfd()).has_value());
  // A ring's capacity of 2^62: a power of two whose slots' size wraps to a small number.
  auto* ring = static_cast<std::byte*>(s.mem.mem) + saved[0];
  const std::uint64_t huge = std::uint64_t{1} << 62;
  std::memcpy(ring + 8, &huge, sizeof huge);
  CHECK(event_ring<io_event>::attach(ring, saved[1]).code() == errc::bad_layout);
}

TEST_CASE("event queue: events come out in order, full is queue_full, then recovers") {
  small_queue s;
  for (std::uint64_t i = 0; i < 8; ++i) REQUIRE(s.q.post_io(ev(i)).has_value());
  CHECK(s.q.post_io(ev(99)).code() == errc::queue_full);
  io_event out;
  for (std::uint64_t i = 0; i < 3; ++i) {
    REQUIRE(s.q.try_pop_io(out));
    CHECK(out.session_handle == i);
  }
  for (std::uint64_t i = 8; i < 11; ++i) REQUIRE(s.q.post_io(ev(i)).has_value());
  CHECK(s.q.post_io(ev(99)).code() == errc::queue_full);
  for (std::uint64_t i = 3; i < 11; ++i) {
    REQUIRE(s.q.try_pop_io(out));
    CHECK(out.session_handle == i);
  }
  CHECK_FALSE(s.q.try_pop_io(out));
  CHECK(s.q.empty());
}

TEST_CASE("event queue: wraps around its ring many times") {
  small_queue s;
  io_event out;
  std::uint64_t next = 0;
  for (std::uint64_t i = 0; i < 10000; ++i) {
    REQUIRE(s.q.post_io(ev(i, static_cast<std::uint32_t>(i))).has_value());
    if (i % 3 == 2) {
      while (s.q.try_pop_io(out)) CHECK(out.session_handle == next++);
    }
  }
  while (s.q.try_pop_io(out)) CHECK(out.session_handle == next++);
  CHECK(next == 10000);
}

TEST_CASE("event queue: batch push takes what fits with one claim, batch pop keeps order") {
  small_queue s;
  std::vector<io_event> evs;
  for (std::uint64_t i = 0; i < 12; ++i) evs.push_back(ev(i));
  CHECK(s.q.post_io_batch(evs) == 8);  // partially fits
  CHECK(s.q.post_io_batch(evs) == 0);  // full
  std::array<io_event, 5> out{};
  CHECK(s.q.pop_io_batch(out) == 5);
  for (std::uint64_t i = 0; i < 5; ++i) CHECK(out[i].session_handle == i);
  CHECK(s.q.post_io_batch(std::span{evs}.subspan(8)) == 4);
  std::array<io_event, 16> rest{};
  CHECK(s.q.pop_io_batch(rest) == 7);
  for (std::uint64_t i = 0; i < 7; ++i) CHECK(rest[i].session_handle == i + 5);
  CHECK(s.q.post_io_batch({}) == 0);
}

TEST_CASE("event queue: control events carry payloads, oversized payloads are rejected") {
  small_queue s;
  struct accept_msg {
    std::uint64_t handle;
    std::uint32_t app;
    char name[20];
  } msg{42, 7, "server"};
  auto c = ctrl_event::make(3, msg);
  REQUIRE(c.has_value());
  REQUIRE(s.q.post_ctrl(*c).has_value());
  ctrl_event out;
  REQUIRE(s.q.try_pop_ctrl(out));
  CHECK(out.type == 3);
  accept_msg back{};
  REQUIRE(out.read(back));
  CHECK(back.handle == 42);
  CHECK(std::string{back.name} == "server");
  std::uint32_t wrong;
  CHECK_FALSE(out.read(wrong));
  struct big {
    char bytes[300];
  };
  CHECK(ctrl_event::make(1, big{}).code() == errc::invalid_argument);
  for (int i = 0; i < 4; ++i) REQUIRE(s.q.post_ctrl(*c).has_value());
  CHECK(s.q.post_ctrl(*c).code() == errc::queue_full);
}

TEST_CASE("event queue: the doorbell rings only for an armed consumer, once") {
  small_queue s;
  REQUIRE(s.q.post_io(ev(1)).has_value());
  CHECK(s.q.doorbells() == 0);           // nobody sleeps: no syscall
  CHECK_FALSE(s.q.prepare_wait());       // something queued: do not sleep
  io_event out;
  REQUIRE(s.q.try_pop_io(out));
  CHECK(s.q.prepare_wait());             // armed
  REQUIRE(s.q.post_io(ev(2)).has_value());
  REQUIRE(s.q.post_io(ev(3)).has_value());
  CHECK(s.q.doorbells() == 1);           // first producer woke it, the second did not
  std::uint64_t count = 0;
  CHECK(::read(s.q.eventfd(), &count, sizeof count) == sizeof count);
  CHECK(count == 1);
  s.q.consume_wakeup();
}

TEST_CASE("event queue: wait times out on an empty queue and wakes for another thread's post") {
  small_queue s;
  auto r = s.q.wait(20ms);
  REQUIRE(r.has_value());
  CHECK_FALSE(*r);
  std::thread producer([&] {
    std::this_thread::sleep_for(30ms);
    (void)s.q.post_io(ev(5));
  });
  bool got = false;
  for (int i = 0; i < 100 && !got; ++i) {
    auto w = s.q.wait(1000ms);
    REQUIRE(w.has_value());
    io_event out;
    got = s.q.try_pop_io(out);
  }
  producer.join();
  CHECK(got);
}

TEST_CASE("event queue: two producers and a consumer move 4 million events, none lost or duplicated") {
  event_queue_config cfg{2048, 16};
  region mem{event_queue::required_bytes(cfg)};
  auto q = event_queue::create(mem.mem, mem.size, cfg);
  REQUIRE(q.has_value());
  constexpr std::uint64_t per_producer = 2'000'000;
  std::atomic<std::uint64_t> contended{0};
  auto produce = [&](std::uint64_t id) {
    std::uint64_t i = 0;
    std::vector<io_event> batch;
    while (i < per_producer) {
      if (i % 3 == 0) {  // mix single posts and batches
        auto r = q->post_io(ev(id << 32 | i));
        if (r) {
          ++i;
        } else {
          if (r.code() == errc::queue_contended) ++contended;
          std::this_thread::yield();
        }
        continue;
      }
      batch.clear();
      for (std::uint64_t k = 0; k < 16 && i + k < per_producer; ++k) batch.push_back(ev(id << 32 | (i + k)));
      const std::size_t n = q->post_io_batch(batch);
      if (n == 0) std::this_thread::yield();
      i += n;
    }
  };
  std::thread p1(produce, 1), p2(produce, 2);
  std::uint64_t next[3] = {0, 0, 0};
  std::uint64_t errors = 0;
  std::uint64_t total = 0;
  std::array<io_event, 64> buf{};
  while (total < 2 * per_producer) {
    const std::size_t n = q->pop_io_batch(buf);
    if (n == 0) {
      auto w = q->wait(100ms);
      if (!w) ++errors;
      continue;
    }
    for (std::size_t k = 0; k < n; ++k) {
      const std::uint64_t id = buf[k].session_handle >> 32;
      const std::uint64_t seq = buf[k].session_handle & 0xffffffff;
      if (id < 1 || id > 2 || seq != next[id]) ++errors;
      else ++next[id];
    }
    total += n;
  }
  p1.join();
  p2.join();
  CHECK(errors == 0);
  CHECK(next[1] == per_producer);
  CHECK(next[2] == per_producer);
  io_event extra;
  CHECK_FALSE(q->try_pop_io(extra));
}
