#pragma once
/// \file
/// `result<T>`: a value or an `actorstack::error` (an expected-style type;
/// C++20 has no std::expected). Use it as the return type of every call
/// that can fail:
///
///     result<fifo> f = seg.alloc_fifo(64 * 1024);
///     if (!f) log(f.error().message());
///
/// Accessing the value of an error result (or the error of a value result)
/// is a programming error and aborts with a message.

#include <actorstack/error.hpp>

#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

namespace actorstack {

/// Wraps an error so a `result<T>` can be built from it unambiguously.
struct unexpected {
  error err;
  explicit unexpected(error e) noexcept : err(e) {}
  explicit unexpected(errc c, const char* detail = nullptr, int sys_errno = 0) noexcept
      : err{c, sys_errno, detail} {}
};

namespace detail {
[[noreturn]] inline void bad_result_access(const char* what) {
  std::fprintf(stderr, "actorstack: bad result access: %s\n", what);
  std::abort();
}
}  // namespace detail

template <class T>
class [[nodiscard]] result {
 public:
  using value_type = T;

  result(const T& v) : v_(std::in_place_index<0>, v) {}
  result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
  result(unexpected u) noexcept : v_(std::in_place_index<1>, u.err) {}
  result(errc c) noexcept : v_(std::in_place_index<1>, actorstack::error{c}) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  const actorstack::error& error() const {
    if (has_value()) detail::bad_result_access("error() of a value");
    return std::get<1>(v_);
  }
  errc code() const noexcept { return has_value() ? errc::none : std::get<1>(v_).code; }

 private:
  void check() const {
    if (!has_value()) detail::bad_result_access(to_string(std::get<1>(v_).code).data());
  }
  std::variant<T, actorstack::error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() noexcept = default;
  result(unexpected u) noexcept : err_(u.err) {}
  result(errc c) noexcept : err_{c} {}

  bool has_value() const noexcept { return err_.code == errc::none; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (!has_value()) detail::bad_result_access(to_string(err_.code).data());
  }
  const actorstack::error& error() const {
    if (has_value()) detail::bad_result_access("error() of a value");
    return err_;
  }
  errc code() const noexcept { return err_.code; }

 private:
  actorstack::error err_{};
};

}  // namespace actorstack
