#pragma once
/// \file
/// The SACK scoreboards of one engine's connections (SPEC-TCP 5.4): what
/// the peer reported received above snd_una, merged and sorted. A
/// connection holds a board only while the peer reports such bytes, so a
/// connection without loss — and every idle one — carries a number, not
/// eight blocks (docs/performance.md, memory per idle connection). Boards
/// are reused; they never move (a page at a time), so a reference stays
/// good while the board is held. Owned by the engine's core.

#include "base/paged_vector.hpp"
#include "dataplane/tcp/segment.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace actorstack::tcp {

class sack_scoreboards {
 public:
  static constexpr std::size_t blocks_per_board = 8;
  using board = std::array<sack_block, blocks_per_board>;
  /// The number of no board.
  static constexpr std::uint32_t none = 0;

  /// A board to hold (its number, never `none`); its blocks are stale.
  std::uint32_t take() {
    if (!free_.empty()) {
      const std::uint32_t n = free_.back();
      free_.pop_back();
      return n;
    }
    boards_.emplace_back();
    return static_cast<std::uint32_t>(boards_.size());
  }
  /// Board `n` is free again (`none`: nothing).
  void give_back(std::uint32_t n) {
    if (n != none) free_.push_back(n);
  }
  board& operator[](std::uint32_t n) noexcept { return boards_[n - 1]; }
  const board& operator[](std::uint32_t n) const noexcept { return boards_[n - 1]; }
  /// Boards held now.
  std::size_t held() const noexcept { return boards_.size() - free_.size(); }

 private:
  paged_vector<board> boards_;
  std::vector<std::uint32_t> free_;
};

}  // namespace actorstack::tcp
