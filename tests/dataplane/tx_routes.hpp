#pragma once
// A valid tx route for the direct tx and rx inbox tests
// (include/actorstack/tx_route.hpp): `rx` says whether the core may tell
// the app worker of arriving bytes itself.
#include <actorstack/tx_route.hpp>

#include <cstdint>

namespace actorstack::test {

inline tx_route route(std::uint32_t core, std::uint32_t conn, std::uint32_t generation, bool rx = false) {
  tx_route r;
  r.valid = true;
  r.rx = rx;
  r.core = core;
  r.conn = conn;
  r.generation = generation;
  return r;
}

}  // namespace actorstack::test
