#pragma once
// The `raw` baseline of actorstack-bench-udp and actorstack-bench-tcp
// (issue: data plane close to the machine's limit): what the net_memif
// port itself can do on this machine, with no stack at all. Two processes
// over a memif pair on the same CPUs as the stacks' data-plane cores: an
// echo (receive a burst, swap MAC and IP addresses and ports, send it
// back, or only its first `reply` bytes) and a generator that keeps `window` frames in flight and counts
// the ones that come back. Both busy-poll.

#include <cstddef>
#include <string>

namespace actorstack::bench {

struct raw_echo_case {
  /// Bytes in front of the payload: Ethernet + IPv4 + UDP (42), or + TCP
  /// with the timestamp option the stacks send (66).
  std::size_t header = 42;
  std::size_t payload = 64;
  /// Frames in flight (the stack's datagrams in flight, or connections).
  unsigned window = 1;
  /// Bytes of each frame the echo sends back (the rest trimmed), e.g. a
  /// bare header as an ACK stands for one segment of a bulk transfer;
  /// 0: the whole frame.
  std::size_t reply = 0;
  /// Seconds measured, after 0.3 s of warm-up.
  double seconds = 1;
};

/// Round trips per second (0 on failure, with the reason on stderr). `self`
/// is the running benchmark's binary: it is run again as the two sides,
/// which is why its main must call raw_echo_role first.
double raw_echo_round_trips(const std::string& self, const raw_echo_case& c);

/// If argv asks for one side of the raw echo ("--raw-echo server|client
/// ..."), runs it and returns the exit code; otherwise -1.
int raw_echo_role(int argc, char** argv);

}  // namespace actorstack::bench
