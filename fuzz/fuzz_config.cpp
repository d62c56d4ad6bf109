// libFuzzer: the stack configuration parser (INI text from a file the
// daemon is given). Never a crash; whatever parses writes back to text
// that parses to the same configuration.
#include <actorstack/config.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  auto cfg = actorstack::parse_config(text);
  if (!cfg) return 0;
  auto again = actorstack::parse_config(actorstack::to_string(*cfg));
  if (!again || !(*again == *cfg)) std::abort();
  return 0;
}
