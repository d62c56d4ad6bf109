#include "base/quote.hpp"

namespace actorstack {

namespace {
constexpr std::size_t max_quoted = 96;
}  // namespace

std::string quoted(std::string_view text) {
  const bool cut = text.size() > max_quoted;
  if (cut) text = text.substr(0, max_quoted);
  std::string out = "'";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      constexpr const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  if (cut) out += "...";
  out += '\'';
  return out;
}

}  // namespace actorstack
