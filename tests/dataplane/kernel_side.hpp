#pragma once
// The Linux kernel as a test peer of the stack: a network namespace of the
// test's own, addresses on the kernel side of a link, kernel UDP sockets,
// ICMP echo through a raw socket, and raw Ethernet frames — valid ones and
// ones broken in exactly one way — sent with AF_PACKET. No DPDK here; no
// ping/socat/scapy needed on the machine.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace actorstack::test {

using mac = std::array<std::uint8_t, 6>;
using frame = std::vector<std::uint8_t>;

/// unshare(CLONE_NEWNET) for the calling thread (and whatever it creates
/// afterwards: threads, processes, a DPDK tap), then `lo` up. Call it
/// before the stack starts. False with the reason (EPERM: not root).
bool enter_fresh_netns(std::string* why);
/// Runs a shell command; true if it exited 0. `output` gets stdout+stderr.
bool run_command(const std::string& cmd, std::string* output);
/// `ip addr add CIDR dev IFACE` and `ip link set IFACE up`.
bool set_address(const std::string& iface, const std::string& cidr);
std::optional<mac> interface_mac(const std::string& iface);

struct sender {
  std::string ip;
  std::uint16_t port = 0;
};

/// A kernel UDP socket (RAII).
class udp_socket {
 public:
  udp_socket();
  ~udp_socket();
  udp_socket(const udp_socket&) = delete;
  udp_socket& operator=(const udp_socket&) = delete;
  bool bind(const std::string& ip, std::uint16_t port);
  /// Sends with UDP checksum 0 ("none"). Over a veth pair the kernel
  /// leaves the checksum to an offload that never happens (the frame
  /// reaches af_packet half-done); a zero checksum is complete and legal.
  bool no_checksum();
  bool send_to(const std::string& ip, std::uint16_t port, std::span<const std::byte> data);
  /// The next datagram within `timeout`: its size and sender.
  std::optional<std::pair<std::size_t, sender>> recv(std::span<std::byte> buf, std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

struct ping_result {
  int sent = 0;
  int received = 0;
};
/// ICMP echo to `ip` from a raw socket: `count` requests, each waiting up
/// to `timeout` for its own reply (id, sequence and payload checked).
ping_result ping(const std::string& ip, int count, std::chrono::milliseconds timeout);

/// An AF_PACKET socket on one interface: frames go out exactly as given.
class raw_link {
 public:
  explicit raw_link(const std::string& iface);
  ~raw_link();
  raw_link(const raw_link&) = delete;
  raw_link& operator=(const raw_link&) = delete;
  bool ok() const noexcept { return fd_ >= 0; }
  bool send_frame(const frame& f);
  /// The next frame seen on the interface, either way (what an on-path
  /// observer sees), or nothing within `timeout_ms`.
  std::optional<frame> receive(int timeout_ms);

 private:
  int fd_ = -1;
  int ifindex_ = 0;
};

/// Valid frames, as a correct host would send them.
struct frame_builder {
  mac src_mac{};
  mac dst_mac{};
  std::string src_ip = "10.0.0.1";
  std::string dst_ip = "10.0.0.2";
  std::uint16_t src_port = 1000;
  std::uint16_t dst_port = 2000;
  std::vector<std::uint8_t> payload;

  frame udp() const;                                   ///< Ethernet + IPv4 + UDP, both checksums right
  frame arp_request(const std::string& target) const;  ///< who has `target`? tell src_ip
  frame unknown_ethertype(std::uint16_t type) const;   ///< 46 zero bytes under `type`
};

// Each breaks one thing and keeps every checksum that is not the point
// right, so the stack's first failing rule is the intended one.
frame truncate(frame f, std::size_t n);
frame set_ip_total_length(frame f, std::uint16_t len);  ///< IPv4 checksum re-fixed
frame set_udp_length(frame f, std::uint16_t len);       ///< UDP checksum left alone (length is checked first)
frame corrupt_ip_checksum(frame f);
frame corrupt_udp_checksum(frame f);                    ///< never to 0 (which means "no checksum")
frame set_fragment(frame f, bool more_fragments, std::uint16_t offset_8byte_units);  ///< checksum re-fixed
frame add_ip_options(frame f);                          ///< 4 NOP bytes, IHL 6, lengths and checksum fixed
frame set_protocol(frame f, std::uint8_t proto);        ///< checksum re-fixed
frame random_garbage(std::mt19937& rng, std::size_t n);

}  // namespace actorstack::test
