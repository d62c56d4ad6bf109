// Two processes: the parent creates a fifo segment with a fifo and an event
// queue in it; a forked child maps the same segment again from its fd (at
// another address), streams verified data through the fifo and posts io
// and control events; the parent waits on the eventfd, reads and verifies
// every byte and event.

#include "shm/event_queue.hpp"
#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

using namespace actorstack;
using namespace actorstack::shm;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t stream_bytes = 256ull << 20;
constexpr std::uint32_t done_type = 9;

// Child: map the segment anew from the fd, produce, exit with a status
// that says what went wrong (0 = fine).
int child_main(int seg_fd, offset_t fifo_off, offset_t queue_off, std::size_t queue_bytes,
               int queue_fd) {
  auto seg = fifo_segment::attach(seg_fd, "child");
  if (!seg) return 10;
  auto f = seg->fifo_at(fifo_off);
  if (!f) return 11;
  auto q = event_queue::attach(seg->memory().base() + queue_off, queue_bytes, queue_fd);
  if (!q) return 12;
  const test::stream_pattern pattern;
  std::uint64_t sent = 0;
  std::uint64_t events = 0;
  while (sent < stream_bytes) {
    const std::size_t want = std::min<std::uint64_t>(stream_bytes - sent, 1 + (sent * 7919) % 65536);
    auto n = f->enqueue(pattern.at(sent, want));
    if (!n) {
      if (n.code() != errc::fifo_full) return 13;
      usleep(50);
      continue;
    }
    sent += *n;
    // Post only when this enqueue set the fifo's event flag (coalescing).
    if (f->set_event()) {
      io_event ev;
      ev.type = io_event_type::rx;
      ev.session_handle = events++;
      while (!q->post_io(ev)) usleep(10);
    }
  }
  auto done = ctrl_event::make(done_type, sent);
  if (!done) return 14;
  while (!q->post_ctrl(*done)) usleep(10);
  return 0;
}

}  // namespace

TEST_CASE("cross-process: a forked child streams verified data and events through one segment") {
  auto seg = fifo_segment::create("xproc", 64u << 20);
  REQUIRE(seg.has_value());
  auto f = seg->alloc_fifo(1u << 20);
  REQUIRE(f.has_value());
  const event_queue_config cfg{256, 16};
  const std::size_t qbytes = event_queue::required_bytes(cfg);
  auto qoff = seg->alloc_block(qbytes);
  REQUIRE(qoff.has_value());
  auto q = event_queue::create(seg->memory().base() + *qoff, qbytes, cfg);
  REQUIRE(q.has_value());

  // Armed before the child exists, as a consumer about to sleep: the
  // child's first post must ring the doorbell. (Checking only that the
  // parent happened to sleep later failed under TSan, where the parent kept
  // finding data and never slept.)
  REQUIRE(q->prepare_wait());
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(child_main(seg->fd(), f->offset(), *qoff, qbytes, q->eventfd()));

  const test::stream_pattern pattern;
  std::vector<std::byte> buf(1u << 17);
  std::uint64_t got = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t events = 0;
  std::uint64_t event_order_errors = 0;
  std::uint64_t reported = 0;
  bool done = false;
  int idle_waits = 0;
  while (!(done && got == reported) && idle_waits < 200) {
    io_event ev;
    bool progressed = false;
    while (q->try_pop_io(ev)) {
      if (ev.session_handle != events) ++event_order_errors;
      ++events;
      f->unset_event();  // consumer clears, then reads everything
      progressed = true;
    }
    for (;;) {
      auto n = f->dequeue(buf);
      if (!n) break;
      if (std::memcmp(buf.data(), pattern.at(got, *n).data(), *n) != 0) ++mismatches;
      got += *n;
      progressed = true;
    }
    ctrl_event c;
    if (q->try_pop_ctrl(c)) {
      REQUIRE(c.type == done_type);
      REQUIRE(c.read(reported));
      done = true;
      progressed = true;
    }
    if (!progressed) {
      auto w = q->wait(50ms);  // sleeps on the eventfd
      REQUIRE(w.has_value());
      idle_waits = *w ? 0 : idle_waits + 1;
    }
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(done);
  CHECK(reported == stream_bytes);
  CHECK(got == stream_bytes);
  CHECK(mismatches == 0);
  CHECK(event_order_errors == 0);
  CHECK(events > 0);
  CHECK(q->doorbells() > 0);  // a post found the parent armed and woke it
}
