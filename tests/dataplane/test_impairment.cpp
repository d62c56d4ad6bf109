// The impairment policy (dataplane/impairment.hpp) without DPDK: its
// configuration text, its determinism per seed, and its rates.

#include "dataplane/impairment.hpp"

#include <doctest/doctest.h>

using namespace actorstack;
using namespace actorstack::dataplane;

TEST_CASE("impairment: the --impair text sets each fault, as a fraction or a percentage, and reads back") {
  auto c = parse_impairment("loss=1%,dup=0.02,reorder=5%,corrupt=0.01,truncate=0,delay=3,seed=42");
  REQUIRE(c);
  CHECK(c->loss == doctest::Approx(0.01));
  CHECK(c->dup == doctest::Approx(0.02));
  CHECK(c->reorder == doctest::Approx(0.05));
  CHECK(c->corrupt == doctest::Approx(0.01));
  CHECK(c->truncate == 0);
  CHECK(c->delay_ms == 3);
  CHECK(c->seed == 42);
  CHECK(c->enabled());
  auto back = parse_impairment(to_string(*c));
  REQUIRE(back);
  CHECK(back->loss == doctest::Approx(c->loss));
  CHECK(back->seed == 42);
  auto none = parse_impairment("");
  REQUIRE(none);
  CHECK_FALSE(none->enabled());
}

TEST_CASE("impairment: a bad --impair text is a bad_config error naming the part: unknown key, not a number, out of range, no '='") {
  for (const char* bad : {"lose=0.1", "loss=abc", "loss=1.5", "loss=150%", "loss", "delay=-1", "delay=20000", "seed=x"}) {
    CAPTURE(bad);
    auto c = parse_impairment(bad);
    REQUIRE_FALSE(c);
    CHECK(c.error().code == errc::bad_config);
    CHECK(c.error().detail != nullptr);
  }
}

TEST_CASE("impairment: the same seed gives the same faults, another seed others, and the rates hold") {
  impairment_config cfg;
  cfg.loss = 0.05;
  cfg.dup = 0.02;
  cfg.reorder = 0.05;
  cfg.seed = 7;
  impairment_policy a(cfg, 1), b(cfg, 1), other_dir(cfg, 2);
  int same = 0, differ = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto x = a.next();
    const auto y = b.next();
    const auto z = other_dir.next();
    same += x.drop == y.drop && x.duplicate == y.duplicate && x.hold == y.hold;
    differ += x.drop != z.drop;
  }
  CHECK(same == 20000);
  CHECK(differ > 0);
  const double loss = static_cast<double>(a.counters().dropped) / 20000;
  CHECK(loss > 0.04);
  CHECK(loss < 0.06);
  CHECK(a.counters().duplicated > 200);
  CHECK(a.counters().reordered > 700);
  CHECK(a.counters().frames == 20000);
}
