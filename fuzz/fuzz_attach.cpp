// libFuzzer: what either side decodes from an app's Unix connection when
// the other is hostile (docs/architecture.md §7): every record of the
// attach protocol (app_protocol.hpp) as the stack's thread and the client
// library decode them, and the same records cut from a byte stream as the
// plain inspect port reads them; the event-queue memfd (any size, any contents,
// sealed or not) mapped and attached as the client library does; and a
// fifo segment with words overwritten, attached from its fd, its fifos
// looked up at offsets a notification names and then used. Nothing may
// fault, loop, allocate what the record did not pay for, or leak an fd or
// a mapping.
#include "actors/remote/app_protocol.hpp"
#include "actors/remote/stream_records.hpp"
#include "fuzz/script.hpp"
#include "shm/fd_channel.hpp"
#include "shm/event_queue.hpp"
#include "shm/fifo_segment.hpp"
#include "shm/segment.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using namespace actorstack;
using namespace actorstack::shm;

using fuzz::script;

// A memfd of `size` bytes holding the rest of the script (repeated), sealed
// at its size unless the script says not to. -1 if the kernel refused.
int memfd_from(script& s, std::size_t size) {
  const bool seal = s.take(1) % 8 != 0;
  const int fd = ::memfd_create("fuzz-attach", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    ::close(fd);
    return -1;
  }
  if (size > 0 && s.left > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
      auto* bytes = static_cast<std::uint8_t*>(p);
      for (std::size_t i = 0; i < size; i += s.left) std::memcpy(bytes + i, s.at, std::min(s.left, size - i));
      ::munmap(p, size);
    }
  }
  if (seal) (void)::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  return fd;
}

void event_queue_message(script& s) {
  const std::size_t size = s.take(3) % (256u << 10);
  const int fd = memfd_from(s, size);
  if (fd < 0) return;
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (auto mem = segment::map(fd, "events")) {
    if (auto q = event_queue::attach(mem->base(), mem->size(), efd)) {
      fuzz::exercise(*q, 64);
      (void)q->prepare_wait();
    }
  }
  ::close(efd);
  ::close(fd);
}

// A real segment with a few fifo pairs, as the stack makes it; the script
// overwrites words of its first pages (what a hostile stack or peer could
// have written), then the app's side attaches it from the fd and uses the
// fifos at offsets the script names (as a notification would).
void segment_message(script& s) {
  auto made = fifo_segment::create("fuzz-segment", 1u << 20);
  if (!made) return;
  std::vector<offset_t> offsets;
  for (int i = 0; i < 3; ++i)
    if (auto p = made->alloc_fifo_pair(16384, 16384)) offsets.push_back(p->rx.offset()), offsets.push_back(p->tx.offset());
  std::byte* base = made->memory().base();
  for (int k = 0; k < 16 && s.left > 0; ++k) {
    const std::size_t at = (s.take(2) % ((64u << 10) / 8)) * 8;
    const std::uint64_t word = s.take(8);
    std::memcpy(base + at, &word, sizeof word);
  }
  auto seg = fifo_segment::attach(made->memory().fd(), "segment");
  if (!seg) return;
  std::array<std::byte, 2048> buf{};
  for (int n = 0; n < 8; ++n) {
    const std::uint64_t pick = s.take(4);
    const offset_t off = pick % 2 == 0 && !offsets.empty() ? offsets[(pick >> 1) % offsets.size()]
                                                           : static_cast<offset_t>(pick >> 1);
    auto f = seg->fifo_at(off);
    if (!f) continue;
    (void)f->enqueue(std::span{buf}.first(s.take(2) % buf.size()));
    (void)f->peek(s.take(2), std::span{buf}.first(s.take(2) % buf.size()));
    (void)f->dequeue(std::span{buf}.first(s.take(2) % buf.size()));
    (void)f->max_enqueue();
    (void)f->max_dequeue();
    (void)f->needs_deq_ntf(s.take(2));
    for (std::size_t i = 0; i < f->subscriber_count(); ++i) (void)f->subscriber(i);
  }
}

// The rest of the script as one record's payload, of a type it picks:
// decoded by each side's decoder (the stack's for requests and attaches,
// the app's for the stack's records). A decoded record is encoded again
// and must decode to the same bytes' worth.
void protocol_record(script& s) {
  const auto type = static_cast<std::uint32_t>(s.take(1) % 24);
  const std::span<const std::byte> payload{reinterpret_cast<const std::byte*>(s.at), s.left};
  if (auto r = app_protocol::decode_request(type, payload)) {
    if (app_protocol::encode(*r).size() != payload.size()) std::abort();
  }
  if (auto a = app_protocol::decode_attach_request(payload)) (void)app_protocol::encode(*a);
  (void)app_protocol::decode_attach_reply(payload);
  (void)app_protocol::decode_answer(payload);
  if (auto t = app_protocol::decode_tcp_info_answer(payload)) {
    if (app_protocol::encode(*t).size() != payload.size()) std::abort();
  }
  (void)app_protocol::decode_hello(payload);
  if (auto n = app_protocol::decode_notify(payload); n && payload.size() <= shm::max_channel_payload) {
    app_protocol::notify_batch again;
    for (const auto& one : *n)
      if (!again.add(one)) std::abort();  // what fit one record fits one record
  }
}

// The rest of the script as bytes on the plain inspect port's TCP stream
// (stream_records.hpp), in reads of sizes the script picks: the reader
// never holds more than a record and one read, and every record it cuts is
// decoded as the port decodes a show.
void stream_bytes(script& s) {
  app_protocol::stream_reader reader;
  while (s.left > 0) {
    const std::size_t n = std::min<std::size_t>(s.left, 1 + s.take(2) % 4096);
    reader.feed(std::span{reinterpret_cast<const std::byte*>(s.at), n});
    s.at += n;
    s.left -= n;
    if (reader.buffered() > app_protocol::stream_header_bytes + app_protocol::max_stream_payload + 4096) std::abort();
    for (;;) {
      auto r = reader.next();
      if (!r || !r->has_value()) break;
      if (auto show = app_protocol::decode_show_request((*r)->payload)) (void)app_protocol::encode(*show);
      (void)app_protocol::decode_shown((*r)->payload);
    }
    if (!reader.next()) return;  // broken: the port closes the connection
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  script s{data, size};
  const auto pick = s.take(1);
  if (pick >= 0x80) protocol_record(s);
  else if (pick >= 0x40) stream_bytes(s);
  else if (pick % 2 == 0) event_queue_message(s);
  else segment_message(s);
  return 0;
}
