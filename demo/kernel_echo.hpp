#pragma once
// The echo demo's baseline (--baseline): the same echo over kernel TCP
// loopback in the same process run, so the stack's rate has something to
// be compared with on this machine, now. Each client has a writer thread
// (the pattern, io_size bytes per write) and a reader thread (io_size per
// read, checked with --verify); the server echoes each connection on its
// own thread with io_size reads and writes.

#include <cstddef>
#include <cstdint>
#include <string>

namespace echo {

struct kernel_echo_result {
  std::uint64_t bytes = 0;  // echoed back to the clients
  double duration_s = 0;
  std::uint64_t verify_errors = 0;
  bool interrupted = false;  // SIGINT/SIGTERM (stop_requested) ended it
  std::string error;         // a socket call failed: what and why
  double gbps() const { return duration_s > 0 ? static_cast<double>(bytes) * 8 / duration_s / 1e9 : 0; }
};

kernel_echo_result run_kernel_echo(std::uint32_t clients, std::uint64_t bytes, bool verify, std::size_t io_size);

}  // namespace echo
