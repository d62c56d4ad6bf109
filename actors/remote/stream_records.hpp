#pragma once
/// \file
/// The app protocol's records over a byte stream: the plain inspect port's
/// TCP connection, where no kernel keeps record boundaries as SOCK_SEQPACKET
/// does. Each record is a header {u32 type, u32 length}, little endian,
/// and `length` payload bytes (app_protocol.hpp's layouts). The reader
/// refuses a length past max_stream_payload before it buffers anything of
/// it: a peer cannot make the stack hold more than one record's worth.

#include <actorstack/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace actorstack::app_protocol {

inline constexpr std::size_t stream_header_bytes = 8;
/// The longest payload a stream record may carry (a show request, a shown
/// chunk, an error text are all far below).
inline constexpr std::size_t max_stream_payload = 8192;

struct stream_record {
  std::uint32_t type = 0;
  std::vector<std::byte> payload;
};

/// Header and payload, ready to write. `payload` at most max_stream_payload.
std::vector<std::byte> frame(std::uint32_t type, std::span<const std::byte> payload);

/// Collects a stream's bytes and cuts them into records.
class stream_reader {
 public:
  /// Bytes as they arrived (any split).
  void feed(std::span<const std::byte> bytes);
  /// The next whole record, nothing while it is incomplete. bad_message
  /// when a header claims more than max_stream_payload (the stream is
  /// then unusable: nothing further is returned).
  result<std::optional<stream_record>> next();
  /// Bytes received and not yet returned as a record.
  std::size_t buffered() const noexcept { return buf_.size() - at_; }

 private:
  std::vector<std::byte> buf_;
  std::size_t at_ = 0;
  bool broken_ = false;
};

}  // namespace actorstack::app_protocol
