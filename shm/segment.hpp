#pragma once
/// \file
/// A named shared-memory region backed by a memfd. One process creates it;
/// any process that receives the fd (fork, SCM_RIGHTS) maps the same bytes,
/// usually at a different address — which is why everything stored inside a
/// segment refers to other things by offset, never by pointer.

#include <actorstack/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace actorstack::shm {

/// Offset of an object from the start of its segment. 0 is "null": offset 0
/// always holds the segment's own header, never a referable object.
using offset_t = std::uint64_t;

class segment {
 public:
  /// Creates a memfd of `size` bytes (rounded up to the page size), maps it
  /// read-write and shared. Errors: invalid_argument (size 0),
  /// segment_create (memfd_create/ftruncate, with errno), segment_map.
  static result<segment> create(const std::string& name, std::size_t size);

  /// Maps an existing segment from its fd. The fd is duplicated, so the
  /// caller keeps ownership of `fd`. The size is read from the fd.
  /// Errors: segment_map (fstat/mmap/dup failed, with errno), bad_layout
  /// (the fd is empty, or not sealed against resizing: only segments made
  /// by `create` map).
  static result<segment> map(int fd, std::string name = {});

  segment() noexcept = default;
  segment(segment&& other) noexcept;
  segment& operator=(segment&& other) noexcept;
  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;
  ~segment();

  const std::string& name() const noexcept { return name_; }
  std::size_t size() const noexcept { return size_; }
  /// The memfd; pass it to another process to let it map this segment.
  int fd() const noexcept { return fd_; }
  std::byte* base() const noexcept { return base_; }
  bool valid() const noexcept { return base_ != nullptr; }

  /// Pointer to the object at `off`, in this process's mapping.
  template <class T>
  T* at(offset_t off) const noexcept {
    return reinterpret_cast<T*>(base_ + off);
  }
  /// Offset of a pointer that lies inside this mapping.
  offset_t offset_of(const void* p) const noexcept {
    return static_cast<offset_t>(static_cast<const std::byte*>(p) - base_);
  }

 private:
  segment(std::string name, int fd, std::byte* base, std::size_t size) noexcept
      : name_(std::move(name)), fd_(fd), base_(base), size_(size) {}
  void release() noexcept;

  std::string name_;
  int fd_ = -1;
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace actorstack::shm
