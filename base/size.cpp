#include "base/size.hpp"

#include "base/quote.hpp"

#include <cctype>
#include <charconv>
#include <limits>

namespace actorstack {

namespace {

// The shift a suffix stands for, or -1 if it is none of ours.
int suffix_shift(std::string_view suffix) {
  std::string s{suffix};
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (s.empty() || s == "b") return 0;
  static constexpr const char* units = "kmgt";
  for (int i = 0; i < 4; ++i) {
    const std::string u(1, units[i]);
    if (s == u || s == u + "b" || s == u + "ib") return 10 * (i + 1);
  }
  return -1;
}

}  // namespace

result<std::uint64_t> parse_size(std::string_view text) {
  if (text.empty()) return unexpected{errc::invalid_argument, "is empty"};
  if (text.front() == '-') return unexpected{errc::invalid_argument, "is negative"};
  const char* first = text.data();
  const char* last = first + text.size();
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(first, last, v);
  if (end == first)
    return unexpected{errc::invalid_argument, "is not a number (use digits with an optional K, M, G or T suffix)"};
  if (ec == std::errc::result_out_of_range) return unexpected{errc::invalid_argument, "is too large"};
  const std::string_view suffix{end, static_cast<std::size_t>(last - end)};
  const int shift = suffix_shift(suffix);
  if (shift < 0)
    return unexpected{errc::invalid_argument,
                      intern("has an unknown suffix " + quoted(suffix) + " (use K, M, G or T)")};
  if (shift > 0 && v > (std::numeric_limits<std::uint64_t>::max() >> shift))
    return unexpected{errc::invalid_argument, "is too large"};
  return v << shift;
}

std::string format_size(std::uint64_t bytes) {
  static constexpr const char* units[] = {"T", "G", "M", "K"};
  for (unsigned i = 0; i < 4; ++i) {
    const unsigned shift = 40 - 10 * i;
    if (bytes != 0 && (bytes & ((std::uint64_t{1} << shift) - 1)) == 0)
      return std::to_string(bytes >> shift) + units[i];
  }
  return std::to_string(bytes);
}

}  // namespace actorstack
