#pragma once
/// \file
/// Faults on demand (SPEC-TCP 8, issue: TCP "faults on demand"): a seeded
/// impairment stage a port's frames pass through in either direction, in
/// the spirit of VPP's nsim — the kernel here has no netem, and tests need
/// loss that is the same every run. It drops, duplicates, reorders,
/// corrupts, truncates and delays frames with set probabilities; every
/// decision comes from one seeded generator per direction, so a seed and
/// a frame sequence give the same faults every time.
///
/// The policy (what happens to the next frame) is plain C++ and tested on
/// its own; the core applies it to mbufs (core_loop.cpp).

#include <actorstack/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace actorstack::dataplane {

struct impairment_config {
  double loss = 0;      ///< probability a frame is dropped
  double dup = 0;       ///< ... sent twice
  double reorder = 0;   ///< ... held back and sent after the next one
  double corrupt = 0;   ///< ... has one bit flipped past its Ethernet header
  double truncate = 0;  ///< ... is cut short at a random length
  std::uint32_t delay_ms = 0;  ///< every frame waits this long
  std::uint64_t seed = 1;
  bool enabled() const noexcept {
    return loss > 0 || dup > 0 || reorder > 0 || corrupt > 0 || truncate > 0 || delay_ms > 0;
  }
};

/// Parses "loss=P,dup=P,reorder=P,corrupt=P,truncate=P,delay=MS,seed=S"
/// (any subset, any order; P as a fraction 0.01 or a percentage 1%; empty:
/// nothing impaired). Errors: bad_config naming the offending part.
result<impairment_config> parse_impairment(std::string_view text);
/// The canonical text of `c` (parse_impairment reads it back).
std::string to_string(const impairment_config& c);

/// What happens to one frame. A frame may be both duplicated and held.
struct impairment_verdict {
  bool drop = false;
  bool duplicate = false;
  bool hold = false;          ///< reorder: after the next frame
  bool corrupt = false;
  std::uint32_t corrupt_bit = 0;  ///< which bit past the Ethernet header (mod its length)
  bool truncate = false;
  std::uint32_t truncate_to = 0;  ///< the new length (mod the frame's length)
};

/// Counts per direction.
struct impairment_counters {
  std::uint64_t frames = 0;
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
  std::uint64_t corrupted = 0;
  std::uint64_t truncated = 0;
  std::uint64_t delayed = 0;
};

class impairment_policy {
 public:
  /// `salt` separates directions and cores sharing one configured seed.
  impairment_policy(const impairment_config& cfg, std::uint64_t salt) noexcept;
  impairment_verdict next() noexcept;
  const impairment_config& config() const noexcept { return cfg_; }
  impairment_counters& counters() noexcept { return counters_; }
  const impairment_counters& counters() const noexcept { return counters_; }

 private:
  std::uint64_t draw() noexcept;
  bool chance(double p) noexcept;

  impairment_config cfg_;
  std::uint64_t state_;
  impairment_counters counters_;
};

}  // namespace actorstack::dataplane
