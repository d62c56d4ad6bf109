#pragma once
// actorstack-bench-ct's throughput_2proc case: one client process and one
// server process attached to a stack daemon, over cut-through; baseline: a
// Unix domain stream socket between two processes, same write size, same run.

#include <cstdint>
#include <string>

namespace actorstack::bench {

struct two_process_settings {
  std::uint64_t bytes = 4ull << 30;
  std::uint32_t write_size = 64 * 1024;
  std::uint32_t fifo_size = 1u << 20;
  std::string self;    // this benchmark's binary (it runs the two apps)
  std::string stackd;  // actorstack-stackd
};

/// Gbit/s through the stack (0 on failure, with the reason on stderr).
double stack_two_process(const two_process_settings& s);
/// Gbit/s through a Unix stream socket between two processes.
double unix_two_process(const two_process_settings& s);

/// If argv asks for one of the two app roles, runs it and returns the exit
/// code; otherwise -1.
int two_process_role(int argc, char** argv);

}  // namespace actorstack::bench
