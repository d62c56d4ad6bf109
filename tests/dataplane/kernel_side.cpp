#include "tests/dataplane/kernel_side.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace actorstack::test {

namespace {

// poll() until `deadline`, riding out EINTR: DPDK's tap driver takes SIGIO
// in this process, and a signal must not look like a timeout.
bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return true;
    if (rc == 0 || errno != EINTR) return false;
  }
}

std::uint32_t ipv4(const std::string& text) {
  in_addr a{};
  inet_pton(AF_INET, text.c_str(), &a);
  return ntohl(a.s_addr);
}

void put16(frame& f, std::size_t at, std::uint16_t v) {
  f[at] = static_cast<std::uint8_t>(v >> 8);
  f[at + 1] = static_cast<std::uint8_t>(v);
}
void put32(frame& f, std::size_t at, std::uint32_t v) {
  put16(f, at, static_cast<std::uint16_t>(v >> 16));
  put16(f, at + 2, static_cast<std::uint16_t>(v));
}
std::uint16_t get16(const frame& f, std::size_t at) {
  return static_cast<std::uint16_t>((f[at] << 8) | f[at + 1]);
}

// RFC 1071 over [p, p+n), starting from `sum`; not complemented.
std::uint32_t add_sum(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>((p[i] << 8) | p[i + 1]);
  if (n % 2) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  return sum;
}
std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

constexpr std::size_t eth = 14;

std::size_t ihl_bytes(const frame& f) { return (f[eth] & 0x0f) * 4u; }

void fix_ip_checksum(frame& f) {
  const std::size_t h = ihl_bytes(f);
  put16(f, eth + 10, 0);
  put16(f, eth + 10, static_cast<std::uint16_t>(~fold(add_sum(&f[eth], h))));
}

void fix_udp_checksum(frame& f) {
  const std::size_t u = eth + ihl_bytes(f);
  const std::uint16_t len = get16(f, u + 4);
  put16(f, u + 6, 0);
  std::uint32_t sum = add_sum(&f[eth + 12], 8);  // source and destination address
  sum += 17 + len;
  sum = add_sum(&f[u], std::min<std::size_t>(len, f.size() - u), sum);
  std::uint16_t c = static_cast<std::uint16_t>(~fold(sum));
  put16(f, u + 6, c == 0 ? 0xffff : c);
}

void put_mac(frame& f, std::size_t at, const mac& m) { std::memcpy(&f[at], m.data(), 6); }

}  // namespace

bool enter_fresh_netns(std::string* why) {
  if (::unshare(CLONE_NEWNET) != 0) {
    if (why) *why = std::string{"unshare(CLONE_NEWNET): "} + std::strerror(errno);
    return false;
  }
  std::string out;
  if (!run_command("ip link set lo up", &out)) {
    if (why) *why = "ip link set lo up: " + out;
    return false;
  }
  return true;
}

bool run_command(const std::string& cmd, std::string* output) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return false;
  std::string out;
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = ::pclose(p);
  if (output) *output = out;
  if (rc != 0) std::fprintf(stderr, "kernel_side: '%s' failed: %s\n", cmd.c_str(), out.c_str());
  return rc == 0;
}

bool set_address(const std::string& iface, const std::string& cidr) {
  return run_command("ip addr add " + cidr + " dev " + iface, nullptr) &&
         run_command("ip link set " + iface + " up", nullptr);
}

std::optional<mac> interface_mac(const std::string& iface) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return std::nullopt;
  ifreq req{};
  std::snprintf(req.ifr_name, sizeof req.ifr_name, "%s", iface.c_str());
  std::optional<mac> out;
  if (::ioctl(fd, SIOCGIFHWADDR, &req) == 0) {
    mac m{};
    std::memcpy(m.data(), req.ifr_hwaddr.sa_data, 6);
    out = m;
  }
  ::close(fd);
  return out;
}

// ---------------------------------------------------------------------------
// udp

udp_socket::udp_socket() : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {}
udp_socket::~udp_socket() {
  if (fd_ >= 0) ::close(fd_);
}

bool udp_socket::bind(const std::string& ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(ipv4(ip));
  return fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

bool udp_socket::no_checksum() {
  const int on = 1;
  return ::setsockopt(fd_, SOL_SOCKET, SO_NO_CHECK, &on, sizeof on) == 0;
}

bool udp_socket::send_to(const std::string& ip, std::uint16_t port, std::span<const std::byte> data) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(ipv4(ip));
  return ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
         static_cast<ssize_t>(data.size());
}

std::optional<std::pair<std::size_t, sender>> udp_socket::recv(std::span<std::byte> buf,
                                                               std::chrono::milliseconds timeout) {
  if (!wait_readable(fd_, std::chrono::steady_clock::now() + timeout)) return std::nullopt;
  sockaddr_in from{};
  socklen_t len = sizeof from;
  const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) return std::nullopt;
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
  return std::pair{static_cast<std::size_t>(n), sender{text, ntohs(from.sin_port)}};
}

// ---------------------------------------------------------------------------
// icmp

ping_result ping(const std::string& ip, int count, std::chrono::milliseconds timeout) {
  ping_result r;
  const int fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (fd < 0) return r;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(ipv4(ip));
  const std::uint16_t id = static_cast<std::uint16_t>(::getpid());
  for (int seq = 1; seq <= count; ++seq) {
    frame msg(8 + 56);
    msg[0] = 8;  // echo request
    put16(msg, 4, id);
    put16(msg, 6, static_cast<std::uint16_t>(seq));
    for (std::size_t i = 8; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(i + seq);
    put16(msg, 2, static_cast<std::uint16_t>(~fold(add_sum(msg.data(), msg.size()))));
    if (::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) continue;
    ++r.sent;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (wait_readable(fd, end)) {
      std::uint8_t buf[1500];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 20) continue;
      const std::size_t h = (buf[0] & 0x0f) * 4u;  // a raw socket hands us the IPv4 header too
      if (static_cast<std::size_t>(n) < h + msg.size()) continue;
      const std::uint8_t* icmp = buf + h;
      // Our own requests show up too; only our echo reply counts.
      if (icmp[0] != 0 || ((icmp[4] << 8) | icmp[5]) != id || ((icmp[6] << 8) | icmp[7]) != seq) continue;
      if (std::memcmp(icmp + 8, msg.data() + 8, msg.size() - 8) != 0) continue;
      ++r.received;
      break;
    }
  }
  ::close(fd);
  return r;
}

// ---------------------------------------------------------------------------
// raw frames

raw_link::raw_link(const std::string& iface) : fd_(::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))) {
  ifindex_ = static_cast<int>(::if_nametoindex(iface.c_str()));
  if (ifindex_ == 0 && fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}
raw_link::~raw_link() {
  if (fd_ >= 0) ::close(fd_);
}

bool raw_link::send_frame(const frame& f) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex_;
  to.sll_halen = 6;
  if (f.size() >= 6) std::memcpy(to.sll_addr, f.data(), 6);
  return ::sendto(fd_, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
         static_cast<ssize_t>(f.size());
}

std::optional<frame> raw_link::receive(int timeout_ms) {
  frame f(65536);
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    sockaddr_ll from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd_, f.data(), f.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return std::nullopt;
    if (from.sll_ifindex != ifindex_) continue;  // another interface's
    f.resize(static_cast<std::size_t>(n));
    return f;
  }
}

frame frame_builder::udp() const {
  const std::size_t len = 20 + 8 + payload.size();
  frame f(eth + len, 0);
  put_mac(f, 0, dst_mac);
  put_mac(f, 6, src_mac);
  put16(f, 12, 0x0800);
  f[eth] = 0x45;
  put16(f, eth + 2, static_cast<std::uint16_t>(len));
  put16(f, eth + 4, 0x1234);  // identification
  put16(f, eth + 6, 0x4000);  // DF
  f[eth + 8] = 64;
  f[eth + 9] = 17;
  put32(f, eth + 12, ipv4(src_ip));
  put32(f, eth + 16, ipv4(dst_ip));
  fix_ip_checksum(f);
  const std::size_t u = eth + 20;
  put16(f, u, src_port);
  put16(f, u + 2, dst_port);
  put16(f, u + 4, static_cast<std::uint16_t>(8 + payload.size()));
  std::copy(payload.begin(), payload.end(), f.begin() + static_cast<std::ptrdiff_t>(u + 8));
  fix_udp_checksum(f);
  return f;
}

frame frame_builder::arp_request(const std::string& target) const {
  frame f(60, 0);
  put_mac(f, 0, mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  put_mac(f, 6, src_mac);
  put16(f, 12, 0x0806);
  put16(f, eth, 1);           // Ethernet
  put16(f, eth + 2, 0x0800);  // IPv4
  f[eth + 4] = 6;
  f[eth + 5] = 4;
  put16(f, eth + 6, 1);  // request
  put_mac(f, eth + 8, src_mac);
  put32(f, eth + 14, ipv4(src_ip));
  put32(f, eth + 24, ipv4(target));
  return f;
}

frame frame_builder::unknown_ethertype(std::uint16_t type) const {
  frame f(60, 0);
  put_mac(f, 0, dst_mac);
  put_mac(f, 6, src_mac);
  put16(f, 12, type);
  return f;
}

frame truncate(frame f, std::size_t n) {
  f.resize(std::min(n, f.size()));
  return f;
}

frame set_ip_total_length(frame f, std::uint16_t len) {
  put16(f, eth + 2, len);
  fix_ip_checksum(f);
  return f;
}

frame set_udp_length(frame f, std::uint16_t len) {
  put16(f, eth + ihl_bytes(f) + 4, len);
  return f;
}

frame corrupt_ip_checksum(frame f) {
  put16(f, eth + 10, static_cast<std::uint16_t>(get16(f, eth + 10) ^ 0x0101));
  return f;
}

frame corrupt_udp_checksum(frame f) {
  const std::size_t at = eth + ihl_bytes(f) + 6;
  std::uint16_t c = static_cast<std::uint16_t>(get16(f, at) ^ 0x00ff);
  if (c == 0) c = 0x1234;
  put16(f, at, c);
  return f;
}

frame set_fragment(frame f, bool more_fragments, std::uint16_t offset) {
  put16(f, eth + 6, static_cast<std::uint16_t>((more_fragments ? 0x2000 : 0) | (offset & 0x1fff)));
  fix_ip_checksum(f);
  return f;
}

frame add_ip_options(frame f) {
  const std::uint8_t nops[4] = {1, 1, 1, 1};
  f.insert(f.begin() + eth + 20, std::begin(nops), std::end(nops));
  f[eth] = 0x46;
  put16(f, eth + 2, static_cast<std::uint16_t>(get16(f, eth + 2) + 4));
  fix_ip_checksum(f);
  return f;
}

frame set_protocol(frame f, std::uint8_t proto) {
  f[eth + 9] = proto;
  fix_ip_checksum(f);
  return f;
}

frame random_garbage(std::mt19937& rng, std::size_t n) {
  frame f(n);
  for (auto& b : f) b = static_cast<std::uint8_t>(rng());
  return f;
}

}  // namespace actorstack::test
