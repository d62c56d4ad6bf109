// Wire formats of the data plane: classify received frames, write the ones
// we send (see packet.hpp for the contract and the drop rules).
//
// Every field is read and written through the memcpy-based helpers below:
// frames sit at arbitrary offsets in mbufs, so casting to packed header
// structs would be unaligned access (and undefined behaviour). Compilers turn
// these helpers into single (possibly byte-swapping) loads and stores.

#include "dataplane/packet/packet.hpp"

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstring>

namespace actorstack::dataplane {

namespace {

// ---- byte order ------------------------------------------------------------

constexpr std::uint16_t byteswap16(std::uint16_t v) noexcept {
  return static_cast<std::uint16_t>((v << 8) | (v >> 8));
}

constexpr std::uint32_t byteswap32(std::uint32_t v) noexcept {
  return ((v & 0x000000ffU) << 24) | ((v & 0x0000ff00U) << 8) | ((v & 0x00ff0000U) >> 8) |
         ((v & 0xff000000U) >> 24);
}

// Big-endian (network order) <-> host order; the same swap both ways.
constexpr std::uint16_t net16(std::uint16_t v) noexcept {
  return std::endian::native == std::endian::big ? v : byteswap16(v);
}

constexpr std::uint32_t net32(std::uint32_t v) noexcept {
  return std::endian::native == std::endian::big ? v : byteswap32(v);
}

// ---- field access ----------------------------------------------------------
// Callers check lengths first; the asserts only document that.

std::uint8_t load8(std::span<const std::byte> s, std::size_t off) noexcept {
  assert(off < s.size());
  return std::to_integer<std::uint8_t>(s[off]);
}

std::uint16_t load16(std::span<const std::byte> s, std::size_t off) noexcept {
  assert(off + 2 <= s.size());
  std::uint16_t v;
  std::memcpy(&v, s.data() + off, sizeof v);
  return net16(v);
}

std::uint32_t load32(std::span<const std::byte> s, std::size_t off) noexcept {
  assert(off + 4 <= s.size());
  std::uint32_t v;
  std::memcpy(&v, s.data() + off, sizeof v);
  return net32(v);
}

mac_address load_mac(std::span<const std::byte> s, std::size_t off) noexcept {
  assert(off + 6 <= s.size());
  mac_address m;
  std::memcpy(m.data(), s.data() + off, m.size());
  return m;
}

void store8(std::span<std::byte> s, std::size_t off, std::uint8_t v) noexcept {
  assert(off < s.size());
  s[off] = std::byte{v};
}

void store16(std::span<std::byte> s, std::size_t off, std::uint16_t v) noexcept {
  assert(off + 2 <= s.size());
  const std::uint16_t n = net16(v);
  std::memcpy(s.data() + off, &n, sizeof n);
}

void store32(std::span<std::byte> s, std::size_t off, std::uint32_t v) noexcept {
  assert(off + 4 <= s.size());
  const std::uint32_t n = net32(v);
  std::memcpy(s.data() + off, &n, sizeof n);
}

void store_mac(std::span<std::byte> s, std::size_t off, const mac_address& m) noexcept {
  assert(off + 6 <= s.size());
  std::memcpy(s.data() + off, m.data(), m.size());
}

// ---- layouts (byte offsets inside each header) ------------------------------

namespace eth {
constexpr std::size_t dst = 0;
constexpr std::size_t src = 6;
constexpr std::size_t type = 12;
constexpr std::uint16_t type_ipv4 = 0x0800;
constexpr std::uint16_t type_arp = 0x0806;
constexpr std::size_t min_frame = 60;  // without FCS
}  // namespace eth

namespace arp {
constexpr std::size_t htype = 0;
constexpr std::size_t ptype = 2;
constexpr std::size_t hlen = 4;
constexpr std::size_t plen = 5;
constexpr std::size_t op = 6;
constexpr std::size_t fixed_size = 8;  // up to and including op
constexpr std::size_t sender_mac = 8;
constexpr std::size_t sender_ip = 14;
constexpr std::size_t target_mac = 18;
constexpr std::size_t target_ip = 24;
constexpr std::uint16_t htype_ethernet = 1;
constexpr std::uint16_t op_request = 1;
constexpr std::uint16_t op_reply = 2;
}  // namespace arp

namespace ipv4 {
constexpr std::size_t version_ihl = 0;
constexpr std::size_t tos = 1;
constexpr std::size_t total_length = 2;
constexpr std::size_t id = 4;
constexpr std::size_t flags_fragment = 6;
constexpr std::size_t ttl = 8;
constexpr std::size_t protocol = 9;
constexpr std::size_t checksum = 10;
constexpr std::size_t src = 12;
constexpr std::size_t dst = 16;
constexpr std::uint16_t flag_df = 0x4000;
constexpr std::uint16_t flag_mf = 0x2000;
constexpr std::uint16_t offset_mask = 0x1fff;
constexpr std::uint8_t proto_icmp = 1;
constexpr std::uint8_t proto_udp = 17;
constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint8_t default_ttl = 64;
constexpr std::uint32_t broadcast = 0xffffffff;
}  // namespace ipv4

namespace icmp {
constexpr std::size_t type = 0;
constexpr std::size_t code = 1;
constexpr std::size_t checksum = 2;
constexpr std::size_t header_size = 8;
constexpr std::uint8_t echo_reply = 0;
constexpr std::uint8_t echo_request = 8;
}  // namespace icmp

namespace udp {
constexpr std::size_t src_port = 0;
constexpr std::size_t dst_port = 2;
constexpr std::size_t length = 4;
constexpr std::size_t checksum = 6;
}  // namespace udp

// ---- checksum helpers ---------------------------------------------------------

// Folds a ones'-complement accumulator to 16 bits (end-around carries).
// A non-zero input never folds to 0, so "negative zero" stays 0xffff.
constexpr std::uint16_t fold(std::uint64_t acc) noexcept {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(acc);
}

// Sum of the TCP/UDP pseudo header (RFC 768): source and destination
// address, zero + protocol, and the transport length. Unfolded; at most
// six 16-bit values, so it cannot overflow.
constexpr std::uint32_t pseudo_header_sum(std::uint32_t src, std::uint32_t dst, std::uint8_t proto,
                                          std::uint16_t length) noexcept {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + length;
}

// The header checksum of the IPv4 header we write (no options, DF, TTL
// 64), summed from the field values rather than read back from the frame:
// loading 8 bytes over a dozen 1- and 2-byte stores still in flight
// cannot be served from the store buffer and stalls until they retire
// (the send path's checksums were a tenth of a UDP echo's profile).
constexpr std::uint16_t our_ipv4_header_checksum(std::uint16_t total_length, std::uint16_t id,
                                                 std::uint8_t protocol, std::uint32_t src,
                                                 std::uint32_t dst) noexcept {
  const std::uint64_t sum = 0x4500u + total_length + id + ipv4::flag_df +
                            (std::uint32_t{ipv4::default_ttl} << 8 | protocol) + (src >> 16) + (src & 0xffff) +
                            (dst >> 16) + (dst & 0xffff);
  return static_cast<std::uint16_t>(~fold(sum));
}

// A received checksum is right when the sum over everything it covers
// (checksum field included) is all ones.
bool checksum_ok(std::span<const std::byte> data, std::uint32_t initial = 0) noexcept {
  return ones_complement_sum(data, initial) == 0xffff;
}

// The value to put in a checksum field that was zero while summing.
std::uint16_t checksum_of(std::span<const std::byte> data, std::uint32_t initial = 0) noexcept {
  return static_cast<std::uint16_t>(~ones_complement_sum(data, initial));
}

// ---- classification -----------------------------------------------------------

// Each classify_* fills the caller's parsed_frame in place: returning the
// 76-byte struct by value from several paths defeated copy elision, and
// the copy (rep movs over fields just stored) was most of classify's time.
void drop(parsed_frame& p, drop_reason r) noexcept {
  p.kind = frame_kind::drop;
  p.reason = r;
}

void classify_arp(parsed_frame& p, std::span<const std::byte> body, const local_addresses& us) noexcept {
  // The rules check the fixed fields before the full length, so a short
  // body is truncated only once those fields are readable and sane.
  if (body.size() < arp::fixed_size) return drop(p, drop_reason::truncated);
  if (load16(body, arp::htype) != arp::htype_ethernet || load16(body, arp::ptype) != eth::type_ipv4 ||
      load8(body, arp::hlen) != 6 || load8(body, arp::plen) != 4)
    return drop(p, drop_reason::malformed);
  if (body.size() < arp_ipv4_size) return drop(p, drop_reason::truncated);

  p.arp.op = load16(body, arp::op);
  p.arp.sender_mac = load_mac(body, arp::sender_mac);
  p.arp.sender_ip = load32(body, arp::sender_ip);
  p.arp.target_mac = load_mac(body, arp::target_mac);
  p.arp.target_ip = load32(body, arp::target_ip);
  switch (p.arp.op) {
    case arp::op_request:
      // With no address configured (us.ip == 0) nothing is ours: a request
      // for 0.0.0.0 must not be answered.
      if (us.ip == 0 || p.arp.target_ip != us.ip) return drop(p, drop_reason::not_for_us);
      p.kind = frame_kind::arp_request;
      return;
    case arp::op_reply:
      p.kind = frame_kind::arp_reply;
      return;
    default:
      return drop(p, drop_reason::malformed);
  }
}

// `ip` is the IPv4 packet (header + payload, exactly total length long).
void classify_icmp(parsed_frame& p, std::span<const std::byte> ip) noexcept {
  const std::span<const std::byte> msg = ip.subspan(ipv4_header_size);
  if (msg.size() < icmp::header_size) return drop(p, drop_reason::truncated);
  if (!checksum_ok(msg)) return drop(p, drop_reason::bad_checksum);
  if (load8(msg, icmp::type) != icmp::echo_request || load8(msg, icmp::code) != 0)
    return drop(p, drop_reason::unknown_icmp);
  p.kind = frame_kind::icmp_echo;
  p.ip_offset = eth_header_size;
  p.ip_length = static_cast<std::uint16_t>(ip.size());
}

// Both ports in one store: the datagram's delivery reads them with one
// load, and a load that spans two smaller stores still in the store
// buffer cannot be forwarded from them — it stalls until they retire
// (the largest single stall in the UDP rx path's profile).
void store_ports(udp_fields& u, std::uint16_t src, std::uint16_t dst) noexcept {
  static_assert(offsetof(udp_fields, dst_port) == offsetof(udp_fields, src_port) + sizeof(std::uint16_t));
  const std::uint32_t both = std::endian::native == std::endian::little ? std::uint32_t{dst} << 16 | src
                                                                        : std::uint32_t{src} << 16 | dst;
  std::memcpy(reinterpret_cast<std::byte*>(&u) + offsetof(udp_fields, src_port), &both, sizeof both);
}

// `frame` is the whole frame (for the source MAC); `ip` as above.
void classify_udp(parsed_frame& p, std::span<const std::byte> frame, std::span<const std::byte> ip) noexcept {
  const std::span<const std::byte> seg = ip.subspan(ipv4_header_size);
  if (seg.size() < udp_header_size) return drop(p, drop_reason::truncated);
  const std::uint16_t length = load16(seg, udp::length);
  if (length < udp_header_size || length != seg.size()) return drop(p, drop_reason::bad_length);

  const std::uint32_t src_ip = load32(ip, ipv4::src);
  const std::uint32_t dst_ip = load32(ip, ipv4::dst);
  // A zero checksum field means the sender computed none (RFC 768). A sent
  // 0xffff (the substitute for a computed 0) verifies like any other value.
  if (load16(seg, udp::checksum) != 0 &&
      !checksum_ok(seg, pseudo_header_sum(src_ip, dst_ip, ipv4::proto_udp, length)))
    return drop(p, drop_reason::bad_checksum);

  const std::uint16_t dst_port = load16(seg, udp::dst_port);
  if (dst_port == 0) return drop(p, drop_reason::malformed);

  p.kind = frame_kind::udp;
  p.udp.src_mac = load_mac(frame, eth::src);
  p.udp.src_ip = src_ip;
  p.udp.dst_ip = dst_ip;
  store_ports(p.udp, load16(seg, udp::src_port), dst_port);
  p.udp.payload_offset = static_cast<std::uint16_t>(eth_header_size + ipv4_header_size + udp_header_size);
  p.udp.payload_length = static_cast<std::uint16_t>(length - udp_header_size);
}

void classify_ipv4(parsed_frame& p, std::span<const std::byte> frame, const local_addresses& us) noexcept {
  // Everything after the Ethernet header; it may end in Ethernet padding,
  // which is why the IPv4 total length, not this size, bounds the packet.
  const std::span<const std::byte> after_eth = frame.subspan(eth_header_size);
  if (after_eth.size() < ipv4_header_size) return drop(p, drop_reason::truncated);

  const std::uint8_t version_ihl = load8(after_eth, ipv4::version_ihl);
  if ((version_ihl >> 4) != 4) return drop(p, drop_reason::malformed);
  const std::size_t ihl = version_ihl & 0x0f;
  if (ihl < 5) return drop(p, drop_reason::malformed);
  if (ihl > 5) return drop(p, drop_reason::ip_options);

  const std::size_t total = load16(after_eth, ipv4::total_length);
  if (total < ipv4_header_size || total > after_eth.size()) return drop(p, drop_reason::bad_length);
  const std::span<const std::byte> ip = after_eth.first(total);

  if (!checksum_ok(ip.first(ipv4_header_size))) return drop(p, drop_reason::bad_checksum);

  // DF and the reserved bit are ignored: neither changes what we do with
  // a whole datagram.
  const std::uint16_t frag = load16(ip, ipv4::flags_fragment);
  if ((frag & ipv4::flag_mf) != 0 || (frag & ipv4::offset_mask) != 0)
    return drop(p, drop_reason::fragment);

  // us.ip == 0 (no address configured): nothing is for us, broadcast included.
  const std::uint32_t dst = load32(ip, ipv4::dst);
  const bool to_us = us.ip != 0 && dst == us.ip;
  const bool to_broadcast = us.ip != 0 && dst == ipv4::broadcast;
  if (!to_us && !to_broadcast) return drop(p, drop_reason::not_for_us);

  switch (load8(ip, ipv4::protocol)) {
    case ipv4::proto_icmp:
      // We answer pings to our own address only: a broadcast ping is not
      // for us (RFC 1122 3.2.2.6 lets hosts ignore it; answering invites
      // smurf-style amplification).
      if (!to_us) return drop(p, drop_reason::not_for_us);
      return classify_icmp(p, ip);
    case ipv4::proto_udp:
      return classify_udp(p, frame, ip);
    case ipv4::proto_tcp: {
      if (!to_us) return drop(p, drop_reason::not_for_us);  // TCP is never broadcast
      if (ip.size() < ipv4_header_size + 20) return drop(p, drop_reason::truncated);
      p.kind = frame_kind::tcp;
      p.tcp.src_mac = load_mac(frame, eth::src);
      p.tcp.src_ip = load32(ip, ipv4::src);
      p.tcp.dst_ip = dst;
      p.tcp.segment_offset = static_cast<std::uint16_t>(eth_header_size + ipv4_header_size);
      p.tcp.segment_length = static_cast<std::uint16_t>(ip.size() - ipv4_header_size);
      return;
    }
    default:
      return drop(p, drop_reason::unknown_protocol);
  }
}

}  // namespace

// ---- public interface -----------------------------------------------------------

std::uint16_t ones_complement_sum(std::span<const std::byte> data, std::uint32_t initial) noexcept {
  // RFC 1071: the sum is byte-order independent, so add the data as native
  // words and swap the folded result once at the end. Each 8-byte load is
  // added as two 32-bit halves into a 64-bit accumulator: a 32-bit half
  // (hi * 2^16 + lo) is congruent to hi + lo modulo 0xffff, which is all
  // the ones'-complement sum is, and the accumulator cannot overflow
  // before 2^31 iterations (16 GiB).
  const std::byte* p = data.data();
  std::size_t n = data.size();
  std::uint64_t acc = 0;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    acc += (w & 0xffffffff) + (w >> 32);
  }
  // The remaining 0-7 bytes by one 4-, one 2- and one 1-byte load (not
  // copied into a zeroed word: byte stores read back as one 8-byte load
  // stall until they retire — most of this function's time on a 20-byte
  // IPv4 header). Each lands on the same 16-bit lanes as in a word; an
  // odd last byte as the first byte of a lane, padded on the right with
  // zero, as RFC 1071 requires.
  if (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, sizeof w);
    acc += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, sizeof w);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n > 0) acc += std::to_integer<std::uint8_t>(*p);
  const std::uint16_t sum = net16(fold(acc));
  return fold(std::uint64_t{sum} + initial);
}

parsed_frame classify(std::span<const std::byte> frame, const local_addresses& us) noexcept {
  parsed_frame p;  // the one object every path fills (and so returned in place)
  if (frame.size() < eth_header_size) {
    drop(p, drop_reason::truncated);
    return p;
  }
  // 802.1Q/802.1ad tags (0x8100, 0x88a8) are not parsed: a tagged frame
  // falls under unknown_ethertype like IPv6.
  switch (load16(frame, eth::type)) {
    case eth::type_arp: classify_arp(p, frame.subspan(eth_header_size), us); break;
    case eth::type_ipv4: classify_ipv4(p, frame, us); break;
    default: drop(p, drop_reason::unknown_ethertype); break;
  }
  return p;
}

std::size_t write_arp(std::span<std::byte> out, std::uint16_t op, const mac_address& our_mac,
                      std::uint32_t our_ip, const mac_address& their_mac,
                      std::uint32_t their_ip) noexcept {
  assert(out.size() >= eth::min_frame);
  const bool request = op == arp::op_request;
  const std::span<std::byte> frame = out.first(eth::min_frame);
  std::memset(frame.data(), 0, frame.size());  // the padding, and a request's target MAC

  store_mac(frame, eth::dst, request ? broadcast_mac : their_mac);
  store_mac(frame, eth::src, our_mac);
  store16(frame, eth::type, eth::type_arp);

  const std::span<std::byte> body = frame.subspan(eth_header_size, arp_ipv4_size);
  store16(body, arp::htype, arp::htype_ethernet);
  store16(body, arp::ptype, eth::type_ipv4);
  store8(body, arp::hlen, 6);
  store8(body, arp::plen, 4);
  store16(body, arp::op, op);
  store_mac(body, arp::sender_mac, our_mac);
  store32(body, arp::sender_ip, our_ip);
  if (!request) store_mac(body, arp::target_mac, their_mac);
  store32(body, arp::target_ip, their_ip);
  return frame.size();
}

std::size_t make_icmp_echo_reply(std::span<std::byte> frame, const parsed_frame& p,
                                 const mac_address& our_mac) noexcept {
  assert(p.kind == frame_kind::icmp_echo);
  assert(p.ip_offset >= eth_header_size && p.ip_length >= ipv4_header_size + icmp::header_size);
  assert(std::size_t{p.ip_offset} + p.ip_length <= frame.size());

  // Ethernet: back to whoever sent it, from us.
  store_mac(frame, eth::dst, load_mac(frame, eth::src));
  store_mac(frame, eth::src, our_mac);

  const std::span<std::byte> ip = frame.subspan(p.ip_offset, p.ip_length);
  const std::uint32_t src = load32(ip, ipv4::src);
  store32(ip, ipv4::src, load32(ip, ipv4::dst));
  store32(ip, ipv4::dst, src);
  store8(ip, ipv4::ttl, ipv4::default_ttl);
  store16(ip, ipv4::checksum, 0);
  store16(ip, ipv4::checksum, checksum_of(ip.first(ipv4_header_size)));

  // Identifier, sequence number and data are echoed unchanged.
  const std::span<std::byte> msg = ip.subspan(ipv4_header_size);
  store8(msg, icmp::type, icmp::echo_reply);
  store8(msg, icmp::code, 0);
  store16(msg, icmp::checksum, 0);
  store16(msg, icmp::checksum, checksum_of(msg));

  return std::size_t{p.ip_offset} + p.ip_length;
}

void write_ipv4_headers(std::span<std::byte> out, const ipv4_route& r, std::uint8_t protocol,
                        std::uint16_t ip_id, std::size_t payload_length) noexcept {
  assert(out.size() >= ipv4_frame_overhead);
  store_mac(out, eth::dst, r.dst_mac);
  store_mac(out, eth::src, r.src_mac);
  store16(out, eth::type, eth::type_ipv4);
  const std::span<std::byte> ip = out.subspan(eth_header_size, ipv4_header_size);
  store8(ip, ipv4::version_ihl, 0x45);
  store8(ip, ipv4::tos, 0);
  store16(ip, ipv4::total_length, static_cast<std::uint16_t>(ipv4_header_size + payload_length));
  store16(ip, ipv4::id, ip_id);
  store16(ip, ipv4::flags_fragment, ipv4::flag_df);
  store8(ip, ipv4::ttl, ipv4::default_ttl);
  store8(ip, ipv4::protocol, protocol);
  store32(ip, ipv4::src, r.src_ip);
  store32(ip, ipv4::dst, r.dst_ip);
  store16(ip, ipv4::checksum,
          our_ipv4_header_checksum(static_cast<std::uint16_t>(ipv4_header_size + payload_length), ip_id, protocol,
                                   r.src_ip, r.dst_ip));
}

void write_udp_headers(std::span<std::byte> out, const udp_route& r, std::uint16_t ip_id,
                       std::span<const std::byte> payload) noexcept {
  assert(out.size() >= udp_frame_overhead);
  assert(payload.size() <= max_udp_payload);
  const auto udp_length = static_cast<std::uint16_t>(udp_header_size + payload.size());
  write_ipv4_headers(out, {r.src_mac, r.dst_mac, r.src_ip, r.dst_ip}, ipv4::proto_udp, ip_id, udp_length);

  const std::span<std::byte> hdr = out.subspan(eth_header_size + ipv4_header_size, udp_header_size);
  store16(hdr, udp::src_port, r.src_port);
  store16(hdr, udp::dst_port, r.dst_port);
  store16(hdr, udp::length, udp_length);
  // The header's sum from its values, as the IPv4 header's (the checksum
  // field counts as 0); it is 8 bytes (even), so it chains into the
  // payload's as the initial value. The payload need not follow the
  // header in `out` for this to hold.
  const std::uint16_t header_sum =
      fold(std::uint64_t{pseudo_header_sum(r.src_ip, r.dst_ip, ipv4::proto_udp, udp_length)} + r.src_port +
           r.dst_port + udp_length);
  std::uint16_t csum = checksum_of(payload, header_sum);
  if (csum == 0) csum = 0xffff;  // 0 on the wire means "no checksum" (RFC 768)
  store16(hdr, udp::checksum, csum);
}

}  // namespace actorstack::dataplane
