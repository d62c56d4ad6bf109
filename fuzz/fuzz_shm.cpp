// libFuzzer: a shared-memory scribbler. The input is a script: fifo
// operations on this process's side (enqueue, dequeue, peek, drop,
// out-of-order writes, resizes, the stack's private-end checks, allocating
// and freeing fifos) interleaved with words another process writes
// anywhere in the segment's first 64 KiB (fifo headers, chunk headers,
// the allocator's state) and over an event queue's memory before it is
// attached and used. Whatever the words, nothing may touch memory outside
// the mappings (ASan), fault or loop forever (libFuzzer's timeout).
#include "fuzz/script.hpp"
#include "shm/event_queue.hpp"
#include "shm/fifo_segment.hpp"
#include "shm/private_end.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace {

using namespace actorstack;
using namespace actorstack::shm;

constexpr std::size_t segment_bytes = 1u << 20;
constexpr std::size_t scribble_window = 64u << 10;

// Reads the script; past its end every read is 0.
using fuzz::script;

struct fifo_side {
  fifo f;
  private_end producer_end{private_end::side::producer};
  private_end consumer_end{private_end::side::consumer};
};

void run_fifos(script& s) {
  auto seg = fifo_segment::create("fuzz-shm", segment_bytes);
  if (!seg) return;
  std::byte* base = seg->memory().base();
  std::vector<fifo_side> fifos;
  std::array<std::byte, 9000> buf{};
  for (int step = 0; step < 256 && s.left > 0; ++step) {
    const unsigned op = static_cast<unsigned>(s.take(1));
    fifo_side* side = fifos.empty() ? nullptr : &fifos[op % fifos.size()];
    switch ((op >> 3) % 11) {
      case 0:  // a new pair, sizes from the script
        if (fifos.size() < 8) {
          const auto rx = static_cast<std::uint32_t>(s.take(3) % (256u << 10));
          const auto tx = static_cast<std::uint32_t>(s.take(3) % (256u << 10));
          if (auto p = seg->alloc_fifo_pair(rx, tx); p) {
            fifos.push_back({p->rx});
            fifos.back().producer_end = private_end{p->rx, private_end::side::producer};
            fifos.push_back({p->tx});
            fifos.back().consumer_end = private_end{p->tx, private_end::side::consumer};
          }
        }
        break;
      case 1:  // another process writes a word
      case 2: {
        const std::size_t off = (s.take(2) % (scribble_window / 8)) * 8;
        const std::uint64_t word = s.take(8);
        std::memcpy(base + off, &word, sizeof word);
        break;
      }
      case 3:
        if (side) (void)side->f.enqueue(std::span{buf}.first(s.take(2) % buf.size()));
        break;
      case 4:
        if (side) (void)side->f.dequeue(std::span{buf}.first(s.take(2) % buf.size()));
        break;
      case 5:
        if (side) (void)side->f.peek(s.take(2), std::span{buf}.first(s.take(2) % buf.size()));
        break;
      case 6:
        if (side) (void)side->f.drop(s.take(2));
        break;
      case 7:
        if (side) (void)side->f.enqueue_with_offset(s.take(3), std::span{buf}.first(s.take(2) % 1500));
        break;
      case 8:
        if (side) (void)side->f.set_size(static_cast<std::uint32_t>(s.take(3)));
        break;
      case 9:  // the stack's checks, then its own move
        if (side) {
          if (side->producer_end.check(side->f)) side->producer_end.moved(side->f);
          if (side->consumer_end.check(side->f)) side->consumer_end.moved(side->f);
          for (std::size_t i = 0; i < side->f.ooo_segment_count(); ++i) (void)side->f.ooo_segment(i);
          (void)side->f.max_enqueue();
          (void)side->f.max_dequeue();
          (void)side->f.allocated_bytes();
          for (std::size_t i = 0; i < side->f.subscriber_count(); ++i) (void)side->f.subscriber(i);
        }
        break;
      case 10:  // free one (the list walk goes over scribbled links)
        if (side) {
          (void)seg->free_fifo(side->f);
          fifos.erase(fifos.begin() + static_cast<std::ptrdiff_t>(side - fifos.data()));
        }
        break;
    }
  }
  for (auto& f : fifos) (void)seg->free_fifo(f.f);
}

void run_event_queue(script& s) {
  const event_queue_config cfg{64, 32};
  const std::size_t bytes = event_queue::required_bytes(cfg);
  std::unique_ptr<std::byte, decltype(&std::free)> mem(static_cast<std::byte*>(std::aligned_alloc(64, bytes)), &std::free);
  if (!mem) return;
  auto made = event_queue::create(mem.get(), bytes, cfg);
  if (!made) return;
  // The other side scribbles, then this side attaches (and validates) and uses it.
  for (int i = 0; i < 16 && s.left > 0; ++i) {
    const std::size_t off = (s.take(2) % (bytes / 8)) * 8;
    const std::uint64_t word = s.take(8);
    std::memcpy(mem.get() + off, &word, sizeof word);
  }
  auto q = event_queue::attach(mem.get(), bytes, made->eventfd());
  if (!q) return;
  fuzz::exercise(*q, 200);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  script s{data, size};
  if (s.take(1) % 4 == 0) run_event_queue(s);
  else run_fifos(s);
  return 0;
}
