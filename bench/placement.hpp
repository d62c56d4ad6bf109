#pragma once
// Where the benches put their two data-plane processes' cores on this
// 2-CPU machine: the stacks (echo demo, bench-tcp's sides) and the raw
// echo alike, so every side of a case runs on the same CPUs.

#include <string>

namespace actorstack::bench {

/// An EAL `--lcores` value: lcore 0 floats over both CPUs; data-plane core
/// i is lcore i + 1 on CPU (i + first) mod 2, first being 0 for the server
/// and 1 for the client — one core per process sits on a CPU of its own,
/// two per process share both.
inline std::string dataplane_lcores(unsigned cores, bool server) {
  std::string l = "0@(0-1)";
  for (unsigned i = 0; i < cores; ++i)
    l += "," + std::to_string(i + 1) + "@" + std::to_string((i + (server ? 0u : 1u)) % 2);
  return l;
}

}  // namespace actorstack::bench
