// libFuzzer: URIs (what apps pass to listen and connect, also across
// processes) and byte sizes (every binary's options, the configuration).
// Never a crash; what parses prints back to text that parses the same.
#include "base/size.hpp"

#include <actorstack/endpoint.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  if (auto ep = actorstack::parse_uri(text)) {
    auto again = actorstack::parse_uri(ep->to_string());
    if (!again || again->proto != ep->proto || again->ip != ep->ip || again->port != ep->port) std::abort();
  }
  if (auto bytes = actorstack::parse_size(text)) {
    auto again = actorstack::parse_size(actorstack::format_size(*bytes));
    if (!again || *again != *bytes) std::abort();
  }
  return 0;
}
