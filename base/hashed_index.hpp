#pragma once
/// \file
/// An open-addressed hash index: from a key's 64-bit hash to the slot of
/// the record that holds the key, in a table its owner keeps (a TCB table,
/// a pool of app sessions).
///
/// Why not std::unordered_map: a node-based map pays a heap node, its
/// allocator header and a bucket pointer per entry (~40 bytes, on every
/// connection) and a pointer chase on every lookup, and the lookup is on
/// each received segment. Here an entry is 8 bytes — the slot and the low
/// 32 bits of the hash — in one array probed linearly, so a lookup reads a
/// cache line or two of entries and compares the key only where the hash
/// bits match: the owner's `same(slot)` reads its own record, which the
/// caller is about to touch anyway. The key is not copied here, so one
/// index type serves any key.
///
/// Erasing shifts the following run back (no tombstones), which is why the
/// bucket is the hash bits kept: an entry's home is recomputed from them.
/// The table doubles past 7/8 full (Abseil's SwissTable's ceiling too):
/// at 3/4 a table of 100 000 connections doubled to 262 144 entries, and
/// it is paid per idle connection. The bits kept make the long runs of
/// that load cheap: a probe that is not the key costs a compare in a cache
/// line already read, not a visit to the owner's record. It rehashes in
/// place of the old table, like std::unordered_map's rehash, once per
/// doubling.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace actorstack {

class hashed_index {
 public:
  static constexpr std::uint32_t none = ~std::uint32_t{0};

  /// A 64-bit finalizer (splitmix64's): every output bit depends on every
  /// input bit, so the low bits the index files under are as good as the
  /// high ones whatever the key's own pattern (handles that count up,
  /// addresses that share a prefix).
  static constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

  /// The slot under `hash` for which `same(slot)` is true, or `none`.
  template <class Same>
  std::uint32_t find(std::uint64_t hash, Same&& same) const noexcept {
    if (size_ == 0) return none;
    const std::uint32_t bits = static_cast<std::uint32_t>(hash);
    for (std::uint32_t i = bits & mask_;; i = (i + 1) & mask_) {
      const entry& e = table_[i];
      if (e.slot == none) return none;
      if (e.bits == bits && same(e.slot)) return e.slot;
    }
  }

  /// Files `slot` under `hash`. The caller knows no equal key is filed.
  void insert(std::uint64_t hash, std::uint32_t slot) {
    if ((size_ + 1) * 8 > capacity() * 7) grow();
    place(entry{static_cast<std::uint32_t>(hash), slot});
    ++size_;
  }

  /// Removes `slot`, filed under `hash`; false when it is not there.
  bool erase(std::uint64_t hash, std::uint32_t slot) noexcept {
    if (size_ == 0) return false;
    const std::uint32_t bits = static_cast<std::uint32_t>(hash);
    std::uint32_t hole = bits & mask_;
    for (;; hole = (hole + 1) & mask_) {
      const entry& e = table_[hole];
      if (e.slot == none) return false;
      if (e.bits == bits && e.slot == slot) break;
    }
    // Backward shift: an entry after the hole moves into it unless its
    // home lies cyclically in (hole, at] — then it is already as near
    // home as the hole would put it.
    for (std::uint32_t at = (hole + 1) & mask_;; at = (at + 1) & mask_) {
      const entry& e = table_[at];
      if (e.slot == none) break;
      const std::uint32_t home = e.bits & mask_;
      const bool stays = hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
      if (stays) continue;
      table_[hole] = e;
      hole = at;
    }
    table_[hole] = entry{};
    --size_;
    return true;
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return table_ ? std::size_t{mask_} + 1 : 0; }

 private:
  struct entry {
    std::uint32_t bits = 0;  ///< the hash's low 32 bits: home bucket and a filter
    std::uint32_t slot = none;
  };

  void place(entry in) noexcept {
    std::uint32_t i = in.bits & mask_;
    while (table_[i].slot != none) i = (i + 1) & mask_;
    table_[i] = in;
  }

  void grow() {
    const std::size_t old_capacity = capacity();
    const std::size_t next = old_capacity == 0 ? 16 : old_capacity * 2;
    std::unique_ptr<entry[]> old = std::exchange(table_, std::make_unique<entry[]>(next));
    mask_ = static_cast<std::uint32_t>(next - 1);
    for (std::size_t i = 0; i < old_capacity; ++i)
      if (old[i].slot != none) place(old[i]);
  }

  std::unique_ptr<entry[]> table_;
  std::uint32_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace actorstack
