#pragma once
// What actorstack-echo's command line sets, shared by the cut-through run
// (echo.cpp) and the UDP server/client over the data plane (udp_echo.cpp).

#include <actorstack/endpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace echo {

struct options {
  std::string uri = "ct://127.0.0.1/1234";
  std::uint32_t clients = 1;
  std::uint64_t bytes = 64ull << 20;
  std::uint32_t fifo_size = 1u << 20;
  std::uint32_t workers = 0;
  bool verify = true;
  bool json = false;
  int inspect_port = -1;  // -1: not published
  int metrics_port = -1;  // -1: not served
  std::uint32_t hold_s = 0;
  // udp:// only
  std::string role;              // server | client
  std::string port;              // EAL vdev, e.g. net_tap0,iface=as0
  std::string ip;                // our address, ADDR/PREFIX
  std::string gateway;
  std::uint32_t datagram_size = 1400;  // payload bytes per datagram
  std::uint32_t window = 0;            // datagrams in flight per client; 0 = from the fifo size
  std::string poll_mode = "adaptive";
  std::string lcores;
  std::uint32_t cores = 1;             // data-plane cores (one port queue pair each)
  // --attach: a separate process attached to a stack daemon
  std::string attach;  // the daemon's Unix socket
};

// The byte at stream position `pos` of client `c`: cheap, position- and
// client-dependent, so misplaced or cross-wired bytes are caught.
inline std::byte pattern(std::uint64_t c, std::uint64_t pos) {
  return static_cast<std::byte>((pos * 2654435761u + c * 40503u) >> 13);
}

// The UDP server or client (udp_echo.cpp); returns the process exit code.
int run_udp(const options& opt, const actorstack::endpoint& ep);
// The ct server or client attached to a stack daemon (attached_echo.cpp).
int run_attached(const options& opt);

}  // namespace echo
