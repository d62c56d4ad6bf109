// libFuzzer: the data plane's frame classifier on any bytes the wire may
// carry. What it returns must stay inside the frame; an echo reply built
// from an accepted request must too (ASan checks every access).
#include "dataplane/packet/packet.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace actorstack::dataplane;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An exact-size heap copy: ASan sees one byte past the frame.
  std::vector<std::byte> frame(reinterpret_cast<const std::byte*>(data), reinterpret_cast<const std::byte*>(data) + size);
  for (std::uint32_t ip : {0u, 0x0a000001u}) {  // none configured, 10.0.0.1
    local_addresses us;
    us.ip = ip;
    us.mac = {2, 0, 0, 0, 0, 1};
    const parsed_frame p = classify(frame, us);
    switch (p.kind) {
      case frame_kind::udp:
        if (std::size_t{p.udp.payload_offset} + p.udp.payload_length > size) std::abort();
        break;
      case frame_kind::tcp:
        if (std::size_t{p.tcp.segment_offset} + p.tcp.segment_length > size) std::abort();
        break;
      case frame_kind::icmp_echo: {
        if (std::size_t{p.ip_offset} + p.ip_length > size) std::abort();
        std::vector<std::byte> reply = frame;
        if (make_icmp_echo_reply(reply, p, us.mac) > size) std::abort();
        break;
      }
      default: break;
    }
  }
  return 0;
}
