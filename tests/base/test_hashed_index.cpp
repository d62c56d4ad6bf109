// The open-addressed index behind the TCP engine's 4-tuple lookup: every
// key filed is found, erased keys are gone, and erasing keeps the probe
// runs whole (backward shift), including runs that wrap past the end.
#include "base/hashed_index.hpp"

#include "../xorshift.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

using namespace actorstack;

namespace {
// Records the owner keeps: slot -> key. The index holds only slots.
struct owner {
  std::vector<std::uint64_t> key_of;
  hashed_index index;

  std::uint32_t find(std::uint64_t key, std::uint64_t hash) const {
    return index.find(hash, [&](std::uint32_t slot) { return key_of[slot] == key; });
  }
};
}  // namespace

TEST_CASE("hashed_index: an empty index finds nothing and erases nothing") {
  hashed_index ix;
  CHECK(ix.find(42, [](std::uint32_t) { return true; }) == hashed_index::none);
  CHECK_FALSE(ix.erase(42, 0));
  CHECK(ix.size() == 0);
  CHECK(ix.capacity() == 0);
}

TEST_CASE("hashed_index: keys whose hashes all share one home bucket, erased from the middle of their run") {
  // Same low bits, different keys: one run of probes; the filter bits are
  // equal too, so only the owner's comparison tells them apart.
  owner o;
  for (std::uint32_t slot = 0; slot < 10; ++slot) {
    o.key_of.push_back(1000 + slot);
    o.index.insert(0x5, slot);
  }
  for (std::uint32_t slot = 0; slot < 10; ++slot) CHECK(o.find(1000 + slot, 0x5) == slot);
  CHECK(o.index.erase(0x5, 4));
  CHECK_FALSE(o.index.erase(0x5, 4));  // already gone
  CHECK(o.find(1004, 0x5) == hashed_index::none);
  for (std::uint32_t slot = 0; slot < 10; ++slot)
    if (slot != 4) CHECK(o.find(1000 + slot, 0x5) == slot);
  CHECK(o.index.size() == 9);
}

TEST_CASE("hashed_index: a run that wraps past the table's end survives erasing its head") {
  owner o;
  hashed_index& ix = o.index;
  // 16 buckets after the first insert; homes 14 and 15 and then 15 again
  // push entries into buckets 0 and 1.
  const std::uint64_t homes[] = {14, 15, 15, 14, 0};
  for (std::uint32_t slot = 0; slot < 5; ++slot) {
    o.key_of.push_back(7000 + slot);
    ix.insert(homes[slot], slot);
  }
  REQUIRE(ix.capacity() == 16);
  CHECK(ix.erase(14, 0));
  for (std::uint32_t slot = 1; slot < 5; ++slot) CHECK(o.find(7000 + slot, homes[slot]) == slot);
  CHECK(ix.erase(15, 1));
  for (std::uint32_t slot = 2; slot < 5; ++slot) CHECK(o.find(7000 + slot, homes[slot]) == slot);
}

TEST_CASE("hashed_index: 20 000 random inserts and erases agree with std::unordered_map") {
  test::xorshift rng{0x1234567};
  owner o;
  std::unordered_map<std::uint64_t, std::uint32_t> model;  // key -> slot
  std::vector<std::uint32_t> free_slots;
  // A poor hash (few distinct low bits) makes long runs, the case erasing
  // must get right.
  const auto hash = [](std::uint64_t key) { return (key % 97) * 0x10001; };
  for (int step = 0; step < 20000; ++step) {
    const std::uint64_t key = rng() % 3000;
    if (auto it = model.find(key); it != model.end()) {
      REQUIRE(o.find(key, hash(key)) == it->second);
      REQUIRE(o.index.erase(hash(key), it->second));
      free_slots.push_back(it->second);
      model.erase(it);
      REQUIRE(o.find(key, hash(key)) == hashed_index::none);
    } else {
      REQUIRE(o.find(key, hash(key)) == hashed_index::none);
      std::uint32_t slot;
      if (!free_slots.empty()) {
        slot = free_slots.back();
        free_slots.pop_back();
        o.key_of[slot] = key;
      } else {
        slot = static_cast<std::uint32_t>(o.key_of.size());
        o.key_of.push_back(key);
      }
      o.index.insert(hash(key), slot);
      model.emplace(key, slot);
    }
    REQUIRE(o.index.size() == model.size());
    REQUIRE(o.index.size() * 8 <= o.index.capacity() * 7);
  }
  for (const auto& [key, slot] : model) CHECK(o.find(key, hash(key)) == slot);
}
