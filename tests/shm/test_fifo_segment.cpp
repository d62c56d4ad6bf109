// shm::segment and shm::fifo_segment: creation, mapping, carving, reuse,
// exhaustion.

#include "test_support.hpp"
#include "tests/xorshift.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

using namespace actorstack;
using namespace actorstack::shm;
using actorstack::test::bytes;
using actorstack::test::drain;

TEST_CASE("segment: create maps a memfd of the requested size") {
  auto s = segment::create("seg-a", 10000);
  REQUIRE(s.has_value());
  CHECK(s->size() >= 10000);
  CHECK(s->fd() >= 0);
  CHECK(s->name() == "seg-a");
  s->base()[0] = std::byte{7};
  CHECK(s->offset_of(s->base() + 100) == 100);
}

TEST_CASE("segment: size 0 and bad fds are typed errors") {
  CHECK(segment::create("zero", 0).code() == errc::invalid_argument);
  CHECK(segment::map(-1).code() == errc::segment_map);
  int p[2];
  REQUIRE(::pipe(p) == 0);
  CHECK(segment::map(p[0]).code() == errc::bad_layout);  // not a memory fd: size 0
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("segment: sealed at its size, an ftruncate by whoever holds the fd fails and nothing faults") {
  auto a = segment::create("sealed", 1u << 16);
  REQUIRE(a.has_value());
  const int seals = ::fcntl(a->fd(), F_GET_SEALS);
  CHECK((seals & F_SEAL_SHRINK) != 0);
  CHECK((seals & F_SEAL_GROW) != 0);
  CHECK((seals & F_SEAL_SEAL) != 0);
  // What a hostile app would do with the fd it was sent.
  CHECK(::ftruncate(a->fd(), 4096) != 0);
  CHECK(errno == EPERM);
  CHECK(::ftruncate(a->fd(), 1u << 20) != 0);
  CHECK(::ftruncate(a->fd(), 0) != 0);
  CHECK(::fcntl(a->fd(), F_ADD_SEALS, 0) != 0);  // no unsealing, no new seals
  a->base()[(1u << 16) - 1] = std::byte{1};      // the last byte is still there
  CHECK(a->base()[(1u << 16) - 1] == std::byte{1});
}

TEST_CASE("segment: an fd that could be resized under the mapping is refused (bad_layout)") {
  const int unsealed = ::memfd_create("unsealed", MFD_CLOEXEC);
  REQUIRE(unsealed >= 0);
  REQUIRE(::ftruncate(unsealed, 1u << 16) == 0);
  CHECK(segment::map(unsealed).code() == errc::bad_layout);
  const int shrink_only = ::memfd_create("shrink-only", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  REQUIRE(::ftruncate(shrink_only, 1u << 16) == 0);
  REQUIRE(::fcntl(shrink_only, F_ADD_SEALS, F_SEAL_SHRINK) == 0);  // may still grow
  CHECK(segment::map(shrink_only).code() == errc::bad_layout);
  ::close(unsealed);
  ::close(shrink_only);
}

TEST_CASE("segment: a second mapping of the fd sees the same bytes at another address") {
  auto a = segment::create("seg-b", 4096);
  REQUIRE(a.has_value());
  auto b = segment::map(a->fd(), "seg-b");
  REQUIRE(b.has_value());
  CHECK(a->base() != b->base());
  a->base()[123] = std::byte{0x5a};
  CHECK(b->base()[123] == std::byte{0x5a});
}

TEST_CASE("fifo segment: rejects sizes it cannot serve") {
  CHECK(fifo_segment::create("tiny", 1024).code() == errc::invalid_argument);
  auto seg = fifo_segment::create("fs", 1u << 20);
  REQUIRE(seg.has_value());
  CHECK(seg->alloc_fifo(1000).code() == errc::invalid_argument);
  CHECK(seg->alloc_fifo(8192, 4096).code() == errc::invalid_argument);
  CHECK(seg->alloc_fifo(8192, 0x80000000u).code() == errc::invalid_argument);
}

TEST_CASE("fifo segment: a segment larger than 2 TiB is refused (a fifo handle could not name its blocks)") {
  CHECK(fifo_segment::create("huge", fifo_segment::segment_size_limit + 4096).code() == errc::invalid_argument);
}

TEST_CASE("fifo: a handle is 16 bytes and names mappings below 2^47 of sizes below 2 TiB, page-aligned") {
  static_assert(sizeof(fifo) == 16 && fifo_ref::storage_size == 16);
  const auto* page = reinterpret_cast<const std::byte*>(std::uintptr_t{0x7f0000000000});
  CHECK(fifo::can_name(page, std::uint64_t{1} << 30));
  CHECK(fifo::can_name(page, fifo_segment::segment_size_limit - 4096));
  CHECK_FALSE(fifo::can_name(page, fifo_segment::segment_size_limit));               // size bits full
  CHECK_FALSE(fifo::can_name(page + 64, 1u << 20));                                  // not page-aligned
  CHECK_FALSE(fifo::can_name(reinterpret_cast<const std::byte*>(std::uintptr_t{1} << 47), 1u << 20));  // above 47 bits
}

TEST_CASE("fifo: every fifo of a full segment, up to its last page, is named by its 16-byte handle and its ref") {
  auto seg = fifo_segment::create("fs-names", 1u << 20);
  REQUIRE(seg.has_value());
  std::vector<fifo> fifos;
  for (auto f = seg->alloc_fifo(4096); f; f = seg->alloc_fifo(4096)) fifos.push_back(*f);
  REQUIRE(fifos.size() > 100);
  offset_t highest = 0;
  for (const fifo& f : fifos) highest = std::max(highest, f.offset());
  CHECK(highest > (1u << 20) - 16384);  // fifos reach the segment's end
  for (fifo& f : fifos) {
    const fifo back = fifo::from_ref(f.to_ref());
    CHECK(back.segment_base() == seg->memory().base());
    CHECK(back.offset() == f.offset());
    REQUIRE(f.enqueue(bytes("last page")).has_value());
  }
  auto other = fifo_segment::attach(seg->fd());
  REQUIRE(other.has_value());
  for (const fifo& f : fifos) {
    auto g = other->fifo_at(f.offset());
    REQUIRE(g.has_value());
    CHECK(drain(*g) == "last page");
  }
}

TEST_CASE("fifo segment: attach from the fd validates the header") {
  auto seg = fifo_segment::create("fs-attach", 1u << 20);
  REQUIRE(seg.has_value());
  auto f = seg->alloc_fifo(8192);
  REQUIRE(f.has_value());
  REQUIRE(f->enqueue(bytes("across mappings")).has_value());
  auto other = fifo_segment::attach(seg->fd());
  REQUIRE(other.has_value());
  auto g = other->fifo_at(f->offset());
  REQUIRE(g.has_value());
  CHECK(drain(*g) == "across mappings");
  CHECK(other->fifo_count() == 1);

  auto plain = segment::create("not-a-fifo-segment", 1u << 16);
  REQUIRE(plain.has_value());
  CHECK(fifo_segment::attach(plain->fd()).code() == errc::bad_layout);
}

TEST_CASE("fifo segment: fifo_at rejects offsets that hold no fifo") {
  auto seg = fifo_segment::create("fs-at", 1u << 20);
  REQUIRE(seg.has_value());
  CHECK(seg->fifo_at(0).code() == errc::bad_layout);
  CHECK(seg->fifo_at(13).code() == errc::bad_layout);
  CHECK(seg->fifo_at(1u << 30).code() == errc::bad_layout);
  auto f = seg->alloc_fifo(4096);
  REQUIRE(f.has_value());
  const auto off = f->offset();
  CHECK(seg->fifo_at(off).has_value());
  seg->free_fifo(*f);
  CHECK(seg->fifo_at(off).code() == errc::bad_layout);  // stale offset
}

TEST_CASE("fifo segment: pairs, accounting and reuse of freed space") {
  auto seg = fifo_segment::create("fs-pairs", 4u << 20);
  REQUIRE(seg.has_value());
  const auto initial = seg->available_bytes();
  CHECK(seg->size() == 4u << 20);
  CHECK(initial < seg->size());
  auto p = seg->alloc_fifo_pair(8192, 16384);
  REQUIRE(p.has_value());
  CHECK(p->rx.size() == 8192);
  CHECK(p->tx.size() == 16384);
  CHECK(seg->fifo_count() == 2);
  CHECK(seg->available_bytes() < initial);
  seg->free_fifo(p->rx);
  seg->free_fifo(p->tx);
  CHECK(seg->fifo_count() == 0);
  CHECK(seg->available_bytes() == initial);  // all of it came back
  CHECK(seg->cached_bytes() > 0);
  // The freed blocks are reused rather than carving fresh space.
  const auto fresh = seg->free_bytes();
  auto q = seg->alloc_fifo_pair(8192, 8192);
  REQUIRE(q.has_value());
  CHECK(seg->free_bytes() == fresh);
}

TEST_CASE("fifo segment: exhaustion is fifo_alloc, and everything is reusable after") {
  auto seg = fifo_segment::create("fs-exhaust", 1u << 20);
  REQUIRE(seg.has_value());
  std::vector<fifo> fifos;
  for (;;) {
    auto f = seg->alloc_fifo(4096);
    if (!f) {
      CHECK(f.code() == errc::fifo_alloc);
      break;
    }
    fifos.push_back(*f);
    REQUIRE(fifos.size() < 100000);
  }
  CHECK(fifos.size() > 100);
  auto pair = seg->alloc_fifo_pair(4096, 4096);
  CHECK(pair.code() == errc::fifo_alloc);
  CHECK(seg->fifo_count() == fifos.size());  // the failed pair left nothing behind
  for (auto& f : fifos) seg->free_fifo(f);
  CHECK(seg->fifo_count() == 0);
  CHECK(seg->alloc_fifo_pair(4096, 4096).has_value());
}

TEST_CASE("fifo segment: a fifo that cannot grow reports fifo_no_memory, data intact") {
  auto seg = fifo_segment::create("fs-nomem", 256u << 10);
  REQUIRE(seg.has_value());
  auto f = seg->alloc_fifo(1u << 20);  // logical size beyond the segment
  REQUIRE(f.has_value());
  std::string data(1u << 20, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  auto n = f->enqueue(bytes(data));
  REQUIRE(n.has_value());
  CHECK(*n < data.size());  // partial: the segment ran out
  CHECK(*n > 100000);
  CHECK(f->enqueue(bytes(data.substr(*n))).code() == errc::fifo_no_memory);
  CHECK(f->enqueue_with_offset(10, bytes("abc")).code() == errc::fifo_no_memory);
  const auto got = drain(*f);
  CHECK(got == data.substr(0, *n));
  // Drained chunks are back: the rest now fits in pieces.
  auto m = f->enqueue(bytes(data.substr(*n)));
  REQUIRE(m.has_value());
  CHECK(*m > 0);
}

TEST_CASE("fifo segment: raw blocks for other shared structures") {
  auto seg = fifo_segment::create("fs-blocks", 1u << 20);
  REQUIRE(seg.has_value());
  auto b = seg->alloc_block(100000);
  REQUIRE(b.has_value());
  CHECK(*b % 64 == 0);
  CHECK(seg->alloc_block(8u << 20).code() == errc::segment_alloc);
  const auto before = seg->available_bytes();
  seg->free_block(*b, 100000);
  CHECK(seg->available_bytes() > before);
}

TEST_CASE("block allocator: free-list heads, links and the bump pointer scribbled by another process never lead outside the segment") {
  constexpr std::size_t seg_size = 1u << 20;
  auto seg = fifo_segment::create("scribbled", seg_size);
  REQUIRE(seg.has_value());
  std::byte* base = seg->memory().base();
  actorstack::test::xorshift next{0x9e3779b97f4a7c15ull};  // fixed seed: the same scribbles every run
  std::vector<std::pair<offset_t, std::size_t>> held;
  std::size_t handed_out = 0;
  for (int round = 0; round < 2000; ++round) {
    // What a hostile app could write: words of the allocator's state in
    // the segment header (free-list heads, bump pointer, bounds), and the
    // link word of blocks it freed.
    for (int k = 0; k < 3; ++k) {
      const std::size_t at = 64 + (next() % (960 / 8)) * 8;
      std::uint64_t word = next();
      switch (next() % 4) {
        case 0: word &= 0xffffffffffull; break;            // a plausible offset index
        case 1: word = seg_size + (next() % 4096) * 64; break;  // just past the end
        case 2: word = next() % 64; break;                 // inside the header
        default: break;                                     // anything
      }
      std::memcpy(base + at, &word, sizeof word);
    }
    if (!held.empty() && next() % 3 == 0) {
      const auto [off, bytes] = held[next() % held.size()];
      const std::uint64_t word = next();
      std::memcpy(base + off, &word, sizeof word);  // the free-list link of a block about to be freed
    }
    for (int k = 0; k < 8; ++k) {
      const std::size_t bytes = std::size_t{64} << (next() % 10);
      auto off = seg->alloc_block(bytes);
      if (!off) continue;
      ++handed_out;
      // Every block handed out lies in the segment, past its header, aligned.
      REQUIRE(*off >= 64);
      REQUIRE(*off % 64 == 0);
      REQUIRE(*off + bytes <= seg_size);
      std::memset(base + *off, 0xa5, bytes);  // and may be written whole
      held.emplace_back(*off, bytes);
    }
    while (held.size() > 16) {
      seg->free_block(held.front().first, held.front().second);
      held.erase(held.begin());
    }
  }
  CHECK(handed_out > 0);
  // Offsets outside the segment are never taken back onto a free list.
  seg->free_block(seg_size + 4096, 64);
  seg->free_block(13, 64);
}

TEST_CASE("fifo: headers and chunks scribbled by the other side never make this side touch memory outside the segment or loop forever") {
  // The cut-through case: both apps map the segment, and either may write
  // anything into it. Whatever the scribbles, every operation returns (an
  // error, or bytes that are only as good as the other side left them) and
  // every access stays in the mapping (ASan checks that in CI's ASan pass).
  constexpr std::size_t seg_size = 1u << 20;
  actorstack::test::xorshift next{0x2545f4914f6cdd1dull};  // fixed seed
  std::size_t errors = 0, moved = 0;
  for (int trial = 0; trial < 40; ++trial) {
    auto seg = fifo_segment::create("scribbled-fifo", seg_size);
    REQUIRE(seg.has_value());
    auto pair = seg->alloc_fifo_pair(16384, 16384);
    REQUIRE(pair.has_value());
    fifo rx = pair->rx;
    fifo tx = pair->tx;
    std::byte* base = seg->memory().base();
    std::array<std::byte, 6000> buf{};
    for (int round = 0; round < 200; ++round) {
      // A few hostile words over the fifo headers and the first chunks.
      for (int k = 0; k < 2; ++k) {
        const std::size_t at = 64 + (next() % ((64u << 10) / 8)) * 8;
        std::uint64_t word = next();
        switch (next() % 5) {
          case 0: word = (next() % (seg_size / 64)) * 64; break;  // a plausible chunk offset
          case 1: word = seg_size - 64 + (next() % 3) * 64; break;   // at or past the end
          case 2: word &= 0xffff; break;                             // a small count or length
          case 3: word = ~std::uint64_t{0} - (next() % 8); break;    // a wrapped position
          default: break;
        }
        std::memcpy(base + at, &word, sizeof word);
      }
      for (fifo* f : {&rx, &tx}) {
        const std::size_t n = next() % buf.size();
        if (auto r = f->enqueue(std::span{buf.data(), n}); r) moved += *r; else ++errors;
        if (auto r = f->enqueue_with_offset(next() % 8192, std::span{buf.data(), next() % 1500}); !r) ++errors;
        if (auto r = f->peek(next() % 4096, std::span{buf.data(), next() % buf.size()}); !r) ++errors;
        if (auto r = f->dequeue(std::span{buf.data(), next() % buf.size()}); r) moved += *r; else ++errors;
        (void)f->drop(next() % 3000);
        (void)f->add_subscriber(static_cast<std::uint32_t>(next() % 16));
        for (std::size_t i = 0; i < f->subscriber_count(); ++i) (void)f->subscriber(i);
        (void)f->needs_deq_ntf(next() % 100);
        (void)f->max_enqueue();
        (void)f->ooo_segment_count();
      }
    }
    // Freeing walks the (scribbled) chunk lists too.
    (void)seg->free_fifo(rx);
    (void)seg->free_fifo(tx);
  }
  CHECK(moved > 0);   // the fifos worked between scribbles
  CHECK(errors > 0);  // and the scribbles were noticed
}
