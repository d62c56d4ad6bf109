#pragma once
/// \file
/// One-line operational messages (an actor died, what was cleaned, what
/// did not stop). They go to stderr, prefixed, one write per line so lines
/// from different threads never interleave.

#include <cstdio>
#include <string>

namespace actorstack {

inline void log_line(const std::string& text) {
  const std::string line = "actorstack: " + text + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace actorstack
