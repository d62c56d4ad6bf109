#include "shm/segment.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace actorstack::shm {

namespace {

std::size_t round_to_page(std::size_t n) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

result<std::byte*> map_shared(int fd, std::size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return unexpected{errc::segment_map, "mmap", errno};
  return static_cast<std::byte*>(p);
}

constexpr int fixed_size_seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

}  // namespace

result<segment> segment::create(const std::string& name, std::size_t size) {
  if (size == 0) return unexpected{errc::invalid_argument, "segment size 0"};
  size = round_to_page(size);
  int fd = ::memfd_create(name.empty() ? "actorstack" : name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return unexpected{errc::segment_create, "memfd_create", errno};
  // Sealed at its size: a process it is shared with cannot shrink it (every
  // mapping would take SIGBUS past the new end) nor grow it, and nobody can
  // lift the seals.
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::fcntl(fd, F_ADD_SEALS, fixed_size_seals) != 0) {
    int e = errno;
    ::close(fd);
    return unexpected{errc::segment_create, "ftruncate/seal", e};
  }
  auto base = map_shared(fd, size);
  if (!base) {
    ::close(fd);
    return unexpected{base.error()};
  }
  return segment{name, fd, *base, size};
}

result<segment> segment::map(int fd, std::string name) {
  // Only a segment whose size nobody can change: one that could shrink
  // under the mapping would turn the sender's ftruncate into this
  // process's SIGBUS.
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 && errno == EBADF) return unexpected{errc::segment_map, "fcntl(F_GET_SEALS)", errno};
  if (seals < 0 || (seals & fixed_size_seals) != fixed_size_seals)
    return unexpected{errc::bad_layout, "segment fd not sealed against resizing"};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return unexpected{errc::segment_map, "fstat", errno};
  if (st.st_size <= 0) return unexpected{errc::bad_layout, "empty segment fd"};
  int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return unexpected{errc::segment_map, "dup", errno};
  auto size = static_cast<std::size_t>(st.st_size);
  auto base = map_shared(own, size);
  if (!base) {
    ::close(own);
    return unexpected{base.error()};
  }
  return segment{std::move(name), own, *base, size};
}

segment::segment(segment&& other) noexcept
    : name_(std::move(other.name_)), fd_(other.fd_), base_(other.base_), size_(other.size_) {
  other.fd_ = -1;
  other.base_ = nullptr;
  other.size_ = 0;
}

segment& segment::operator=(segment&& other) noexcept {
  if (this != &other) {
    release();
    name_ = std::move(other.name_);
    fd_ = other.fd_;
    base_ = other.base_;
    size_ = other.size_;
    other.fd_ = -1;
    other.base_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

segment::~segment() { release(); }

void segment::release() noexcept {
  if (base_ != nullptr) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
  base_ = nullptr;
  fd_ = -1;
  size_ = 0;
}

}  // namespace actorstack::shm
