#pragma once
/// \file
/// A table of T indexed like a vector that grows a page at a time.
///
/// Connection tables grow while connections arrive, on the thread that
/// owns them (a data-plane core, a session worker). A std::vector there
/// doubles: at 10 000 connections up to half its memory is slack, and the
/// growth copies every element on the hot thread (megabytes for the TCP
/// engine's table, while segments wait). Pages of a fixed number of
/// elements are never copied and leave at most one page of slack, and an
/// element keeps its address for the table's life.
///
/// A page is a power of two of elements (an index splits with a shift)
/// and large: 128 KiB or so, from the allocator's page heap, whole 8 KiB
/// pages with nothing else in them. Elements are constructed as the table
/// grows into them, so the memory past the last one is never touched and
/// never resident, whatever the allocator rounds the page up to. (Small
/// pages, filled when made, paid that rounding on every element: 128 app
/// sessions of 88 bytes, 11 264 bytes, sat in a 12 288-byte size class.)

#include <algorithm>
#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace actorstack {

template <class T, std::size_t PageBytes = 128 * 1024>
class paged_vector {
 public:
  /// Elements per page: a power of two, at least 16.
  static constexpr std::size_t page_elements = std::bit_floor(std::max<std::size_t>(16, PageBytes / sizeof(T)));

  paged_vector() = default;
  paged_vector(const paged_vector&) = delete;
  paged_vector& operator=(const paged_vector&) = delete;
  paged_vector(paged_vector&& o) noexcept : pages_(std::exchange(o.pages_, {})), size_(std::exchange(o.size_, 0)) {}
  paged_vector& operator=(paged_vector&& o) noexcept {
    if (this != &o) {
      release();
      pages_ = std::exchange(o.pages_, {});
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~paged_vector() { release(); }

  T& operator[](std::size_t i) noexcept { return pages_[i / page_elements][i % page_elements]; }
  const T& operator[](std::size_t i) const noexcept { return pages_[i / page_elements][i % page_elements]; }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// A value-initialised element at index size(); returns it.
  T& emplace_back() {
    if (size_ == pages_.size() * page_elements) {
      pages_.reserve(pages_.size() + 1);  // a throw here leaves no page unowned
      pages_.push_back(std::allocator<T>{}.allocate(page_elements));
    }
    T* at = &(*this)[size_];
    ::new (static_cast<void*>(at)) T();
    ++size_;
    return *at;
  }
  /// Grows to `n` elements (never shrinks); the new ones are T{}.
  void grow_to(std::size_t n) {
    while (size_ < n) emplace_back();
  }

  template <class Self, class Elem>
  class basic_iterator {
   public:
    basic_iterator(Self* v, std::size_t i) : v_(v), i_(i) {}
    Elem& operator*() const noexcept { return (*v_)[i_]; }
    basic_iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    bool operator==(const basic_iterator& o) const noexcept { return i_ == o.i_; }

   private:
    Self* v_;
    std::size_t i_;
  };
  using iterator = basic_iterator<paged_vector, T>;
  using const_iterator = basic_iterator<const paged_vector, const T>;
  iterator begin() noexcept { return {this, 0}; }
  iterator end() noexcept { return {this, size_}; }
  const_iterator begin() const noexcept { return {this, 0}; }
  const_iterator end() const noexcept { return {this, size_}; }

 private:
  void release() noexcept {
    for (std::size_t i = size_; i-- > 0;) (*this)[i].~T();
    for (T* p : pages_) std::allocator<T>{}.deallocate(p, page_elements);
    pages_.clear();
    size_ = 0;
  }
  /// Raw storage of page_elements elements each; the first size_ of them
  /// constructed.
  std::vector<T*> pages_;
  std::size_t size_ = 0;
};

}  // namespace actorstack
