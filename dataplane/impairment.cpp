// The impairment policy and its configuration text (see impairment.hpp).

#include "dataplane/impairment.hpp"

#include <charconv>
#include <cstdio>

namespace actorstack::dataplane {

namespace {

result<double> parse_probability(std::string_view key, std::string_view v) {
  const bool percent = !v.empty() && v.back() == '%';
  if (percent) v.remove_suffix(1);
  // from_chars for double is in libstdc++ 11+.
  double x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || end != v.data() + v.size() || v.empty())
    return unexpected{errc::bad_config, intern("impair: " + std::string{key} + " needs a number, got '" + std::string{v} + "'")};
  if (percent) x /= 100;
  if (x < 0 || x > 1)
    return unexpected{errc::bad_config, intern("impair: " + std::string{key} + " must lie in [0, 1] (or 0%..100%)")};
  return x;
}

template <class T>
result<T> parse_integer(std::string_view key, std::string_view v) {
  T x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || end != v.data() + v.size() || v.empty())
    return unexpected{errc::bad_config, intern("impair: " + std::string{key} + " needs a whole number, got '" + std::string{v} + "'")};
  return x;
}

}  // namespace

result<impairment_config> parse_impairment(std::string_view text) {
  impairment_config c;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      return unexpected{errc::bad_config, intern("impair: '" + std::string{part} + "' is not key=value")};
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = part.substr(eq + 1);
    double* p = key == "loss" ? &c.loss : key == "dup" ? &c.dup : key == "reorder" ? &c.reorder
              : key == "corrupt" ? &c.corrupt : key == "truncate" ? &c.truncate : nullptr;
    if (p != nullptr) {
      auto v = parse_probability(key, value);
      if (!v) return unexpected{v.error()};
      *p = *v;
    } else if (key == "delay") {
      auto v = parse_integer<std::uint32_t>(key, value);
      if (!v) return unexpected{v.error()};
      if (*v > 10'000) return unexpected{errc::bad_config, "impair: delay is at most 10000 ms"};
      c.delay_ms = *v;
    } else if (key == "seed") {
      auto v = parse_integer<std::uint64_t>(key, value);
      if (!v) return unexpected{v.error()};
      c.seed = *v;
    } else {
      return unexpected{errc::bad_config,
                        intern("impair: unknown key '" + std::string{key} +
                               "' (loss, dup, reorder, corrupt, truncate, delay, seed)")};
    }
  }
  return c;
}

std::string to_string(const impairment_config& c) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "loss=%g,dup=%g,reorder=%g,corrupt=%g,truncate=%g,delay=%u,seed=%llu", c.loss, c.dup,
                c.reorder, c.corrupt, c.truncate, c.delay_ms, static_cast<unsigned long long>(c.seed));
  return buf;
}

impairment_policy::impairment_policy(const impairment_config& cfg, std::uint64_t salt) noexcept
    : cfg_(cfg), state_((cfg.seed ^ (salt * 0x9e3779b97f4a7c15ULL)) | 1) {}

std::uint64_t impairment_policy::draw() noexcept {
  // xorshift64*: plenty for fault injection, and the same on every machine.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 0x2545f4914f6cdd1dULL;
}

bool impairment_policy::chance(double p) noexcept {
  if (p <= 0) return false;
  return static_cast<double>(draw() >> 11) * (1.0 / 9007199254740992.0) < p;
}

impairment_verdict impairment_policy::next() noexcept {
  impairment_verdict v;
  ++counters_.frames;
  // Every fault draws whether or not it is enabled, so a seed gives the
  // same sequence of draws whatever the probabilities are.
  v.drop = chance(cfg_.loss);
  v.duplicate = chance(cfg_.dup);
  v.hold = chance(cfg_.reorder);
  v.corrupt = chance(cfg_.corrupt);
  v.truncate = chance(cfg_.truncate);
  v.corrupt_bit = static_cast<std::uint32_t>(draw());
  v.truncate_to = static_cast<std::uint32_t>(draw());
  if (v.drop) {
    ++counters_.dropped;
    return impairment_verdict{true};
  }
  counters_.duplicated += v.duplicate;
  counters_.reordered += v.hold;
  counters_.corrupted += v.corrupt;
  counters_.truncated += v.truncate;
  return v;
}

}  // namespace actorstack::dataplane
