#pragma once
/// \file
/// `session_handle`: the name of a session everywhere outside its worker.
/// It packs the owning worker, the pool index and the slot's generation, so
/// a handle kept past its session's free never resolves to the session that
/// reuses the slot (SPEC §1): the generation no longer matches.

#include <compare>
#include <cstdint>
#include <string>

namespace actorstack {

class session_handle {
 public:
  static constexpr unsigned worker_bits = 8;
  static constexpr unsigned generation_bits = 24;
  static constexpr std::uint32_t max_workers = 1u << worker_bits;
  static constexpr std::uint32_t generation_mask = (1u << generation_bits) - 1;

  /// The invalid handle.
  constexpr session_handle() noexcept = default;
  constexpr session_handle(std::uint32_t worker, std::uint32_t index,
                           std::uint32_t generation) noexcept
      : value_((std::uint64_t{worker & (max_workers - 1)} << 56) |
               (std::uint64_t{generation & generation_mask} << 32) | index) {}
  static constexpr session_handle from_value(std::uint64_t v) noexcept {
    session_handle h;
    h.value_ = v;
    return h;
  }

  constexpr std::uint32_t worker() const noexcept { return static_cast<std::uint32_t>(value_ >> 56); }
  constexpr std::uint32_t index() const noexcept { return static_cast<std::uint32_t>(value_); }
  constexpr std::uint32_t generation() const noexcept {
    return static_cast<std::uint32_t>(value_ >> 32) & generation_mask;
  }
  constexpr std::uint64_t value() const noexcept { return value_; }
  constexpr bool valid() const noexcept { return value_ != invalid_value; }
  constexpr explicit operator bool() const noexcept { return valid(); }

  friend constexpr auto operator<=>(session_handle, session_handle) noexcept = default;

  /// "w:index/gen", or "invalid".
  std::string to_string() const;

  /// The serialised form is the packed value (CAF inspect).
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, session_handle& h) {
    return f(h.value_);
  }

 private:
  static constexpr std::uint64_t invalid_value = ~std::uint64_t{0};
  std::uint64_t value_ = invalid_value;
};

}  // namespace actorstack
