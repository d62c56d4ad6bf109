#pragma once
/// \file
/// The fixed-size events that travel through event queues: small io events
/// (a session has rx data, may send again, ...) and 256-byte control
/// events carrying a small payload. Both are trivially copyable so they
/// can live in shared memory and cross processes unchanged.

#include <actorstack/result.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace actorstack::shm {

enum class io_event_type : std::uint8_t { rx, tx, tx_flush, builtin_rx, builtin_tx };

struct io_event {
  io_event_type type = io_event_type::rx;
  std::uint8_t flags = 0;
  std::uint16_t reserved = 0;
  std::uint32_t aux = 0;              ///< event-specific (e.g. bytes read)
  std::uint64_t session_handle = 0;   ///< packed actorstack::session_handle
};
static_assert(sizeof(io_event) == 16 && std::is_trivially_copyable_v<io_event>);

struct ctrl_event {
  static constexpr std::size_t max_payload = 248;
  std::uint16_t type = 0;
  std::uint16_t length = 0;  ///< payload bytes used
  std::uint32_t reserved = 0;
  std::array<std::byte, max_payload> data{};

  /// An event carrying `payload`. Errors: invalid_argument if it does not
  /// fit in 248 bytes.
  template <class T>
  static result<ctrl_event> make(std::uint16_t type, const T& payload) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (sizeof(T) > max_payload) return unexpected{errc::invalid_argument, "payload > 248 bytes"};
    ctrl_event ev;
    ev.type = type;
    ev.length = static_cast<std::uint16_t>(sizeof(T));
    std::memcpy(ev.data.data(), &payload, sizeof(T));
    return ev;
  }
  /// Copies the payload out; false if its size does not match T.
  template <class T>
  bool read(T& out) const {
    static_assert(std::is_trivially_copyable_v<T>);
    if (length != sizeof(T)) return false;
    std::memcpy(&out, data.data(), sizeof(T));
    return true;
  }
};
static_assert(sizeof(ctrl_event) == 256 && std::is_trivially_copyable_v<ctrl_event>);

}  // namespace actorstack::shm
