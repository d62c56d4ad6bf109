#include "tools/cli/cli.hpp"

#include <actorstack/version.hpp>

#include <cctype>
#include <charconv>

namespace actorstack::cli {

result<std::uint64_t> parse_size(std::string_view text) {
  auto bad = [&](const char* why) {
    return unexpected{errc::invalid_argument, intern("'" + std::string{text} + "': " + why)};
  };
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (end == text.data()) return bad("not a size (digits, then K, M, G or T)");
  if (ec == std::errc::result_out_of_range) return bad("too large");
  std::string suffix{end, static_cast<std::size_t>(text.data() + text.size() - end)};
  for (auto& ch : suffix) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  unsigned shift = 0;
  if (suffix.empty() || suffix == "b") shift = 0;
  else if (suffix == "k" || suffix == "kb" || suffix == "kib") shift = 10;
  else if (suffix == "m" || suffix == "mb" || suffix == "mib") shift = 20;
  else if (suffix == "g" || suffix == "gb" || suffix == "gib") shift = 30;
  else if (suffix == "t" || suffix == "tb" || suffix == "tib") shift = 40;
  else return bad("unknown suffix (K, M, G or T)");
  if (shift > 0 && v > (std::numeric_limits<std::uint64_t>::max() >> shift)) return bad("too large");
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

void add_standard(CLI::App& app, const std::string& exit_codes) {
  app.set_version_flag("--version", app.get_name() + " " + std::string{version()});
  app.footer("Exit codes:\n" + exit_codes);
}

int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // 0: --help, --version; CLI11 printed the error and a hint
  }
}

}  // namespace actorstack::cli
