#pragma once
// What actorstack-echo's command line sets, shared by the cut-through run
// (echo.cpp) and the UDP and TCP servers/clients over the data plane
// (udp_echo.cpp, tcp_echo.cpp).

#include "demo/pattern.hpp"

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
  bool baseline = false;  // also run the kernel TCP loopback echo (ct)
  int inspect_port = -1;  // -1: not published
  std::string inspect_bind = "127.0.0.1";    // inspect.bind
  std::string tls_cert, tls_key, tls_ca;     // tls.* (the inspector over TLS)
  int metrics_port = -1;  // -1: not served
  std::uint32_t hold_s = 0;
  // udp:// and tcp:// (and --attach)
  std::string role;              // server | client
  std::string port;              // EAL vdev, e.g. net_tap0,iface=as0
  std::string ip;                // our address, ADDR/PREFIX
  std::string gateway;
  std::uint32_t datagram_size = 1400;  // payload bytes per datagram
  std::uint32_t window = 0;            // datagrams in flight per client; 0 = from the fifo size
  std::string poll_mode = "adaptive";
  std::string dataplane_threads = "shared";
  std::string lcores;
  std::string impair;  ///< dataplane.impair
  std::uint32_t cores = 1;             // data-plane cores (one port queue pair each)
  // --attach: a separate process attached to a stack daemon
  std::string attach;  // the daemon's Unix socket
};

// Set by SIGINT/SIGTERM once watch_stop_signals() ran: every run checks it
// at least every 100 ms and ends early, saying so (exit code
// exit_interrupted).
bool stop_requested();
void watch_stop_signals();

// Exit codes, as --help lists them.
constexpr int exit_ok = 0;
constexpr int exit_failed = 1;       // verification, connects, leftovers, setup
constexpr int exit_usage = 2;        // bad command line
constexpr int exit_interrupted = 3;  // SIGINT/SIGTERM ended a client run early

// The UDP server or client (udp_echo.cpp); returns the process exit code.
int run_udp(const options& opt, const actorstack::endpoint& ep);
// The TCP server or client (tcp_echo.cpp); returns the process exit code.
int run_tcp(const options& opt, const actorstack::endpoint& ep);
// The ct server or client attached to a stack daemon (attached_echo.cpp).
int run_attached(const options& opt);

}  // namespace echo
