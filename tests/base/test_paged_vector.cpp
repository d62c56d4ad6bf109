// The connection tables' storage: indexed like a vector, grown a page at a
// time, elements never moved.
#include "base/paged_vector.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <vector>

using namespace actorstack;

namespace {
struct big {
  std::array<std::uint8_t, 448> bytes{};  // a TCB's size
  std::uint32_t id = 0;
};
}  // namespace

TEST_CASE("paged_vector: an element keeps its address while the table grows past many pages") {
  paged_vector<big> v;
  // A power of two of elements, about 128 KiB.
  static_assert(paged_vector<big>::page_elements == 256);
  std::vector<const big*> where;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    big& b = v.emplace_back();
    CHECK(b.id == 0);  // fresh
    b.id = i;
    where.push_back(&b);
  }
  REQUIRE(v.size() == 1000);
  for (std::uint32_t i = 0; i < 1000; ++i) {
    CHECK(&v[i] == where[i]);
    CHECK(v[i].id == i);
  }
}

TEST_CASE("paged_vector: grow_to only grows, and iteration visits every element in index order") {
  paged_vector<std::uint32_t> v;
  CHECK(v.empty());
  v.grow_to(5000);
  CHECK(v.size() == 5000);
  for (std::uint32_t i = 0; i < 5000; ++i) v[i] = i * 3;
  v.grow_to(10);
  CHECK(v.size() == 5000);
  std::uint32_t expect = 0;
  std::size_t n = 0;
  for (const std::uint32_t x : v) {
    CHECK(x == expect);
    expect += 3;
    ++n;
  }
  CHECK(n == 5000);
  const auto& cv = v;
  CHECK(cv[4999] == 4999 * 3);
}

namespace {
struct counted {
  static inline int alive = 0;
  int value = 7;
  counted() { ++alive; }
  ~counted() { --alive; }
  counted(const counted&) = delete;
  counted& operator=(const counted&) = delete;
};
}  // namespace

TEST_CASE("paged_vector: only the elements grown into are constructed, each destroyed once, also after a move") {
  {
    paged_vector<counted> v;
    v.grow_to(paged_vector<counted>::page_elements + 3);  // a second page, three elements into it
    CHECK(counted::alive == static_cast<int>(paged_vector<counted>::page_elements + 3));
    CHECK(v[paged_vector<counted>::page_elements + 2].value == 7);
    paged_vector<counted> w = std::move(v);
    CHECK(v.size() == 0);  // NOLINT(bugprone-use-after-move): a moved-from table is empty
    CHECK(counted::alive == static_cast<int>(w.size()));
    paged_vector<counted> x;
    x.emplace_back();
    x = std::move(w);  // x's own element goes
    CHECK(counted::alive == static_cast<int>(x.size()));
  }
  CHECK(counted::alive == 0);
}
