// The TCP header and options: parse (validating every length) and write.

#include "dataplane/tcp/segment.hpp"

#include "dataplane/packet/packet.hpp"

#include <bit>
#include <cstring>

namespace actorstack::tcp {

namespace {

namespace off {
constexpr std::size_t src_port = 0;
constexpr std::size_t dst_port = 2;
constexpr std::size_t seq = 4;
constexpr std::size_t ack = 8;
constexpr std::size_t data_offset = 12;
constexpr std::size_t flags = 13;
constexpr std::size_t window = 14;
constexpr std::size_t checksum = 16;
constexpr std::size_t urgent = 18;
}  // namespace off

namespace kind {
constexpr std::uint8_t end = 0;
constexpr std::uint8_t nop = 1;
constexpr std::uint8_t mss = 2;
constexpr std::uint8_t window_shift = 3;
constexpr std::uint8_t sack_permitted = 4;
constexpr std::uint8_t sack = 5;
constexpr std::uint8_t timestamps = 8;
}  // namespace kind

constexpr std::uint8_t proto_tcp = 6;

std::uint16_t load16(const std::byte* p) noexcept {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}

std::uint32_t load32(const std::byte* p) noexcept {
  return (std::uint32_t{load16(p)} << 16) | load16(p + 2);
}

void store16(std::byte* p, std::uint16_t v) noexcept {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v & 0xff);
}

void store32(std::byte* p, std::uint32_t v) noexcept {
  store16(p, static_cast<std::uint16_t>(v >> 16));
  store16(p + 2, static_cast<std::uint16_t>(v & 0xffff));
}

// Sum of the IPv4 pseudo header (addresses, protocol, TCP length); unfolded.
std::uint32_t pseudo_header_sum(std::uint32_t src, std::uint32_t dst, std::size_t length) noexcept {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto_tcp +
         static_cast<std::uint32_t>(length);
}

// Options between the fixed header and the data offset. Kinds 0 and 1 are
// one byte; every other option carries a length byte that covers kind and
// length (so < 2 is malformed) and must fit in what is left.
parse_status parse_options(std::span<const std::byte> area, options& o) noexcept {
  std::size_t i = 0;
  while (i < area.size()) {
    const auto k = std::to_integer<std::uint8_t>(area[i]);
    if (k == kind::end) break;
    if (k == kind::nop) {
      ++i;
      continue;
    }
    if (i + 1 >= area.size()) return parse_status::bad_option;  // no room for the length byte
    const auto len = std::to_integer<std::uint8_t>(area[i + 1]);
    if (len < 2 || i + len > area.size()) return parse_status::bad_option;
    const std::byte* v = area.data() + i + 2;
    switch (k) {
      case kind::mss:
        if (len != 4) return parse_status::bad_option;
        o.has_mss = true;
        o.mss = load16(v);
        break;
      case kind::window_shift:
        if (len != 3) return parse_status::bad_option;
        o.has_window_shift = true;
        o.window_shift = std::to_integer<std::uint8_t>(v[0]);
        break;
      case kind::sack_permitted:
        if (len != 2) return parse_status::bad_option;
        o.sack_permitted = true;
        break;
      case kind::sack: {
        if ((len - 2) % 8 != 0 || len == 2) return parse_status::bad_option;
        const std::size_t n = (len - 2) / 8;
        o.sack_count = static_cast<std::uint8_t>(n < max_sack_blocks ? n : max_sack_blocks);
        for (std::size_t b = 0; b < o.sack_count; ++b)
          o.sacks[b] = sack_block{load32(v + 8 * b), load32(v + 8 * b + 4)};
        break;
      }
      case kind::timestamps:
        if (len != 10) return parse_status::bad_option;
        o.has_timestamps = true;
        o.ts_val = load32(v);
        o.ts_ecr = load32(v + 4);
        break;
      default:
        break;  // unknown: skipped by its length (SPEC-TCP 5.5)
    }
    i += len;
  }
  return parse_status::ok;
}

}  // namespace

parse_status parse(std::span<const std::byte> bytes, std::uint32_t src_ip, std::uint32_t dst_ip,
                   segment& out) noexcept {
  if (bytes.size() < header_size) return parse_status::truncated;
  const std::size_t hlen = (std::to_integer<std::size_t>(bytes[off::data_offset]) >> 4) * 4;
  if (hlen < header_size || hlen > bytes.size()) return parse_status::bad_offset;
  // The checksum covers the pseudo header, the header and the payload.
  if (dataplane::ones_complement_sum(bytes, pseudo_header_sum(src_ip, dst_ip, bytes.size())) != 0xffff)
    return parse_status::bad_checksum;
  out = segment{};
  out.src_port = load16(bytes.data() + off::src_port);
  out.dst_port = load16(bytes.data() + off::dst_port);
  out.seq = load32(bytes.data() + off::seq);
  out.ack = load32(bytes.data() + off::ack);
  out.flags = std::to_integer<std::uint8_t>(bytes[off::flags]);
  out.window = load16(bytes.data() + off::window);
  // The urgent pointer is ignored: urgent data is delivered in line, as
  // Linux does with SO_OOBINLINE (SPEC-TCP 3.5).
  const parse_status st = parse_options(bytes.subspan(header_size, hlen - header_size), out.opt);
  if (st != parse_status::ok) return st;
  out.payload = bytes.subspan(hlen);
  return parse_status::ok;
}

std::size_t options_size(const options& o) noexcept {
  std::size_t n = 0;
  if (o.has_mss) n += 4;
  if (o.has_timestamps) n += 12;  // with SACK-permitted in the two NOPs' place, or NOP NOP
  else if (o.sack_permitted) n += 4;
  if (o.has_window_shift) n += 4;  // NOP + 3
  if (o.sack_count > 0) n += 4 + 8 * std::size_t{o.sack_count};  // NOP NOP + 2 + 8n
  return n;
}

std::size_t write_header(std::span<std::byte> out, const header_fields& h, const options& o) noexcept {
  const std::size_t hlen = header_size + options_size(o);
  std::byte* p = out.data();
  store16(p + off::src_port, h.src_port);
  store16(p + off::dst_port, h.dst_port);
  store32(p + off::seq, h.seq);
  store32(p + off::ack, h.ack);
  p[off::data_offset] = std::byte(static_cast<std::uint8_t>((hlen / 4) << 4));
  p[off::flags] = std::byte(h.flags);
  store16(p + off::window, h.window);
  store16(p + off::checksum, 0);
  store16(p + off::urgent, 0);

  // Laid out as Linux lays out its SYN options, every option 4-aligned.
  std::byte* q = p + header_size;
  auto put = [&q](std::uint8_t v) { *q++ = std::byte(v); };
  if (o.has_mss) {
    put(kind::mss), put(4);
    store16(q, o.mss), q += 2;
  }
  if (o.has_timestamps) {
    if (o.sack_permitted) put(kind::sack_permitted), put(2);
    else put(kind::nop), put(kind::nop);
    put(kind::timestamps), put(10);
    store32(q, o.ts_val), q += 4;
    store32(q, o.ts_ecr), q += 4;
  } else if (o.sack_permitted) {
    put(kind::nop), put(kind::nop), put(kind::sack_permitted), put(2);
  }
  if (o.has_window_shift) put(kind::nop), put(kind::window_shift), put(3), put(o.window_shift);
  if (o.sack_count > 0) {
    put(kind::nop), put(kind::nop), put(kind::sack), put(static_cast<std::uint8_t>(2 + 8 * o.sack_count));
    for (std::size_t b = 0; b < o.sack_count; ++b) {
      store32(q, o.sacks[b].left), q += 4;
      store32(q, o.sacks[b].right), q += 4;
    }
  }
  return hlen;
}

void finish_checksum(std::span<std::byte> bytes, std::uint32_t src_ip, std::uint32_t dst_ip) noexcept {
  store16(bytes.data() + off::checksum, 0);
  const std::uint16_t sum =
      dataplane::ones_complement_sum(bytes, pseudo_header_sum(src_ip, dst_ip, bytes.size()));
  store16(bytes.data() + off::checksum, static_cast<std::uint16_t>(~sum));
}

}  // namespace actorstack::tcp
