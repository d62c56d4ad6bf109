// The data plane's wire formats (dataplane/packet/packet.hpp): the Internet
// checksum, UDP/ARP/ICMP frames written and classified, every drop reason
// classify can give from a crafted frame, and classify on garbage.

#include "dataplane/packet/packet.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

using namespace actorstack::dataplane;

namespace {

using bytes = std::vector<std::byte>;

constexpr std::uint32_t ipv4_addr(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

const mac_address our_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const mac_address peer_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
constexpr std::uint32_t our_ip = ipv4_addr(10, 0, 0, 1);
constexpr std::uint32_t peer_ip = ipv4_addr(10, 0, 0, 2);
const local_addresses us{our_mac, our_ip};
const local_addresses peer{peer_mac, peer_ip};

// Offsets inside a frame without VLAN tag or IPv4 options.
constexpr std::size_t ip_at = eth_header_size;              // 14
constexpr std::size_t l4_at = ip_at + ipv4_header_size;     // 34
constexpr std::size_t payload_at = l4_at + udp_header_size;  // 42

std::uint8_t get8(const bytes& f, std::size_t off) { return std::to_integer<std::uint8_t>(f.at(off)); }
std::uint16_t get16(const bytes& f, std::size_t off) {
  return static_cast<std::uint16_t>(get8(f, off) << 8 | get8(f, off + 1));
}
std::uint32_t get32(const bytes& f, std::size_t off) {
  return std::uint32_t{get16(f, off)} << 16 | get16(f, off + 2);
}
mac_address get_mac(const bytes& f, std::size_t off) {
  mac_address m;
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = get8(f, off + i);
  return m;
}
void put8(bytes& f, std::size_t off, std::uint8_t v) { f.at(off) = std::byte{v}; }
void put16(bytes& f, std::size_t off, std::uint16_t v) {
  put8(f, off, static_cast<std::uint8_t>(v >> 8));
  put8(f, off + 1, static_cast<std::uint8_t>(v));
}
void put32(bytes& f, std::size_t off, std::uint32_t v) {
  put16(f, off, static_cast<std::uint16_t>(v >> 16));
  put16(f, off + 2, static_cast<std::uint16_t>(v));
}

std::span<const std::byte> range(const bytes& f, std::size_t off, std::size_t len) {
  return std::span<const std::byte>{f}.subspan(off, len);
}

bytes of(std::initializer_list<int> v) {
  bytes b;
  for (int x : v) b.push_back(static_cast<std::byte>(x));
  return b;
}

// RFC 1071 the slow, obvious way: big-endian 16-bit words, odd byte padded.
std::uint16_t reference_sum(std::span<const std::byte> d, std::uint32_t initial) {
  std::uint64_t acc = initial;
  for (std::size_t i = 0; i < d.size(); i += 2) {
    std::uint32_t w = std::to_integer<std::uint32_t>(d[i]) << 8;
    if (i + 1 < d.size()) w |= std::to_integer<std::uint32_t>(d[i + 1]);
    acc += w;
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(acc);
}

std::uint32_t pseudo_sum(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, std::uint16_t len) {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

// ---- frame builders -----------------------------------------------------------

udp_route peer_to_us(std::uint16_t src_port = 4000, std::uint16_t dst_port = 5000) {
  udp_route r;
  r.src_mac = peer_mac;
  r.dst_mac = our_mac;
  r.src_ip = peer_ip;
  r.dst_ip = our_ip;
  r.src_port = src_port;
  r.dst_port = dst_port;
  return r;
}

// A UDP frame with `len` payload bytes (a counting pattern), written by
// write_udp_headers; `frame_size` > the datagram adds Ethernet padding.
bytes udp_frame(std::size_t len, const udp_route& r = peer_to_us(), std::size_t frame_size = 0) {
  bytes f(std::max(udp_frame_overhead + len, frame_size), std::byte{0xee});
  for (std::size_t i = 0; i < len; ++i) f[payload_at + i] = static_cast<std::byte>(i * 7 + 1);
  write_udp_headers(f, r, 0x1234, range(f, payload_at, len));
  return f;
}

void fix_ipv4_checksum(bytes& f) {
  put16(f, ip_at + 10, 0);
  put16(f, ip_at + 10, static_cast<std::uint16_t>(~ones_complement_sum(range(f, ip_at, ipv4_header_size))));
}

// Recomputes the UDP checksum over the datagram the IPv4 header announces.
void fix_udp_checksum(bytes& f) {
  const std::size_t seg_len = get16(f, ip_at + 2) - ipv4_header_size;
  put16(f, l4_at + 6, 0);
  const std::uint16_t s = ones_complement_sum(
      range(f, l4_at, seg_len),
      pseudo_sum(get32(f, ip_at + 12), get32(f, ip_at + 16), 17, get16(f, l4_at + 4)));
  const auto c = static_cast<std::uint16_t>(~s);
  put16(f, l4_at + 6, c == 0 ? 0xffff : c);
}

void fix_icmp_checksum(bytes& f) {
  const std::size_t len = get16(f, ip_at + 2) - ipv4_header_size;
  put16(f, l4_at + 2, 0);
  put16(f, l4_at + 2, static_cast<std::uint16_t>(~ones_complement_sum(range(f, l4_at, len))));
}

// An ICMP message from the peer to `dst`: `type`/`code`, identifier 0x4242,
// sequence 7, `data_len` bytes of data.
bytes icmp_frame(std::size_t data_len, std::uint8_t type = 8, std::uint8_t code = 0,
                 std::uint32_t dst = our_ip, std::size_t frame_size = 0) {
  const std::size_t ip_len = ipv4_header_size + 8 + data_len;
  bytes f(std::max(eth_header_size + ip_len, frame_size), std::byte{0});
  for (std::size_t i = 0; i < 6; ++i) {
    put8(f, i, our_mac[i]);
    put8(f, 6 + i, peer_mac[i]);
  }
  put16(f, 12, 0x0800);
  put8(f, ip_at, 0x45);
  put16(f, ip_at + 2, static_cast<std::uint16_t>(ip_len));
  put16(f, ip_at + 4, 0x0101);
  put8(f, ip_at + 8, 3);  // a TTL the reply must reset
  put8(f, ip_at + 9, 1);
  put32(f, ip_at + 12, peer_ip);
  put32(f, ip_at + 16, dst);
  fix_ipv4_checksum(f);
  put8(f, l4_at, type);
  put8(f, l4_at + 1, code);
  put16(f, l4_at + 4, 0x4242);
  put16(f, l4_at + 6, 7);
  for (std::size_t i = 0; i < data_len; ++i) put8(f, l4_at + 8 + i, static_cast<std::uint8_t>(0x30 + i));
  fix_icmp_checksum(f);
  return f;
}

// An ARP request from the peer asking for `target`.
bytes arp_request_for(std::uint32_t target) {
  bytes f(60);
  REQUIRE(write_arp(f, 1, peer_mac, peer_ip, broadcast_mac, target) == 60);
  return f;
}

drop_reason drop_of(const bytes& f, const local_addresses& who = us) {
  const parsed_frame p = classify(f, who);
  REQUIRE(p.kind == frame_kind::drop);
  return p.reason;
}

}  // namespace

// ---- checksum -------------------------------------------------------------------

TEST_CASE("dataplane packet: ones_complement_sum matches the RFC 1071 example") {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  CHECK(ones_complement_sum(of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7})) == 0xddf2);
  CHECK(ones_complement_sum({}) == 0);
  CHECK(ones_complement_sum({}, 0x1234) == 0x1234);
  CHECK(ones_complement_sum(of({0xff, 0xff, 0xff, 0xff})) == 0xffff);
  CHECK(ones_complement_sum(of({0x80, 0x00, 0x80, 0x00})) == 0x0001);  // end-around carry
  CHECK(ones_complement_sum(of({0x00, 0x01}), 0xffffffff) == 0x0001);  // initial folds too
}

TEST_CASE("dataplane packet: ones_complement_sum pads an odd last byte on the right") {
  CHECK(ones_complement_sum(of({0x01})) == 0x0100);
  CHECK(ones_complement_sum(of({0x00, 0x01, 0xf2})) == 0xf201);
  CHECK(ones_complement_sum(of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0xab})) ==
        reference_sum(of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0xab}), 0));
}

TEST_CASE("dataplane packet: ones_complement_sum agrees with a reference at every length and alignment") {
  std::mt19937 rng(1071);
  bytes buf(300 + 8);
  for (int round = 0; round < 4; ++round) {
    for (auto& b : buf) b = static_cast<std::byte>(round == 0 ? 0xff : rng());  // round 0: max carries
    for (std::size_t off = 0; off < 8; ++off)
      for (std::size_t len = 0; len <= 300; ++len) {
        const std::uint32_t initial = round < 2 ? 0 : rng();
        const auto d = range(buf, off, len);
        CAPTURE(off);
        CAPTURE(len);
        REQUIRE(ones_complement_sum(d, initial) == reference_sum(d, initial));
      }
  }
}

// ---- UDP ------------------------------------------------------------------------

TEST_CASE("dataplane packet: write_udp_headers then classify round-trips a datagram") {
  for (std::size_t len : {std::size_t{1}, std::size_t{5}, std::size_t{100}, max_udp_payload}) {
    CAPTURE(len);
    const bytes f = udp_frame(len);
    REQUIRE(f.size() == udp_frame_overhead + len);

    // The headers as specified.
    CHECK(get_mac(f, 0) == our_mac);
    CHECK(get_mac(f, 6) == peer_mac);
    CHECK(get16(f, 12) == 0x0800);
    CHECK(get8(f, ip_at) == 0x45);
    CHECK(get8(f, ip_at + 1) == 0);
    CHECK(get16(f, ip_at + 2) == ipv4_header_size + udp_header_size + len);
    CHECK(get16(f, ip_at + 4) == 0x1234);
    CHECK(get16(f, ip_at + 6) == 0x4000);
    CHECK(get8(f, ip_at + 8) == 64);
    CHECK(get8(f, ip_at + 9) == 17);
    CHECK(get32(f, ip_at + 12) == peer_ip);
    CHECK(get32(f, ip_at + 16) == our_ip);
    CHECK(ones_complement_sum(range(f, ip_at, ipv4_header_size)) == 0xffff);
    CHECK(get16(f, l4_at) == 4000);
    CHECK(get16(f, l4_at + 2) == 5000);
    CHECK(get16(f, l4_at + 4) == udp_header_size + len);
    CHECK(get16(f, l4_at + 6) != 0);
    CHECK(ones_complement_sum(range(f, l4_at, udp_header_size + len),
                              pseudo_sum(peer_ip, our_ip, 17, static_cast<std::uint16_t>(8 + len))) == 0xffff);

    const parsed_frame p = classify(f, us);
    REQUIRE(p.kind == frame_kind::udp);
    CHECK(p.udp.src_mac == peer_mac);
    CHECK(p.udp.src_ip == peer_ip);
    CHECK(p.udp.dst_ip == our_ip);
    CHECK(p.udp.src_port == 4000);
    CHECK(p.udp.dst_port == 5000);
    CHECK(p.udp.payload_offset == payload_at);
    CHECK(p.udp.payload_length == len);
  }
}

TEST_CASE("dataplane packet: an empty UDP datagram is legal and delivered") {
  const bytes f = udp_frame(0);
  CHECK(f.size() == udp_frame_overhead);
  // Padded to the Ethernet minimum as a NIC would deliver it.
  const bytes padded = udp_frame(0, peer_to_us(), 60);
  for (const bytes* g : {&f, &padded}) {
    const parsed_frame p = classify(*g, us);
    REQUIRE(p.kind == frame_kind::udp);
    CHECK(p.udp.payload_offset == payload_at);
    CHECK(p.udp.payload_length == 0);
  }
}

TEST_CASE("dataplane packet: Ethernet padding after the IPv4 packet is ignored") {
  bytes f = udp_frame(3, peer_to_us(), 60);  // padding bytes are 0xee, not zero
  REQUIRE(f.size() == 60);
  const parsed_frame p = classify(f, us);
  REQUIRE(p.kind == frame_kind::udp);
  CHECK(p.udp.payload_length == 3);
  // The padding is covered by no checksum.
  f.back() = std::byte{0x11};
  CHECK(classify(f, us).kind == frame_kind::udp);
}

TEST_CASE("dataplane packet: a UDP checksum computing to zero is sent as 0xffff and accepted") {
  // With a 2-byte payload word w the sum is S0 + w, S0 being the sum with
  // w = 0; choosing w = ~S0 makes the sum 0xffff, i.e. a checksum of 0.
  bytes f = udp_frame(2);
  put16(f, payload_at, 0);
  write_udp_headers(f, peer_to_us(), 0x1234, range(f, payload_at, 2));
  const std::uint16_t c0 = get16(f, l4_at + 6);
  REQUIRE(c0 != 0xffff);  // S0 != 0 here, so c0 == ~S0
  put16(f, payload_at, c0);
  write_udp_headers(f, peer_to_us(), 0x1234, range(f, payload_at, 2));
  CHECK(get16(f, l4_at + 6) == 0xffff);
  CHECK(classify(f, us).kind == frame_kind::udp);
}

TEST_CASE("dataplane packet: a zero UDP checksum means none and is accepted") {
  bytes f = udp_frame(10);
  put16(f, l4_at + 6, 0);
  put8(f, payload_at + 3, 0x99);  // not covered by any checksum now
  const parsed_frame p = classify(f, us);
  REQUIRE(p.kind == frame_kind::udp);
  CHECK(p.udp.payload_length == 10);
}

TEST_CASE("dataplane packet: UDP to the limited broadcast address is for us") {
  udp_route r = peer_to_us();
  r.dst_ip = 0xffffffff;
  r.dst_mac = broadcast_mac;
  const parsed_frame p = classify(udp_frame(4, r), us);
  REQUIRE(p.kind == frame_kind::udp);
  CHECK(p.udp.dst_ip == 0xffffffff);
}

// ---- drops: Ethernet and ARP ----------------------------------------------------------

TEST_CASE("dataplane packet: drop truncated Ethernet header") {
  CHECK(drop_of(bytes{}) == drop_reason::truncated);
  bytes f = udp_frame(4);
  f.resize(eth_header_size - 1);
  CHECK(drop_of(f) == drop_reason::truncated);
}

TEST_CASE("dataplane packet: drop unknown ethertypes (IPv6, 802.1Q)") {
  for (std::uint16_t type : {0x86dd, 0x8100, 0x88a8, 0x0000, 0x0805}) {
    CAPTURE(type);
    bytes f = udp_frame(4);
    put16(f, 12, type);
    CHECK(drop_of(f) == drop_reason::unknown_ethertype);
  }
  // A bare Ethernet header is enough to tell.
  bytes f(eth_header_size);
  put16(f, 12, 0x86dd);
  CHECK(drop_of(f) == drop_reason::unknown_ethertype);
}

TEST_CASE("dataplane packet: drop truncated ARP") {
  bytes f = arp_request_for(our_ip);
  f.resize(eth_header_size + arp_ipv4_size - 1);  // fixed fields fine, addresses cut
  CHECK(drop_of(f) == drop_reason::truncated);
  f.resize(eth_header_size + 4);  // not even the fixed fields
  CHECK(drop_of(f) == drop_reason::truncated);
  f.resize(eth_header_size);
  CHECK(drop_of(f) == drop_reason::truncated);
}

TEST_CASE("dataplane packet: drop malformed ARP (hardware, protocol, lengths, op)") {
  struct field {
    std::size_t off;
    int width;
    std::uint16_t value;
  };
  for (const field m : {field{0, 2, 6}, field{2, 2, 0x86dd}, field{4, 1, 8}, field{5, 1, 16},
                        field{6, 2, 0}, field{6, 2, 3}}) {
    CAPTURE(m.off);
    bytes f = arp_request_for(our_ip);
    if (m.width == 2)
      put16(f, eth_header_size + m.off, m.value);
    else
      put8(f, eth_header_size + m.off, static_cast<std::uint8_t>(m.value));
    CHECK(drop_of(f) == drop_reason::malformed);
  }
}

TEST_CASE("dataplane packet: drop an ARP request for another address") {
  CHECK(drop_of(arp_request_for(ipv4_addr(10, 0, 0, 9))) == drop_reason::not_for_us);
  // Without an address nothing is ours, not even a request for 0.0.0.0.
  CHECK(drop_of(arp_request_for(0), local_addresses{our_mac, 0}) == drop_reason::not_for_us);
  CHECK(drop_of(arp_request_for(our_ip), local_addresses{our_mac, 0}) == drop_reason::not_for_us);
}

// ---- ARP ------------------------------------------------------------------------------

TEST_CASE("dataplane packet: an ARP request for us is classified with its fields") {
  const bytes f = arp_request_for(our_ip);
  CHECK(get_mac(f, 0) == broadcast_mac);
  CHECK(get_mac(f, 6) == peer_mac);
  CHECK(get16(f, 12) == 0x0806);
  CHECK(get_mac(f, eth_header_size + 18) == mac_address{});  // a request's target MAC is zero
  CHECK(std::all_of(f.begin() + 42, f.end(), [](std::byte b) { return b == std::byte{0}; }));

  const parsed_frame p = classify(f, us);
  REQUIRE(p.kind == frame_kind::arp_request);
  CHECK(p.arp.op == 1);
  CHECK(p.arp.sender_mac == peer_mac);
  CHECK(p.arp.sender_ip == peer_ip);
  CHECK(p.arp.target_mac == mac_address{});
  CHECK(p.arp.target_ip == our_ip);
}

TEST_CASE("dataplane packet: an ARP reply is returned whoever it is addressed to") {
  bytes f(64, std::byte{0x5a});  // larger than needed: only 60 bytes are written
  REQUIRE(write_arp(f, 2, peer_mac, peer_ip, our_mac, our_ip) == 60);
  CHECK(f[60] == std::byte{0x5a});
  f.resize(60);
  CHECK(get_mac(f, 0) == our_mac);

  const parsed_frame p = classify(f, us);
  REQUIRE(p.kind == frame_kind::arp_reply);
  CHECK(p.arp.op == 2);
  CHECK(p.arp.sender_mac == peer_mac);
  CHECK(p.arp.sender_ip == peer_ip);
  CHECK(p.arp.target_mac == our_mac);
  CHECK(p.arp.target_ip == our_ip);

  // Gratuitous, or for someone else: still learned from.
  REQUIRE(write_arp(f, 2, peer_mac, peer_ip, broadcast_mac, peer_ip) == 60);
  CHECK(classify(f, us).kind == frame_kind::arp_reply);
  CHECK(classify(f, local_addresses{our_mac, 0}).kind == frame_kind::arp_reply);
}

TEST_CASE("dataplane packet: our ARP reply is understood by the peer that asked") {
  const parsed_frame req = classify(arp_request_for(our_ip), us);
  REQUIRE(req.kind == frame_kind::arp_request);

  bytes out(60, std::byte{0x77});
  REQUIRE(write_arp(out, 2, us.mac, us.ip, req.arp.sender_mac, req.arp.sender_ip) == 60);
  CHECK(get_mac(out, 0) == peer_mac);  // unicast back to the asker
  CHECK(get_mac(out, 6) == our_mac);
  CHECK(std::all_of(out.begin() + 42, out.end(), [](std::byte b) { return b == std::byte{0}; }));

  const parsed_frame p = classify(out, peer);
  REQUIRE(p.kind == frame_kind::arp_reply);
  CHECK(p.arp.sender_mac == our_mac);
  CHECK(p.arp.sender_ip == our_ip);
  CHECK(p.arp.target_mac == peer_mac);
  CHECK(p.arp.target_ip == peer_ip);

  // And our own request, as the peer sees it.
  bytes ask(60);
  REQUIRE(write_arp(ask, 1, us.mac, us.ip, broadcast_mac, peer_ip) == 60);
  const parsed_frame q = classify(ask, peer);
  REQUIRE(q.kind == frame_kind::arp_request);
  CHECK(q.arp.sender_mac == our_mac);
  CHECK(q.arp.sender_ip == our_ip);
  CHECK(q.arp.target_ip == peer_ip);
}

// ---- drops: IPv4 ---------------------------------------------------------------------

TEST_CASE("dataplane packet: drop truncated IPv4 header") {
  bytes f = udp_frame(4);
  f.resize(eth_header_size + ipv4_header_size - 1);
  CHECK(drop_of(f) == drop_reason::truncated);
  f.resize(eth_header_size);
  CHECK(drop_of(f) == drop_reason::truncated);
}

TEST_CASE("dataplane packet: drop IPv4 with a version other than 4") {
  bytes f = udp_frame(4);
  put8(f, ip_at, 0x65);
  fix_ipv4_checksum(f);
  CHECK(drop_of(f) == drop_reason::malformed);
}

TEST_CASE("dataplane packet: drop IPv4 with IHL below 5") {
  for (std::uint8_t vihl : {0x44, 0x40}) {
    bytes f = udp_frame(4);
    put8(f, ip_at, vihl);
    fix_ipv4_checksum(f);
    CHECK(drop_of(f) == drop_reason::malformed);
  }
}

TEST_CASE("dataplane packet: drop IPv4 with options") {
  // A real 24-byte header with a NOP-padded option word, then UDP.
  bytes f = udp_frame(8);
  f.insert(f.begin() + l4_at, {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}});
  put8(f, ip_at, 0x46);
  put16(f, ip_at + 2, static_cast<std::uint16_t>(get16(f, ip_at + 2) + 4));
  put16(f, ip_at + 10, 0);
  put16(f, ip_at + 10, static_cast<std::uint16_t>(~ones_complement_sum(range(f, ip_at, 24))));
  CHECK(drop_of(f) == drop_reason::ip_options);
  put8(f, ip_at, 0x4f);
  CHECK(drop_of(f) == drop_reason::ip_options);
}

TEST_CASE("dataplane packet: drop IPv4 whose total length exceeds the frame") {
  bytes f = udp_frame(10);
  put16(f, ip_at + 2, static_cast<std::uint16_t>(get16(f, ip_at + 2) + 1));
  fix_ipv4_checksum(f);
  CHECK(drop_of(f) == drop_reason::bad_length);
  put16(f, ip_at + 2, 0xffff);
  fix_ipv4_checksum(f);
  CHECK(drop_of(f) == drop_reason::bad_length);
}

TEST_CASE("dataplane packet: drop IPv4 whose total length is below its header") {
  for (std::uint16_t len : {0, 1, 19}) {
    bytes f = udp_frame(10);
    put16(f, ip_at + 2, len);
    fix_ipv4_checksum(f);
    CHECK(drop_of(f) == drop_reason::bad_length);
  }
}

TEST_CASE("dataplane packet: drop IPv4 with a wrong header checksum") {
  bytes f = udp_frame(10);
  put16(f, ip_at + 10, static_cast<std::uint16_t>(get16(f, ip_at + 10) ^ 0x0100));
  CHECK(drop_of(f) == drop_reason::bad_checksum);
  // A changed field under an unchanged checksum, too.
  f = udp_frame(10);
  put8(f, ip_at + 8, 63);
  CHECK(drop_of(f) == drop_reason::bad_checksum);
}

TEST_CASE("dataplane packet: drop IPv4 fragments") {
  for (std::uint16_t frag : {0x2000, 0x0001, 0x0100, 0x1fff, 0x2001, 0x6000, 0x4001}) {
    CAPTURE(frag);
    bytes f = udp_frame(10);
    put16(f, ip_at + 6, frag);
    fix_ipv4_checksum(f);
    CHECK(drop_of(f) == drop_reason::fragment);
  }
  // DF alone (what we send) and no flags at all are whole datagrams.
  for (std::uint16_t frag : {0x4000, 0x0000}) {
    bytes f = udp_frame(10);
    put16(f, ip_at + 6, frag);
    fix_ipv4_checksum(f);
    CHECK(classify(f, us).kind == frame_kind::udp);
  }
}

TEST_CASE("dataplane packet: drop IPv4 for another address") {
  udp_route r = peer_to_us();
  r.dst_ip = ipv4_addr(10, 0, 0, 9);
  CHECK(drop_of(udp_frame(4, r)) == drop_reason::not_for_us);
  r.dst_ip = 0;
  CHECK(drop_of(udp_frame(4, r)) == drop_reason::not_for_us);
  // Without an address nothing is for us, broadcast included.
  const local_addresses none{our_mac, 0};
  CHECK(drop_of(udp_frame(4), none) == drop_reason::not_for_us);
  r.dst_ip = 0xffffffff;
  CHECK(drop_of(udp_frame(4, r), none) == drop_reason::not_for_us);
}

TEST_CASE("dataplane packet: drop IPv4 protocols other than ICMP, UDP and TCP") {
  for (std::uint8_t proto : {0, 41, 58, 132, 255}) {
    CAPTURE(proto);
    bytes f = udp_frame(20);
    put8(f, ip_at + 9, proto);
    fix_ipv4_checksum(f);
    CHECK(drop_of(f) == drop_reason::unknown_protocol);
  }
}

TEST_CASE("dataplane packet: a TCP segment to our address goes to the TCP engine, cut to the IPv4 total length, broadcast or short is dropped") {
  bytes f = udp_frame(40);  // 8 + 40 bytes of IPv4 payload, relabelled TCP
  put8(f, ip_at + 9, 6);
  fix_ipv4_checksum(f);
  f.resize(f.size() + 6);  // Ethernet padding past the IPv4 total length
  const parsed_frame p = classify(f, us);
  REQUIRE(p.kind == frame_kind::tcp);
  CHECK(p.tcp.segment_offset == ip_at + ipv4_header_size);
  CHECK(p.tcp.segment_length == 48);
  CHECK(p.tcp.src_ip == peer_ip);
  CHECK(p.tcp.dst_ip == us.ip);
  bytes short_one = udp_frame(4);  // 12 bytes: no TCP header fits
  put8(short_one, ip_at + 9, 6);
  fix_ipv4_checksum(short_one);
  CHECK(drop_of(short_one) == drop_reason::truncated);
  udp_route r = peer_to_us();
  r.dst_ip = 0xffffffff;
  bytes bcast = udp_frame(40, r);
  put8(bcast, ip_at + 9, 6);
  fix_ipv4_checksum(bcast);
  CHECK(drop_of(bcast) == drop_reason::not_for_us);
}

TEST_CASE("dataplane packet: IPv4 headers for any protocol carry DF, TTL 64, the length and a valid checksum") {
  bytes out(ipv4_frame_overhead);
  ipv4_route r{our_mac, peer_mac, our_ip, peer_ip};
  write_ipv4_headers(out, r, 6, 77, 1000);
  CHECK(get16(out, 12) == 0x0800);
  CHECK(get16(out, ip_at + 2) == 1020);
  CHECK(get16(out, ip_at + 6) == 0x4000);
  CHECK(out[ip_at + 8] == std::byte{64});
  CHECK(out[ip_at + 9] == std::byte{6});
  CHECK(ones_complement_sum(std::span(out).subspan(ip_at, ipv4_header_size)) == 0xffff);
}

// ---- drops: ICMP and UDP -------------------------------------------------------------

TEST_CASE("dataplane packet: drop truncated ICMP") {
  for (std::uint16_t icmp_len : {0, 4, 7}) {
    bytes f = icmp_frame(0);
    put16(f, ip_at + 2, static_cast<std::uint16_t>(ipv4_header_size + icmp_len));
    fix_ipv4_checksum(f);
    CHECK(drop_of(f) == drop_reason::truncated);
  }
}

TEST_CASE("dataplane packet: drop ICMP with a wrong checksum") {
  bytes f = icmp_frame(16);
  put8(f, l4_at + 8 + 5, 0x00);
  CHECK(drop_of(f) == drop_reason::bad_checksum);
  f = icmp_frame(16);
  put16(f, l4_at + 2, static_cast<std::uint16_t>(get16(f, l4_at + 2) + 1));
  CHECK(drop_of(f) == drop_reason::bad_checksum);
}

TEST_CASE("dataplane packet: drop ICMP other than echo request") {
  CHECK(drop_of(icmp_frame(12, 13)) == drop_reason::unknown_icmp);  // timestamp
  CHECK(drop_of(icmp_frame(8, 0)) == drop_reason::unknown_icmp);    // echo reply
  CHECK(drop_of(icmp_frame(20, 3, 3)) == drop_reason::unknown_icmp);
  CHECK(drop_of(icmp_frame(8, 8, 1)) == drop_reason::unknown_icmp);  // echo, bad code
}

TEST_CASE("dataplane packet: drop ICMP echo to the broadcast address") {
  CHECK(drop_of(icmp_frame(8, 8, 0, 0xffffffff)) == drop_reason::not_for_us);
  CHECK(drop_of(icmp_frame(8, 8, 0, ipv4_addr(10, 0, 0, 3))) == drop_reason::not_for_us);
}

TEST_CASE("dataplane packet: drop truncated UDP") {
  for (std::uint16_t seg_len : {0, 1, 7}) {
    CAPTURE(seg_len);
    bytes f = udp_frame(4);
    put16(f, ip_at + 2, static_cast<std::uint16_t>(ipv4_header_size + seg_len));
    fix_ipv4_checksum(f);
    CHECK(drop_of(f) == drop_reason::truncated);
  }
}

TEST_CASE("dataplane packet: drop UDP whose length disagrees with IPv4") {
  for (std::uint16_t udp_len : {0, 7, 8 + 9, 8 + 11, 0xffff}) {
    CAPTURE(udp_len);
    bytes f = udp_frame(10);
    put16(f, l4_at + 4, udp_len);
    fix_udp_checksum(f);
    CHECK(drop_of(f) == drop_reason::bad_length);
  }
  // An IPv4 length that cuts the datagram short (the rest as padding).
  bytes f = udp_frame(10);
  put16(f, ip_at + 2, static_cast<std::uint16_t>(get16(f, ip_at + 2) - 2));
  fix_ipv4_checksum(f);
  CHECK(drop_of(f) == drop_reason::bad_length);
}

TEST_CASE("dataplane packet: drop UDP with a wrong checksum") {
  bytes f = udp_frame(10);
  put8(f, payload_at + 9, static_cast<std::uint8_t>(get8(f, payload_at + 9) ^ 0x01));
  CHECK(drop_of(f) == drop_reason::bad_checksum);
  // The pseudo header counts: same datagram, another source address.
  f = udp_frame(10);
  put32(f, ip_at + 12, ipv4_addr(10, 0, 0, 3));
  fix_ipv4_checksum(f);
  CHECK(drop_of(f) == drop_reason::bad_checksum);
  // An odd payload whose last byte changes.
  f = udp_frame(11);
  put8(f, payload_at + 10, static_cast<std::uint8_t>(get8(f, payload_at + 10) + 1));
  CHECK(drop_of(f) == drop_reason::bad_checksum);
}

TEST_CASE("dataplane packet: drop UDP to port 0") {
  bytes f = udp_frame(10, peer_to_us(4000, 0));
  CHECK(drop_of(f) == drop_reason::malformed);
  put16(f, l4_at + 6, 0);  // with no checksum as well
  CHECK(drop_of(f) == drop_reason::malformed);
  // Source port 0 is legal ("no reply expected").
  CHECK(classify(udp_frame(10, peer_to_us(0, 5000)), us).kind == frame_kind::udp);
}

// ---- ICMP echo ------------------------------------------------------------------------

TEST_CASE("dataplane packet: an ICMP echo request becomes a valid echo reply in place") {
  for (std::size_t data_len : {std::size_t{0}, std::size_t{5}, std::size_t{56}, std::size_t{1472}}) {
    CAPTURE(data_len);
    // Short pings arrive padded to the Ethernet minimum.
    bytes f = icmp_frame(data_len, 8, 0, our_ip, 60);
    const std::size_t ip_len = ipv4_header_size + 8 + data_len;
    const bytes original = f;

    const parsed_frame p = classify(f, us);
    REQUIRE(p.kind == frame_kind::icmp_echo);
    CHECK(p.ip_offset == eth_header_size);
    CHECK(p.ip_length == ip_len);

    const std::size_t n = make_icmp_echo_reply(f, p, us.mac);
    CHECK(n == eth_header_size + ip_len);
    CHECK(get_mac(f, 0) == peer_mac);
    CHECK(get_mac(f, 6) == our_mac);
    CHECK(get16(f, 12) == 0x0800);
    CHECK(get32(f, ip_at + 12) == our_ip);
    CHECK(get32(f, ip_at + 16) == peer_ip);
    CHECK(get8(f, ip_at + 8) == 64);
    CHECK(get8(f, ip_at + 9) == 1);
    CHECK(get16(f, ip_at + 2) == ip_len);
    CHECK(get16(f, ip_at + 4) == 0x0101);
    CHECK(ones_complement_sum(range(f, ip_at, ipv4_header_size)) == 0xffff);
    CHECK(get8(f, l4_at) == 0);
    CHECK(get8(f, l4_at + 1) == 0);
    CHECK(ones_complement_sum(range(f, l4_at, ip_len - ipv4_header_size)) == 0xffff);
    // Identifier, sequence and data echoed; padding untouched.
    CHECK(std::equal(f.begin() + l4_at + 4, f.end(), original.begin() + l4_at + 4));

    // Seen from the peer, the reply is a well-formed ICMP message for it
    // (of a type it would not answer).
    CHECK(drop_of(f, peer) == drop_reason::unknown_icmp);
  }
}

// ---- garbage in -------------------------------------------------------------------------

namespace {

// Whatever classify returns must describe bytes inside the frame.
void check_consistent(const bytes& f, const parsed_frame& p) {
  switch (p.kind) {
    case frame_kind::drop:
      REQUIRE(static_cast<std::size_t>(p.reason) < drop_reason_count);
      break;
    case frame_kind::udp:
      REQUIRE(std::size_t{p.udp.payload_offset} + p.udp.payload_length <= f.size());
      break;
    case frame_kind::tcp:
      REQUIRE(std::size_t{p.tcp.segment_offset} + p.tcp.segment_length <= f.size());
      break;
    case frame_kind::icmp_echo: {
      REQUIRE(std::size_t{p.ip_offset} + p.ip_length <= f.size());
      bytes copy = f;
      REQUIRE(make_icmp_echo_reply(copy, p, our_mac) <= f.size());
      break;
    }
    case frame_kind::arp_request:
    case frame_kind::arp_reply:
      REQUIRE(f.size() >= eth_header_size + arp_ipv4_size);
      break;
  }
}

}  // namespace

TEST_CASE("dataplane packet: classify survives random frames") {
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<std::size_t> length(0, 1600);
  bytes f;
  std::size_t kinds[static_cast<std::size_t>(frame_kind::tcp) + 1] = {};  // tcp is the last kind
  for (int i = 0; i < 100'000; ++i) {
    f.resize(length(rng));
    for (std::size_t j = 0; j < f.size(); j += 8) {
      const std::uint64_t r = rng();
      for (std::size_t k = 0; k < 8 && j + k < f.size(); ++k) f[j + k] = static_cast<std::byte>(r >> (8 * k));
    }
    // Every other frame gets plausible Ethernet/IPv4 headers, so the
    // checks further in see random input too.
    if (i % 2 == 1 && f.size() >= eth_header_size + ipv4_header_size) {
      const bool arp = i % 10 == 1;
      put16(f, 12, arp ? 0x0806 : 0x0800);
      if (arp) {
        put16(f, 14, 1);
        put16(f, 16, 0x0800);
        put8(f, 18, 6);
        put8(f, 19, 4);
        put16(f, 20, static_cast<std::uint16_t>(1 + i % 3));  // request, reply, bad op
        if (f.size() >= eth_header_size + arp_ipv4_size && i % 20 == 1) put32(f, 14 + 24, our_ip);
      } else {
        const std::size_t ip_len = ipv4_header_size + get16(f, ip_at + 2) % (f.size() - l4_at + 1);
        put8(f, ip_at, 0x45);
        put16(f, ip_at + 2, static_cast<std::uint16_t>(ip_len));
        put16(f, ip_at + 6, 0);
        put32(f, ip_at + 16, i % 4 == 1 ? our_ip : 0xffffffff);
        if (i % 3 == 0) put8(f, ip_at + 9, 17);
        if (i % 3 == 1) put8(f, ip_at + 9, 1);
        fix_ipv4_checksum(f);
        // UDP with a consistent length and no checksum: delivered unless
        // the random port is 0.
        if (i % 3 == 0 && ip_len >= ipv4_header_size + udp_header_size) {
          put16(f, l4_at + 4, static_cast<std::uint16_t>(ip_len - ipv4_header_size));
          put16(f, l4_at + 6, 0);
        }
      }
    }
    const parsed_frame p = classify(f, us);
    check_consistent(f, p);
    ++kinds[static_cast<std::size_t>(p.kind)];
  }
  // The shaped frames reach every outcome but ICMP echo (its checksum
  // stays random).
  CHECK(kinds[static_cast<std::size_t>(frame_kind::arp_request)] > 0);
  CHECK(kinds[static_cast<std::size_t>(frame_kind::arp_reply)] > 0);
  CHECK(kinds[static_cast<std::size_t>(frame_kind::udp)] > 0);
}

TEST_CASE("dataplane packet: classify survives every single-byte change of a UDP frame") {
  const bytes valid = udp_frame(100, peer_to_us(), 0);
  for (std::size_t pos = 0; pos < valid.size(); ++pos)
    for (int v = 0; v < 256; ++v) {
      if (std::byte(v) == valid[pos]) continue;
      bytes f = valid;
      f[pos] = std::byte(v);
      const parsed_frame p = classify(f, us);
      CAPTURE(pos);
      CAPTURE(v);
      check_consistent(f, p);
      // A payload change is always caught: one changed byte moves the
      // ones'-complement sum by a non-zero amount mod 0xffff.
      if (pos >= payload_at) REQUIRE((p.kind == frame_kind::drop && p.reason == drop_reason::bad_checksum));
      // Only the Ethernet addresses are unprotected.
      if (pos < 12) REQUIRE(p.kind == frame_kind::udp);
    }
  // Random multi-byte damage, and random truncation.
  std::mt19937 rng(7);
  for (int i = 0; i < 100'000; ++i) {
    bytes f = valid;
    const int changes = 1 + static_cast<int>(rng() % 4);
    for (int c = 0; c < changes; ++c) f[rng() % f.size()] = static_cast<std::byte>(rng());
    if (rng() % 4 == 0) f.resize(rng() % (f.size() + 1));
    check_consistent(f, classify(f, us));
  }
}
