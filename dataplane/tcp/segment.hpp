#pragma once
/// \file
/// The TCP header on the wire (RFC 9293 §3.1) and its options (MSS, window
/// scale, SACK-permitted, SACK, timestamps): parsing a received segment,
/// with every length and option checked (SPEC-TCP 3.1, 5.5), and writing
/// the header of one we send. Plain C++ over byte spans, as the other wire
/// formats (dataplane/packet): no DPDK, and every rule is unit-tested.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace actorstack::tcp {

/// Header flag bits (the low byte of the flags field).
namespace flags {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t psh = 0x08;
inline constexpr std::uint8_t ack = 0x10;
inline constexpr std::uint8_t urg = 0x20;
}  // namespace flags

inline constexpr std::size_t header_size = 20;       ///< without options
inline constexpr std::size_t max_header_size = 60;   ///< data offset 15
inline constexpr std::size_t max_sack_blocks = 4;
inline constexpr std::uint8_t max_window_shift = 14;  ///< RFC 7323 §2.3

struct sack_block {
  std::uint32_t left = 0;   ///< first sequence number of the block
  std::uint32_t right = 0;  ///< one past its last
  friend bool operator==(const sack_block&, const sack_block&) = default;
};

/// The options of one segment. A flag says whether each was present.
struct options {
  bool has_mss = false;
  std::uint16_t mss = 0;
  bool has_window_shift = false;
  std::uint8_t window_shift = 0;  ///< as sent (a receiver clamps it to 14)
  bool sack_permitted = false;
  bool has_timestamps = false;
  std::uint32_t ts_val = 0;
  std::uint32_t ts_ecr = 0;
  std::uint8_t sack_count = 0;
  std::array<sack_block, max_sack_blocks> sacks{};
};

/// A parsed segment; `payload` points into the bytes given to parse().
struct segment {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  std::uint16_t window = 0;  ///< unscaled, as on the wire
  options opt;
  std::span<const std::byte> payload;

  bool has(std::uint8_t f) const noexcept { return (flags & f) != 0; }
  /// Sequence space the segment occupies: payload + SYN + FIN.
  std::uint32_t seq_length() const noexcept {
    return static_cast<std::uint32_t>(payload.size()) + (has(flags::syn) ? 1 : 0) +
           (has(flags::fin) ? 1 : 0);
  }
};

enum class parse_status : std::uint8_t {
  ok,
  truncated,     ///< shorter than 20 bytes
  bad_offset,    ///< data offset < 5, or the header runs past the segment
  bad_option,    ///< an option of length 0/1, past the header, or a known option of the wrong length
  bad_checksum,  ///< the checksum over pseudo header, header and payload is wrong
};

/// Parses the TCP segment `bytes` (header + payload; the IPv4 total length
/// already cut it to size) that `src_ip` sent to `dst_ip` (host order; they
/// enter the checksum). Unknown options are skipped by their length; a
/// second instance of an option replaces the first (as Linux). A SACK
/// option holding more than 4 blocks keeps the first 4.
parse_status parse(std::span<const std::byte> bytes, std::uint32_t src_ip, std::uint32_t dst_ip,
                   segment& out) noexcept;

/// What we put in the header of a segment we send.
struct header_fields {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  std::uint16_t window = 0;
};

/// Bytes the options in `o` take on the wire, padded to a multiple of 4.
std::size_t options_size(const options& o) noexcept;

/// Writes header + options into `out` (at least 20 + options_size(o)
/// bytes) and returns the header length. The checksum field is left 0:
/// finish_checksum() fills it once the payload sits behind the header.
std::size_t write_header(std::span<std::byte> out, const header_fields& h, const options& o) noexcept;

/// Fills in the checksum of a segment whose header (`header_len` bytes,
/// as write_header returned) is followed in `bytes` by its payload.
void finish_checksum(std::span<std::byte> bytes, std::uint32_t src_ip, std::uint32_t dst_ip) noexcept;

}  // namespace actorstack::tcp
