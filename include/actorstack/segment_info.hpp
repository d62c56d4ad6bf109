#pragma once
/// \file
/// `segment_info`: what an application is told about a shared-memory
/// segment that holds its sessions' fifos (SPEC 6 "add segment" / "del
/// segment"). In this process the fifos are already mapped; `fd` lets the
/// application hand the segment to another process, which maps it with
/// shm::segment::map (the memfd stays valid until the del notification).

#include <cstdint>
#include <string>

namespace actorstack {

struct segment_info {
  std::uint64_t id = 0;    ///< unique per stack: (context id << 32) | segment index
  std::string name;        ///< the memfd's name, for inspection
  std::uint64_t size = 0;  ///< bytes mapped
  int fd = -1;             ///< the memfd (owned by the stack: dup it to keep it)
  /// Where the stack's process maps it (not serialised: meaningless in
  /// another process). Lets the stack name the segment of a fifo it holds
  /// (shm::fifo::segment_base) when it tells an app in another process
  /// where that fifo lives.
  std::uintptr_t base = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, segment_info& x) {
  return f(x.id, x.name, x.size, x.fd);
}

}  // namespace actorstack
