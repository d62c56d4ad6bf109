#pragma once
/// \file
/// Wire formats the data plane speaks (Ethernet II, ARP for IPv4, IPv4,
/// ICMP echo, UDP): parsing a received frame into what the core loop must
/// do with it, and writing the frames it sends. Plain C++ over byte spans —
/// no DPDK, no CAF — so every rule (and every drop reason) is unit-tested
/// without an EAL, and the core loop only moves mbufs.
///
/// All multi-byte fields on the wire are big-endian; every value in these
/// structs is in host order (IPv4 addresses as host-order integers,
/// 10.0.0.1 = 0x0a000001).

#include "dataplane/drop_reason.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace actorstack::dataplane {

using mac_address = std::array<std::uint8_t, 6>;
inline constexpr mac_address broadcast_mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

inline constexpr std::size_t eth_header_size = 14;
inline constexpr std::size_t ipv4_header_size = 20;  ///< without options (we never send any)
inline constexpr std::size_t udp_header_size = 8;
inline constexpr std::size_t arp_ipv4_size = 28;
/// Ethernet + IPv4 + UDP headers in front of every UDP payload we send.
inline constexpr std::size_t udp_frame_overhead = eth_header_size + ipv4_header_size + udp_header_size;
/// Largest UDP payload in one unfragmented 1500-byte IPv4 packet.
inline constexpr std::size_t max_udp_payload = 1500 - ipv4_header_size - udp_header_size;  // 1472

/// Our own addresses, as the parser needs them.
struct local_addresses {
  mac_address mac{};
  std::uint32_t ip = 0;  ///< host order; 0 = none configured (nothing is "for us")
};

/// What a received frame asks of us.
enum class frame_kind : std::uint8_t {
  drop,          ///< malformed or not for us: count `drop.reason`
  arp_request,   ///< someone asks for our IPv4 address: answer it
  arp_reply,     ///< an answer (or gratuitous ARP): learn the sender
  icmp_echo,     ///< ping to our address: answer it in place
  udp,           ///< a datagram to our address: hand it to the UDP transport
  tcp,           ///< a TCP segment to our address: hand it to the TCP engine
};

struct arp_fields {
  std::uint16_t op = 0;  ///< 1 request, 2 reply
  mac_address sender_mac{};
  std::uint32_t sender_ip = 0;
  mac_address target_mac{};
  std::uint32_t target_ip = 0;
};

struct udp_fields {
  mac_address src_mac{};
  std::uint32_t src_ip = 0;
  std::uint32_t dst_ip = 0;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  /// Offset and length of the payload inside the frame (length may be 0:
  /// an empty datagram is legal and is delivered).
  std::uint16_t payload_offset = 0;
  std::uint16_t payload_length = 0;
};

/// Where a TCP segment sits in its frame. Its header, options and
/// checksum are the TCP engine's to check (dataplane/tcp/segment.hpp).
struct tcp_fields {
  mac_address src_mac{};
  std::uint32_t src_ip = 0;
  std::uint32_t dst_ip = 0;
  std::uint16_t segment_offset = 0;  ///< TCP header start in the frame
  std::uint16_t segment_length = 0;  ///< up to the IPv4 total length
};

struct parsed_frame {
  frame_kind kind = frame_kind::drop;
  drop_reason reason = drop_reason::malformed;  ///< meaningful for kind == drop
  arp_fields arp;                               ///< arp_request / arp_reply
  udp_fields udp;                               ///< udp
  tcp_fields tcp;                               ///< tcp
  /// icmp_echo: where the IPv4 header starts and the IPv4 total length
  /// (the frame may carry Ethernet padding past it).
  std::uint16_t ip_offset = 0;
  std::uint16_t ip_length = 0;
};

/// Classifies one received Ethernet frame. Rules, in order:
/// - shorter than an Ethernet header: truncated.
/// - ethertype not IPv4 (0x0800) or ARP (0x0806): unknown_ethertype
///   (IPv6 included, until it is supported; so are 802.1Q/802.1ad
///   VLAN-tagged frames, whose tags are not parsed).
/// - ARP: body too short to hold those fields (8 bytes): truncated;
///   hardware type 1, protocol 0x0800, lengths 6/4, else malformed;
///   body shorter than 28 bytes: truncated. Requests whose target IP is not
///   ours (all of them while `us.ip` is 0): not_for_us. Replies (op 2) are returned as arp_reply whoever
///   they are addressed to (we learn neighbours from them); other ops:
///   malformed.
/// - IPv4: shorter than 20 bytes: truncated; version != 4: malformed;
///   IHL > 5: ip_options (IHL < 5: malformed); total length < IHL*4 or
///   beyond the frame: bad_length; header checksum wrong: bad_checksum;
///   MF set or fragment offset != 0: fragment; destination neither ours nor
///   255.255.255.255: not_for_us (with `us.ip` 0 every destination is);
///   TTL is not checked (we are the end host). The IPv4 total length, not
///   the frame size, bounds the packet: Ethernet padding after it is legal.
/// - ICMP: addressed to 255.255.255.255: not_for_us (broadcast pings are
///   not answered); shorter than 8 bytes: truncated; checksum over the
///   ICMP message wrong: bad_checksum; type 8 code 0 → icmp_echo; any
///   other type or code: unknown_icmp.
/// - UDP: shorter than 8 bytes: truncated; UDP length < 8 or != IPv4
///   payload length: bad_length; checksum non-zero and wrong (pseudo
///   header included): bad_checksum; zero checksum means "none" and is
///   accepted; destination port 0: malformed.
/// - TCP: addressed to 255.255.255.255: not_for_us; shorter than 20
///   bytes: truncated; everything else is the TCP engine's to judge.
/// - any other IPv4 protocol: unknown_protocol.
parsed_frame classify(std::span<const std::byte> frame, const local_addresses& us) noexcept;

/// Writes a 42-byte ARP frame (Ethernet + ARP body) into `out`, which must
/// hold at least 60 bytes (the frame is zero-padded to the Ethernet
/// minimum); returns 60. A request goes to broadcast with a zero target MAC.
std::size_t write_arp(std::span<std::byte> out, std::uint16_t op, const mac_address& our_mac,
                      std::uint32_t our_ip, const mac_address& their_mac,
                      std::uint32_t their_ip) noexcept;

/// Turns a received ICMP echo request (as classified) into the echo reply,
/// in place: Ethernet addresses swapped (reply from `our_mac`), IPv4
/// source/destination swapped, TTL 64, type 0, both checksums recomputed.
/// Returns the frame length to send (Ethernet header + IPv4 total length).
std::size_t make_icmp_echo_reply(std::span<std::byte> frame, const parsed_frame& p,
                                 const mac_address& our_mac) noexcept;

/// The addresses of one outgoing UDP datagram.
struct udp_route {
  mac_address src_mac{};
  mac_address dst_mac{};
  std::uint32_t src_ip = 0;
  std::uint32_t dst_ip = 0;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
};

/// Writes Ethernet + IPv4 + UDP headers (udp_frame_overhead bytes) into
/// `out` for a payload already placed right after them (`payload`, whose
/// bytes the UDP checksum covers). IPv4: no options, DF set, TTL 64,
/// identification `ip_id`. Both checksums are filled in; a UDP checksum
/// that computes to 0 is sent as 0xffff (RFC 768). `payload.size()` must
/// be at most max_udp_payload.
void write_udp_headers(std::span<std::byte> out, const udp_route& r, std::uint16_t ip_id,
                       std::span<const std::byte> payload) noexcept;

/// Ethernet + IPv4 headers in front of every IPv4 payload we send.
inline constexpr std::size_t ipv4_frame_overhead = eth_header_size + ipv4_header_size;

/// The addresses of one outgoing IPv4 packet.
struct ipv4_route {
  mac_address src_mac{};
  mac_address dst_mac{};
  std::uint32_t src_ip = 0;
  std::uint32_t dst_ip = 0;
};

/// Writes Ethernet + IPv4 headers (ipv4_frame_overhead bytes) into `out`
/// for `payload_length` bytes of protocol `protocol` (6: TCP) placed right
/// after them. IPv4: no options, DF set, TTL 64, identification `ip_id`,
/// header checksum filled in. The payload's own checksum is its own.
void write_ipv4_headers(std::span<std::byte> out, const ipv4_route& r, std::uint8_t protocol,
                        std::uint16_t ip_id, std::size_t payload_length) noexcept;

/// The Internet checksum (RFC 1071) of `data`, folded, not complemented,
/// starting from `initial` (for pseudo headers).
std::uint16_t ones_complement_sum(std::span<const std::byte> data, std::uint32_t initial = 0) noexcept;

}  // namespace actorstack::dataplane
