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
/// A page is as many elements as fit in PageBytes, not a power of two of
/// them: the allocator rounds a request up to its next size class, and
/// PageBytes is one, so a page wastes less than an element — where a
/// power-of-two count of 88- or 264-byte elements (11 264 and 8 448
/// bytes) landed in a class ~9 % larger, on every idle connection. The
/// index splits by a division by a constant (a multiply and a shift).

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

namespace actorstack {

template <class T, std::size_t PageBytes = 16384>
class paged_vector {
 public:
  /// Elements per page: as many as fill PageBytes (at least 16).
  static constexpr std::size_t page_elements = std::max<std::size_t>(16, PageBytes / sizeof(T));

  T& operator[](std::size_t i) noexcept { return pages_[i / page_elements].get()[i % page_elements]; }
  const T& operator[](std::size_t i) const noexcept { return pages_[i / page_elements].get()[i % page_elements]; }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// A default-constructed element at index size(); returns it.
  T& emplace_back() {
    if (size_ == pages_.size() * page_elements) add_page();
    return (*this)[size_++];
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
  /// Pages are raw storage of exactly page_elements elements (an array
  /// new would add its cookie and cross into the next size class).
  struct page_deleter {
    void operator()(T* p) const noexcept {
      std::destroy_n(p, page_elements);
      std::allocator<T>{}.deallocate(p, page_elements);
    }
  };
  void add_page() {
    pages_.reserve(pages_.size() + 1);  // a throw here leaves no page unowned
    T* p = std::allocator<T>{}.allocate(page_elements);
    try {
      std::uninitialized_value_construct_n(p, page_elements);
    } catch (...) {
      std::allocator<T>{}.deallocate(p, page_elements);
      throw;
    }
    pages_.emplace_back(p);
  }
  std::vector<std::unique_ptr<T, page_deleter>> pages_;
  std::size_t size_ = 0;
};

}  // namespace actorstack
