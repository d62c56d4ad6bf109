#include "shm/event_queue.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <new>

namespace actorstack::shm {

struct event_queue::header {
  static constexpr std::uint32_t magic_value = 0x41534551;  // "ASEQ"
  std::uint32_t magic = 0;
  std::uint32_t version = 1;
  std::uint64_t io_offset = 0;
  std::uint64_t io_bytes = 0;
  std::uint64_t ctrl_offset = 0;
  std::uint64_t ctrl_bytes = 0;
  alignas(64) std::atomic<std::uint32_t> armed{0};
  std::atomic<std::uint64_t> doorbells{0};
};

namespace {
constexpr std::size_t align64(std::size_t n) { return (n + 63) & ~std::size_t{63}; }
}  // namespace

std::size_t event_queue::required_bytes(const event_queue_config& cfg) noexcept {
  return align64(sizeof(header)) + align64(event_ring<io_event>::required_bytes(cfg.io_capacity)) +
         align64(event_ring<ctrl_event>::required_bytes(cfg.ctrl_capacity));
}

result<event_queue> event_queue::create(void* mem, std::size_t bytes,
                                        const event_queue_config& cfg) {
  if (reinterpret_cast<std::uintptr_t>(mem) % 64 != 0)
    return unexpected{errc::invalid_argument, "event queue memory must be 64-byte aligned"};
  if (bytes < required_bytes(cfg))
    return unexpected{errc::invalid_argument, "event queue memory too small"};
  auto* base = static_cast<std::byte*>(mem);
  auto* h = new (base) header{};
  h->io_offset = align64(sizeof(header));
  h->io_bytes = align64(event_ring<io_event>::required_bytes(cfg.io_capacity));
  h->ctrl_offset = h->io_offset + h->io_bytes;
  h->ctrl_bytes = align64(event_ring<ctrl_event>::required_bytes(cfg.ctrl_capacity));
  auto io = event_ring<io_event>::create(base + h->io_offset, h->io_bytes, cfg.io_capacity);
  if (!io) return unexpected{io.error()};
  auto ctrl = event_ring<ctrl_event>::create(base + h->ctrl_offset, h->ctrl_bytes, cfg.ctrl_capacity);
  if (!ctrl) return unexpected{ctrl.error()};
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return unexpected{errc::system, "eventfd", errno};
  h->magic = header::magic_value;
  return event_queue{h, *io, *ctrl, fd};
}

result<event_queue> event_queue::attach(void* mem, std::size_t bytes, int eventfd) {
  if (bytes < sizeof(header) || reinterpret_cast<std::uintptr_t>(mem) % 64 != 0)
    return unexpected{errc::bad_layout, "event queue memory too small or misaligned"};
  auto* base = static_cast<std::byte*>(mem);
  auto* h = reinterpret_cast<header*>(base);
  // Offsets and lengths are another process's words: each range must lie
  // past the header and inside the memory, compared without sums that wrap.
  const auto inside = [](std::uint64_t off, std::uint64_t len, std::uint64_t end) {
    return off >= sizeof(header) && off <= end && len <= end - off;
  };
  if (h->magic != header::magic_value || h->version != 1 || !inside(h->ctrl_offset, h->ctrl_bytes, bytes) ||
      !inside(h->io_offset, h->io_bytes, h->ctrl_offset))
    return unexpected{errc::bad_layout, "not an event queue"};
  auto io = event_ring<io_event>::attach(base + h->io_offset, h->io_bytes);
  if (!io) return unexpected{io.error()};
  auto ctrl = event_ring<ctrl_event>::attach(base + h->ctrl_offset, h->ctrl_bytes);
  if (!ctrl) return unexpected{ctrl.error()};
  const int fd = ::fcntl(eventfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return unexpected{errc::system, "dup eventfd", errno};
  return event_queue{h, *io, *ctrl, fd};
}

event_queue::event_queue(event_queue&& other) noexcept
    : hdr_(other.hdr_), io_(other.io_), ctrl_(other.ctrl_), fd_(other.fd_) {
  other.hdr_ = nullptr;
  other.fd_ = -1;
}

event_queue& event_queue::operator=(event_queue&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    hdr_ = other.hdr_;
    io_ = other.io_;
    ctrl_ = other.ctrl_;
    fd_ = other.fd_;
    other.hdr_ = nullptr;
    other.fd_ = -1;
  }
  return *this;
}

event_queue::~event_queue() {
  if (fd_ >= 0) ::close(fd_);
}

void event_queue::ring_doorbell() noexcept {
  // Order "event published" before "flag read" (see the file comment).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (hdr_->armed.load(std::memory_order_relaxed) == 0) return;
  if (hdr_->armed.exchange(0, std::memory_order_acq_rel) == 0) return;  // another producer rang
  const std::uint64_t one = 1;
  // EAGAIN only if the counter would overflow: the consumer is awake anyway.
  [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  hdr_->doorbells.fetch_add(1, std::memory_order_relaxed);
}

result<void> event_queue::post_io(const io_event& ev) noexcept {
  auto r = io_.push(ev);
  if (r) ring_doorbell();
  return r;
}

std::size_t event_queue::post_io_batch(std::span<const io_event> evs) noexcept {
  const std::size_t n = io_.push_batch(evs);
  if (n > 0) ring_doorbell();
  return n;
}

result<void> event_queue::post_ctrl(const ctrl_event& ev) noexcept {
  auto r = ctrl_.push(ev);
  if (r) ring_doorbell();
  return r;
}

bool event_queue::prepare_wait() noexcept {
  hdr_->armed.store(1, std::memory_order_relaxed);
  // Order "flag set" before "rings checked" (see the file comment).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!io_.empty() || !ctrl_.empty()) {
    hdr_->armed.store(0, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void event_queue::consume_wakeup() noexcept {
  hdr_->armed.store(0, std::memory_order_relaxed);
  std::uint64_t count = 0;
  [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);  // nonblocking
}

result<bool> event_queue::wait(std::chrono::milliseconds timeout) noexcept {
  if (!prepare_wait()) return true;
  pollfd p{fd_, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  consume_wakeup();
  if (r < 0) {
    if (errno == EINTR) return true;  // let the caller look again
    return unexpected{errc::system, "poll eventfd", errno};
  }
  return r > 0 || !empty();
}

std::uint64_t event_queue::doorbells() const noexcept {
  return hdr_->doorbells.load(std::memory_order_relaxed);
}

}  // namespace actorstack::shm
